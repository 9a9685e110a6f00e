"""The web console in Debian's Chromium (Playwright, no downloaded browsers): the agent's whole path."""
from __future__ import annotations

import requests

from actions.knowledge import fragment
from tests.services.agent_desk.harness import ARTIFACTS, DeskProcess, RecordingServer
from tests.support.browser import browser_page  # noqa: F401  (the fixture)


def test_agent_works_a_conversation_in_the_console(desk: DeskProcess, recorder: RecordingServer,
                                                    browser_page) -> None:
    from playwright.sync_api import expect

    page, errors = browser_page
    shots = ARTIFACTS
    shots.mkdir(parents=True, exist_ok=True)
    created = desk.register(reason="客户要求人工：信用卡账单争议", priority=3,
                            customer={"id": "C2001", "display_name": "周杰", "segment": "platinum"})
    hid = created["id"]

    page.goto(desk.url + "/")
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#login-username", "agent1")
    page.fill("#login-password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    page.fill("#login-password", "agent1-demo")
    page.screenshot(path=str(shots / "01-login.png"))
    page.click("#login-submit")

    expect(page.locator("#live-status")).to_have_text("实时在线", timeout=10000)
    item = page.locator(f'#handoff-list li[data-id="{hid}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("周*")
    expect(item.locator(".wait")).to_contain_text("已等待")
    page.screenshot(path=str(shots / "02-queue.png"))

    # a new handoff shows up live, without reloading
    live = desk.register(reason="新来的客户", customer={"id": "C2002", "display_name": "吴敏", "segment": "gold"})
    expect(page.locator(f'#handoff-list li[data-id="{live["id"]}"]')).to_be_visible(timeout=5000)

    item.click()
    expect(page.locator("#context-panel")).to_be_visible()
    expect(page.locator("#ctx-reason")).to_have_text("客户要求人工：信用卡账单争议")
    expect(page.locator("#ctx-name")).to_have_text("周*")
    expect(page.locator("#ctx-segment")).to_have_text("白金客户")
    expect(page.locator("#ctx-nlu")).to_contain_text("转人工客服")  # the intent's label, not request_human
    expect(page.locator("#ctx-nlu")).to_contain_text("97%")
    expect(page.locator("#ctx-slots")).to_contain_text("1234")
    expect(page.locator("#ctx-summary")).to_contain_text("信用卡")
    expect(page.locator("#transcript li")).to_have_count(3)
    page.screenshot(path=str(shots / "03-conversation.png"))

    page.click("#btn-claim")
    expect(page.locator("#conv-title")).to_contain_text("处理中")
    expect(page.locator("#reply-box")).to_be_visible()
    page.click('#canned button[data-canned="greet"]')
    expect(page.locator("#reply-text")).to_have_value("您好，我是人工客服，很高兴为您服务。请问有什么可以帮您？")
    page.click("#btn-send")
    recorder.wait_for("/agent_message", handoff_id=hid, text="您好，我是人工客服，很高兴为您服务。请问有什么可以帮您？")
    expect(page.locator("#reply-text")).to_have_value("")  # the sent reply left the box
    page.fill("#reply-text", "请问是哪一笔交易？")
    page.keyboard.press("Control+Enter")
    recorder.wait_for("/agent_message", handoff_id=hid, text="请问是哪一笔交易？")
    expect(page.locator('#transcript li[data-role="agent"] [data-delivery="delivered"]')).to_have_count(2)

    # the customer answers: it appears live
    requests.post(f"{desk.url}/internal/handoffs/{hid}/customer-messages", json={"text": "1 月 3 号那笔 300 元"},
                  headers=desk.service_headers, timeout=10).raise_for_status()
    expect(page.locator("#transcript li").last).to_contain_text("1 月 3 号那笔 300 元", timeout=5000)
    page.screenshot(path=str(shots / "04-reply.png"))

    page.fill("#close-resolution", "已解释账单，客户认可")
    page.click("#btn-close")
    expect(page.locator("#action-error")).to_have_text("请先选择处理结果类型")  # wrap-up is asked for
    page.select_option("#close-disposition", "solved")
    page.click("#btn-close")
    expect(page.locator("#conv-title")).to_contain_text("已结束")
    call = recorder.wait_for("/closed", handoff_id=hid)
    assert call.body["back_to_bot"] is True and call.body["resolution"] == "已解释账单，客户认可"
    page.click('.tab[data-status="closed"]')
    expect(page.locator(f'#handoff-list li[data-id="{hid}"]')).to_be_visible()
    page.screenshot(path=str(shots / "05-closed.png"))
    assert not errors, errors
    desk.post(f"/api/handoffs/{live['id']}/close", {"back_to_bot": True})


# Every line box of every text in the panel, then any two from different texts that cross.
_OVERLAPS_JS = """(root) => {
  const boxes = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(), i = 0; node; node = walker.nextNode(), i++) {
    if (!node.textContent.trim() || !node.parentElement.offsetParent) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) boxes.push({i, text: node.textContent.trim(), r});
  }
  const found = [];
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
    const p = boxes[a], q = boxes[b];
    if (p.i === q.i) continue;
    const w = Math.min(p.r.right, q.r.right) - Math.max(p.r.left, q.r.left);
    const h = Math.min(p.r.bottom, q.r.bottom) - Math.max(p.r.top, q.r.top);
    if (w > 1 && h > 1) found.push(p.text + " / " + q.text);
  }
  return found;
}"""


def test_the_context_panel_speaks_the_agents_language(desk: DeskProcess, browser_page) -> None:
    """Issue 15: raw slot names and values (desired_overseas_limit=50000.0), labels running into
    their values, and an anonymous customer shown as 未****."""
    from playwright.sync_api import expect

    page, errors = browser_page
    slots = {"card_type": "信用卡", "overseas_card": "尾号 1234 的信用卡", "travel_destination": "日本东京",
             "travel_dates": "12月10号到12月20号", "desired_overseas_limit": 50000.0, "overseas_confirmed": True,
             "verification_method": "face", "paused_form": "complaint_form", "handoff_reason": "overseas_limit",
             # a slot the label table does not know yet keeps its long raw name: it must wrap, not run over
             "preferred_contact_window_for_callback": "工作日下午"}
    anonymous = fragment("desk_anonymous_name")  # what the desk calls a customer who is not logged in
    hid = desk.register(customer={"id": None, "display_name": anonymous, "segment": "未登录"}, slots=slots,
                        nlu=[{"text": "境外刷卡额度调高", "intent": "adjust_overseas_limit", "confidence": 0.91}])["id"]
    page.goto(desk.url + "/")
    page.fill("#login-username", "agent1")
    page.fill("#login-password", "agent1-demo")
    page.click("#login-submit")
    page.locator(f'#handoff-list li[data-id="{hid}"]').click()
    expect(page.locator("#context-panel")).to_be_visible()

    expect(page.locator("#ctx-name")).to_have_text(anonymous)
    expect(page.locator("#conv-title")).to_contain_text(anonymous)
    panel = page.locator("#ctx-slots")
    expect(panel.locator("dt")).to_have_count(9)
    shown = dict(zip(panel.locator("dt").all_inner_texts(), panel.locator("dd").all_inner_texts()))
    assert shown == {"没办完的业务": "投诉登记", "卡片类型": "信用卡",
                     "境外用卡": "尾号 1234 的信用卡", "目的地": "日本东京", "出行日期": "12月10号到12月20号",
                     "期望的境外额度": "5 万元", "已确认调整额度": "是", "验证方式": "刷脸",
                     "preferred_contact_window_for_callback": "工作日下午"}, shown
    for raw in ("desired_overseas_limit", "50000.0", "True", "handoff_reason", "overseas_limit"):
        expect(panel).not_to_contain_text(raw)
    expect(page.locator("#ctx-nlu")).to_contain_text("信用卡境外消费限额")

    for width in (1400, 1100):  # the panel is narrower on a small screen
        page.set_viewport_size({"width": width, "height": 860})
        overlapping = page.locator("#context-panel").evaluate(_OVERLAPS_JS)
        assert overlapping == [], f"at {width}px: {overlapping}"
    page.screenshot(path=str(ARTIFACTS / "06-context-panel.png"))
    assert not errors, errors
    desk.post(f"/api/handoffs/{hid}/close", {"back_to_bot": True})


def test_a_follow_up_closed_in_the_console_shows_in_the_supervisors_report(make_desk, browser_page) -> None:
    """Issue 15 item 4: closing asks for a disposition; a follow-up gets a due time and appears
    in the supervisor's view; the report shows handled per queue with a chart."""
    from playwright.sync_api import expect

    page, errors = browser_page
    desk = make_desk()
    hid = desk.register(queue="cards")["id"]
    page.goto(desk.url + "/")
    page.fill("#login-username", "agent1")
    page.fill("#login-password", "agent1-demo")
    page.click("#login-submit")
    page.locator(f'#handoff-list li[data-id="{hid}"]').click()
    page.click("#btn-claim")
    expect(page.locator("#reply-box")).to_be_visible()
    expect(page.locator("#btn-report")).to_be_hidden()  # agents have no report
    page.select_option("#close-disposition", "follow_up")
    expect(page.locator("#close-due-box")).to_be_visible()
    page.click("#btn-close")
    expect(page.locator("#action-error")).to_have_text("需要跟进的会话请填写跟进时间")
    page.fill("#close-due", "2099-01-02T10:30")
    page.fill("#close-resolution", "等信用卡中心核实后回电")
    page.click("#btn-close")
    expect(page.locator("#conv-title")).to_contain_text("已结束")
    assert desk.get(f"/api/handoffs/{hid}").json()["disposition"] == "follow_up"

    page.click("#logout")
    page.fill("#login-username", "supervisor1")
    page.fill("#login-password", "supervisor1-demo")
    page.click("#login-submit")
    page.click("#btn-report")
    expect(page.locator('#report-table tr[data-queue="cards"] td').nth(1)).to_have_text("1")
    expect(page.locator('#report-table tr[data-queue="cards"]')).to_contain_text("需要跟进 1")
    expect(page.locator('#report-chart rect[data-queue="cards"]')).to_have_count(1)
    expect(page.locator("#report-follow-ups")).to_have_text("1")
    expect(page.locator("#task-list li[data-task]")).to_have_count(1)
    expect(page.locator("#task-list")).to_contain_text("信用卡")
    page.screenshot(path=str(ARTIFACTS / "07-report.png"))
    page.locator("#task-list li[data-task] button").click()
    expect(page.locator("#task-list")).to_contain_text("暂无待跟进")
    assert not errors, errors
