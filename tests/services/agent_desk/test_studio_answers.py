"""The studio's answers: a response and a knowledge table edited in forms through the real desk,
saved as commits of the content user on the studio branch (the rest of the file and its comments as
they were), refused on a stale version (409, the other editor's diff) and on a placeholder the
program does not fill (422, file and line); the preview renders WeChat's numbered options."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import requests

from bot.settings import PROJECT_ROOT
from services.agent_desk import errors
from services.agent_desk.studio import answers
from services.agent_desk.studio.workspace import Author, Workspace
from tests.services.agent_desk.harness import DeskProcess, RecordingServer, RedisForTests
from tests.support.studio import content_repo, git

BRANCH = "content/studio"
WORDING = "data/knowledge/wording.yml"
# The smallest wording table the action server's model (actions/knowledge.py Wording) accepts, and
# an action that fills one of its fragments: what the placeholder check compares.
WORDING_TABLE = """\
# 测试用的句子片段
fragments:
  greeting_name: "您好，{who}！"   # 问候语
  wechat_option: "{i}. {title}"
buttons:
  human: {title: 转人工, payload: /request_human}
choices:
  limit_channels: [手机银行]
labels: {}
"""
GREETING_ACTION = """\
from actions.knowledge import fragment


def greeting(who):
    return fragment("greeting_name", who=who)
"""
ZHAO = Author("content1", "内容编辑 赵敏")


def _project(destination: Path) -> Path:
    """The fixture project, with a comment in domain.yml, a wording table and an action filling it."""
    repo = content_repo(destination)
    domain = repo / "domain.yml"
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text.replace("  utter_ask_card_fee:", "  # 年费问题的回答（测试注释）\n  utter_ask_card_fee:"),
                      encoding="utf-8")
    (repo / "data" / "knowledge").mkdir(parents=True)
    (repo / WORDING).write_text(WORDING_TABLE, encoding="utf-8")
    (repo / "actions").mkdir()
    (repo / "actions" / "greeting.py").write_text(GREETING_ACTION, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "注释、句子片段和动作")
    return repo


@pytest.fixture(scope="module")
def studio_desk(redis_for_tests: RedisForTests, recorder: RecordingServer,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskProcess]:
    run_dir = tmp_path_factory.mktemp("answers_desk")
    repo = _project(run_dir / "project")
    process = DeskProcess.configure(redis_url=redis_for_tests.url, database_url=f"sqlite:///{run_dir / 'desk.db'}",
                                    callback_url=recorder.base_url, run_dir=run_dir, name="answers",
                                    AGENT_DESK_STUDIO_PROJECT=str(repo), AGENT_DESK_STUDIO_DIR=str(run_dir / "studio"))
    process.start()
    yield process
    process.stop()


def _repo(desk: DeskProcess) -> Path:
    return Path(desk.env["AGENT_DESK_STUDIO_PROJECT"])


def _put(desk: DeskProcess, path: str, body: Dict[str, Any], username: str = "content1") -> requests.Response:
    return requests.put(desk.url + path, json=body, headers=desk.agent_headers(username), timeout=60)


def _branch_file(desk: DeskProcess, rel: str) -> str:
    return git(_repo(desk), "show", f"{BRANCH}:{rel}")


def _without_response(domain: str, name: str) -> str:
    """domain.yml without one response's lines (what must not change when that response is edited)."""
    lines, out, inside = domain.splitlines(), [], False
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            inside = line.strip() == f"{name}:"
        if not inside:
            out.append(line)
    return "\n".join(out)


def _commits(desk: DeskProcess) -> int:
    return int(git(_repo(desk), "rev-list", "--count", BRANCH).strip())


# ------------------------------------------------------------------------------ responses
def test_a_content_user_edits_a_response_and_it_is_their_commit_on_the_studio_branch(studio_desk: DeskProcess) -> None:
    listing = studio_desk.get("/api/studio/answers", username="content1")
    assert listing.status_code == 200, listing.text
    names = {r["name"]: r for r in listing.json()["responses"]}
    assert {"utter_greet", "utter_ask_card_fee", "utter_default"} <= set(names)
    assert names["utter_ask_card_fee"]["variations"] == 1
    assert {t["stem"]: t["file"] for t in listing.json()["tables"]} == {"wording": WORDING}

    before = _branch_file(studio_desk, "domain.yml")
    read = studio_desk.get("/api/studio/answers/responses/utter_ask_card_fee", username="content1").json()
    assert [v["text"] for v in read["variations"]] == ["借记卡不收年费，信用卡首年免年费。"]
    assert read["file"] == "domain.yml" and read["line"]

    saved = _put(studio_desk, "/api/studio/answers/responses/utter_ask_card_fee", {
        "base_version": read["version"],
        "variations": [
            {"text": "借记卡免收年费；信用卡首年免年费，刷卡 6 次免次年年费。",
             "buttons": [{"title": "转人工", "payload": "/greet"}]},
            {"text": "借记卡不要年费。信用卡第一年免年费。"},
        ]})

    assert saved.status_code == 200, saved.text
    change = saved.json()
    assert (change["username"], change["files"]) == ("content1", ["domain.yml"])
    assert "utter_ask_card_fee" in change["message"]
    assert git(_repo(studio_desk), "log", "-1", "--format=%ae", BRANCH).strip().startswith("content1@")
    assert git(_repo(studio_desk), "log", "-1", "--format=%s", "main").strip() == "注释、句子片段和动作"

    after = _branch_file(studio_desk, "domain.yml")
    assert "刷卡 6 次免次年年费" in after and "payload: /greet" in after
    assert "  # 年费问题的回答（测试注释）\n  utter_ask_card_fee:" in after
    assert _without_response(after, "utter_ask_card_fee") == _without_response(before, "utter_ask_card_fee")
    again = studio_desk.get("/api/studio/answers/responses/utter_ask_card_fee", username="content1").json()
    assert [len(v["buttons"]) for v in again["variations"]] == [1, 0]
    assert again["version"] != read["version"]


def test_a_save_from_a_stale_version_is_refused_with_the_other_editors_diff(studio_desk: DeskProcess) -> None:
    first = studio_desk.get("/api/studio/answers/responses/utter_goodbye", username="content1").json()
    second = studio_desk.get("/api/studio/answers/responses/utter_goodbye", username="supervisor1").json()
    done = _put(studio_desk, "/api/studio/answers/responses/utter_goodbye",
                {"base_version": first["version"], "variations": [{"text": "感谢您的咨询，欢迎再来。"}],
                 "message": "改再见的说法"})
    assert done.status_code == 200, done.text
    commits, text = _commits(studio_desk), _branch_file(studio_desk, "domain.yml")

    late = _put(studio_desk, "/api/studio/answers/responses/utter_goodbye",
                {"base_version": second["version"], "variations": [{"text": "再见，祝您生活愉快。"}]},
                username="supervisor1")

    assert late.status_code == 409, late.text
    error = late.json()["error"]
    assert error["code"] == "edit_conflict" and error["file"] == "domain.yml"
    assert "+    - text: 感谢您的咨询，欢迎再来。" in error["diff"]
    assert (_commits(studio_desk), _branch_file(studio_desk, "domain.yml")) == (commits, text)


def test_a_response_button_to_an_unknown_intent_is_refused(studio_desk: DeskProcess) -> None:
    read = studio_desk.get("/api/studio/answers/responses/utter_greet", username="content1").json()
    refused = _put(studio_desk, "/api/studio/answers/responses/utter_greet", {
        "base_version": read["version"],
        "variations": [{"text": "您好", "buttons": [{"title": "查余额", "payload": "/check_balance"}]}]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "unknown_intent" and "check_balance" in refused.json()["error"]["message"]


def test_a_response_placeholder_that_nothing_fills_is_refused_with_the_line(studio_desk: DeskProcess) -> None:
    read = studio_desk.get("/api/studio/answers/responses/utter_report_lost_card", username="content1").json()
    assert read["placeholders"]["fills"] == [] and read["placeholders"]["open"] is False
    commits = _commits(studio_desk)
    refused = _put(studio_desk, "/api/studio/answers/responses/utter_report_lost_card", {
        "base_version": read["version"], "variations": [{"text": "请拨打 {hotline} 挂失。"}]})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "placeholder_unfilled" and "{hotline}" in error["message"]
    assert error["file"] == "domain.yml" and error["line"] == read["variations"][0]["line"]
    assert _commits(studio_desk) == commits


# ------------------------------------------------------------------------------ tables
def _wording(desk: DeskProcess) -> Dict[str, Any]:
    found = desk.get("/api/studio/answers/tables/wording", username="content1")
    assert found.status_code == 200, found.text
    return found.json()


def _entry(table: Dict[str, Any], *path: Any) -> Dict[str, Any]:
    return next(e for e in table["entries"] if e["path"] == list(path))


def test_a_wording_placeholder_the_action_does_not_fill_is_refused_naming_it(studio_desk: DeskProcess) -> None:
    table = _wording(studio_desk)
    entry = _entry(table, "fragments", "greeting_name")
    assert entry["placeholders"]["fills"] == ["who"]
    assert entry["placeholders"]["sources"][0]["file"] == "actions/greeting.py"
    assert entry["comment"] == "问候语" and entry["label"] == "greeting_name" and entry["group"] == "句子片段"
    commits = _commits(studio_desk)

    typo = _put(studio_desk, "/api/studio/answers/tables/wording", {
        "base_version": table["version"], "changes": [{"path": ["fragments", "greeting_name"], "value": "您好，{whoo}！"}]})
    dropped = _put(studio_desk, "/api/studio/answers/tables/wording", {
        "base_version": table["version"], "changes": [{"path": ["fragments", "greeting_name"], "value": "您好！"}]})

    assert typo.status_code == 422, typo.text
    error = typo.json()["error"]
    assert error["code"] == "placeholder_unfilled" and "{whoo}" in error["message"] and "{who}" in error["message"]
    assert (error["file"], error["line"]) == (WORDING, entry["line"]) and WORDING in error["message"]
    assert dropped.status_code == 422 and dropped.json()["error"]["code"] == "placeholder_missing"
    assert "{who}" in dropped.json()["error"]["message"] and "actions/greeting.py" in dropped.json()["error"]["message"]
    assert _commits(studio_desk) == commits

    fine = _put(studio_desk, "/api/studio/answers/tables/wording", {
        "base_version": table["version"], "changes": [{"path": ["fragments", "greeting_name"], "value": "{who}，您好！"}]})
    assert fine.status_code == 200, fine.text
    assert fine.json()["files"] == [WORDING]
    text = _branch_file(studio_desk, WORDING)
    assert 'greeting_name: "{who}，您好！"' in text and "# 问候语" in text and text.startswith("# 测试用的句子片段")


def test_a_table_the_action_server_could_not_read_is_refused(studio_desk: DeskProcess) -> None:
    table = _wording(studio_desk)
    refused = _put(studio_desk, "/api/studio/answers/tables/wording", {
        "base_version": table["version"], "changes": [{"path": ["choices", "limit_channels", 0], "value": "支付宝"}]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "table_invalid" and "支付宝" in refused.json()["error"]["message"]
    assert refused.json()["error"]["line"] == _entry(table, "choices", "limit_channels", 0)["line"]


# ------------------------------------------------------------------------------ preview
def test_the_preview_shows_buttons_as_wechat_numbered_options(studio_desk: DeskProcess) -> None:
    buttons = [{"title": "转人工", "payload": "/request_human"}, {"title": "怎么提额", "payload": "/raise_transfer_limit"}]
    shown = studio_desk.post("/api/studio/answers/preview", {"text": "您要转 {amount}，请选择：", "buttons": buttons},
                             username="content1")
    assert shown.status_code == 200, shown.text
    found = shown.json()
    lines = found["wechat"]["text"].split("\n")
    assert lines[:3] == [found["app"]["text"], "1. 转人工", "2. 怎么提额"]
    assert "回复数字" in lines[-1]
    assert found["wechat"]["options"] == ["/request_human", "/raise_transfer_limit"]
    assert [b["title"] for b in found["app"]["buttons"]] == ["转人工", "怎么提额"]
    assert "{amount}" not in found["app"]["text"] and found["placeholders"][0]["name"] == "amount"
    assert found["wechat"]["bytes"] == len(found["wechat"]["text"].encode("utf-8")) and found["wechat"]["messages"] == 1
    assert {w["code"] for w in found["warnings"]} == {"placeholder_sample"}

    crowded = studio_desk.post("/api/studio/answers/preview", {
        "text": "很长的回答。" * 200, "buttons": [{"title": f"选项{i}", "payload": "/greet"} for i in range(8)]},
        username="content1").json()
    assert {"wechat_too_long", "too_many_buttons"} <= {w["code"] for w in crowded["warnings"]}
    assert crowded["wechat"]["bytes"] > crowded["wechat"]["limit_bytes"] and crowded["wechat"]["messages"] >= 2

    checked = studio_desk.post("/api/studio/answers/preview", {"text": "{whoo}好", "kind": "fragment",
                                                                "name": "greeting_name"}, username="content1").json()
    assert "placeholder_unfilled" in {w["code"] for w in checked["warnings"]}


# ------------------------------------------------------------------------------ who may
def test_agents_are_refused_and_a_missing_token_is_401(studio_desk: DeskProcess) -> None:
    calls = [("GET", "/api/studio/answers", None), ("GET", "/api/studio/answers/responses/utter_greet", None),
             ("PUT", "/api/studio/answers/responses/utter_greet", {"base_version": "", "variations": [{"text": "x"}]}),
             ("GET", "/api/studio/answers/tables/wording", None),
             ("PUT", "/api/studio/answers/tables/wording", {"base_version": "", "changes": [{"path": ["x"]}]}),
             ("POST", "/api/studio/answers/preview", {"text": "x"})]
    for method, path, body in calls:
        agent = requests.request(method, studio_desk.url + path, json=body, headers=studio_desk.agent_headers("agent1"),
                                 timeout=10)
        anonymous = requests.request(method, studio_desk.url + path, json=body, timeout=10)
        assert agent.status_code == 403 and agent.json()["error"]["code"] == "forbidden", (method, path, agent.text)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
    assert studio_desk.get("/api/studio/answers", username="supervisor1").status_code == 200


# ------------------------------------------------------------------------------ tables, directly
@pytest.fixture
def real_tables(tmp_path: Path) -> Workspace:
    """The fixture project with the real transfer limits and loan materials tables."""
    repo = content_repo(tmp_path / "project")
    (repo / "data" / "knowledge").mkdir(parents=True)
    for name in ("transfer_limits.yml", "loan_materials.yml", "complaint_categories.yml"):
        source = PROJECT_ROOT / "data" / "knowledge" / name
        (repo / "data" / "knowledge" / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "知识表")
    return Workspace(repo, BRANCH, tmp_path / "studio").ensure()


def test_a_limit_is_edited_as_a_number_and_a_material_list_takes_and_loses_items(real_tables: Workspace) -> None:
    limits = answers.read_table(real_tables, "transfer_limits")
    daily = next(e for e in limits.entries if e.path == ["channels", "手机银行", 0, "daily"])
    assert (daily.kind, daily.value, daily.label, daily.group) == ("number", 5000, "单日限额（元）", "渠道 › 手机银行 › 第 1 项")
    before = real_tables.read("data/knowledge/transfer_limits.yml").text

    with pytest.raises(errors.ContentInvalid) as refused:  # the action server's own rule: daily >= single
        answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", daily.path, 1000)], limits.version,
                           ZHAO)
    assert refused.value.extra["line"] == daily.line and refused.value.code == "table_invalid"
    with pytest.raises(errors.InvalidInput):
        answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", daily.path, "很多")], limits.version,
                           ZHAO)

    change = answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", daily.path, "6000")],
                                limits.version, ZHAO)
    after = real_tables.read("data/knowledge/transfer_limits.yml").text
    assert change.username == "content1" and "transfer_limits.yml" in change.message
    assert [line for line in after.splitlines() if line not in before.splitlines()] == ["      daily: 6000"]
    assert "      single: null" in after  # untouched nulls stay written as null

    limits = answers.read_table(real_tables, "transfer_limits")
    note = answers.TableOp("append", ["account_class_notes"], "新开户 7 天内限额较低")
    answers.save_table(real_tables, "transfer_limits", [note], limits.version, ZHAO)
    text = real_tables.read("data/knowledge/transfer_limits.yml").text
    assert ("本人带身份证到网点核实后可以调高。\n  - 新开户 7 天内限额较低\n\n# 登录的客户问自己的额度" in text)

    loans = answers.read_table(real_tables, "loan_materials")
    materials = ["loans", "个人消费贷", "materials", "个人"]
    assert materials in [info.path for info in loans.lists]
    answers.save_table(real_tables, "loan_materials", [answers.TableOp("remove", materials + [1]),
                                                       answers.TableOp("append", materials, "近3个月社保缴纳记录")],
                       loans.version, ZHAO, "个人消费贷材料：社保记录代替收入证明")
    items = [e.value for e in answers.read_table(real_tables, "loan_materials").entries if e.path[:-1] == materials]
    assert "近3个月社保缴纳记录" in items and len(items) == 5 and not any("收入证明（单位盖章）" in str(i) for i in items)
    assert real_tables.history()[0].message == "个人消费贷材料：社保记录代替收入证明"


def test_a_complaint_category_takes_a_keyword(real_tables: Workspace) -> None:
    table = answers.read_table(real_tables, "complaint_categories")
    app_words = ["categories", "手机银行"]
    assert app_words in [info.path for info in table.lists]
    answers.save_table(real_tables, "complaint_categories", [answers.TableOp("append", app_words, "打不开")],
                       table.version, ZHAO)
    saved = real_tables.read("data/knowledge/complaint_categories.yml").text
    assert "  手机银行: [手机银行, app, 登录, 登不上, 验证码, 闪退, 打不开]\n" in saved  # flow style kept
    with pytest.raises(errors.ContentInvalid):  # an empty keyword (it would be in every story)
        answers.save_table(real_tables, "complaint_categories",
                           [answers.TableOp("set", ["categories", "手机银行", 0], "")],
                           answers.read_table(real_tables, "complaint_categories").version, ZHAO)


def test_an_unknown_entry_is_refused_and_a_stale_table_is_a_conflict(real_tables: Workspace) -> None:
    limits = answers.read_table(real_tables, "transfer_limits")
    with pytest.raises(errors.InvalidInput):
        answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", ["channels", "支付宝"], "x")],
                           limits.version, ZHAO)
    answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", ["default_channel"], "网上银行")],
                       limits.version, ZHAO)
    with pytest.raises(errors.EditConflict) as conflict:
        answers.save_table(real_tables, "transfer_limits", [answers.TableOp("set", ["default_channel"], "柜台")],
                           limits.version, ZHAO)
    assert "+default_channel: 网上银行" in conflict.value.extra["diff"]
    with pytest.raises(errors.NotFound):
        answers.read_table(real_tables, "../secrets")


def test_removing_or_adding_a_responses_last_items_keeps_what_follows_it() -> None:
    domain = ("responses:\n  utter_a:\n    - text: 您好\n      buttons:\n        - title: 转人工\n"
              "          payload: /request_human\n"
              "\n  # ---- 下一组\n  utter_b:\n    - text: |-\n        第一行\n        第二行\n\n  # ---- 最后一组\n"
              "  utter_c:\n    - text: 再见\n")
    no_button = answers.edit_response(domain, "utter_a", [answers.VariationEdit("您好", [])])
    assert no_button == domain.replace("      buttons:\n        - title: 转人工\n          payload: /request_human\n", "")
    two = answers.edit_response(domain, "utter_b", [answers.VariationEdit("第一行\n第二行", []),
                                                    answers.VariationEdit("yes", [answers.Button("on", "/affirm")])])
    assert ("        第二行\n    - text: 'yes'\n      buttons:\n        - title: 'on'\n          payload: /affirm\n"
            "\n  # ---- 最后一组\n") in two
    one_line = answers.edit_response(domain, "utter_b", [answers.VariationEdit("一行", [])])
    assert "  utter_b:\n    - text: 一行\n\n  # ---- 最后一组\n" in one_line


def test_the_real_content_reads_back_unchanged_and_passes_its_own_checks(tmp_path: Path) -> None:
    """Every response and table of the real project: written back unchanged by the forms, and none
    of its placeholders refused (the check agrees with `make check` on today's content)."""
    root = PROJECT_ROOT
    repo = tmp_path / "project"
    repo.mkdir()
    for rel in ["domain.yml", "data", "actions", "connectors", "services/agent_desk"]:
        subprocess.run(["cp", "-r", "--parents", rel, str(repo)], cwd=root, check=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "real content")
    ws = Workspace(repo, BRANCH, tmp_path / "studio").ensure()

    domain = ws.read("domain.yml").text
    summaries, _ = answers.list_responses(ws)
    assert len(summaries) > 50
    rewritten = answers.RoundTrip("domain.yml", domain)
    for summary in summaries:
        view = answers.read_response(ws, summary.name)
        edits = [answers.VariationEdit(v.text, v.buttons, v.channel) for v in view.variations]
        answers.apply_variations(rewritten.data, summary.name, edits)
        for v in view.variations:
            texts = [v.text] + [t for b in v.buttons for t in (b.title, b.payload)]
            assert answers.problems("response", texts, view.placeholders) == [], (summary.name, v.text)
    assert rewritten.dump() == domain
    for table in answers.list_tables(ws):
        view = answers.read_table(ws, table.stem)
        text = ws.read(table.file).text
        same = [answers.TableOp("set", e.path, e.value) for e in view.entries]
        doc, changed = answers.apply_ops(text, table.file, same)
        assert (doc.dump(), changed) == (text, []), table.stem
        for entry in view.entries:
            if entry.placeholders is not None:
                assert answers.problems("fragment", [str(entry.value)], entry.placeholders) == [], entry.path
