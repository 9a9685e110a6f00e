"""`check` finds each kind of problem, at the right file and line, and passes clean data."""
from __future__ import annotations

import json
import shutil

import pytest

from bot.content import cli
from bot.content.check import run_check
from bot.content.lint import run_lint
from bot.content.project import ProjectPaths

from tests.content.conftest import FIXTURES, PROJECT_ROOT, real_nlu_files

BROKEN = ProjectPaths(FIXTURES / "project_broken")
OK = ProjectPaths(FIXTURES / "project_ok")


@pytest.fixture(scope="module")
def broken_issues():
    return run_lint(BROKEN)


def _find(issues, code):
    return [i for i in issues if i.code == code]


@pytest.mark.parametrize("code, severity, where", [
    ("duplicate_example", "error", "data/nlu/cards.yml:35"),
    ("normalized_duplicate", "error", "data/nlu/cards.yml:36"),
    ("near_duplicate", "warning", "data/nlu/cards.yml:37"),
    ("too_few_examples", "error", "data/nlu/cards.yml:33"),
    ("response_undefined", "error", "data/rules/rules.yml:14"),
    ("response_undefined", "error", "actions/actions.py:18"),
    ("response_unused", "warning", "domain.yml:17"),
    ("entity_not_in_domain", "error", "data/nlu/accounts.yml:31"),
    ("traditional_chars", "warning", "data/nlu/accounts.yml:32"),
    ("fullwidth_chars", "warning", "data/nlu/accounts.yml:33"),
    ("pattern_unmatched", "warning", "data/lexicon/entity_patterns.yml:4"),
    ("yaml_syntax", "error", "data/nlu/broken_syntax.yml:7"),
    ("test_example_in_training", "warning", "tests/nlu/test_data.yml:5"),
    ("name_rules", "error", "data/lexicon/names.yml"),
])
def test_each_problem_is_reported_at_its_line(broken_issues, code, severity, where):
    found = [i for i in _find(broken_issues, code) if i.location() == where]
    assert found, f"{code} not reported at {where}; got {[(i.code, i.location()) for i in broken_issues]}"
    assert found[0].severity == severity
    assert any("\u4e00" <= ch <= "\u9fff" for ch in found[0].message)  # Chinese message


def test_messages_name_the_things_to_fix(broken_issues):
    by_code = {i.code: i.message for i in broken_issues}
    assert "我的银行卡丢了" in by_code["duplicate_example"] and "freeze_card" in by_code["duplicate_example"]
    assert "白金卡" in by_code["pattern_unmatched"]
    assert "我的银行卡余额是多少" in by_code["traditional_chars"]
    assert "1234" in by_code["fullwidth_chars"]
    assert "card_kind" in by_code["entity_not_in_domain"]
    assert "utter_orphan" in by_code["response_unused"]


def test_responses_used_by_custom_actions_or_builtins_are_not_unused(broken_issues):
    unused = " ".join(i.message for i in _find(broken_issues, "response_unused"))
    assert "utter_card_help" not in unused  # used via response="utter_card_help" in actions/
    assert "utter_default" not in unused  # sent by Rasa's action_default_fallback
    undefined = " ".join(i.message for i in _find(broken_issues, "response_undefined"))
    assert "utter_missing" in undefined and "utter_action_missing" in undefined


def test_clean_fixture_has_no_findings():
    assert run_lint(OK) == []


def test_cli_exit_codes_and_json(capsys):
    assert cli.main(["--root", str(BROKEN.root), "check", "--no-rasa", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] and report["warnings"] and not report["ok"]
    assert cli.main(["--root", str(OK.root), "check", "--no-rasa"]) == 0
    assert "检查结果：通过" in capsys.readouterr().out


def test_full_check_runs_rasa_validate_too(tmp_path):
    """With Rasa's validator (a subprocess): clean project passes, a broken file fails it."""
    project = tmp_path / "p"
    shutil.copytree(OK.root, project)
    assert run_check(ProjectPaths(project)).ok
    (project / "data" / "nlu" / "bad.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n  bad: [unclosed\n', encoding="utf-8")
    result = run_check(ProjectPaths(project))
    assert not result.ok and not result.rasa.ok
    assert any("bad.yml" in p for p in result.rasa.problems)
    assert any(i.code == "yaml_syntax" and i.file == "data/nlu/bad.yml" for i in result.errors)


@pytest.mark.skipif(not real_nlu_files() or not (PROJECT_ROOT / "domain.yml").exists(),
                    reason="the real NLU data / domain.yml are still being written (data/nlu or domain.yml missing)")
def test_real_project_data_passes_check():
    result = run_check(ProjectPaths(PROJECT_ROOT))
    assert result.ok, "\n".join(f"{i.location()} {i.message}" for i in result.errors) + "\n" + \
        "\n".join(result.rasa.problems)


def test_a_slot_without_a_desk_label_is_reported(tmp_path):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "data" / "nlu").mkdir()
    (tmp_path / "domain.yml").write_text(
        'version: "3.1"\nslots:\n  card_type:\n    type: text\n    mappings: []\n'
        '  travel_dates:\n    type: text\n    mappings: []\n', encoding="utf-8")
    (tmp_path / "data" / "knowledge" / "context_labels.yml").write_text(
        "slots:\n  card_type: {label: 卡片类型}\n", encoding="utf-8")
    [missing] = _find(run_lint(ProjectPaths(tmp_path)), "slot_label_missing")
    assert missing.severity == "error" and missing.location() == "domain.yml:6" and "travel_dates" in missing.message


def test_a_knowledge_table_the_actions_cannot_read_is_reported_at_its_key(tmp_path):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "data" / "nlu").mkdir()
    (tmp_path / "domain.yml").write_text('version: "3.1"\n', encoding="utf-8")
    (tmp_path / "data" / "knowledge" / "complaint_categories.yml").write_text(
        "# 投诉类别\ncategories:\n  收费: [手续费]\n  退款: [退钱]\n", encoding="utf-8")
    [bad] = _find(run_lint(ProjectPaths(tmp_path)), "knowledge_table_invalid")
    assert bad.severity == "error" and bad.location() == "data/knowledge/complaint_categories.yml:2"
    assert "退款" in bad.message and "服务态度" in bad.message  # the unknown category and the known ones


def test_complaint_categories_come_from_the_table_first_match_wins():
    from actions.complaints import complaint_category

    assert complaint_category("转账扣了我20块手续费") == "收费"  # 收费 is listed before 转账汇款
    assert complaint_category("APP老是闪退") == "手机银行"      # keywords ignore letter case
    assert complaint_category("你们说话不算数") == "其他"


# ------------------------------------------------------------------ what the actions name
ACTION_SOURCE = '''from actions.knowledge import button, fragment, joined


class ActionBalance:
    def run(self, dispatcher, tracker, domain):
        line = fragment("balance_line", balance=1, numbr="6222")
        title = fragment("balance_title")
        dispatcher.utter_message(response="utter_balance", lines=line, total=2)
        done = "utter_done" if tracker else "utter_gone"
        dispatcher.utter_message(response=done, buttons=[button("human"), button("ghost")])
        return joined([line, title], "no_such_separator")
'''


def _wording_project(tmp_path):
    """domain.yml + data/knowledge/wording.yml + one action whose names and placeholders drift."""
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "data" / "nlu").mkdir()
    (tmp_path / "actions").mkdir()
    (tmp_path / "domain.yml").write_text(
        'version: "3.1"\nslots:\n  card:\n    type: text\n    mappings: []\nresponses:\n'
        '  utter_balance:\n  - text: "您的余额：\\n{lines}"\n'
        '  utter_done:\n  - text: "好的，{card}已办好，{who}"\n', encoding="utf-8")
    (tmp_path / "data" / "knowledge" / "wording.yml").write_text(
        'fragments:\n  balance_line: "余额 {balance}（{number}）"\n  unused_one: 没人用\n  broken: "{oops"\n'
        'buttons:\n  human: {title: 转人工, payload: /request_human}\n', encoding="utf-8")
    (tmp_path / "actions" / "balance.py").write_text(ACTION_SOURCE, encoding="utf-8")
    return ProjectPaths(tmp_path)


def test_a_missing_fragment_and_a_missing_placeholder_are_reported_at_the_actions_line(tmp_path):
    issues = run_lint(_wording_project(tmp_path))
    found = {(i.code, i.location()): i for i in issues}

    missing_fragment = found[("fragment_undefined", "actions/balance.py:7")]
    assert missing_fragment.severity == "error" and "balance_title" in missing_fragment.message
    assert "data/knowledge/wording.yml" in missing_fragment.message

    # the action fills {numbr}, the fragment has {number}: both directions are named, with the fragment's line
    filled_not_there = found[("placeholder_missing", "actions/balance.py:6")]
    assert "{numbr}" in filled_not_there.message and "wording.yml 第 2 行" in filled_not_there.message
    there_not_filled = found[("placeholder_unfilled", "actions/balance.py:6")]
    assert "{number}" in there_not_filled.message

    # a response: {total} is filled but not in the text; {who} is in the text but neither filled nor a slot
    assert "{total}" in found[("placeholder_missing", "actions/balance.py:8")].message
    unfilled = [i for i in issues if i.code == "placeholder_unfilled" and i.location() == "actions/balance.py:10"]
    assert [("{who}" in i.message, "{card}" in i.message) for i in unfilled] == [(True, False)]  # {card} is a slot

    # both branches of `"utter_done" if … else "utter_gone"` are checked; buttons and separators too
    assert "utter_gone" in found[("response_undefined", "actions/balance.py:10")].message
    assert "ghost" in found[("button_undefined", "actions/balance.py:10")].message
    assert "no_such_separator" in found[("fragment_undefined", "actions/balance.py:11")].message

    assert found[("fragment_unused", "data/knowledge/wording.yml:3")].severity == "warning"
    assert found[("fragment_malformed", "data/knowledge/wording.yml:4")].severity == "error"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in i.message) for i in issues)


def test_matching_names_and_placeholders_give_no_wording_findings(tmp_path):
    paths = _wording_project(tmp_path)
    (tmp_path / "actions" / "balance.py").write_text(
        'from actions.knowledge import fragment\n\n\ndef lines(dispatcher, **extra):\n'
        '    line = fragment("balance_line", balance=1, number="6222")\n'
        '    dispatcher.utter_message(response="utter_balance", lines=line)\n'
        '    dispatcher.utter_message(response="utter_done", who="您")\n'
        '    dispatcher.utter_message(response="utter_done", **extra)  # fills something unknown: name only\n'
        '    return fragment("unused_one"), fragment("broken")\n', encoding="utf-8")
    codes = {i.code for i in run_lint(paths)} & {"fragment_undefined", "placeholder_missing", "placeholder_unfilled",
                                               "response_undefined", "button_undefined", "fragment_unused"}
    assert codes == set()


def test_every_handoff_reason_needs_its_wording(tmp_path):
    paths = _wording_project(tmp_path)
    (tmp_path / "data" / "knowledge" / "wording.yml").write_text(
        'fragments: {}\nbuttons: {}\nlabels:\n  handoff_reason:\n    requested: 客户要求人工服务\n', encoding="utf-8")
    missing = [i for i in run_lint(paths) if i.code == "handoff_reason_unlabelled"]
    assert missing and all(i.location() == "data/knowledge/wording.yml:4" for i in missing)
    assert any("overseas_limit" in i.message for i in missing) and not any("'requested'" in i.message for i in missing)


# ------------------------------------------------------------------ what the channels and the desk name
CHANNEL_SOURCE = '''from actions.knowledge import fragment


def check_text(text, max_chars):
    if not text:
        return fragment("app_empty")
    return fragment("app_message_too_long", limit=max_chars)
'''

DESK_SOURCE = '''from services.agent_desk.wording import fragment


def customer_message(ahead, minutes):
    return fragment("handoff_wait_ahead", ahead=ahead)
'''


def test_the_channels_and_the_desk_are_checked_like_the_actions(tmp_path):
    """connectors/*.py and services/agent_desk/*.py name fragments too: a missing one and a
    placeholder that drifted are reported at their file and line, as the actions' are."""
    paths = _wording_project(tmp_path)
    (tmp_path / "data" / "knowledge" / "wording.yml").write_text(
        'fragments:\n  app_empty_message: 消息不能为空\n'
        '  app_message_too_long: "消息过长，请不超过{max_chars}字"\n'
        '  handoff_wait_ahead: "您前面还有 {ahead} 位客户，预计等待约 {minutes} 分钟"\n'
        'buttons: {}\n', encoding="utf-8")
    (tmp_path / "actions" / "balance.py").write_text("", encoding="utf-8")
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "app.py").write_text(CHANNEL_SOURCE, encoding="utf-8")
    (tmp_path / "services" / "agent_desk").mkdir(parents=True)
    (tmp_path / "services" / "agent_desk" / "scheduling.py").write_text(DESK_SOURCE, encoding="utf-8")
    issues = run_lint(paths)
    found = {(i.code, i.location()): i for i in issues}

    assert "app_empty" in found[("fragment_undefined", "connectors/app.py:6")].message
    assert "{limit}" in found[("placeholder_missing", "connectors/app.py:7")].message
    assert "{max_chars}" in found[("placeholder_unfilled", "connectors/app.py:7")].message
    assert "wording.yml 第 3 行" in found[("placeholder_unfilled", "connectors/app.py:7")].message
    unfilled = found[("placeholder_unfilled", "services/agent_desk/scheduling.py:5")]
    assert "{minutes}" in unfilled.message and "坐席系统" in unfilled.message
    assert found[("fragment_unused", "data/knowledge/wording.yml:2")].severity == "warning"  # app_empty_message


def test_the_real_channels_and_desk_name_only_fragments_the_table_has():
    from bot.content.action_wording import FRAGMENT, scan_sources

    paths = ProjectPaths(PROJECT_ROOT)
    uses = [u for u in scan_sources(paths.wording_readers[1:]) if u.kind == FRAGMENT]
    files = {paths.rel(u.path) for u in uses}
    assert {"connectors/app.py", "connectors/wechat.py", "services/agent_desk/scheduling.py",
            "services/agent_desk/context_view.py"} <= files
    wording_issues = [i for i in run_lint(paths) if i.severity == "error" and i.file in files]
    assert wording_issues == []
