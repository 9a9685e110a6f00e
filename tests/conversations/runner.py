"""Drives the conversation test set (tests/conversations/*.yml) through Rasa's REST channel.

    python -m tests.conversations.runner --rasa http://127.0.0.1:5005 --core-banking http://127.0.0.1:8001

Each conversation is a fresh sender id; logged-in conversations send the demo customer's
token in `metadata.customer_token` on every message, the way the channels do. A turn passes
when the reply (all bot messages: text and button titles) contains every `expect` fragment
(`a|b` = either) and no `forbid` fragment; a conversation passes when all its turns do.
The pass rate per group is printed and written to `results/conversations/`.

The demo customers' cards are left as the runner found them (a card a conversation froze is
unfrozen afterwards through core banking's branch endpoint, with the service token), so the set can run again on the same stack; the
conversations of one customer run one after the other, different customers in parallel.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import requests
import yaml
from pydantic import BaseModel, Extra, Field, validator

from bot import dev_secrets

SET_DIR = Path(__file__).resolve().parent
RESULTS_DIR = SET_DIR.parents[1] / "results" / "conversations"
DEMO_PASSWORD = "demo1234"
ANONYMOUS = "anonymous"
# Replies no turn may ever get: the generic "what about it?" and an empty answer.
ALWAYS_FORBIDDEN = ("请问您想了解这方面的什么问题", "您是想问「补充信息」")


# ------------------------------------------------------------------ the set's file format
class Turn(BaseModel):
    say: str = Field(..., min_length=1)
    expect: List[str] = []
    forbid: List[str] = []
    login: Optional[str] = None  # log in as this demo customer before saying this

    class Config:
        extra = Extra.forbid


class Conversation(BaseModel):
    name: str
    customer: str = Field(ANONYMOUS, alias="as")
    turns: List[Turn] = Field(..., min_items=1)
    group: str = ""
    source: str = ""

    class Config:
        extra = Extra.forbid
        allow_population_by_field_name = True

    @validator("customer")
    def _known(cls, value: str) -> str:
        if value != ANONYMOUS and not value.startswith("C"):
            raise ValueError(f"'as' must be '{ANONYMOUS}' or a demo customer id, not {value!r}")
        return value


class ConversationFile(BaseModel):
    group: str
    conversations: List[Conversation]

    class Config:
        extra = Extra.forbid


def load_set(directory: Path = SET_DIR, groups: Sequence[str] = ()) -> List[Conversation]:
    conversations: List[Conversation] = []
    for path in sorted(directory.glob("*.yml")):
        data = ConversationFile.parse_obj(yaml.safe_load(path.read_text(encoding="utf-8")))
        if groups and data.group not in groups:
            continue
        for conversation in data.conversations:
            conversations.append(conversation.copy(update={"group": data.group, "source": path.name}))
    return conversations


# ------------------------------------------------------------------ judging one reply
def reply_text(messages: Iterable[dict]) -> str:
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts.extend(button.get("title", "") for button in message.get("buttons") or [])
    return "\n".join(p for p in parts if p)


def problems_with(reply: str, turn: Turn) -> List[str]:
    found = []
    if not reply.strip():
        found.append("no reply")
    for fragment in turn.expect:
        if not any(option in reply for option in fragment.split("|")):
            found.append(f"missing {fragment!r}")
    for fragment in (*turn.forbid, *ALWAYS_FORBIDDEN):
        if fragment in reply:
            found.append(f"forbidden {fragment!r}")
    return found


@dataclass
class TurnResult:
    say: str
    reply: str
    problems: List[str]


@dataclass
class ConversationResult:
    name: str
    group: str
    source: str
    customer: str
    turns: List[TurnResult] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(not t.problems for t in self.turns)


# ------------------------------------------------------------------ talking to the stack
class Stack:
    def __init__(self, rasa_url: str, core_banking_url: str, service_token: str, timeout: float = 60.0) -> None:
        self.rasa_url, self.core_banking_url = rasa_url.rstrip("/"), core_banking_url.rstrip("/")
        self.service_token, self.timeout = service_token, timeout

    def login(self, customer_id: str) -> str:
        r = requests.post(f"{self.core_banking_url}/auth/login",
                          json={"username": customer_id, "password": DEMO_PASSWORD}, timeout=self.timeout)
        r.raise_for_status()
        return r.json()["access_token"]

    def say(self, sender: str, text: str, token: Optional[str]) -> List[dict]:
        body = {"sender": sender, "message": text}
        if token:
            body["metadata"] = {"customer_token": token}
        r = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def _cards(self, token: str) -> List[dict]:
        r = requests.get(f"{self.core_banking_url}/me/cards", headers={"Authorization": f"Bearer {token}"},
                         timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def active_cards(self, token: str) -> List[str]:
        return [c["card_id"] for c in self._cards(token) if c["status"] == "active"]

    def unfreeze_all(self, customer_ids: Iterable[str]) -> None:
        """Every demo card active again, whatever earlier tests did, so the set starts alike."""
        for customer_id in customer_ids:
            token = self.login(customer_id)
            self.unfreeze(token, [c["card_id"] for c in self._cards(token) if c["status"] == "frozen"])

    def unfreeze(self, token: str, card_ids: Iterable[str]) -> None:
        for card_id in card_ids:
            requests.post(f"{self.core_banking_url}/internal/cards/{card_id}/unfreeze",
                          headers={"Authorization": f"Bearer {self.service_token}"},
                          timeout=self.timeout).raise_for_status()


def run_conversation(stack: Stack, conversation: Conversation) -> ConversationResult:
    result = ConversationResult(conversation.name, conversation.group, conversation.source, conversation.customer)
    sender = "conv-" + uuid.uuid4().hex[:12]
    token = stack.login(conversation.customer) if conversation.customer != ANONYMOUS else None
    logins = {conversation.customer: token} if token else {}
    try:
        for turn in conversation.turns:
            if turn.login:
                logins.setdefault(turn.login, stack.login(turn.login))
                token = logins[turn.login]
            reply = reply_text(stack.say(sender, turn.say, token))
            result.turns.append(TurnResult(turn.say, reply, problems_with(reply, turn)))
    except requests.RequestException as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def run_customer_queue(stack: Stack, conversations: List[Conversation]) -> List[ConversationResult]:
    """One customer's conversations in order, each followed by restoring the cards it froze."""
    results = []
    for conversation in conversations:
        token = stack.login(conversation.customer) if conversation.customer != ANONYMOUS else None
        before = set(stack.active_cards(token)) if token else set()
        results.append(run_conversation(stack, conversation))
        if token:
            stack.unfreeze(token, before - set(stack.active_cards(token)))
    return results


def run_set(stack: Stack, conversations: List[Conversation], workers: int = 4) -> List[ConversationResult]:
    queues: Dict[str, List[Conversation]] = defaultdict(list)
    for i, conversation in enumerate(conversations):
        key = conversation.customer if conversation.customer != ANONYMOUS else f"{ANONYMOUS}-{i % workers}"
        queues[key].append(conversation)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        batches = list(pool.map(lambda q: run_customer_queue(stack, q), queues.values()))
    order = {id(c): i for i, c in enumerate(conversations)}
    by_name = {(r.source, r.name): r for batch in batches for r in batch}
    return [by_name[(c.source, c.name)] for c in sorted(conversations, key=lambda c: order[id(c)])]


# ------------------------------------------------------------------ reporting
@dataclass
class GroupFigures:
    group: str
    conversations: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.conversations if self.conversations else 0.0


def figures(results: List[ConversationResult]) -> List[GroupFigures]:
    groups: Dict[str, List[ConversationResult]] = defaultdict(list)
    for r in results:
        groups[r.group].append(r)
    rows = [GroupFigures(g, len(rs), sum(r.passed for r in rs)) for g, rs in sorted(groups.items())]
    rows.append(GroupFigures("all", len(results), sum(r.passed for r in results)))
    return rows


def table(rows: List[GroupFigures]) -> str:
    lines = ["| group | conversations | passed | pass rate |", "|---|---:|---:|---:|"]
    lines += [f"| {r.group} | {r.conversations} | {r.passed} | {r.rate:.1%} |" for r in rows]
    return "\n".join(lines)


def failures(results: List[ConversationResult]) -> str:
    out = []
    for r in results:
        if r.passed:
            continue
        out.append(f"### {r.group} / {r.name} ({r.source}, {r.customer})")
        if r.error:
            out.append(f"- error: {r.error}")
        for t in r.turns:
            mark = "✗" if t.problems else "✓"
            out.append(f"- {mark} 「{t.say}」 → {t.reply[:300]!r}" + (f"  **{'; '.join(t.problems)}**" if t.problems else ""))
    return "\n".join(out)


def save(results: List[ConversationResult], rows: List[GroupFigures], directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    (directory / "summary.md").write_text(
        f"# Conversation test set ({stamp})\n\n{table(rows)}\n\n## Failed conversations\n\n{failures(results) or 'none'}\n",
        encoding="utf-8")
    (directory / "results.json").write_text(json.dumps(
        {"at": stamp, "groups": [asdict(r) | {"rate": r.rate} for r in rows],
         "conversations": [asdict(r) | {"passed": r.passed} for r in results]}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    return directory


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--core-banking", default="http://127.0.0.1:8001")
    parser.add_argument("--service-token", default=None,
                        help="core banking's service token (default: CORE_BANKING_SERVICE_TOKEN or .run/secrets.env)")
    parser.add_argument("--group", action="append", default=[], help="only these groups (repeatable)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    conversations = load_set(groups=args.group)
    started = time.monotonic()
    token = args.service_token or dev_secrets.load_or_create()["CORE_BANKING_SERVICE_TOKEN"]
    results = run_set(Stack(args.rasa, args.core_banking, token), conversations, args.workers)
    rows = figures(results)
    print(table(rows))
    print(f"\n{len(results)} conversations, {sum(len(r.turns) for r in results)} turns in "
          f"{time.monotonic() - started:.0f} s; details in {save(results, rows)}/summary.md")
    if args.show_failures:
        print(failures(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
