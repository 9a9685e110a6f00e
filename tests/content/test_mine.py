"""`mine` on a checked-in event log: unanswered questions grouped, handoffs, ratings, CSV."""
from __future__ import annotations

import csv
import json

from bot.content import cli
from bot.content.mine import conversations_from_files, find_handoffs, find_ratings, mine

from tests.content.conftest import FIXTURES

EVENTS = FIXTURES / "events"
FLIGHT = {"帮我订一张去上海的机票", "我想订机票", "机票怎么订", "请问可以订机票吗", "订一张明天的飞机票"}
WEATHER = {"今天天气怎么样", "明天天气如何", "你知道天气预报吗", "查一下今天天气"}


def _result():
    return mine(conversations_from_files([EVENTS]), threshold=0.6)


def test_reads_json_lines_and_tracker_dumps():
    conversations = {c.sender_id: c for c in conversations_from_files([EVENTS])}
    assert set(conversations) == {f"c0{i}" for i in range(1, 10)}
    assert any(e.get("event") == "user" for e in conversations["c09"].events)  # from tracker_c09.json


def test_unanswered_paraphrases_share_a_cluster_and_questions_do_not():
    result = _result()
    texts = {u["text"]: u for u in result["unanswered"]}
    assert set(texts) == FLIGHT | WEATHER  # answered banking questions and button payloads are not listed
    flight = {texts[t]["cluster"] for t in FLIGHT}
    weather = {texts[t]["cluster"] for t in WEATHER}
    assert len(flight) == 1 and len(weather) == 1 and flight != weather
    reasons = {t: u["reason"] for t, u in texts.items()}
    assert reasons["我想订机票"] == "nlu_fallback"
    assert reasons["机票怎么订"] == "out_of_scope"
    assert reasons["请问可以订机票吗"] == "low_confidence"
    assert reasons["你知道天气预报吗"] == "core_fallback"
    assert [c["count"] for c in result["clusters"]] == [5, 4]
    assert texts["我想订机票"]["guessed_intent"] == "ask_transfer_fee"  # best real intent, not nlu_fallback


def test_threshold_is_configurable():
    strict = mine(conversations_from_files([EVENTS]), threshold=0.99)
    assert "房贷利率是多少" in {u["text"] for u in strict["unanswered"]}


def test_handoff_reasons_and_csat_per_intent():
    conversations = conversations_from_files([EVENTS])
    handoffs = {h["sender_id"]: h for h in find_handoffs(conversations)}
    assert handoffs["c06"]["reason"] == "requested"  # slot set by the handoff action
    assert handoffs["c07"]["reason"] == "low_confidence"  # slot set before the action
    assert handoffs["c08"]["reason"] == "（未记录原因）"
    assert len(find_handoffs(conversations)) == 3
    ratings = {r["sender_id"]: r for r in find_ratings(conversations)}
    assert ratings["c06"]["rating"] == 2 and "ask_loan_rate" in ratings["c06"]["intents"]
    assert ratings["c08"]["rating"] == 5  # "五星" typed as give_rating, no slot
    assert ratings["c09"]["intents"] == ["check_balance"]  # second session only
    by_intent = {r["intent"]: r for r in _result()["csat_by_intent"]}
    assert by_intent["ask_loan_rate"]["average"] == 2 and by_intent["check_balance"]["average"] == 4


def test_cli_writes_excel_friendly_csv(tmp_path, capsys):
    assert cli.main(["mine", "--events", str(EVENTS), "--out", str(tmp_path)]) == 0
    assert "归为 2 组相似问题" in capsys.readouterr().out
    raw = (tmp_path / "unanswered_clusters.csv").read_bytes()
    assert raw.startswith("\ufeff".encode("utf-8"))  # BOM so Excel opens it as UTF-8
    with (tmp_path / "unanswered_clusters.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["出现次数"] == "5" and "机票" in rows[0]["代表问题"]
    for name in ("unanswered_messages.csv", "handoffs.csv", "csat_by_intent.csv"):
        assert (tmp_path / name).read_bytes().startswith(b"\xef\xbb\xbf")
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["conversations"] == 9


def test_what_mine_writes_is_masked():
    from bot.content.mine import Conversation, find_unanswered

    said = "我叫张丽 我的卡 6222021234567890123 丢了，身份证 110101199003071234，电话 13812345678"
    conv = Conversation("c-mask", [{"event": "user", "text": said, "timestamp": 1.0,
                                    "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}}])
    [found] = find_unanswered([conv], threshold=0.6, unanswered_intents=["nlu_fallback"])
    assert "6222021234567890123" not in found.text and "**** **** **** 0123" in found.text
    assert "110101199003071234" not in found.text and "13812345678" not in found.text
    assert "张丽" not in found.text and "我叫张*" in found.text


def test_one_name_rule_everywhere():
    from actions import customer_profile
    from bot.masking import mask_name
    from services.core_banking import presenters

    assert [mask_name(n) for n in ("张丽", "王建明", "杭州明远贸易有限公司", "张*", "")] == \
        ["张*", "王*明", "杭州******公司", "张*", ""]
    assert customer_profile.mask_name is mask_name and presenters.mask_name is mask_name


def test_a_question_replayed_by_the_two_stage_fallback_is_not_unanswered():
    """As Rasa 3.6 stores it: the customer asks something new instead of answering the
    fallback's "您是想问…吗"; the fallback undoes that message (rewind) and replays it."""
    from bot.content.mine import Conversation, find_unanswered

    def user(text, intent, confidence):
        return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence}}}

    events = [user("手机上的盾丢了咋整", "nlu_fallback", 0.45), {"event": "action", "name": "action_two_stage_fallback"},
              user("转账限额是多少", "ask_transfer_limit", 0.98), {"event": "action", "name": "action_two_stage_fallback"},
              {"event": "rewind"}, {"event": "action", "name": "action_listen"},
              user("转账限额是多少", "ask_transfer_limit", 1.0), {"event": "action", "name": "action_my_transfer_limits"},
              user("你知道天气预报吗", "ask_transfer_fee", 0.9), {"event": "action", "name": "action_default_fallback"}]

    found = find_unanswered([Conversation("c", events)], 0.6, ["nlu_fallback", "out_of_scope"])

    assert [(u.text, u.reason) for u in found] == [("手机上的盾丢了咋整", "nlu_fallback"),
                                                   ("你知道天气预报吗", "core_fallback")]
