"""A content user's whole loop in Debian's Chromium (issue 14): a message the bot did not
understand in a real conversation → the studio's inbox → assigned to an intent → the answer's
wording changed → check and train → the new model activated in the running Rasa server → the
bot answers that message with the new wording → roll back restores the old answer.

Real processes: Rasa (the Procfile's line) on the small fixture project's model, the agent desk
with the studio on a git copy of that project, Redis (the trackers the inbox reads). The time
the loop took and screenshots of each step go to test-artifacts/studio/ (docs/content-studio.md
shows them).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import requests

from bot.settings import PROJECT_ROOT
from tests.support.browser import browser_page  # noqa: F401  (fixture)
from tests.support.stack import ARTIFACTS, RunningStack, build_stack
from tests.support.studio import content_repo

pytestmark = pytest.mark.stack

MISUNDERSTOOD = "老伴的存折找不着了"
OLD_ANSWER = "请立即在手机银行“卡片管理”里挂失"
NEW_ANSWER = "别着急，请马上在手机银行“我的-卡片管理”中挂失，或致电 95555（24 小时）。"
SHOTS = ARTIFACTS / "studio"


def _train_fixture(repo: Path, out: Path) -> Path:
    """The model Rasa starts with (the studio finds it by name in the project's models/)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_TELEMETRY_ENABLED": "false"}
    subprocess.run([sys.executable, "-m", "rasa", "train", "--out", str(out), "--fixed-model-name", "fixture"],
                   cwd=repo, env=env, check=True, capture_output=True)
    return out / "fixture.tar.gz"


@pytest.fixture(scope="module")
def studio_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    root = tmp_path_factory.mktemp("studio_e2e")
    repo = content_repo(root / "project")
    model = _train_fixture(repo, repo / "models")  # where `make run` keeps the running model too
    stack = build_stack(root / "run", extra_env={
        "AGENT_DESK_STUDIO_PROJECT": str(repo), "AGENT_DESK_STUDIO_DIR": str(root / "studio"),
        "SANIC_WORKERS": "1"})
    stack.env["RASA_MODEL"] = str(model)
    try:
        stack.start(["rasa", "agent_desk"])
        yield stack
    finally:
        stack.stop_all()


def _bot_says(stack: RunningStack, text: str) -> str:
    replies = stack.say(f"studio-{uuid.uuid4().hex[:8]}", text)
    return " ".join(r.get("text", "") for r in replies)


def _sign_in(page, stack: RunningStack, username: str) -> None:
    page.goto(stack.url("agent_desk") + "/studio/")
    page.fill("#login-username", username)
    page.fill("#login-password", f"{username}-demo")
    page.click("#login-submit")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_content_user_takes_a_misunderstood_message_to_an_activated_model(
        studio_stack: RunningStack, browser_page: Tuple[object, List[str]]) -> None:  # noqa: F811
    page, js_errors = browser_page
    stack = studio_stack
    assert OLD_ANSWER not in _bot_says(stack, MISUNDERSTOOD)  # the bot does not understand it yet
    assert OLD_ANSWER in _bot_says(stack, "我的卡丢了")
    started = time.monotonic()
    steps = {}

    _sign_in(page, stack, "content1")

    # Inbox: the message is there, masked and grouped; take it to annotation.
    item = page.locator("li.inbox-item", has_text=MISUNDERSTOOD).first
    item.wait_for(timeout=30_000)
    _shot(page, "1-inbox")
    item.locator("button.annotate").click()

    # Annotate: assign it to 挂失 (report_lost_card), seeing that intent's examples first.
    page.select_option("#annotate-intent", "report_lost_card")
    page.locator("#annotate-examples", has_text="怎么挂失").wait_for(timeout=10_000)
    _shot(page, "2-annotate")
    page.click("#annotate-save")
    page.locator("#annotate-result", has_text="已保存").wait_for(timeout=30_000)
    steps["annotated"] = time.monotonic() - started

    # Answers: new wording for that intent's answer.
    page.click(".studio-tabs .tab[data-tab=answers]")
    page.locator("#answers-list li[data-response=utter_report_lost_card]").click()
    page.locator("#answer-editor textarea.answer-text").first.fill(NEW_ANSWER)
    page.fill("#answer-message", "挂失回答：安抚客户并给出 24 小时电话")
    page.locator("#answer-preview-wechat", has_text="95555").wait_for(timeout=10_000)
    _shot(page, "3-answer")
    page.click("#answer-save")
    page.locator("#answer-result", has_text="已保存").wait_for(timeout=30_000)
    steps["answer changed"] = time.monotonic() - started

    # Check and train: the new model's figures next to the current one's, gates, activate.
    page.click(".studio-tabs .tab[data-tab=training]")
    page.click("#train-start")
    page.wait_for_selector("#train-activate:not([disabled])", timeout=240_000)
    steps["trained and evaluated"] = time.monotonic() - started
    assert page.locator("#train-figures").inner_text().count("%") >= 4
    _shot(page, "4-training")
    page.click("#train-activate")
    page.locator("#train-active", has_text="内容编辑 赵敏").wait_for(timeout=60_000)
    steps["activated"] = time.monotonic() - started

    answer = _bot_says(stack, MISUNDERSTOOD)
    assert "95555（24 小时）" in answer and "别着急" in answer, answer
    steps["bot answers with the new wording"] = time.monotonic() - started

    # Roll back: the previous model, its old answer.
    page.click("#train-rollback")
    page.locator("#train-history li", has_text="回滚到").first.wait_for(timeout=60_000)
    assert OLD_ANSWER in _bot_says(stack, "我的卡丢了")
    assert "别着急" not in _bot_says(stack, MISUNDERSTOOD)

    # History: both changes, by the content user, on the studio branch.
    page.click(".studio-tabs .tab[data-tab=history]")
    page.locator("#history-table tr.change").nth(1).wait_for(timeout=10_000)
    history = page.locator("#history-table").inner_text()
    assert history.count("内容编辑 赵敏") >= 2 and "report_lost_card" in history
    _shot(page, "5-history")
    assert js_errors == []

    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "loop-seconds.json").write_text(json.dumps({k: round(v, 1) for k, v in steps.items()},
                                                        ensure_ascii=False, indent=2), encoding="utf-8")


def test_the_studio_is_closed_to_agents_in_the_browser(
        studio_stack: RunningStack, browser_page: Tuple[object, List[str]]) -> None:  # noqa: F811
    page, _ = browser_page
    _sign_in(page, studio_stack, "agent1")
    page.locator("#login-error", has_text="不能使用内容工作室").wait_for(timeout=10_000)
    assert page.locator("#studio-view").is_hidden()
    r = requests.get(studio_stack.url("agent_desk") + "/api/studio/history", timeout=10)
    assert r.status_code == 401
