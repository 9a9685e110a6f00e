"""The studio's worktree: versioned reads, saves committed on the branch with the content user as
author, conflicts refused with the other editor's diff, broken content refused with file and line."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.agent_desk import errors
from services.agent_desk.studio.workspace import Author, Workspace
from tests.support.studio import content_repo, git

ZHAO = Author("content1", "内容编辑 赵敏")
QIAN = Author("content2", "内容编辑 钱多")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    repo = content_repo(tmp_path / "project")
    return Workspace(repo, "content/studio", tmp_path / "studio").ensure()


def test_a_save_is_a_commit_on_the_studio_branch_and_main_is_untouched(workspace: Workspace) -> None:
    domain = workspace.read("domain.yml")
    text = domain.text.replace("借记卡不收年费", "借记卡免收年费")
    change = workspace.save("domain.yml", text, domain.version, ZHAO, "修改年费回答")

    assert (change.author, change.username, change.message, change.files) == (
        "内容编辑 赵敏", "content1", "修改年费回答", ("domain.yml",))
    assert "借记卡免收年费" in workspace.read("domain.yml").text
    assert "借记卡不收年费" in (workspace.project / "domain.yml").read_text(encoding="utf-8")
    assert git(workspace.project, "log", "-1", "--format=%an %s", "content/studio").strip() == "内容编辑 赵敏 修改年费回答"
    assert git(workspace.project, "log", "-1", "--format=%s", "main").strip() == "fixture"
    assert [c.message for c in workspace.history()] == ["修改年费回答", "fixture"]
    assert "借记卡免收年费" in workspace.patch()


def test_the_second_editor_of_a_file_is_refused_and_shown_what_changed(workspace: Workspace) -> None:
    first, second = workspace.read("domain.yml"), workspace.read("domain.yml")
    workspace.save("domain.yml", first.text.replace("再见。", "欢迎再来。"), first.version, ZHAO, "改再见")

    with pytest.raises(errors.EditConflict) as refused:
        workspace.save("domain.yml", second.text.replace("95555", "95588"), second.version, QIAN, "改电话")

    extra = refused.value.extra
    assert extra["file"] == "domain.yml"
    assert "-    - text: 感谢您的咨询，再见。" in extra["diff"] and "+    - text: 感谢您的咨询，欢迎再来。" in extra["diff"]
    assert extra["current_version"] == workspace.read("domain.yml").version
    assert "95555" in workspace.read("domain.yml").text  # nothing of the second save was written
    assert len(workspace.history()) == 2


def test_yaml_that_does_not_parse_is_refused_with_the_line_and_nothing_is_saved(workspace: Workspace) -> None:
    nlu = workspace.read("data/nlu/banking.yml")
    broken = nlu.text.replace("- intent: ask_card_fee", "- intent: ask_card_fee\n  examples: [", 1)

    with pytest.raises(errors.ContentInvalid) as refused:
        workspace.save("data/nlu/banking.yml", broken, nlu.version, ZHAO, "坏的修改")

    assert refused.value.extra["file"] == "data/nlu/banking.yml" and refused.value.extra["line"]
    assert "YAML" in refused.value.message
    assert workspace.read("data/nlu/banking.yml").text == nlu.text
    assert len(workspace.history()) == 1


def test_a_new_content_check_error_is_refused_in_chinese(workspace: Workspace) -> None:
    rules = workspace.read("data/rules/faq.yml")
    broken = rules.text.replace("action: utter_report_lost_card", "action: utter_no_such_answer")

    with pytest.raises(errors.ContentInvalid) as refused:
        workspace.save("data/rules/faq.yml", broken, rules.version, ZHAO, "引用不存在的回答")

    assert refused.value.extra["file"] == "data/rules/faq.yml"
    assert "utter_no_such_answer" in refused.value.message
    assert workspace.read("data/rules/faq.yml").text == rules.text


@pytest.mark.parametrize("path", ["../secrets.yml", "actions/faq.py", "/etc/passwd", "config.yml", "data/../x.yml"])
def test_only_content_files_can_be_written(workspace: Workspace, path: str) -> None:
    with pytest.raises(errors.InvalidInput):
        workspace.save(path, "x: 1\n", "", ZHAO, "越权")
