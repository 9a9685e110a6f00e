"""The inbox: customers' messages the bot did not handle well, from the Redis tracker store.

A message is in the inbox when (reasons, several may apply):
- `nlu_fallback` / `out_of_scope`: NLU did not recognise it (bot/content/mine.py's intents);
- `low_confidence`: its top intent's confidence is under the threshold (mine's 0.6);
- `core_fallback`: the dialogue fell back after it (Rasa's fallback actions, as mine counts them);
- `handoff`: the customer asked for a person (intent `request_human`) or was handed over
  (`action_handoff*`) right after it;
- `repeated`: the customer's next message says the same again, or starts by saying the answer
  missed the point ("我问的是…", data/lexicon/cues.yml `misunderstood`): the answer did not help;
- `low_rating`: it was asked in a session the customer rated low (≤ 2 of 5).

Messages are grouped with mine's clustering (`cluster`) and masked with `bot.masking.mask_personal`
(card, ID and phone numbers, names) here, before anything leaves the desk; entity spans from the
tracker's parse data are moved onto the masked text. A message whose masked text is already an
NLU example of the studio's worktree is "已标注" (annotated: the intent is given).

Reading is bounded: the newest `limit` conversations (by their last event, read from the tail of
each stored tracker without loading it), optionally only events `since` a time, at most
MAX_MESSAGES messages clustered. It is blocking I/O: the routes are `def` (run in the threadpool).
"""
from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.content.mine import (CORE_FALLBACK_ACTIONS, FALLBACK_INTENT, SMALL_TALK, Conversation, _top_intent,
                              cluster, clustering_text, find_ratings, sessions)
from bot.masking import mask_personal
from bot.question_cues import says_misunderstood
from services.agent_desk import errors

UNANSWERED_INTENTS = (FALLBACK_INTENT, "out_of_scope")
HANDOFF_INTENTS = frozenset({"request_human"})
REASONS = ("nlu_fallback", "out_of_scope", "low_confidence", "core_fallback", "handoff", "repeated", "low_rating")
DEFAULT_THRESHOLD = 0.6
DEFAULT_DISTANCE = 0.85     # mine's default cosine distance: below it, the same question
LOW_RATING = 2.0            # ratings of 1-5; ≤ 2 is "unhappy" (mine's low_ratings)
REPEAT_SIMILARITY = 0.5     # char-bigram Jaccard of two consecutive messages that say the same
MAX_MESSAGES = 2000         # clustered at most (the newest)
MAX_BACKGROUND = 600        # training examples that weigh the characters for the clustering
SCAN_LIMIT = 50_000         # tracker keys looked at, at most
TAIL_BYTES = 2048           # read from the end of a tracker to find its last event's time
MAX_TURNS = 1000            # turns of one transcript shown, the newest
_TIMESTAMP = re.compile(rb'"timestamp":\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)')


@dataclass
class Entity:
    entity: str
    start: int
    end: int
    value: str


@dataclass
class InboxMessage:
    sender_id: str
    ts: Optional[float]
    text: str                        # masked
    intent: Optional[str]            # the bot's best real intent (not nlu_fallback)
    confidence: Optional[float]
    entities: List[Entity]
    reasons: List[str] = field(default_factory=list)
    annotated: Optional[str] = None  # the intent it is now an example of

    @property
    def reason(self) -> str:
        return self.reasons[0]

    def flag(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass
class InboxGroup:
    id: str
    messages: List[InboxMessage]
    guessed: List[Tuple[str, int]]   # (intent, count), most common first

    @property
    def reasons(self) -> Dict[str, int]:
        return dict(Counter(r for m in self.messages for r in m.reasons))

    @property
    def representative(self) -> str:
        return Counter(m.text for m in self.messages).most_common(1)[0][0]


@dataclass
class Inbox:
    conversations: int
    messages: int
    groups: List[InboxGroup]


@dataclass
class Turn:
    role: str                        # user | bot | system
    text: str                        # masked
    ts: Optional[float]
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[Entity] = field(default_factory=list)
    event: Optional[str] = None      # system turns: handoff | session_started | rating


# ------------------------------------------------------------------------------ Redis
def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _unavailable(exc: Exception) -> errors.StudioUnavailable:
    return errors.StudioUnavailable(f"暂时读不到会话记录（Redis 不可用：{type(exc).__name__}），请稍后再试")


def tracker_prefix(key_prefix: str) -> str:
    """Rasa's RedisTrackerStore keys: `<key_prefix>:tracker:<sender_id>` (Rasa ignores a prefix
    that is not alphanumeric and uses plain `tracker:`)."""
    return f"{key_prefix}:tracker:" if key_prefix.isalnum() else "tracker:"


def _last_timestamp(tail: Optional[bytes]) -> float:
    stamps = _TIMESTAMP.findall(tail or b"")
    return float(stamps[-1]) if stamps else 0.0


def _conversation(sender: str, raw: Optional[bytes]) -> Optional[Conversation]:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    events = [e for e in data.get("events") or [] if isinstance(e, dict)]
    return Conversation(str(data.get("name") or data.get("sender_id") or sender), events)


def recent_conversations(client: Any, key_prefix: str, limit: int, since: Optional[float] = None,
                         scan_limit: int = SCAN_LIMIT) -> Tuple[List[Conversation], int]:
    """The newest `limit` conversations (last event at or after `since`), newest first, with the
    number of trackers looked at. Only the tail of each tracker is read to order them."""
    import redis

    prefix = tracker_prefix(key_prefix)
    try:
        keys: List[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            keys.append(key)
            if len(keys) >= scan_limit:
                break
        stamps: List[Tuple[float, bytes]] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            pipe = client.pipeline(transaction=False)
            for key in chunk:
                pipe.getrange(key, -TAIL_BYTES, -1)
            stamps.extend((_last_timestamp(tail), key) for key, tail in zip(chunk, pipe.execute()))
        chosen = sorted((s for s in stamps if since is None or s[0] >= since), key=lambda s: -s[0])[:limit]
        pipe = client.pipeline(transaction=False)
        for _, key in chosen:
            pipe.get(key)
        raws = pipe.execute() if chosen else []
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    found = []
    for (_, key), raw in zip(chosen, raws):
        conv = _conversation(key.decode("utf-8", "replace")[len(prefix):], raw)
        if conv is not None:
            found.append(conv)
    return found, len(keys)


def read_conversation(client: Any, key_prefix: str, sender_id: str) -> Conversation:
    import redis

    try:
        raw = client.get(tracker_prefix(key_prefix) + sender_id)
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    conv = _conversation(sender_id, raw)
    if conv is None:
        raise errors.NotFound("没有这个会话（可能已过期）", code="conversation_not_found")
    return conv


# ------------------------------------------------------------------------------ masking
def mask_with_entities(text: str, entities: Iterable[Dict[str, Any]]) -> Tuple[str, List[Entity]]:
    """The masked text and the parse's entity spans moved onto it (values masked too)."""
    masked = mask_personal(text)
    mapper = _offset_mapper(text, masked)
    spans = []
    for raw in entities or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("start"), int) or not isinstance(raw.get("end"), int):
            continue
        start, end = raw["start"], raw["end"]
        if not 0 <= start < end <= len(text):
            continue
        new_start, new_end = mapper(start, False), mapper(end, True)
        if new_start >= new_end:
            continue
        value = raw.get("value")
        shown = masked[new_start:new_end] if value is None or str(value) == text[start:end] else mask_personal(str(value))
        spans.append(Entity(str(raw.get("entity") or ""), new_start, new_end, shown))
    return masked, spans


def _offset_mapper(before: str, after: str):
    if before == after:
        return lambda position, is_end: position
    opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()

    def mapped(position: int, is_end: bool) -> int:
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal" and i1 <= position <= i2:
                return j1 + (position - i1)
            if i1 <= position < i2 or (is_end and i1 < position <= i2):
                return j2 if is_end else j1  # inside a masked stretch: the whole masked stretch
        return len(after)
    return mapped


# ------------------------------------------------------------------------------ finding messages
def _bigrams(text: str) -> set:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def said_again(first: str, second: str) -> bool:
    """Two consecutive customer messages that ask the same (after mine's normalisation)."""
    a, b = clustering_text(first), clustering_text(second)
    if not a or not b:
        return False
    if a == b:
        return True
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) >= REPEAT_SIMILARITY


def _rating_is_low(session_events: List[Dict[str, Any]], sender: str) -> bool:
    rows = find_ratings([Conversation(sender, session_events)])
    return bool(rows) and rows[0]["rating"] <= LOW_RATING


def find_messages(conversations: Sequence[Conversation], threshold: float = DEFAULT_THRESHOLD,
                  since: Optional[float] = None) -> List[InboxMessage]:
    """Every customer message of the conversations that is in the inbox, oldest first."""
    found: List[InboxMessage] = []
    for conv in conversations:
        for events in sessions(conv):
            found.extend(_session_messages(conv.sender_id, events, threshold, since))
    found.sort(key=lambda m: m.ts or 0)
    return found


def _session_messages(sender: str, events: List[Dict[str, Any]], threshold: float,
                      since: Optional[float]) -> List[InboxMessage]:
    flagged: Dict[int, InboxMessage] = {}
    asked: List[InboxMessage] = []          # this session's questions (for a low rating)
    last: Optional[Tuple[InboxMessage, str, bool]] = None  # (message, original text, small talk)

    def flag(message: InboxMessage, reason: str) -> None:
        message.flag(reason)
        flagged.setdefault(id(message), message)

    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "").strip()
            parse = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
            name, confidence, guess, guess_conf = _top_intent(parse)
            if name in HANDOFF_INTENTS:
                if last is not None and not last[2]:
                    flag(last[0], "handoff")
                last = None
                continue
            if not text or text.startswith("/"):
                last = None
                continue  # a button payload is not something a customer said
            stamp = event.get("timestamp")
            masked, entities = mask_with_entities(text, parse.get("entities") or [])
            message = InboxMessage(sender, float(stamp) if isinstance(stamp, (int, float)) else None, masked,
                                   guess if guess != FALLBACK_INTENT else None, guess_conf, entities)
            if since is not None and (message.ts or 0) < since:
                last = None
                continue
            small_talk = name in SMALL_TALK and name != FALLBACK_INTENT
            if last is not None and not last[2] and (said_again(last[1], text) or says_misunderstood(text)):
                flag(last[0], "repeated")
            if name in UNANSWERED_INTENTS:
                flag(message, str(name))
            elif isinstance(confidence, (int, float)) and confidence < threshold:
                flag(message, "low_confidence")
                small_talk = False
            if not small_talk:
                asked.append(message)
            last = (message, text, small_talk)
        elif kind == "rewind" and last is not None:
            # Rasa undid the customer's last message (e.g. the two-stage fallback, when they
            # ask something new instead of answering "您是想问…吗", replays it as a fresh
            # message): it neither fell back nor was it said twice.
            flagged.pop(id(last[0]), None)
            if asked and asked[-1] is last[0]:
                asked.pop()
            last = None
        elif kind == "action":
            action = str(event.get("name") or "")
            if last is not None and action in CORE_FALLBACK_ACTIONS and not last[0].reasons:
                flag(last[0], "core_fallback")  # as mine: the fallback of a message NLU did understand
            elif action.startswith("action_handoff"):
                if last is not None and not last[2]:
                    flag(last[0], "handoff")
                last = None
    if asked and _rating_is_low(events, sender):
        for message in asked:
            flag(message, "low_rating")
    return list(flagged.values())


# ------------------------------------------------------------------------------ grouping
def _background(texts: Sequence[str]) -> List[str]:
    if len(texts) <= MAX_BACKGROUND:
        return list(texts)
    step = len(texts) / MAX_BACKGROUND
    return [texts[int(i * step)] for i in range(MAX_BACKGROUND)]


def group_messages(messages: Sequence[InboxMessage], background: Sequence[str] = (),
                   distance: float = DEFAULT_DISTANCE) -> List[InboxGroup]:
    """Similar messages together (mine's clustering), the largest group first."""
    messages = list(messages)[-MAX_MESSAGES:]
    labels = cluster([m.text for m in messages], distance, _background(background))
    members: Dict[int, List[InboxMessage]] = {}
    for message, label in zip(messages, labels):
        members.setdefault(label, []).append(message)
    groups = []
    for number, label in enumerate(sorted(members)):
        items = sorted(members[label], key=lambda m: -(m.ts or 0))
        guessed = Counter(m.intent for m in items if m.intent).most_common(3)
        groups.append(InboxGroup(f"g{number + 1}", items, guessed))
    return groups


def build_inbox(client: Any, key_prefix: str, *, limit: int, since: Optional[float] = None,
                threshold: float = DEFAULT_THRESHOLD, annotated: Optional[Dict[str, str]] = None,
                include_annotated: bool = True, background: Sequence[str] = ()) -> Inbox:
    conversations, _ = recent_conversations(client, key_prefix, limit, since)
    messages = find_messages(conversations, threshold, since)
    for message in messages:
        message.annotated = (annotated or {}).get(message.text)
    if not include_annotated:
        messages = [m for m in messages if not m.annotated]
    return Inbox(len(conversations), len(messages), group_messages(messages, background))


# ------------------------------------------------------------------------------ a transcript
def transcript(conv: Conversation, max_turns: int = MAX_TURNS) -> List[Turn]:
    """The conversation as the content team reads it: masked, user turns with intent and confidence."""
    turns: List[Turn] = []
    for event in conv.events:
        kind = event.get("event")
        stamp = event.get("timestamp")
        ts = float(stamp) if isinstance(stamp, (int, float)) else None
        if kind == "user":
            parse = event.get("parse_data") if isinstance(event.get("parse_data"), dict) else {}
            name, confidence, _, _ = _top_intent(parse)
            masked, entities = mask_with_entities(str(event.get("text") or ""), parse.get("entities") or [])
            turns.append(Turn("user", masked, ts, name, confidence, entities))
        elif kind == "bot":
            text = str(event.get("text") or "")
            buttons = [b.get("title") for b in ((event.get("data") or {}).get("buttons") or [])
                       if isinstance(b, dict) and b.get("title")]
            if buttons:
                text = (text + "\n" if text else "") + "［按钮］" + " | ".join(map(str, buttons))
            if text:
                turns.append(Turn("bot", mask_personal(text), ts))
        elif kind == "action" and str(event.get("name") or "").startswith("action_handoff"):
            turns.append(Turn("system", "转人工", ts, event="handoff"))
        elif kind == "session_started" and turns:
            turns.append(Turn("system", "新的会话", ts, event="session_started"))
        elif kind == "slot" and event.get("name") == "csat_rating" and event.get("value") is not None:
            turns.append(Turn("system", f"客户评分：{mask_personal(str(event.get('value')))}", ts, event="rating"))
    return turns[-max_turns:]
