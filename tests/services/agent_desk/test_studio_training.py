"""Check and train (content studio), with real processes: the desk runs the job (content check,
`rasa train`, evaluation of the new and the running model, gates) on a copy of the fixture project,
and switches a real Rasa server (started on the fixture model) to the new model and back."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests

from bot.settings import PROJECT_ROOT
from services.agent_desk import errors
from services.agent_desk.config import DeskSettings
from services.agent_desk.studio.models_registry import Figures, ModelRecord
from services.agent_desk.studio.training import Job, Trainer
from services.agent_desk.studio.workspace import Workspace
from tests.services.agent_desk.harness import ARTIFACTS, DeskProcess
from tests.support.net import answers_ok, free_port
from tests.support.studio import STUDIO_FIXTURE, content_repo, git

OLD_FEE = "借记卡不收年费"
NEW_FEE = "借记卡免收年费（工作室新措辞）"


def _rasa_env() -> Dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore"}


@dataclass
class RasaServer:
    url: str
    token: str
    model: Path
    process: subprocess.Popen

    def status(self) -> Dict[str, Any]:
        response = requests.get(f"{self.url}/status", params={"token": self.token}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def says(self, text: str) -> List[str]:
        response = requests.post(f"{self.url}/webhooks/rest/webhook", timeout=30,
                                 json={"sender": "studio-" + secrets.token_hex(4), "message": text})
        assert response.status_code == 200, response.text
        return [m.get("text", "") for m in response.json()]


@pytest.fixture(scope="session")
def fixture_rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    """The fixture project's model, trained once, served by `rasa run` with the HTTP API on."""
    root = tmp_path_factory.mktemp("studio_rasa")
    project = root / "fixture"
    shutil.copytree(STUDIO_FIXTURE, project)
    (ARTIFACTS / "logs").mkdir(parents=True, exist_ok=True)
    trained = subprocess.run([sys.executable, "-m", "rasa", "train", "--out", str(root / "models"),
                              "--fixed-model-name", "fixture"], cwd=project, env=_rasa_env(),
                             capture_output=True, text=True)
    model = root / "models" / "fixture.tar.gz"
    assert trained.returncode == 0 and model.exists(), trained.stdout[-3000:] + trained.stderr[-3000:]
    port, token = free_port(), secrets.token_urlsafe(16)
    log_path = ARTIFACTS / "logs" / f"studio-rasa-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", token,
                                    "--port", str(port), "--model", str(model), "--connector", "rest"],
                                   cwd=project, env=_rasa_env(), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = RasaServer(f"http://127.0.0.1:{port}", token, model, process)
    try:
        if not answers_ok(f"{server.url}/status?token={token}", process, 180, interval=0.5):
            raise RuntimeError(f"Rasa did not start: see {log_path}\n{log_path.read_text()[-3000:]}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _studio_project(tmp_path: Path, rasa: RasaServer, edit: Callable[[Path], None] = lambda _: None) -> Path:
    """The fixture in a git repo, with the model Rasa runs in its models/ (as `make run` leaves the
    project's), and a `content/studio` branch changed by `edit`."""
    repo = content_repo(tmp_path / "project")
    (repo / "models").mkdir()
    shutil.copy2(rasa.model, repo / "models" / rasa.model.name)
    git(repo, "checkout", "-q", "-b", "content/studio")
    edit(repo)
    if git(repo, "status", "--porcelain", "--", "domain.yml", "data").strip():
        git(repo, "commit", "-qam", "工作室的修改")
    git(repo, "checkout", "-q", "main")
    return repo


def _studio_env(repo: Path, tmp_path: Path, rasa: RasaServer, **extra: str) -> Dict[str, str]:
    return {"AGENT_DESK_STUDIO_PROJECT": str(repo), "AGENT_DESK_STUDIO_DIR": str(tmp_path / "studio"),
            "RASA_URL": rasa.url, "RASA_TOKEN": rasa.token, **extra}


def _post(desk: DeskProcess, path: str, username: str = "content1") -> requests.Response:
    return requests.post(desk.url + path, headers=desk.agent_headers(username), timeout=120)


def _follow(desk: DeskProcess, job_id: str, until: Callable[[Dict[str, Any]], bool] = lambda j: j["status"] != "running",
            timeout: float = 150) -> List[Dict[str, Any]]:
    """Polls the job every 0.25 s like the page does; returns every state seen, the last one satisfying `until`."""
    seen: List[Dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = desk.get(f"/api/studio/jobs/{job_id}", username="content1")
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if until(seen[-1]):
            return seen
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} not done in {timeout}s: {seen[-1] if seen else None}")


def _processes_mentioning(text: str) -> List[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode("utf-8", "replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.slow
def test_train_compare_activate_and_roll_back(make_desk: Callable[..., DeskProcess], fixture_rasa: RasaServer,
                                              tmp_path: Path) -> None:
    rasa = fixture_rasa
    repo = _studio_project(tmp_path, rasa, lambda r: (r / "domain.yml").write_text(
        (r / "domain.yml").read_text(encoding="utf-8").replace(OLD_FEE, NEW_FEE), encoding="utf-8"))
    desk = make_desk(**_studio_env(repo, tmp_path, rasa))
    commit = git(repo, "rev-parse", "content/studio").strip()
    assert rasa.status()["model_file"] == "fixture.tar.gz"
    assert any(OLD_FEE in text for text in rasa.says("借记卡年费多少"))

    started = _post(desk, "/api/studio/jobs")
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["status"], job["started_by"]) == ("running", "content1")
    seen = _follow(desk, job["id"])
    done = seen[-1]

    assert done["status"] == "ready", done
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    assert {s["step"] for s in seen} >= {"train", "evaluate", "done"}
    assert any(s["step"] == "train" and 20 < s["progress"] < 70 for s in seen), "no progress shown while training"
    assert done["commit"] == commit and done["model"] == f"studio-{commit[:10]}.tar.gz"
    new, current = done["figures"]["new"], done["figures"]["current"]
    assert (new["model"], current["model"]) == (done["model"], "fixture.tar.gz")
    for figures in (new, current):
        assert 0.8 <= figures["accuracy"] <= 1 and 0 < figures["macro_f1"] <= 1 and figures["n_test"] == 10
        assert (figures["conversations_total"], figures["conversation_pass_rate"]) == (2, 1.0)
        assert figures["confusion_png"].startswith("data:image/png;base64,iVBOR")
    assert [(g["name"], g["ok"]) for g in done["gates"]] == [
        ("min_accuracy", True), ("not_worse_than_current", True), ("min_conversation_pass_rate", True)]
    assert desk.get("/api/studio/jobs/current", username="content1").json()["id"] == job["id"]  # a reload finds it

    activated = _post(desk, f"/api/studio/jobs/{job['id']}/activate")
    assert activated.status_code == 200, activated.text
    assert (activated.json()["status"], activated.json()["activated_by"]) == ("activated", "content1")
    assert rasa.status()["model_file"] == done["model"]
    assert any(NEW_FEE in text for text in rasa.says("借记卡年费多少"))
    models = desk.get("/api/studio/models", username="content1").json()
    assert (models["running"], models["active"]["name"], models["active"]["activated_by"]) == (
        done["model"], done["model"], "content1")
    assert models["active"]["commit"] == commit and models["active"]["figures"]["accuracy"] == new["accuracy"]
    assert (models["previous"]["name"], models["can_roll_back"], models["in_sync"]) == ("fixture.tar.gz", True, True)
    assert _post(desk, f"/api/studio/jobs/{job['id']}/activate").status_code == 409  # already active

    rolled = _post(desk, "/api/studio/models/rollback")
    assert rolled.status_code == 200, rolled.text
    assert rasa.status()["model_file"] == "fixture.tar.gz"
    assert any(OLD_FEE in text for text in rasa.says("借记卡年费多少"))
    body = rolled.json()
    assert (body["active"]["name"], body["can_roll_back"]) == ("fixture.tar.gz", False)
    assert [(h["action"], h["model"], h["activated_by"]) for h in body["history"]] == [
        ("rollback", "fixture.tar.gz", "content1"), ("activate", done["model"], "content1")]
    assert _post(desk, "/api/studio/models/rollback").status_code == 409  # nothing before the first model
    assert desk.get(f"/api/studio/jobs/{job['id']}", username="content1").json()["status"] == "ready"

    # Gates that the model cannot pass: the same commit again (its model and both models' figures are
    # reused, so this takes only the content check), and activation is refused.
    desk.env["AGENT_DESK_STUDIO_MIN_ACCURACY"] = "1.01"
    desk.restart()
    again = _post(desk, "/api/studio/jobs", username="supervisor1")
    assert again.status_code == 202, again.text
    failed = _follow(desk, again.json()["id"], timeout=60)[-1]
    assert failed["status"] == "gates_failed" and failed["reused_model"] and failed["model"] == done["model"]
    assert [(g["name"], g["ok"]) for g in failed["gates"]][0] == ("min_accuracy", False)
    assert "101.0%" in failed["gates"][0]["detail"]
    refused = _post(desk, f"/api/studio/jobs/{failed['id']}/activate")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_activatable")
    assert rasa.status()["model_file"] == "fixture.tar.gz"


@pytest.mark.slow
def test_roles_one_job_at_a_time_restart_and_a_broken_check(make_desk: Callable[..., DeskProcess],
                                                            fixture_rasa: RasaServer, tmp_path: Path) -> None:
    repo = _studio_project(tmp_path, fixture_rasa)
    desk = make_desk(**_studio_env(repo, tmp_path, fixture_rasa))
    for method, path in (("post", "/api/studio/jobs"), ("get", "/api/studio/jobs/current"),
                         ("get", "/api/studio/models"), ("post", "/api/studio/models/rollback")):
        response = getattr(requests, method)(desk.url + path, headers=desk.agent_headers("agent1"), timeout=10)
        assert response.status_code == 403, (path, response.text)
    assert desk.get("/api/studio/jobs/current", username="content1").status_code == 404
    assert desk.get("/api/studio/jobs/..%2Fmodels", username="content1").status_code == 404

    first = _post(desk, "/api/studio/jobs").json()
    second = _post(desk, "/api/studio/jobs", username="supervisor1")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "training_running")

    # The desk restarts while the job trains: the job is marked failed, its training stopped.
    _follow(desk, first["id"], until=lambda j: j["step"] == "train" or j["status"] != "running")
    desk.restart()
    interrupted = desk.get("/api/studio/jobs/current", username="content1").json()
    assert (interrupted["id"], interrupted["status"]) == (first["id"], "failed")
    assert "服务重启" in interrupted["messages"][-1]["text"]
    time.sleep(1)
    assert _processes_mentioning(first["id"]) == []

    # A content error committed to the studio branch stops the next job at the check, with file and line.
    worktree = tmp_path / "studio" / "worktree"
    rules = worktree / "data" / "rules" / "faq.yml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("action: utter_report_lost_card", "action: utter_no_such_answer"), encoding="utf-8")
    git(worktree, "commit", "-qam", "引用不存在的回答")
    broken_line = next(i for i, line in enumerate(rules.read_text(encoding="utf-8").splitlines(), 1)
                       if "utter_no_such_answer" in line)
    started = _post(desk, "/api/studio/jobs")
    assert started.status_code == 202, started.text
    stopped = _follow(desk, started.json()["id"], timeout=60)[-1]
    assert (stopped["status"], stopped["step"], stopped["model"]) == ("failed", "check", None)
    problems = [m for m in stopped["messages"] if m["level"] == "error"]
    assert any(m["file"] == "data/rules/faq.yml" and m["line"] == broken_line and "utter_no_such_answer" in m["text"]
               and f"第 {broken_line} 行" in m["text"] for m in problems), problems
    assert not (tmp_path / "studio" / "models").exists() or not list((tmp_path / "studio" / "models").iterdir())


# -- without processes: the gates' arithmetic and Rasa being down ------------------------------
def _trainer(tmp_path: Path, **settings: Any) -> Trainer:
    values = {"jwt_secret": "x" * 20, "service_token": "y" * 20, "studio_project": tmp_path / "project",
              "studio_dir": tmp_path / "studio", "rasa_url": f"http://127.0.0.1:{free_port()}", **settings}
    desk_settings = DeskSettings(**values)
    return Trainer(desk_settings, Workspace(desk_settings.studio_project, "content/studio", tmp_path / "studio"))


@pytest.mark.parametrize("new, current, problem, expected", [
    ((0.95, 1.0), (0.96, 1.0), None, [True, True, True]),        # 1 point worse: within the tolerance
    ((0.93, 1.0), (0.96, 1.0), None, [True, False, True]),       # 3 points worse
    ((0.75, 1.0), None, None, [False, True, True]),              # Rasa has no model: nothing to compare
    ((0.95, 0.5), (0.95, 1.0), None, [True, True, False]),       # half the conversations fail
    ((0.95, None), (0.95, None), None, [True, True, True]),      # no conversation tests: said, not failed
    ((0.95, 1.0), None, "连接不上 Rasa 服务", [True, False, True]),  # cannot compare: not activatable
])
def test_the_gates(tmp_path: Path, new: Any, current: Any, problem: Any, expected: List[bool]) -> None:
    def figures(values: Any) -> Any:
        if values is None:
            return None
        accuracy, rate = values
        return Figures(model="m.tar.gz", accuracy=accuracy, macro_f1=accuracy, conversation_pass_rate=rate,
                       conversations_total=None if rate is None else 2,
                       conversations_passed=None if rate is None else int(rate * 2))

    gates = _trainer(tmp_path).gates(figures(new), figures(current), problem)
    assert [g.ok for g in gates] == expected
    assert [g.name for g in gates] == ["min_accuracy", "not_worse_than_current", "min_conversation_pass_rate"]
    if problem:
        assert gates[1].detail == problem


def test_rasa_down_is_a_503_and_nothing_is_recorded(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path)
    model = tmp_path / "studio" / "models" / "studio-abc.tar.gz"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"not really a model")
    trainer.jobs_dir.mkdir(parents=True)
    job = Job(id="20260101-000000-abcdef", status="ready", model="studio-abc.tar.gz", model_path=str(model),
              started_by="content1", started_by_name="内容编辑 赵敏", started_at="2026-01-01T00:00:00+0800")
    (trainer.jobs_dir / f"{job.id}.json").write_text(job.json(), encoding="utf-8")
    with pytest.raises(errors.StudioUnavailable) as down:
        trainer.activate(job.id, "content1", "内容编辑 赵敏")
    assert down.value.status_code == 503 and "Rasa" in down.value.message
    assert trainer.get(job.id).status == "ready" and trainer.registry.load().history == []

    with trainer.registry.locked() as state:
        state.stack = [ModelRecord(name="a.tar.gz", path=str(model)), ModelRecord(name="b.tar.gz", path=str(model))]
    with pytest.raises(errors.StudioUnavailable):
        trainer.rollback("content1", "内容编辑 赵敏")
    assert [r.name for r in trainer.registry.load().stack] == ["a.tar.gz", "b.tar.gz"]


def test_a_switch_is_done_only_when_every_rasa_worker_runs_the_model(tmp_path: Path, redis_for_tests) -> None:
    """With several Sanic workers (or Rasa processes) GET /status speaks for one worker; the page
    used to show "not in sync" right after an activation and never looked again. Each worker's own
    record (bot/rasa_server.py guard 8) tells the desk how far the switch has got."""
    import json as json_mod

    import redis as redis_mod

    from services.agent_desk.api.routes.studio_training import _models
    from services.agent_desk.studio.models_registry import RasaStatus

    prefix = "studiotest" + secrets.token_hex(4)
    trainer = _trainer(tmp_path, redis_url=redis_for_tests.url, redis_key_prefix=prefix)
    with trainer.registry.locked() as state:
        state.stack = [ModelRecord(name="old.tar.gz", path="/m/old.tar.gz"),
                       ModelRecord(name="new.tar.gz", path="/m/new.tar.gz", activated_by="content1",
                                   activated_by_name="内容编辑 赵敏")]
    trainer.rasa.status = lambda: RasaStatus(model_file="old.tar.gz")  # the worker that answers has not followed
    client = redis_mod.Redis.from_url(redis_for_tests.url)

    def workers(**running: str) -> None:
        client.delete(f"{prefix}:rasa:workers", f"{prefix}:rasa:worker-models")
        for worker, name in running.items():
            name, _, loading = name.partition(">")
            client.zadd(f"{prefix}:rasa:workers", {worker: time.time() + 6})
            client.hset(f"{prefix}:rasa:worker-models", worker,
                        json_mod.dumps({"name": name, "loading": loading or None}))

    workers(w1="old.tar.gz>new.tar.gz", w2="old.tar.gz")  # PUT /model still loading in one worker
    loading = _models(trainer)
    assert loading.switching and not loading.in_sync and loading.active.name == "new.tar.gz"
    assert (loading.workers.total, loading.workers.on_latest) == (2, 0)

    workers(w1="new.tar.gz", w2="old.tar.gz")
    during = _models(trainer)
    assert during.switching and not during.in_sync and during.active.name == "new.tar.gz"
    assert (during.workers.total, during.workers.on_latest) == (2, 1)

    workers(w1="new.tar.gz", w2="new.tar.gz")
    done = _models(trainer)
    assert done.in_sync and not done.switching and (done.workers.total, done.workers.on_latest) == (2, 2)
    assert done.running == "new.tar.gz" and done.active.activated_by_name == "内容编辑 赵敏"  # not /status's word

    client.zadd(f"{prefix}:rasa:workers", {"w2": time.time() - 1})  # a worker stopped: its record lapsed
    assert _models(trainer).workers.total == 1

    workers(w1="old.tar.gz", w2="old.tar.gz")  # e.g. Rasa restarted with its own model
    restarted = _models(trainer)
    assert not restarted.in_sync and not restarted.switching and restarted.active.name == "old.tar.gz"
    client.delete(f"{prefix}:rasa:workers", f"{prefix}:rasa:worker-models")
