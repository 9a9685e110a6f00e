"""The studio's inbox and annotation (issue 14, item 2): messages the bot did not handle well, from
Rasa trackers in a real Redis, masked and grouped; annotated into the studio worktree's NLU files
as commits by the content user; conflicts and role checks through the real desk process."""
from __future__ import annotations

import json
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest
import redis
import requests
import yaml

from bot.content.check import run_check
from bot.content.lint import run_lint
from bot.content.mine import Conversation
from bot.content.project import ProjectPaths
from services.agent_desk import errors
from services.agent_desk.studio import annotate as annotation
from services.agent_desk.studio import inbox
from services.agent_desk.studio.workspace import Author, Workspace
from tests.services.agent_desk.harness import RedisForTests, random_prefix
from tests.support.studio import content_repo, git

ZHAO = Author("content1", "内容编辑 赵敏")
CARD = "6222 0212 3456 7890 123"
PHONE = "13812345678"
# A new intent from a group of 25 similar messages (the content check's minimum per intent).
REPLACEMENT = ["银行卡坏了怎么补办", "卡消磁了能换吗", "芯片坏了要换卡", "卡片折断了怎么办", "补办银行卡要带什么",
               "换新卡要多久", "卡过期了怎么换", "可以邮寄新卡吗", "补卡要收费吗", "卡刷不出来了想换一张",
               "旧卡磨损了换卡", "补办借记卡流程", "网上能申请换卡吗", "换卡后卡号会变吗", "损坏的卡怎么处理",
               "卡面破了能用吗", "补卡去哪个网点", "换卡需要本人去吗", "新卡寄到家要几天", "卡弯了读不出来",
               "申请补发银行卡", "怎么换一张新的借记卡", "卡片损坏补办", "到期换卡怎么弄", "坏卡换新卡"]


# ------------------------------------------------------------------------------ Rasa tracker events
class Clock:
    def __init__(self, start: Optional[float] = None) -> None:
        self.now = start or time.time() - 600

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


def session_start(ts: float) -> List[Dict[str, Any]]:
    return [{"event": "action", "timestamp": ts, "name": "action_session_start", "policy": None, "confidence": 1.0},
            {"event": "session_started", "timestamp": ts},
            {"event": "action", "timestamp": ts, "name": "action_listen", "policy": None, "confidence": None}]


def user(ts: float, text: str, intent: str, confidence: float, entities: Sequence[Dict[str, Any]] = (),
         ranking: Sequence[Dict[str, Any]] = ()) -> Dict[str, Any]:
    """A `user` event as Rasa 3.6 stores it in the tracker."""
    ranking = list(ranking) or [{"name": intent, "confidence": confidence}]
    return {"event": "user", "timestamp": ts, "text": text, "metadata": {}, "input_channel": "rest",
            "message_id": uuid.uuid4().hex,
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence},
                           "entities": list(entities), "intent_ranking": ranking, "message_id": uuid.uuid4().hex,
                           "metadata": {}}}


def fallback(ts: float, text: str, guess: str, entities: Sequence[Dict[str, Any]] = ()) -> Dict[str, Any]:
    return user(ts, text, "nlu_fallback", 0.4, entities,
                [{"name": "nlu_fallback", "confidence": 0.4}, {"name": guess, "confidence": 0.31}])


def bot(ts: float, text: str) -> Dict[str, Any]:
    return {"event": "bot", "timestamp": ts, "text": text, "metadata": {}, "data": {}}


def action(ts: float, name: str) -> Dict[str, Any]:
    return {"event": "action", "timestamp": ts, "name": name, "policy": "RulePolicy", "confidence": 1.0}


def rating(ts: float, value: int) -> List[Dict[str, Any]]:
    return [user(ts, f"给{value}分", "give_rating", 0.95, [{"entity": "amount", "value": value}]),
            {"event": "slot", "timestamp": ts, "name": "csat_rating", "value": value}]


def answered(clock: Clock, text: str, intent: str, confidence: float = 0.93) -> List[Dict[str, Any]]:
    return [user(clock(), text, intent, confidence), action(clock(), f"utter_{intent}"),
            bot(clock(), "好的"), action(clock(), "action_listen")]


def lost_card_message(clock: Clock) -> List[Dict[str, Any]]:
    """A message NLU did not understand, with a card number, a phone number and a name in it."""
    text = f"我叫王建明，卡号{CARD}，手机{PHONE}，这张卡找不着了"
    start = text.index(CARD)
    entities = [{"entity": "card_number", "start": start, "end": start + len(CARD), "value": CARD.replace(" ", ""),
                 "extractor": "BankEntityExtractor"}]
    return [fallback(clock(), text, "report_lost_card", entities), action(clock(), "utter_default"),
            bot(clock(), "抱歉，我没听懂，您可以换个说法吗？"), action(clock(), "action_listen")]


def store(client: Any, prefix: str, sender: str, events: List[Dict[str, Any]]) -> None:
    """Writes a tracker where Rasa's RedisTrackerStore keeps it: `<prefix>:tracker:<sender>`."""
    client.set(f"{prefix}:tracker:{sender}", json.dumps({"name": sender, "events": events}))


@pytest.fixture
def tracker_redis(redis_for_tests: RedisForTests) -> Iterator[Any]:
    client = redis.Redis.from_url(redis_for_tests.url)
    client.studio_prefix = random_prefix()  # type: ignore[attr-defined]
    yield client
    keys = list(client.scan_iter(match=f"{client.studio_prefix}:*"))  # type: ignore[attr-defined]
    if keys:
        client.delete(*keys)
    client.close()




@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(content_repo(tmp_path / "project"), "content/studio", tmp_path / "studio").ensure()


def error_keys(root: Path) -> set:
    return {(i.code, i.file, i.message) for i in run_lint(ProjectPaths(root)) if i.severity == "error"}


# ------------------------------------------------------------------------------ the inbox, directly
def test_a_fallback_message_in_a_redis_tracker_is_in_the_inbox_masked_with_its_entity_spans(tracker_redis) -> None:
    clock = Clock()
    prefix = tracker_redis.studio_prefix
    store(tracker_redis, prefix, "app-c1", session_start(clock()) + answered(clock, "你好", "greet")
          + lost_card_message(clock))

    found = inbox.build_inbox(tracker_redis, prefix, limit=50)

    assert (found.conversations, found.messages, len(found.groups)) == (1, 1, 1)
    message = found.groups[0].messages[0]
    assert (message.sender_id, message.reasons, message.intent) == ("app-c1", ["nlu_fallback"], "report_lost_card")
    assert "**** **** **** 0123" in message.text and "138****5678" in message.text and "王*明" in message.text
    assert CARD not in message.text and PHONE not in message.text and "王建明" not in message.text
    (entity,) = message.entities
    assert entity.entity == "card_number" and entity.value == "**** **** **** 0123"
    assert message.text[entity.start:entity.end] == "**** **** **** 0123"

    turns = inbox.transcript(inbox.read_conversation(tracker_redis, prefix, "app-c1"))
    assert [t.role for t in turns] == ["user", "bot", "user", "bot"]
    users = [t for t in turns if t.role == "user"]
    assert [(t.intent, t.confidence) for t in users] == [("greet", 0.93), ("nlu_fallback", 0.4)]
    assert users[1].text == message.text and users[1].entities[0].value == "**** **** **** 0123"
    assert "抱歉，我没听懂，您可以换个说法吗？" in [t.text for t in turns if t.role == "bot"]
    assert all(CARD not in t.text and PHONE not in t.text for t in turns)
    with pytest.raises(errors.NotFound):
        inbox.read_conversation(tracker_redis, prefix, "no-such-sender")


def test_similar_messages_are_grouped_and_a_different_one_is_not(tracker_redis) -> None:
    clock = Clock()
    prefix = tracker_redis.studio_prefix
    for sender, text, guess in (("c-a", "信用卡的年费到底怎么收", "ask_card_fee"),
                                ("c-b", "请问信用卡年费怎么收呢", "ask_card_fee"),
                                ("c-c", "附近哪里有自助存款机", "greet")):
        store(tracker_redis, prefix, sender, session_start(clock()) + [fallback(clock(), text, guess),
                                                                       action(clock(), "utter_default")])

    groups = inbox.build_inbox(tracker_redis, prefix, limit=50).groups

    assert [len(g.messages) for g in groups] == [2, 1]
    assert {m.sender_id for m in groups[0].messages} == {"c-a", "c-b"}
    assert groups[0].reasons == {"nlu_fallback": 2} and groups[0].guessed == [("ask_card_fee", 2)]
    assert groups[1].messages[0].text == "附近哪里有自助存款机"


def test_handoff_repeat_low_confidence_and_low_rating_bring_understood_messages_in() -> None:
    clock = Clock()
    handoff = session_start(clock()) + answered(clock, "信用卡年费怎么收", "ask_card_fee") + [
        user(clock(), "转人工", "request_human", 0.97), action(clock(), "action_handoff_to_human")]
    repeat = session_start(clock()) + answered(clock, "转账限额是多少", "ask_transfer_limit") + answered(
        clock, "转账的限额到底是多少", "ask_transfer_limit")
    unsure = session_start(clock()) + answered(clock, "那个东西怎么弄", "ask_card_fee", confidence=0.3)
    rated = session_start(clock()) + answered(clock, "挂失以后多久能补卡", "report_lost_card") + rating(clock(), 1)
    small_talk = session_start(clock()) + answered(clock, "你好", "greet", 0.99) + [
        user(clock(), "转人工", "request_human", 0.97), action(clock(), "action_handoff_to_human")]
    happy = session_start(clock()) + answered(clock, "借记卡收年费吗", "ask_card_fee") + rating(clock(), 5)

    found = inbox.find_messages([Conversation("h", handoff), Conversation("r", repeat), Conversation("u", unsure),
                                 Conversation("l", rated), Conversation("s", small_talk), Conversation("ok", happy)])

    assert {(m.sender_id, m.text): m.reasons for m in found} == {
        ("h", "信用卡年费怎么收"): ["handoff"],
        ("r", "转账限额是多少"): ["repeated"],
        ("u", "那个东西怎么弄"): ["low_confidence"],
        ("l", "挂失以后多久能补卡"): ["low_rating"],
    }


def test_a_confident_wrong_answer_the_customer_corrects_is_in_the_inbox() -> None:
    """Seen driving the real bot: "大年初一你们开张不" got the account-opening answer (开张 read as
    开户) with high confidence; the customer said "我问的是…" in other words, which no
    similarity measure calls the same question. A lead-in that says "you misunderstood me"
    (cues.yml `misunderstood`) brings the message before it in."""
    clock = Clock()
    corrected = session_start(clock()) + answered(clock, "大年初一你们开张不", "ask_account_opening", 0.93) + \
        answered(clock, "我问的是大年初一你们网点开不开门", "ask_branch_hours", 0.97)
    follow_up = session_start(clock()) + answered(clock, "转账限额是多少", "ask_transfer_limit") + \
        answered(clock, "转账限额怎么提高", "raise_transfer_limit")

    found = inbox.find_messages([Conversation("c", corrected), Conversation("f", follow_up)])

    assert {(m.sender_id, m.text): m.reasons for m in found} == {("c", "大年初一你们开张不"): ["repeated"]}


def test_a_message_replayed_by_the_two_stage_fallback_is_neither_a_fallback_nor_a_repeat() -> None:
    # As Rasa stored it live: the bot asks "您是想问…吗", the customer asks something new
    # instead; the fallback undoes that message (rewind) and replays it as a fresh one.
    clock = Clock()
    events = session_start(clock()) + [
        fallback(clock(), "那个手机上的盾丢了咋整", "report_lost_card"), action(clock(), "action_two_stage_fallback"),
        bot(clock(), "您是想问「银行卡挂失、冻结」吗？"), action(clock(), "action_listen"),
        user(clock(), "转账限额是多少", "ask_transfer_limit", 0.98), action(clock(), "action_two_stage_fallback"),
        {"event": "rewind", "timestamp": clock()}, action(clock(), "action_listen"),
        user(clock(), "转账限额是多少", "ask_transfer_limit", 1.0), action(clock(), "action_my_transfer_limits"),
        bot(clock(), "各渠道的转账限额")]

    found = inbox.find_messages([Conversation("c", events)])

    assert {m.text: m.reasons for m in found} == {"那个手机上的盾丢了咋整": ["nlu_fallback"]}


def test_reading_is_bounded_to_the_newest_conversations_and_to_since(tracker_redis) -> None:
    prefix = tracker_redis.studio_prefix
    base = time.time() - 3 * 86400
    for day, sender in enumerate(("old", "middle", "new")):
        clock = Clock(base + day * 86400)
        store(tracker_redis, prefix, sender, session_start(clock()) + [fallback(clock(), f"第{day}天没听懂的问题", "greet")])
    # another key under the prefix that is not a tracker (the windowed store's)
    tracker_redis.set(f"{prefix}:tracker-window:new", "{}")

    newest, looked_at = inbox.recent_conversations(tracker_redis, prefix, limit=2)
    since, _ = inbox.recent_conversations(tracker_redis, prefix, limit=10, since=base + 86400 - 60)

    assert [c.sender_id for c in newest] == ["new", "middle"] and looked_at == 3
    assert [c.sender_id for c in since] == ["new", "middle"]
    assert [m.sender_id for m in inbox.find_messages(since, since=base + 2 * 86400 - 60)] == ["new"]


def test_annotated_messages_are_marked_or_hidden(tracker_redis) -> None:
    clock = Clock()
    prefix = tracker_redis.studio_prefix
    store(tracker_redis, prefix, "c1", session_start(clock()) + [fallback(clock(), "信用卡的年费到底怎么收", "ask_card_fee"),
                                                                 fallback(clock(), "附近哪里有自助存款机", "greet")])
    annotated = {"信用卡的年费到底怎么收": "ask_card_fee"}

    shown = inbox.build_inbox(tracker_redis, prefix, limit=10, annotated=annotated)
    hidden = inbox.build_inbox(tracker_redis, prefix, limit=10, annotated=annotated, include_annotated=False)

    assert {m.text: m.annotated for g in shown.groups for m in g.messages} == {
        "信用卡的年费到底怎么收": "ask_card_fee", "附近哪里有自助存款机": None}
    assert [m.text for g in hidden.groups for m in g.messages] == ["附近哪里有自助存款机"]


# ------------------------------------------------------------------------------ annotation, directly
def test_annotating_writes_new_masked_examples_to_the_intents_file_as_one_commit(workspace: Workspace) -> None:
    before = workspace.read("data/nlu/banking.yml")
    versions = annotation.read_project(workspace).versions

    done = annotation.annotate(workspace, ZHAO, ["信用卡年费怎么收 ", "信用卡年费怎么收", "借记卡收年费吗",
                                                 f"卡号{CARD}的年费"], "ask_card_fee", versions)

    assert done.added == ["信用卡年费怎么收", "卡号**** **** **** 0123的年费"]
    assert done.skipped == ["借记卡收年费吗"]
    change = done.change
    assert (change.username, change.author, change.files) == ("content1", "内容编辑 赵敏", ("data/nlu/banking.yml",))
    assert change.message == "标注 2 条消息为意图 ask_card_fee"
    after = workspace.read("data/nlu/banking.yml").text
    assert CARD not in after and "6222" not in after
    info = annotation.read_project(workspace).intents["ask_card_fee"]
    assert info.examples[-2:] == done.added and info.file == "data/nlu/banking.yml"
    diff = git(workspace.root, "diff", "HEAD~1", "--unified=0", "--", "data/nlu/banking.yml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["+    - 信用卡年费怎么收", "+    - 卡号**** **** **** 0123的年费"]  # nothing else rewritten
    assert before.text in after.replace("    - 信用卡年费怎么收\n    - 卡号**** **** **** 0123的年费\n", "")


def test_a_text_of_another_intent_an_unknown_intent_or_nothing_new_is_refused(workspace: Workspace) -> None:
    versions = annotation.read_project(workspace).versions

    with pytest.raises(errors.InvalidInput) as elsewhere:
        annotation.annotate(workspace, ZHAO, ["我的卡丢了"], "ask_card_fee", versions)
    with pytest.raises(errors.InvalidInput) as nothing_new:
        annotation.annotate(workspace, ZHAO, ["借记卡收年费吗"], "ask_card_fee", versions)
    with pytest.raises(errors.NotFound):
        annotation.annotate(workspace, ZHAO, ["补办银行卡"], "ask_card_replacement", versions)
    with pytest.raises(errors.InvalidInput) as existing:
        annotation.annotate(workspace, ZHAO, ["补办银行卡"], "ask_card_fee", versions,
                            annotation.NewIntent(answer_text="可以补办"))

    assert elsewhere.value.code == "example_in_other_intent" and "report_lost_card" in elsewhere.value.message
    assert elsewhere.value.extra["file"] == "data/nlu/banking.yml"
    assert nothing_new.value.code == "no_change" and existing.value.code == "intent_exists"
    assert [c.message for c in workspace.history()] == ["fixture"]


# ------------------------------------------------------------------------------ through the desk
@pytest.fixture
def studio_desk(make_desk, tmp_path: Path):
    repo = content_repo(tmp_path / "studio-project")
    return make_desk(AGENT_DESK_STUDIO_PROJECT=str(repo), AGENT_DESK_STUDIO_DIR=str(tmp_path / "studio"))


def _worktree(desk) -> Path:
    return Path(desk.env["AGENT_DESK_STUDIO_DIR"]) / "worktree"


def test_the_inbox_api_masks_groups_and_opens_each_conversation(studio_desk, redis_for_tests) -> None:
    client = redis.Redis.from_url(redis_for_tests.url)
    clock = Clock()
    store(client, studio_desk.prefix, "app-1", session_start(clock()) + lost_card_message(clock))
    for sender, text in (("app-2", "信用卡的年费到底怎么收"), ("app-3", "请问信用卡年费怎么收呢")):
        store(client, studio_desk.prefix, sender, session_start(clock()) + [fallback(clock(), text, "ask_card_fee")])
    client.close()

    r = studio_desk.get("/api/studio/inbox?limit=50", username="content1")
    assert r.status_code == 200, r.text
    assert CARD not in r.text and PHONE not in r.text and "王建明" not in r.text
    body = r.json()
    assert (body["conversations"], body["messages"]) == (3, 3)
    assert [g["size"] for g in body["groups"]] == [2, 1]
    assert {e["sender_id"] for e in body["groups"][0]["examples"]} == {"app-2", "app-3"}
    assert body["groups"][0]["reasons"] == {"nlu_fallback": 2}
    (lost,) = body["groups"][1]["examples"]
    assert lost["sender_id"] == "app-1" and lost["reason"] == "nlu_fallback" and lost["intent"] == "report_lost_card"
    entity = lost["entities"][0]
    assert lost["text"][entity["start"]:entity["end"]] == entity["value"] == "**** **** **** 0123"

    r = studio_desk.get("/api/studio/conversations/app-1", username="content1")
    assert r.status_code == 200, r.text
    assert CARD not in r.text and PHONE not in r.text
    users = [t for t in r.json()["turns"] if t["role"] == "user"]
    assert [(t["text"], t["intent"], t["confidence"]) for t in users] == [(lost["text"], "nlu_fallback", 0.4)]
    assert studio_desk.get("/api/studio/conversations/nobody", username="content1").status_code == 404
    assert studio_desk.get("/api/studio/inbox", username="supervisor1").status_code == 200


def test_annotating_through_the_api_is_a_commit_by_content1_and_marks_the_message(studio_desk, redis_for_tests) -> None:
    client = redis.Redis.from_url(redis_for_tests.url)
    clock = Clock()
    store(client, studio_desk.prefix, "app-9", session_start(clock()) + [
        fallback(clock(), f"卡号{CARD}的信用卡年费怎么收", "ask_card_fee")])
    client.close()
    message = studio_desk.get("/api/studio/inbox", username="content1").json()["groups"][0]["examples"][0]
    listing = studio_desk.get("/api/studio/intents", username="content1").json()
    fee = next(i for i in listing["intents"] if i["name"] == "ask_card_fee")
    assert (fee["file"], fee["examples_count"]) == ("data/nlu/banking.yml", 25)

    r = studio_desk.post("/api/studio/annotations", {"texts": [message["text"]], "intent": "ask_card_fee",
                                                     "base_versions": listing["versions"]}, username="content1")

    assert r.status_code == 201, r.text
    change = r.json()
    assert (change["username"], change["author"]) == ("content1", "内容编辑 赵敏")
    assert change["message"] == "标注 1 条消息为意图 ask_card_fee" and change["files"] == ["data/nlu/banking.yml"]
    assert change["added"] == ["卡号**** **** **** 0123的信用卡年费怎么收"]
    text = (_worktree(studio_desk) / "data" / "nlu" / "banking.yml").read_text(encoding="utf-8")
    assert "    - 卡号**** **** **** 0123的信用卡年费怎么收\n" in text and CARD not in text
    assert git(_worktree(studio_desk), "log", "-1", "--format=%an|%s").strip() == "内容编辑 赵敏|标注 1 条消息为意图 ask_card_fee"
    detail = studio_desk.get("/api/studio/intents/ask_card_fee", username="content1").json()
    assert detail["examples"][-1] == change["added"][0] and detail["examples_count"] == 26
    again = studio_desk.get("/api/studio/inbox", username="content1").json()["groups"][0]["examples"][0]
    assert again["annotated"] == "ask_card_fee"
    hidden = studio_desk.get("/api/studio/inbox?include_annotated=false", username="content1").json()
    assert hidden["groups"] == [] and hidden["messages"] == 0
    assert studio_desk.get("/api/studio/intents/no_such_intent", username="content1").status_code == 404


def test_a_new_intent_is_created_with_its_answer_and_rule_in_one_commit_and_the_check_stays_clean(
        studio_desk, tmp_path: Path) -> None:
    worktree = _worktree(studio_desk)
    listing = studio_desk.get("/api/studio/intents", username="content1").json()
    assert listing["default_new_file"] == "data/nlu/studio.yml"
    errors_before = error_keys(worktree)

    r = studio_desk.post("/api/studio/annotations", {
        "texts": REPLACEMENT, "intent": "ask_card_replacement", "base_versions": listing["versions"],
        "new_intent": {"answer_text": "银行卡损坏或到期可以在手机银行“卡片管理”里申请换卡，新卡免费邮寄。",
                       "label": "补办换卡"}}, username="content1")

    assert r.status_code == 201, r.text
    change = r.json()
    assert change["created_intent"] is True and len(change["added"]) == 25
    assert set(change["files"]) == {"data/nlu/studio.yml", "domain.yml", "data/rules/faq.yml"}
    assert "ask_card_replacement" in change["message"] and "25" in change["message"]
    assert len(studio_desk.get("/api/studio/history", username="content1").json()["changes"]) == 2
    domain = yaml.safe_load((worktree / "domain.yml").read_text(encoding="utf-8"))
    assert "ask_card_replacement" in domain["intents"]
    assert domain["responses"]["utter_ask_card_replacement"] == [
        {"text": "银行卡损坏或到期可以在手机银行“卡片管理”里申请换卡，新卡免费邮寄。"}]
    rules = yaml.safe_load((worktree / "data" / "rules" / "faq.yml").read_text(encoding="utf-8"))["rules"]
    assert {"rule": "补办换卡", "steps": [{"intent": "ask_card_replacement"},
                                      {"action": "utter_ask_card_replacement"}]} in rules
    nlu = yaml.safe_load((worktree / "data" / "nlu" / "studio.yml").read_text(encoding="utf-8"))
    assert nlu["nlu"][0]["intent"] == "ask_card_replacement"
    assert nlu["nlu"][0]["examples"].splitlines()[:2] == ["- 银行卡坏了怎么补办", "- 卡消磁了能换吗"]
    new = next(i for i in studio_desk.get("/api/studio/intents", username="content1").json()["intents"]
               if i["name"] == "ask_card_replacement")
    assert (new["file"], new["examples_count"]) == ("data/nlu/studio.yml", 25)
    # The content check: no new finding of our lint, and Rasa's validator passes on the commit.
    assert error_keys(worktree) <= errors_before
    snapshot = tmp_path / "snapshot"
    git(worktree, "archive", "--format=tar", "-o", str(tmp_path / "head.tar"), change["commit"])
    snapshot.mkdir()
    with tarfile.open(tmp_path / "head.tar") as archive:
        archive.extractall(snapshot)
    check = run_check(ProjectPaths(snapshot), min_examples=1)
    assert check.ok, check.as_dict()


def test_a_stale_base_version_is_a_409_with_the_diff_and_nothing_is_written(studio_desk) -> None:
    first = studio_desk.get("/api/studio/intents", username="content1").json()["versions"]
    other = studio_desk.get("/api/studio/intents", username="supervisor1").json()["versions"]
    done = studio_desk.post("/api/studio/annotations", {"texts": ["年费能不能分期"], "intent": "ask_card_fee",
                                                        "base_versions": other}, username="supervisor1")
    assert done.status_code == 201, done.text

    r = studio_desk.post("/api/studio/annotations", {"texts": ["年费可以晚点交吗"], "intent": "ask_card_fee",
                                                     "base_versions": first}, username="content1")

    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "edit_conflict" and error["file"] == "data/nlu/banking.yml"
    assert "+    - 年费能不能分期" in error["diff"]
    assert error["current_version"] == studio_desk.get("/api/studio/intents", username="content1").json()[
        "versions"]["data/nlu/banking.yml"]
    text = (_worktree(studio_desk) / "data" / "nlu" / "banking.yml").read_text(encoding="utf-8")
    assert "年费可以晚点交吗" not in text
    history = studio_desk.get("/api/studio/history", username="content1").json()["changes"]
    assert [c["username"] for c in history[:2]] == ["supervisor1", "fixture"]


def test_only_content_and_supervisor_users_reach_the_inbox_and_annotation(studio_desk) -> None:
    body = {"texts": ["年费"], "intent": "ask_card_fee", "base_versions": {}}
    routes = [("GET", "/api/studio/inbox"), ("GET", "/api/studio/conversations/app-1"),
              ("GET", "/api/studio/intents"), ("GET", "/api/studio/intents/ask_card_fee"),
              ("POST", "/api/studio/annotations")]
    for method, path in routes:
        as_agent = requests.request(method, studio_desk.url + path, json=body if method == "POST" else None,
                                    headers=studio_desk.agent_headers("agent1"), timeout=10)
        anonymous = requests.request(method, studio_desk.url + path, json=body if method == "POST" else None,
                                     timeout=10)
        assert (as_agent.status_code, as_agent.json()["error"]["code"]) == (403, "forbidden"), (path, as_agent.text)
        assert anonymous.status_code == 401, (path, anonymous.text)
    assert [c["message"] for c in studio_desk.get("/api/studio/history", username="content1").json()["changes"]] == ["fixture"]
