"""`mine`: what real customers asked that the bot could not answer.

Reads conversations from Rasa's RedisTrackerStore (keys `<prefix>:tracker:<sender_id>`, the
JSON Rasa stores: `{"name": sender_id, "events": [...]}`) or from exported files (a tracker
dump from `GET /conversations/<id>/tracker`, a list of them, or JSON lines of events with a
`sender_id`, as an event broker / `rasa export` writes them).

Lists:
- unanswered messages: intent `nlu_fallback` (or another "not answered" intent such as
  `out_of_scope`), top-intent confidence under a threshold, or followed by Rasa's core
  fallback; grouped into clusters of similar questions (character n-gram TF-IDF on the
  normalised text, agglomerative clustering with a cosine distance threshold);
- handoffs to a person and their reasons (slot `handoff_reason`, actions `action_handoff*`);
- customer ratings (slot `csat_rating`, or intent `give_rating` with a number) and the
  average rating of the conversations in which each intent occurred.

Everything is written as CSV in UTF-8 with BOM (utf-8-sig) so Excel shows Chinese correctly,
plus summary.json for scripts and tests.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from bot.content.project import ProjectPaths, load_intent_labels
from bot.masking import mask_personal

FALLBACK_INTENT = "nlu_fallback"
CORE_FALLBACK_ACTIONS = {"action_default_fallback", "action_two_stage_fallback", "utter_default",
                         "action_default_ask_affirmation"}
HANDOFF_REASON_SLOT = "handoff_reason"
RATING_SLOT = "csat_rating"
RATING_INTENT = "give_rating"
NO_REASON = "（未记录原因）"
# Intents that say nothing about what the conversation was about.
SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny", "inform", RATING_INTENT, FALLBACK_INTENT,
              "session_start", "restart"}
# Words that do not tell questions apart; removed before clustering only.
_FILLERS = re.compile(r"请问|你好|您好|麻烦|一下|我想|我要|想问|问下|问问|能不能|可不可以|可以|怎么样|怎么|如何|"
                      r"什么|帮我|帮忙|给我|今天|明天|现在|最近|你们|我们|你|我|吗|呢|吧|啊|呀|哦|嘛|的|了|么")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_CN_RATING = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@dataclass
class MineOptions:
    paths: ProjectPaths
    out_dir: Path
    events: List[Path] = field(default_factory=list)
    redis_url: Optional[str] = None
    key_prefix: Optional[str] = None
    threshold: float = 0.6
    distance: float = 0.85
    unanswered_intents: List[str] = field(default_factory=lambda: [FALLBACK_INTENT, "out_of_scope"])
    since: Optional[str] = None


@dataclass
class Conversation:
    sender_id: str
    events: List[Dict[str, Any]]


@dataclass
class Unanswered:
    sender_id: str
    timestamp: Optional[float]
    text: str
    reason: str  # nlu_fallback | low_confidence | out_of_scope... | core_fallback
    guessed_intent: Optional[str]
    confidence: Optional[float]
    cluster: int = -1


# --------------------------------------------------------------------------- reading
def conversations_from_redis(url: str, key_prefix: str) -> List[Conversation]:
    """Every tracker stored by Rasa's RedisTrackerStore under `<key_prefix>:tracker:`."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    prefix = f"{key_prefix}:tracker:"
    found = []
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        raw = client.get(key)
        if not raw:
            continue
        sender = key.decode("utf-8", "replace")[len(prefix):]
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        found.append(Conversation(str(data.get("name") or data.get("sender_id") or sender), data.get("events") or []))
    return sorted(found, key=lambda c: c.sender_id)


def conversations_from_files(paths: Sequence[Path]) -> List[Conversation]:
    """Tracker dumps (JSON object/list) or JSON lines of events/trackers; folders are read whole."""
    files: List[Path] = []
    for path in paths:
        files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".ndjson"))
                     if path.is_dir() else [path])
    by_sender: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        try:
            records: Iterable[Any] = [json.loads(text)]
        except ValueError:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        for record in _flatten(records):
            if isinstance(record, dict) and isinstance(record.get("events"), list):
                sender = str(record.get("sender_id") or record.get("name") or path.stem)
                by_sender[sender].extend(record["events"])
            elif isinstance(record, dict) and "event" in record:
                by_sender[str(record.get("sender_id") or path.stem)].append(record)
    conversations = []
    for sender, events in sorted(by_sender.items()):
        events.sort(key=lambda e: e.get("timestamp") or 0)
        conversations.append(Conversation(sender, events))
    return conversations


def _flatten(records: Iterable[Any]) -> Iterator[Any]:
    for record in records:
        if isinstance(record, list):
            yield from _flatten(record)
        else:
            yield record


def default_redis() -> Tuple[str, str]:
    from bot.settings import REDIS_KEY_PREFIX, get_settings

    settings = get_settings()
    url = settings.redis_url or f"redis://127.0.0.1:{settings.embedded_redis_port}/0"
    return url, os.environ.get("REDIS_KEY_PREFIX") or REDIS_KEY_PREFIX


# --------------------------------------------------------------------------- analysis
def _top_intent(parse: Dict[str, Any]) -> Tuple[Optional[str], Optional[float], Optional[str], Optional[float]]:
    """(intent, confidence, best real intent, its confidence) of a parse result."""
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    guess, guess_conf = name, confidence
    if name == FALLBACK_INTENT:
        ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
        if ranking:
            guess, guess_conf = ranking[0].get("name"), ranking[0].get("confidence")
    return name, confidence, guess, guess_conf


def find_unanswered(conversations: Sequence[Conversation], threshold: float,
                    unanswered_intents: Sequence[str]) -> List[Unanswered]:
    found: List[Unanswered] = []
    for conv in conversations:
        pending: Optional[Unanswered] = None
        fell_back: Optional[Unanswered] = None  # counted unless Rasa undoes the message (rewind)
        for event in conv.events:
            kind = event.get("event")
            if kind == "user":
                if fell_back is not None:
                    found.append(fell_back)
                text = (event.get("text") or "").strip()
                pending = fell_back = None
                if not text or text.startswith("/"):
                    continue  # button payloads are not questions
                name, confidence, guess, guess_conf = _top_intent(event.get("parse_data") or {})
                item = Unanswered(conv.sender_id, event.get("timestamp"), mask_personal(text), "", guess, guess_conf)
                if name in unanswered_intents:
                    item.reason = name
                elif confidence is not None and confidence < threshold:
                    item.reason = "low_confidence"
                if item.reason:
                    found.append(item)
                else:
                    pending = item  # unanswered after all if the dialogue falls back
            elif kind == "action" and pending is not None and event.get("name") in CORE_FALLBACK_ACTIONS:
                pending.reason = "core_fallback"
                fell_back, pending = pending, None
            elif kind == "rewind":
                # The two-stage fallback replays a new question asked instead of its "您是想问…吗"
                # as a fresh message: the undone one did not fall back.
                fell_back = pending = None
        if fell_back is not None:
            found.append(fell_back)
    return found


def clustering_text(text: str) -> str:
    from bot.nlu.normalizer import default_normalizer

    canonical = default_normalizer()(text).lower()
    stripped = _NOT_WORD.sub("", _FILLERS.sub("", canonical))
    return stripped or _NOT_WORD.sub("", canonical) or canonical


def cluster(texts: Sequence[str], distance: float, background: Sequence[str] = ()) -> List[int]:
    """Cluster labels (0 = largest cluster) for similar questions.

    Character 1-2-gram TF-IDF of the normalised text (fillers like 请问/一下/吗 removed); the
    IDF is fitted together with `background` sentences (the NLU training examples), so
    characters every banking question shares count for little. Agglomerative clustering,
    average linkage, cosine distance below `distance` = same question.
    """
    if not texts:
        return []
    if len(texts) == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    prepared = [clustering_text(t) for t in texts]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, lowercase=False)
    vectorizer.fit(list(prepared) + [clustering_text(t) for t in background])
    matrix = vectorizer.transform(prepared).toarray()
    kwargs = dict(n_clusters=None, distance_threshold=distance, linkage="average")
    try:
        model = AgglomerativeClustering(metric="cosine", **kwargs)  # scikit-learn >= 1.2
    except TypeError:
        model = AgglomerativeClustering(affinity="cosine", **kwargs)  # scikit-learn 1.1
    if not matrix.any(axis=1).all():  # an empty vector has no cosine distance
        matrix = matrix + 1e-9
    labels = model.fit_predict(matrix)
    # Renumber: biggest cluster first, ties by first appearance.
    sizes = Counter(labels)
    order = sorted(sizes, key=lambda label: (-sizes[label], list(labels).index(label)))
    renumber = {old: new for new, old in enumerate(order)}
    return [renumber[label] for label in labels]


def summarize_clusters(items: Sequence[Unanswered], labels: Dict[str, str], examples: int = 5) -> List[Dict[str, Any]]:
    groups: Dict[int, List[Unanswered]] = defaultdict(list)
    for item in items:
        groups[item.cluster].append(item)
    result = []
    for cluster_id in sorted(groups):
        members = groups[cluster_id]
        texts = Counter(m.text for m in members)
        guesses = Counter(m.guessed_intent for m in members if m.guessed_intent)
        confidences = [m.confidence for m in members if m.confidence is not None]
        stamps = [m.timestamp for m in members if m.timestamp]
        result.append({
            "cluster": cluster_id,
            "count": len(members),
            "senders": len({m.sender_id for m in members}),
            "representative": texts.most_common(1)[0][0],
            "examples": [t for t, _ in texts.most_common(examples)],
            "texts": sorted(texts),
            "guessed_intents": [{"intent": i, "label": labels.get(i, ""), "count": c} for i, c in guesses.most_common(3)],
            "mean_confidence": sum(confidences) / len(confidences) if confidences else None,
            "reasons": dict(Counter(m.reason for m in members)),
            "first_seen": _iso(min(stamps)) if stamps else None,
            "last_seen": _iso(max(stamps)) if stamps else None,
        })
    return result


def sessions(conv: Conversation) -> Iterator[List[Dict[str, Any]]]:
    """The conversation split at `session_started` events (a rating belongs to one session)."""
    current: List[Dict[str, Any]] = []
    for event in conv.events:
        if event.get("event") == "session_started" and current:
            yield current
            current = []
        current.append(event)
    if current:
        yield current


def find_handoffs(conversations: Sequence[Conversation]) -> List[Dict[str, Any]]:
    """One row per handoff, with its reason.

    A handoff is an `action_handoff*` action; its reason is the `handoff_reason` slot (set
    before the action, or by it: a slot event after the action and before the customer's
    next message wins; a reason in the event metadata is read too). A reason slot that is
    set without any handoff action following it counts as a handoff of its own, so the
    report stays useful however the handoff feature ends up recording it.
    """
    rows = []
    for conv in conversations:
        last_user: Dict[str, Any] = {}
        reason: Optional[str] = None
        current: Optional[Dict[str, Any]] = None  # the handoff row of the current turn
        unclaimed: Optional[Dict[str, Any]] = None  # a reason slot no handoff action used yet
        for event in conv.events:
            kind, name = event.get("event"), event.get("name")
            metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
            if kind == "user":
                last_user, current = event, None
            elif kind == "slot" and name == HANDOFF_REASON_SLOT:
                value = _text_value(event.get("value"))
                if value and current is not None:
                    current["reason"] = value
                elif value:
                    if unclaimed is not None:
                        rows.append(unclaimed)
                    unclaimed = _handoff_row(conv, event, last_user, value, "slot")
                reason = value
            elif kind == "action" and str(name or "").startswith("action_handoff"):
                current = _handoff_row(conv, event, last_user, reason or NO_REASON, name)
                rows.append(current)
                unclaimed = None
            if current is not None and metadata.get(HANDOFF_REASON_SLOT) and current["reason"] == NO_REASON:
                current["reason"] = str(metadata[HANDOFF_REASON_SLOT])
        if unclaimed is not None:
            rows.append(unclaimed)
    return rows


def _handoff_row(conv: Conversation, event: Dict[str, Any], last_user: Dict[str, Any], reason: str,
                 via: Optional[str]) -> Dict[str, Any]:
    intent = ((last_user.get("parse_data") or {}).get("intent") or {}).get("name")
    return {"sender_id": conv.sender_id, "time": _iso(event.get("timestamp")), "reason": reason,
            "via": via, "last_message": mask_personal(last_user.get("text", "")), "last_intent": intent}


def find_ratings(conversations: Sequence[Conversation]) -> List[Dict[str, Any]]:
    """One row per rated session: the rating and the intents the customer asked about."""
    rows = []
    for conv in conversations:
        for events in sessions(conv):
            rating: Optional[float] = None
            stamp = None
            intents: List[str] = []
            for event in events:
                kind = event.get("event")
                if kind == "slot" and event.get("name") == RATING_SLOT:
                    value = _number(event.get("value"))
                    if value is not None:
                        rating, stamp = value, event.get("timestamp")
                elif kind == "user":
                    parse = event.get("parse_data") or {}
                    name = (parse.get("intent") or {}).get("name")
                    if name == RATING_INTENT:
                        value = _rating_from_message(event)
                        if value is not None and rating is None:
                            rating, stamp = value, event.get("timestamp")
                    elif name and name not in SMALL_TALK and name not in intents:
                        intents.append(name)
            if rating is not None:
                rows.append({"sender_id": conv.sender_id, "time": _iso(stamp), "rating": rating, "intents": intents})
    return rows


def csat_by_intent(ratings: Sequence[Dict[str, Any]], labels: Dict[str, str]) -> List[Dict[str, Any]]:
    per: Dict[str, List[float]] = defaultdict(list)
    for row in ratings:
        for intent in row["intents"] or ["（无具体业务意图）"]:
            per[intent].append(row["rating"])
    table = [{"intent": i, "label": labels.get(i, ""), "ratings": len(v), "average": sum(v) / len(v),
              "low_ratings": sum(1 for r in v if r <= 2)} for i, v in per.items()]
    return sorted(table, key=lambda r: (r["average"], -r["ratings"], r["intent"]))


def _rating_from_message(event: Dict[str, Any]) -> Optional[float]:
    for entity in (event.get("parse_data") or {}).get("entities") or []:
        if entity.get("entity") in ("rating", "amount", "number", "csat_rating"):
            value = _number(entity.get("value"))
            if value is not None:
                return value
    return _number(event.get("text"))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    digits = re.search(r"\d+(?:\.\d+)?", text)
    if digits:
        return float(digits.group(0))
    for ch in text:
        if ch in _CN_RATING:
            return float(_CN_RATING[ch])
    return None


def _text_value(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return str(value.get("reason") or value.get("value") or json.dumps(value, ensure_ascii=False))
    return str(value)


def _iso(timestamp: Optional[float]) -> Optional[str]:
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(float(timestamp)).isoformat(timespec="seconds")


def filter_since(conversations: List[Conversation], since: Optional[str]) -> List[Conversation]:
    if not since:
        return conversations
    start = dt.datetime.fromisoformat(since).timestamp()
    kept = []
    for conv in conversations:
        events = [e for e in conv.events if (e.get("timestamp") or 0) >= start]
        if events:
            kept.append(Conversation(conv.sender_id, events))
    return kept


# --------------------------------------------------------------------------- the command
def mine(conversations: Sequence[Conversation], threshold: float = 0.6, distance: float = 0.85,
         unanswered_intents: Sequence[str] = (FALLBACK_INTENT, "out_of_scope"),
         labels: Optional[Dict[str, str]] = None, background: Sequence[str] = ()) -> Dict[str, Any]:
    labels = labels or {}
    unanswered = find_unanswered(conversations, threshold, unanswered_intents)
    for item, label in zip(unanswered, cluster([u.text for u in unanswered], distance, background)):
        item.cluster = label
    handoffs = find_handoffs(conversations)
    ratings = find_ratings(conversations)
    user_messages = sum(1 for c in conversations for e in c.events if e.get("event") == "user")
    return {
        "created_at": dt.datetime.now().isoformat(timespec="seconds"),
        "conversations": len(conversations),
        "user_messages": user_messages,
        "threshold": threshold,
        "distance": distance,
        "unanswered": [u.__dict__ for u in unanswered],
        "clusters": summarize_clusters(unanswered, labels),
        "handoffs": handoffs,
        "handoff_reasons": dict(Counter(h["reason"] for h in handoffs).most_common()),
        "ratings": ratings,
        "csat_overall": (sum(r["rating"] for r in ratings) / len(ratings)) if ratings else None,
        "csat_by_intent": csat_by_intent(ratings, labels),
    }


def write_outputs(result: Dict[str, Any], out: Path) -> Dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "clusters": _write_csv(out / "unanswered_clusters.csv",
                               ["问题组", "出现次数", "客户数", "代表问题", "例句", "机器人猜的意图", "平均置信度", "原因", "首次出现", "最近出现"],
                               [[c["cluster"] + 1, c["count"], c["senders"], c["representative"], " | ".join(c["examples"]),
                                 "，".join(f"{g['label'] or g['intent']}({g['intent']})×{g['count']}" for g in c["guessed_intents"]),
                                 _fmt(c["mean_confidence"]), "，".join(f"{k}×{v}" for k, v in c["reasons"].items()),
                                 c["first_seen"], c["last_seen"]] for c in result["clusters"]]),
        "messages": _write_csv(out / "unanswered_messages.csv",
                               ["问题组", "客户问题", "原因", "机器人猜的意图", "置信度", "会话ID", "时间"],
                               [[u["cluster"] + 1, u["text"], u["reason"], u["guessed_intent"], _fmt(u["confidence"]),
                                 u["sender_id"], _iso(u["timestamp"])] for u in
                                sorted(result["unanswered"], key=lambda u: (u["cluster"], u["timestamp"] or 0))]),
        "handoffs": _write_csv(out / "handoffs.csv", ["转人工原因", "方式", "转人工前客户说的话", "当时识别的意图", "会话ID", "时间"],
                               [[h["reason"], h["via"], h["last_message"], h["last_intent"], h["sender_id"], h["time"]]
                                for h in result["handoffs"]]),
        "csat": _write_csv(out / "csat_by_intent.csv", ["意图", "中文名", "评价数", "平均评分", "低分(≤2)数"],
                           [[r["intent"], r["label"], r["ratings"], f"{r['average']:.2f}", r["low_ratings"]]
                            for r in result["csat_by_intent"]]),
    }
    summary = out / "summary.json"
    summary.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    files["summary"] = summary
    return files


def _write_csv(path: Path, header: List[str], rows: List[List[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel reads it as UTF-8
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _fmt(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.2f}"


def training_texts(paths: ProjectPaths) -> List[str]:
    from bot.content.project import YamlFileError, iter_nlu_blocks, load_yaml, yaml_files

    texts = []
    for path in yaml_files(paths.nlu_dir):
        try:
            texts.extend(e.text for b in iter_nlu_blocks(path, load_yaml(path)) for e in b.examples)
        except YamlFileError:
            continue
    return texts


def run_mine(options: MineOptions) -> int:
    if options.events:
        print(f"[mine] 读取导出的会话文件: {', '.join(map(str, options.events))}", flush=True)
        conversations = conversations_from_files(options.events)
    else:
        url, prefix = default_redis()
        url, prefix = options.redis_url or url, options.key_prefix or prefix
        print(f"[mine] 从 Redis 读取会话: {url} 键 {prefix}:tracker:*", flush=True)
        try:
            conversations = conversations_from_redis(url, prefix)
        except Exception as exc:  # redis.exceptions.ConnectionError and friends
            print(f"无法连接 Redis（{url}）：{exc}。请确认机器人在运行，或用 --redis-url / --events 指定数据来源。")
            return 2
    conversations = filter_since(conversations, options.since)
    labels = load_intent_labels(options.paths)
    result = mine(conversations, options.threshold, options.distance, options.unanswered_intents, labels,
                  training_texts(options.paths))
    files = write_outputs(result, options.out_dir)
    print_summary(result, files)
    return 0


def print_summary(result: Dict[str, Any], files: Dict[str, Path]) -> None:
    print(f"\n{result['conversations']} 个会话，{result['user_messages']} 条客户消息；"
          f"没答上的 {len(result['unanswered'])} 条，归为 {len(result['clusters'])} 组相似问题。")
    for c in result["clusters"][:10]:
        print(f"  第 {c['cluster'] + 1} 组 ×{c['count']}（{c['senders']} 位客户）：{c['representative']}"
              + (f"  例：{' | '.join(c['examples'][1:3])}" if len(c["examples"]) > 1 else ""))
    if result["handoff_reasons"]:
        print("转人工原因：" + "，".join(f"{r} ×{n}" for r, n in result["handoff_reasons"].items()))
    if result["csat_overall"] is not None:
        print(f"客户评分：平均 {result['csat_overall']:.2f}（{len(result['ratings'])} 次评价）")
        for row in result["csat_by_intent"][:5]:
            print(f"  {row['label'] or row['intent']}：平均 {row['average']:.2f}（{row['ratings']} 次）")
    print("导出（Excel 可直接打开）：" + "，".join(str(p) for p in files.values()))
