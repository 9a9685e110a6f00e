"""The demo chat page in a real (headless) Chromium: log in as C1001 through core banking,
ask a question, tap a button, see the reply; large-text mode. Screenshots go to
test-artifacts/channels/."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.unavailable import unavailable

from tests.channels.conftest import ChannelStack

pytestmark = pytest.mark.timeout(240)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def shots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "channels"
    path.mkdir(exist_ok=True)
    return path


def test_demo_page_login_ask_and_tap(channel_stack: ChannelStack, shots: Path) -> None:
    if not CHROMIUM.exists():
        unavailable("no /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 430, "height": 860}, bypass_csp=True)  # for wait_for_function
            errors: list = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{channel_stack.rasa_url}/webhooks/app/chat")
            page.screenshot(path=str(shots / "01-login.png"))

            page.select_option("#customer", "C1001")
            page.fill("#password", "demo1234")
            page.click("#login")
            expect(page.locator("#chat-view")).to_be_visible(timeout=15000)
            expect(page.locator("#who")).to_have_text("C1001")

            bots = page.locator("li.bubble.bot")
            page.fill("#message", "手机银行转账限额是多少")
            page.click("#send")
            bots.first.wait_for(timeout=30000)
            page.wait_for_function("!document.getElementById('send').disabled", timeout=30000)
            answer = bots.last.inner_text()
            assert "限额" in answer or "转账" in answer, answer
            page.screenshot(path=str(shots / "02-answer.png"))

            choices = page.locator("button.choice:not([disabled])")
            if choices.count() == 0:  # this answer offers no choices: the greeting does
                page.fill("#message", "你好")
                page.click("#send")
                page.wait_for_function("!document.getElementById('send').disabled", timeout=30000)
            assert choices.count() > 0
            before = bots.count()
            title = choices.first.inner_text()
            choices.first.click()
            expect(page.locator("li.bubble.user").last).to_have_text(title)
            page.wait_for_function(f"document.querySelectorAll('li.bubble.bot').length > {before}", timeout=30000)
            assert bots.last.inner_text().strip()
            page.screenshot(path=str(shots / "03-after-button.png"))

            page.click("#large-text")
            assert "large" in page.evaluate("document.body.className")
            size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('li.bubble.bot')).fontSize)")
            assert size >= 20
            page.screenshot(path=str(shots / "04-large-text.png"))
            assert errors == []
        finally:
            browser.close()


def test_demo_page_shows_pushed_messages(channel_stack: ChannelStack, shots: Path) -> None:
    if not CHROMIUM.exists():
        unavailable("no /usr/bin/chromium")
    import requests
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 430, "height": 860}, bypass_csp=True)  # for wait_for_function
            page.goto(f"{channel_stack.rasa_url}/webhooks/app/chat")
            page.select_option("#customer", "C1003")
            page.click("#login")
            expect(page.locator("#chat-view")).to_be_visible(timeout=15000)
            resp = requests.post(
                f"{channel_stack.rasa_url}/conversations/app-C1003/tracker/events",
                params={"token": channel_stack.stack.rasa_token, "output_channel": "app",
                        "execute_side_effects": "true"},
                json={"event": "bot", "text": "人工客服小张：您好，请问还有什么可以帮您？"}, timeout=20)
            assert resp.status_code == 200
            expect(page.locator("li.bubble.bot.pushed")).to_contain_text("人工客服小张", timeout=10000)
            page.screenshot(path=str(shots / "05-pushed.png"))
        finally:
            browser.close()


PHONE = {"width": 375, "height": 667}  # a small phone (iPhone SE): the page fills the screen


def test_demo_page_follow_up_conversation_on_a_phone(channel_stack: ChannelStack, shots: Path) -> None:
    """After logging in the login form is not on screen; a question, its follow-up and
    "那怎么办" read as a conversation on a phone-sized screen, each answer in view."""
    if not CHROMIUM.exists():
        unavailable("no /usr/bin/chromium")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=PHONE, bypass_csp=True)
            page.goto(f"{channel_stack.rasa_url}/webhooks/app/chat")
            page.select_option("#customer", "C1002")
            page.click("#login")
            expect(page.locator("#chat-view")).to_be_visible(timeout=15000)
            expect(page.locator("#login-view")).to_be_hidden()
            chat_top = page.locator("#chat-view").bounding_box()["y"]
            bar_bottom = page.locator("header.bar").bounding_box()
            assert chat_top <= bar_bottom["y"] + bar_bottom["height"] + 1, "the chat must start right under the bar"

            bots = page.locator("li.bubble.bot")
            replies = []
            for text in ("贷款利率多少", "经营贷呢", "那怎么办"):
                before = bots.count()
                page.fill("#message", text)
                page.click("#send")
                page.wait_for_function(f"document.querySelectorAll('li.bubble.bot').length > {before}", timeout=30000)
                page.wait_for_function("!document.getElementById('send').disabled", timeout=30000)
                replies.append("\n".join(bots.nth(i).inner_text() for i in range(before, bots.count())))
                last = bots.last.bounding_box()
                composer = page.locator("#composer").bounding_box()
                assert last["y"] < composer["y"], "the newest answer is in view above the input box"
            assert "经营贷" in replies[1] and "LPR" not in replies[1], replies[1]
            assert "材料" in replies[2] or "申请" in replies[2], replies[2]
            users = page.locator("li.bubble.user")
            assert [users.nth(i).inner_text() for i in range(users.count())] == ["贷款利率多少", "经营贷呢", "那怎么办"]
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"no sideways scrolling on a phone ({width}px wide)"
            page.screenshot(path=str(shots / "06-phone-follow-up.png"))
        finally:
            browser.close()
