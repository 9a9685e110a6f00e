"""The demo chat page in a real (headless) Chromium: log in as C1001 through core banking,
ask a question, tap a button, see the reply; large-text mode. Screenshots go to
test-artifacts/channels/."""
from __future__ import annotations

from pathlib import Path

import pytest

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
        pytest.skip("no /usr/bin/chromium")
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
        pytest.skip("no /usr/bin/chromium")
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
