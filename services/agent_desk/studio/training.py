"""Check and train: from the studio branch to a model Rasa runs, with gates and roll back.

A job (one at a time per studio directory, state in <studio_dir>/jobs/<id>.json so a page reload
or another desk process sees it) runs in a background thread of the desk:

  1. snapshot  the studio branch's HEAD commit, `git archive`d into the job's folder: training
               never reads a half-edited tree
  2. check     bot/content/check.py run_check (the project's lint and `rasa data validate`):
               an error stops the job, with its file and line
  3. train     `python -m rasa train` in the snapshot into <studio_dir>/models/studio-<commit>.tar.gz
               (progress from Rasa's "Finished training component" lines; a commit trained
               before is not trained again)
  4. evaluate  the new model and the one Rasa runs now (GET /status) on the snapshot's held-out
               tests/nlu/test_data.yml (accuracy, macro F1, confusion image: bot/content/report.py)
               and tests/test_stories.yml (share of stories that pass), in one child process that
               loads each model once; a model's figures are cached per model file and test set
  5. gates     accuracy >= studio_min_accuracy, not below the current model's by more than
               studio_max_accuracy_drop, conversation pass rate >= studio_min_conversation_pass_rate
               -> "ready" (may be activated) or "gates_failed" (reasons in Chinese)

Activation replaces Rasa's model through its HTTP API (PUT /model), only for a "ready" job, and
confirms it with GET /status; the model it replaced is kept for one-click roll back
(models_registry.py). A desk restart in the middle of a job marks that job failed.
"""
from __future__ import annotations

import argparse
import atexit
import base64
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from pydantic import Field

from bot.settings import PROJECT_ROOT
from services.agent_desk import errors
from services.agent_desk.config import DeskSettings
from services.agent_desk.studio.models_registry import (Activation, Figures, FiguresCache, ModelRecord, ModelRegistry,
                                                        RasaClient, RasaStatus, RasaWorkers, StudioModel, file_lock,
                                                        model_id_of,
                                                        now_iso, write_json_atomically)
from services.agent_desk.studio.workspace import Workspace

log = logging.getLogger(__name__)

RUNNING, FAILED, READY, GATES_FAILED, ACTIVATED = "running", "failed", "ready", "gates_failed", "activated"
STEPS = {"snapshot": "取出分支最新版本", "check": "内容检查", "train": "训练模型", "evaluate": "评估新旧模型",
         "gates": "质量门槛", "done": "完成"}
# Where each step starts on the progress bar (0-100).
STEP_START = {"snapshot": 0, "check": 5, "train": 20, "evaluate": 70, "gates": 95, "done": 100}
TRAINING_DATA = ("data/nlu", "data/stories", "data/rules")  # what Rasa trains from (bot/model_cache.py)
HELD_OUT = "tests/nlu/test_data.yml"
TEST_STORIES = "tests/test_stories.yml"
RESTART_MESSAGE = "服务重启，训练中断，请重新开始"
MODELS_KEPT = 5  # studio models kept on disk, besides those one can roll back to
_JOB_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED_COMPONENT = re.compile(r"Starting to train component '([^']+)'")
_FINISHED_COMPONENT = re.compile(r"Finished training component '([^']+)'")
_EVALUATED = re.compile(r"^STUDIO-EVALUATED (\d+)")
# Runs argv[2:] so that it gets SIGTERM when the desk dies (Linux PR_SET_PDEATHSIG): uvicorn ends
# the desk on SIGTERM by re-raising the signal, so no exit handler of ours would stop a training.
_DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
                    "if os.getppid() != int(sys.argv[1]): sys.exit(70)\n"
                    "os.execv(sys.argv[2], sys.argv[2:])\n")


# -- the job, as stored and as the API shows it ----------------------------------------------
class JobMessage(StudioModel):
    level: str = Field(..., description="info | warning | error")
    text: str
    file: Optional[str] = None
    line: Optional[int] = None


class JobFigures(StudioModel):
    new: Optional[Figures] = None
    current: Optional[Figures] = None


class Gate(StudioModel):
    name: str = Field(..., description="min_accuracy | not_worse_than_current | min_conversation_pass_rate")
    label: str
    ok: bool
    detail: str


class Job(StudioModel):
    id: str
    status: str = Field(RUNNING, description="running | failed | ready | gates_failed | activated")
    step: str = Field("snapshot", description="snapshot | check | train | evaluate | gates | done")
    step_label: str = STEPS["snapshot"]
    progress: int = Field(0, ge=0, le=100)
    messages: List[JobMessage] = []
    figures: JobFigures = JobFigures()
    gates: List[Gate] = []
    commit: Optional[str] = None
    model: Optional[str] = Field(None, description="the new model's file name")
    model_path: Optional[str] = None
    current_model: Optional[str] = Field(None, description="the model Rasa ran when the job evaluated")
    reused_model: bool = Field(False, description="this commit had been trained before: not trained again")
    started_by: str
    started_by_name: str
    started_at: str
    finished_at: Optional[str] = None
    activated_by: Optional[str] = None
    activated_by_name: Optional[str] = None
    activated_at: Optional[str] = None


class TrainingBusy(errors.InvalidState):
    code, message = "training_running", "已有一个检查和训练任务在进行，请等它完成"


class NotActivatable(errors.InvalidState):
    code, message = "not_activatable", "这个任务的模型不能启用"


class NothingToRollBack(errors.InvalidState):
    code, message = "nothing_to_roll_back", "没有可以回滚的上一个模型"


class JobStopped(Exception):
    """The job ended early (its status and messages say why)."""


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


# -- the trainer -----------------------------------------------------------------------------
class Trainer:
    def __init__(self, settings: DeskSettings, workspace: Workspace) -> None:
        self.settings = settings
        self.workspace = workspace
        self.directory = settings.effective_studio_dir
        self.jobs_dir = self.directory / "jobs"
        self.models_dir = self.directory / "models"
        self.registry = ModelRegistry(self.directory / "models.json")
        self.figures = FiguresCache(self.directory / "figures")
        self.rasa = RasaClient(settings.rasa_url, settings.rasa_token, settings.studio_model_load_timeout_seconds)
        self.workers = RasaWorkers(settings.effective_redis_url, settings.redis_key_prefix)
        self._write_lock = threading.Lock()
        self._child: Optional[subprocess.Popen] = None
        self._stopping = False
        atexit.register(self._on_exit)

    @classmethod
    def from_settings(cls, settings: DeskSettings, workspace: Workspace) -> "Trainer":
        trainer = cls(settings, workspace)
        try:
            trainer.recover()
        except OSError as exc:  # an unwritable studio directory must not stop the desk
            log.warning("studio jobs could not be checked at startup: %s", exc)
        return trainer

    # -- job files ---------------------------------------------------------------------------
    @property
    def _run_lock_path(self) -> Path:
        return self.jobs_dir / "run.lock"

    def _job_path(self, job_id: str) -> Path:
        return self.jobs_dir / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        with self._write_lock:
            write_json_atomically(self._job_path(job.id), job.json(ensure_ascii=False))

    def get(self, job_id: str) -> Job:
        if not _JOB_ID.match(job_id or "") or not self._job_path(job_id).exists():
            raise errors.NotFound("训练任务不存在", code="job_not_found")
        return Job.parse_raw(self._job_path(job_id).read_text(encoding="utf-8"))

    def current(self) -> Optional[Job]:
        """The newest job (running or finished), or None before the first."""
        latest = self.jobs_dir / "latest"
        if not latest.exists():
            return None
        try:
            return self.get(latest.read_text(encoding="utf-8").strip())
        except errors.NotFound:
            return None

    def _try_run_lock(self) -> Optional[IO[str]]:
        """The run lock (held for a whole job, across the desk's processes), or None when taken."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self._run_lock_path, "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def recover(self) -> None:
        """Jobs left "running" by a desk that stopped: nobody runs them now, so they failed."""
        if not self.jobs_dir.exists():
            return
        handle = self._try_run_lock()
        if handle is None:  # another desk process is running a job right now
            return
        try:
            for path in sorted(self.jobs_dir.glob("*.json")):
                try:
                    job = Job.parse_raw(path.read_text(encoding="utf-8"))
                except (ValueError, OSError):
                    continue
                if job.status == RUNNING:
                    self._fail(job, RESTART_MESSAGE)
                    shutil.rmtree(self.jobs_dir / job.id, ignore_errors=True)
        finally:
            handle.close()

    def _on_exit(self) -> None:
        self._stopping = True
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()

    # -- starting a job ----------------------------------------------------------------------
    def start(self, username: str, display_name: str) -> Job:
        handle = self._try_run_lock()
        if handle is None:
            raise TrainingBusy()
        try:
            job = Job(id=f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}", started_by=username,
                      started_by_name=display_name, started_at=now_iso())
            self._save(job)
            write_json_atomically(self.jobs_dir / "latest", job.id)
            answer = job.copy(deep=True)  # the thread goes on changing `job`
            thread = threading.Thread(target=self._run, args=(job, handle), name=f"studio-job-{job.id}", daemon=True)
            thread.start()
        except BaseException:
            handle.close()
            raise
        return answer

    def _run(self, job: Job, lock: IO[str]) -> None:
        folder = self.jobs_dir / job.id
        try:
            snapshot = self._snapshot(job, folder)
            self._check(job, snapshot)
            model = self._train(job, snapshot, folder)
            current_problem = self._evaluate(job, snapshot, model, folder)
            self._gate(job, current_problem)
        except JobStopped:
            pass
        except Exception:  # noqa: BLE001 - the job fails, the desk goes on
            log.exception("studio job %s failed", job.id)
            self._fail(job, RESTART_MESSAGE if self._stopping else "训练任务出错（内部错误），请联系开发同事查看服务日志")
        finally:
            shutil.rmtree(folder / "project", ignore_errors=True)
            lock.close()

    # -- progress ----------------------------------------------------------------------------
    def _step(self, job: Job, step: str, label: Optional[str] = None, progress: Optional[int] = None) -> None:
        job.step_label = label or (job.step_label if step == job.step else STEPS[step])
        job.step = step
        job.progress = max(job.progress, min(100, STEP_START[step] if progress is None else progress))
        self._save(job)

    def _say(self, job: Job, level: str, text: str, file: Optional[str] = None, line: Optional[int] = None) -> None:
        job.messages.append(JobMessage(level=level, text=text, file=file, line=line))

    def _fail(self, job: Job, text: str, file: Optional[str] = None, line: Optional[int] = None) -> None:
        self._say(job, "error", text, file, line)
        job.status, job.finished_at = FAILED, now_iso()
        self._save(job)

    def _stop(self, job: Job, text: str) -> None:
        self._fail(job, text)
        raise JobStopped()

    # -- 1. snapshot -------------------------------------------------------------------------
    def _snapshot(self, job: Job, folder: Path) -> Path:
        self._step(job, "snapshot")
        job.commit = self.workspace.head()
        destination = folder / "project"
        shutil.rmtree(destination, ignore_errors=True)
        self.workspace.snapshot(job.commit, destination)
        self._link_untracked_resources(destination)
        self._say(job, "info", f"使用分支 {self.workspace.branch} 的版本 {job.commit[:8]}")
        self._step(job, "snapshot", progress=4)
        return destination

    def _link_untracked_resources(self, snapshot: Path) -> None:
        """Paths config.yml names that git does not hold (e.g. models/spacy_zh_bank, built by
        `python -m bot train`): linked from the project so training and evaluation find them."""
        import yaml

        config = snapshot / "config.yml"
        if not config.exists():
            return
        try:
            data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            return
        for component in [*(data.get("pipeline") or []), *(data.get("policies") or [])]:
            if not isinstance(component, dict):
                continue
            for key, value in component.items():
                if key == "name" or not isinstance(value, str) or "/" not in value or value.startswith("/"):
                    continue
                if ".." in Path(value).parts:
                    continue
                target, link = Path(self.settings.studio_project) / value, snapshot / value
                if target.exists() and not link.exists():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(target.resolve())

    # -- 2. content check --------------------------------------------------------------------
    def _check(self, job: Job, snapshot: Path) -> None:
        from bot.content.check import run_check
        from bot.content.project import ProjectPaths

        self._step(job, "check", "内容检查（含 rasa data validate）")
        result = run_check(ProjectPaths(snapshot), with_rasa=True)
        for issue in result.errors:
            where = f"{issue.file} 第 {issue.line} 行" if issue.line else issue.file
            self._say(job, "error", f"{where}：{issue.message}", issue.file, issue.line)
        if not result.rasa.ok:
            self._say(job, "error", "Rasa 自带校验（rasa data validate）未通过：" + "；".join(result.rasa.problems[:10]))
        if result.warnings:
            self._say(job, "warning", f"内容检查有 {len(result.warnings)} 条警告（不影响训练），例如：")
            for issue in result.warnings[:10]:
                where = f"{issue.file} 第 {issue.line} 行" if issue.line else issue.file
                self._say(job, "warning", f"{where}：{issue.message}", issue.file, issue.line)
        if not result.ok:
            count = len(result.errors) + (0 if result.rasa.ok else 1)
            self._stop(job, f"内容检查未通过（{count} 个错误），没有训练。请先修正上面的错误再试。")
        self._say(job, "info", f"内容检查通过（用时 {result.seconds:.0f} 秒）")
        self._step(job, "check", progress=STEP_START["train"])

    # -- 3. train ----------------------------------------------------------------------------
    def _child_env(self, snapshot: Path) -> Dict[str, str]:
        return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
                "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(snapshot), str(PROJECT_ROOT),
                                                            os.environ.get("PYTHONPATH")]))}

    def _stream(self, command: Sequence[str], cwd: Path, log_path: Path,
                on_line: Callable[[str], None]) -> Tuple[int, List[str]]:
        """Runs a child process, its output to `log_path` and line by line to `on_line`."""
        tail: List[str] = []
        with open(log_path, "ab") as log_file:
            if sys.platform.startswith("linux"):
                command = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]
            proc = subprocess.Popen(list(command), cwd=cwd, env=self._child_env(cwd), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self._child = proc
            try:
                assert proc.stdout is not None
                buffer = b""
                while True:
                    chunk = proc.stdout.read1(65536)
                    if not chunk:
                        break
                    log_file.write(chunk)
                    buffer += chunk
                    *lines, buffer = re.split(rb"[\r\n]", buffer)
                    for raw in lines:
                        line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
                        if line:
                            tail = (tail + [line])[-20:]
                            on_line(line)
                code = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                self._child = None
        return code, tail

    def _train(self, job: Job, snapshot: Path, folder: Path) -> Path:
        name = f"studio-{job.commit[:10]}.tar.gz"
        target = self.models_dir / name
        job.model, job.model_path = name, str(target)
        if target.exists():
            job.reused_model = True
            self._say(job, "info", f"这个版本之前已训练过，直接使用模型 {name}")
            self._step(job, "train", progress=STEP_START["evaluate"])
            return target
        self._step(job, "train")
        out = folder / "out"
        shutil.rmtree(out, ignore_errors=True)
        data = [d for d in TRAINING_DATA if (snapshot / d).exists()]
        command = [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
                   "--data", *data, "--out", str(out), "--fixed-model-name", name[: -len(".tar.gz")]]
        expected = max(1, self._trained_components(snapshot))
        finished = [0]
        span = STEP_START["evaluate"] - STEP_START["train"]

        def on_line(line: str) -> None:
            started = _STARTED_COMPONENT.search(line)
            if started:
                self._step(job, "train", f"训练模型：{started.group(1)}",
                           STEP_START["train"] + 2 + int(span * 0.9 * finished[0] / expected))
            elif _FINISHED_COMPONENT.search(line):
                finished[0] += 1
                self._step(job, "train", None, STEP_START["train"] + 2 + int(span * 0.9 * min(1.0, finished[0] / expected)))
            elif "Started validating domain and training data" in line:
                self._step(job, "train", "训练模型：校验训练数据", STEP_START["train"] + 1)

        started_at = time.monotonic()
        code, tail = self._stream(command, snapshot, folder / "train.log", on_line)
        trained = out / name
        if code != 0 or not trained.exists():
            if self._stopping:
                self._stop(job, RESTART_MESSAGE)
            last = [line for line in tail if not line.startswith(" ")][-3:]
            self._stop(job, f"训练失败（rasa train 退出码 {code}）。Rasa 的最后几行提示：" + " / ".join(last))
        self.models_dir.mkdir(parents=True, exist_ok=True)
        os.replace(trained, target)
        shutil.rmtree(out, ignore_errors=True)
        self._remove_old_models(keep=target)
        self._say(job, "info", f"训练完成：{name}（用时 {time.monotonic() - started_at:.0f} 秒）")
        self._step(job, "train", None, STEP_START["evaluate"])
        return target

    @staticmethod
    def _trained_components(snapshot: Path) -> int:
        """How many "Finished training component" lines to expect (at most: some components
        do not train)."""
        import yaml

        try:
            data = yaml.safe_load((snapshot / "config.yml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return 1
        return len(data.get("pipeline") or []) + len(data.get("policies") or [])

    def _remove_old_models(self, keep: Path) -> None:
        wanted = {keep.name} | {r.name for r in self.registry.load().stack}
        models = sorted(self.models_dir.glob("studio-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [m for m in models if m.name not in wanted][MODELS_KEPT:]:
            old.unlink(missing_ok=True)

    # -- 4. evaluate -------------------------------------------------------------------------
    def find_model(self, name: str) -> Optional[Path]:
        """The file of a model Rasa names by its file name only (GET /status)."""
        record = self.registry.record(name)
        candidates = [Path(record.path)] if record and record.path else []
        for folder in (self.models_dir, Path(self.settings.studio_project) / "models", PROJECT_ROOT / "models"):
            candidates.append(folder / name)
        return next((c for c in candidates if c.is_file()), None)

    def _evaluate(self, job: Job, snapshot: Path, model: Path, folder: Path) -> Optional[str]:
        """Fills job.figures; returns why the current model could not be compared (or None)."""
        self._step(job, "evaluate")
        test_data, stories = snapshot / HELD_OUT, snapshot / TEST_STORIES
        if not test_data.exists():
            self._say(job, "warning", f"项目没有留出测试集 {HELD_OUT}，无法评估准确率")
            return None
        if not stories.exists():
            self._say(job, "info", f"项目没有对话测试（{TEST_STORIES}），不计算对话通过率")
        current, problem = self._current_model(job)
        wanted: List[Tuple[str, Path, str]] = []  # (which, model, cache key)
        for which, path in (("new", model), ("current", current)):
            if path is None:
                continue
            key = self.figures.key(path, test_data, stories if stories.exists() else None)
            cached = self.figures.get(key)
            if cached is not None:
                setattr(job.figures, which, cached.copy(update={"model": path.name}))
            else:
                wanted.append((which, path, key))
        if wanted:
            failed = self._run_evaluation(job, snapshot, folder, test_data, stories if stories.exists() else None,
                                          wanted)
            if "current" in failed and current is not None:
                problem = f"当前模型 {current.name} 评估失败，无法比较"
        self._step(job, "evaluate", progress=STEP_START["gates"])
        return problem

    def _current_model(self, job: Job) -> Tuple[Optional[Path], Optional[str]]:
        """The file of the model Rasa runs, and why there is none to compare with (None: Rasa has
        no model loaded, nothing to compare)."""
        try:
            status = self.rasa.status()
        except errors.StudioUnavailable:
            self._say(job, "warning", "连接不上 Rasa 服务，无法评估当前模型（也无法启用新模型）")
            return None, "连接不上 Rasa 服务，无法与当前模型比较"
        job.current_model = status.model_file
        if not status.model_file:
            self._say(job, "info", "Rasa 还没有加载任何模型，没有可比较的当前模型")
            return None, None
        path = self.find_model(status.model_file)
        if path is None:
            problem = f"找不到 Rasa 当前模型的文件 {status.model_file}，无法比较"
            self._say(job, "warning", problem)
            return None, problem
        return path, None

    def _run_evaluation(self, job: Job, snapshot: Path, folder: Path, test_data: Path, stories: Optional[Path],
                        wanted: List[Tuple[str, Path, str]]) -> List[str]:
        """Evaluates the models (each file once) in one child process; returns which failed."""
        out = folder / "evaluation"
        shutil.rmtree(out, ignore_errors=True)
        names = "、".join("新模型" if which == "new" else "当前模型" for which, _, _ in wanted)
        self._step(job, "evaluate", f"评估{names}（留出测试集和对话测试）")
        command = [sys.executable, "-c", "from services.agent_desk.studio.training import evaluate_main; evaluate_main()",
                   "--out", str(out), "--nlu", str(test_data)]
        if stories is not None:
            command += ["--stories", str(stories)]
        files = list(dict.fromkeys(key for _, _, key in wanted))  # the same file twice: evaluated once
        paths = {key: path for _, path, key in wanted}
        command += [str(paths[key]) for key in files]
        span = STEP_START["gates"] - STEP_START["evaluate"]

        def on_line(line: str) -> None:
            done = _EVALUATED.match(line)
            if done:
                self._step(job, "evaluate", None, STEP_START["evaluate"] + span * (int(done.group(1)) + 1) // len(files))

        code, tail = self._stream(command, snapshot, folder / "evaluate.log", on_line)
        if self._stopping:
            self._stop(job, RESTART_MESSAGE)
        failed = []
        for which, path, key in wanted:
            result = out / str(files.index(key)) / "figures.json"
            if not result.exists():
                label = "新模型" if which == "new" else "当前模型"
                log.warning("evaluation of %s failed (exit %s): %s", path, code, " / ".join(tail[-5:]))
                self._say(job, "warning", f"{label}（{path.name}）评估失败，见任务日志 evaluate.log")
                failed.append(which)
                continue
            figures = Figures.parse_raw(result.read_text(encoding="utf-8"))
            self.figures.put(key, figures)
            setattr(job.figures, which, figures)
        return failed

    # -- 5. gates ----------------------------------------------------------------------------
    def _gate(self, job: Job, current_problem: Optional[str]) -> None:
        self._step(job, "gates")
        job.gates = self.gates(job.figures.new, job.figures.current, current_problem)
        failed = [g for g in job.gates if not g.ok]
        job.status = GATES_FAILED if failed else READY
        if failed:
            self._say(job, "warning", "质量门槛未通过，不能启用：" + "；".join(g.detail for g in failed))
        else:
            self._say(job, "info", "质量门槛全部通过，可以启用新模型")
        job.finished_at = now_iso()
        self._step(job, "done")

    def gates(self, new: Optional[Figures], current: Optional[Figures], current_problem: Optional[str]) -> List[Gate]:
        s = self.settings
        found: List[Gate] = []
        accuracy = new.accuracy if new else None
        if accuracy is None:
            found.append(Gate(name="min_accuracy", label="准确率达标", ok=False,
                              detail="没有新模型的准确率（缺少留出测试集或评估失败）"))
        else:
            found.append(Gate(name="min_accuracy", label="准确率达标", ok=accuracy >= s.studio_min_accuracy,
                              detail=f"新模型准确率 {_percent(accuracy)}，最低要求 {_percent(s.studio_min_accuracy)}"))
        if current is not None and current.accuracy is not None and accuracy is not None:
            drop = current.accuracy - accuracy
            found.append(Gate(name="not_worse_than_current", label="不比当前模型差", ok=drop <= s.studio_max_accuracy_drop + 1e-9,
                              detail=f"当前模型 {_percent(current.accuracy)}，新模型 {_percent(accuracy)}，"
                                     f"最多允许下降 {_percent(s.studio_max_accuracy_drop)}"))
        elif current_problem:
            found.append(Gate(name="not_worse_than_current", label="不比当前模型差", ok=False, detail=current_problem))
        else:
            found.append(Gate(name="not_worse_than_current", label="不比当前模型差", ok=accuracy is not None,
                              detail="Rasa 还没有加载模型，无需比较"))
        rate = new.conversation_pass_rate if new else None
        if new is not None and rate is None and new.conversations_total is None:
            found.append(Gate(name="min_conversation_pass_rate", label="对话测试通过率达标", ok=True,
                              detail=new.note or f"项目没有对话测试（{TEST_STORIES}），未检查"))
        else:
            found.append(Gate(name="min_conversation_pass_rate", label="对话测试通过率达标",
                              ok=rate is not None and rate >= s.studio_min_conversation_pass_rate,
                              detail=f"对话通过率 {_percent(rate)}"
                                     + (f"（{new.conversations_passed}/{new.conversations_total} 个对话）"
                                        if new and new.conversations_total else "")
                                     + f"，最低要求 {_percent(s.studio_min_conversation_pass_rate)}"))
        return found

    # -- activation and roll back ------------------------------------------------------------
    def _running_record(self, status: RasaStatus, job: Optional[Job]) -> Optional[ModelRecord]:
        if not status.model_file:
            return None
        known = self.registry.record(status.model_file)
        if known is not None:
            return known
        path = self.find_model(status.model_file)
        figures = None
        if job is not None and job.figures.current is not None and job.figures.current.model == status.model_file:
            figures = job.figures.current.without_image()
        return ModelRecord(name=status.model_file, path=str(path) if path else None, model_id=status.model_id,
                           figures=figures)

    def activate(self, job_id: str, username: str, display_name: str) -> Job:
        with file_lock(self.directory / "activation.lock"):
            job = self.get(job_id)
            if job.status != READY:
                raise NotActivatable({
                    RUNNING: "训练还没有完成，不能启用",
                    GATES_FAILED: "质量门槛未通过，不能启用这个模型",
                    FAILED: "这个任务失败了，没有可启用的模型",
                    ACTIVATED: "这个模型已经启用",
                }.get(job.status, NotActivatable.message))
            model = Path(job.model_path or "")
            if not model.is_file():
                raise NotActivatable("模型文件已不存在，请重新训练", code="model_missing")
            status = self.rasa.status()
            if status.model_file == model.name:
                raise NotActivatable("Rasa 已经在运行这个模型", code="already_running")
            replaced = self._running_record(status, job)
            model_id = model_id_of(model)
            self.rasa.replace_model(model)
            confirmed = self.rasa.wait_for(model.name, model_id)
            at = now_iso()
            figures = job.figures.new.without_image() if job.figures.new else None
            record = ModelRecord(name=model.name, path=str(model.resolve()), commit=job.commit, model_id=model_id,
                                 job_id=job.id, figures=figures, activated_by=username,
                                 activated_by_name=display_name, at=at)
            with self.registry.locked() as state:
                if replaced is not None and (not state.stack or state.stack[-1].name != replaced.name):
                    state.stack.append(replaced)
                state.stack.append(record)
                state.history.append(Activation(action="activate", model=model.name, path=record.path,
                                                commit=job.commit, figures=figures,
                                                replaced=status.model_file, job_id=job.id, confirmed=confirmed,
                                                activated_by=username, activated_by_name=display_name, at=at))
            job.status, job.activated_by, job.activated_by_name, job.activated_at = ACTIVATED, username, display_name, at
            self._say(job, "info", f"{display_name} 启用了新模型 {model.name}" +
                      ("" if confirmed else "（Rasa 的状态接口暂未确认，请稍后查看当前模型）"))
            self._save(job)
            return job

    def rollback(self, username: str, display_name: str) -> Activation:
        with file_lock(self.directory / "activation.lock"):
            state = self.registry.load()
            if len(state.stack) < 2:
                raise NothingToRollBack()
            active, previous = state.stack[-1], state.stack[-2]
            if not previous.path or not Path(previous.path).is_file():
                raise NothingToRollBack(f"找不到上一个模型的文件 {previous.name}，无法回滚", code="model_missing")
            status = self.rasa.status()
            self.rasa.replace_model(Path(previous.path))
            confirmed = self.rasa.wait_for(previous.name, previous.model_id)
            entry = Activation(action="rollback", model=previous.name, path=previous.path, commit=previous.commit,
                               figures=previous.figures, replaced=status.model_file or active.name,
                               job_id=previous.job_id, confirmed=confirmed, activated_by=username,
                               activated_by_name=display_name, at=now_iso())
            with self.registry.locked() as state:
                if len(state.stack) >= 2 and state.stack[-1].name == active.name:
                    state.stack.pop()
                state.history.append(entry)
            if active.job_id:
                self._reopen(active.job_id, display_name)
            return entry

    def _reopen(self, job_id: str, display_name: str) -> None:
        """The rolled-back model's job may be activated again (its gates still hold)."""
        try:
            job = self.get(job_id)
        except errors.NotFound:
            return
        if job.status == ACTIVATED:
            job.status = READY
            self._say(job, "info", f"{display_name} 回滚到了上一个模型；这个模型仍可再次启用")
            self._save(job)

    def models(self) -> Tuple[RasaStatus, Optional[str], List[ModelRecord], List[Activation]]:
        """(what Rasa runs, why Rasa could not be asked, the stack, the history)."""
        state = self.registry.load()
        try:
            return self.rasa.status(), None, state.stack, state.history
        except errors.StudioUnavailable as exc:
            return RasaStatus(), exc.message, state.stack, state.history


# -- the evaluation child process ------------------------------------------------------------
def evaluate_main(argv: Optional[Sequence[str]] = None) -> None:
    """`python -c "...evaluate_main()" --out DIR --nlu TEST [--stories STORIES] MODEL...`, cwd = the
    snapshot: each model is loaded once and evaluated on the held-out sentences (Rasa's NLU test)
    and the test stories (Rasa's core test); <DIR>/<i>/figures.json is its `Figures`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--nlu", type=Path, required=True)
    parser.add_argument("--stories", type=Path)
    parser.add_argument("models", nargs="+", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    import asyncio

    failed = 0
    for index, model in enumerate(args.models):
        out = args.out / str(index)
        out.mkdir(parents=True, exist_ok=True)
        try:
            figures = asyncio.run(_evaluate_one(model, args.nlu, args.stories, out))
            write_json_atomically(out / "figures.json", figures.json(ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the next model is still evaluated
            logging.getLogger(__name__).exception("evaluation of %s failed", model)
            failed += 1
        print(f"STUDIO-EVALUATED {index}", flush=True)
    sys.exit(1 if failed else 0)


async def _evaluate_one(model: Path, nlu: Path, stories: Optional[Path], out: Path) -> Figures:
    from rasa.core.agent import Agent
    from rasa.core.test import test as core_test
    from rasa.nlu.test import run_evaluation

    from bot.content import report
    from bot.content.project import ProjectPaths, load_intent_labels

    paths = ProjectPaths(Path.cwd())
    agent = Agent.load(model_path=str(model))
    nlu_dir = out / "nlu"
    await run_evaluation(str(nlu), agent.processor, output_directory=str(nlu_dir), successes=True, errors=True,
                         disable_plotting=True)
    labels = load_intent_labels(paths)
    summary, predictions = report.build_summary(nlu_dir, labels, model, nlu, report.fallback_threshold(paths))
    image = out / "confusion_matrix.png"
    report.plot_confusion_matrix(predictions, labels, image)
    figures = Figures(model=model.name, accuracy=summary["accuracy"], macro_f1=summary["macro_f1"],
                      n_test=summary["n_test"], fallback_rate=summary["fallback_rate"],
                      confusion_png="data:image/png;base64," + base64.b64encode(image.read_bytes()).decode("ascii"))
    if stories is None:
        figures.note = f"项目没有对话测试（{TEST_STORIES}），未计算对话通过率"
        return figures
    core_dir = out / "core"
    core_dir.mkdir(parents=True, exist_ok=True)
    await core_test(str(stories), agent, out_directory=str(core_dir), disable_plotting=True, successes=False,
                    errors=True, warnings=False)
    story_report = json.loads((core_dir / "story_report.json").read_text(encoding="utf-8"))
    conversations = story_report.get("conversation_accuracy") or {}
    total = int(conversations.get("total") or 0)
    if total:
        figures.conversations_total = total
        figures.conversations_passed = int(conversations.get("correct") or 0)
        figures.conversation_pass_rate = figures.conversations_passed / total
    else:
        figures.note = f"{TEST_STORIES} 里没有对话，未计算对话通过率"
    return figures
