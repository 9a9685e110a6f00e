"""Signal words in what customers write (data/lexicon/cues.yml, editable by the content team).

- `looks_like_question`: a clause asks something ("几点开门", "要手续费吗"), as opposed to telling
  ("排队两个小时都没人管"); a form that takes free text ("请您说说发生了什么") only lets a
  question go elsewhere. `looks_like_request` also counts asking for something to be done
  ("帮我查下余额"): several questions in one message are only split at such clauses.
- `strip_joiner`: "顺便问下转账手续费" -> "转账手续费"; a joiner always starts a new clause.
- `starts_with_switch`: "先等等，我的卡丢了" inside a form means: first something else.
- `covered_by`: a question the answer to an earlier one already answers ("还没收到 一般要多久才能到":
  the transfer-status answer says how long each arrival type takes) is not asked again.
- `says_misunderstood`: "我问的是…", "你没听懂": the answer before missed the point (the content
  studio's inbox takes in the message it answered).

Both the Rasa process (bot/several_questions.py) and the action server (actions/forms.py) use
this module, so the two agree on what a question is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Pattern

import yaml

CUES_PATH = Path(__file__).resolve().parents[1] / "data" / "lexicon" / "cues.yml"
# A joiner is only dropped when this much of the clause is left ("然后呢" stays "然后呢").
MIN_REST_AFTER_JOINER = 3
_GAP = re.compile(r"^[\s,，.。、:：;；!！~～]+")


@dataclass(frozen=True)
class Cues:
    question: Pattern[str]
    request: Pattern[str]
    joiner: Pattern[str]
    switch: Pattern[str]
    misunderstood: Pattern[str]
    covers: Dict[str, FrozenSet[str]]


def _alternatives(patterns: List[str], anchored: bool) -> Pattern[str]:
    body = "|".join(f"(?:{p})" for p in patterns) or r"(?!x)x"
    return re.compile(f"^(?:{body})" if anchored else body)


def load_cues(path: Path = CUES_PATH) -> Cues:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Cues(question=_alternatives([str(p) for p in data.get("question") or []], anchored=False),
                request=_alternatives([str(p) for p in data.get("request") or []], anchored=False),
                joiner=_alternatives([str(p) for p in data.get("joiners") or []], anchored=True),
                switch=_alternatives([str(p) for p in data.get("switch") or []], anchored=True),
                misunderstood=_alternatives([str(p) for p in data.get("misunderstood") or []], anchored=True),
                covers={str(k): frozenset(map(str, v or [])) for k, v in (data.get("covers") or {}).items()})


@lru_cache(maxsize=1)
def cues() -> Cues:
    return load_cues()


def looks_like_question(text: str) -> bool:
    return bool(cues().question.search(text or ""))


def looks_like_request(text: str) -> bool:
    """A question, or asking for something to be done ("帮我查下余额", "我的卡丢了")."""
    return looks_like_question(text) or bool(cues().request.search(text or ""))


def starts_with_joiner(text: str) -> bool:
    found = cues().joiner.match((text or "").strip())
    return bool(found) and len(_GAP.sub("", text.strip()[found.end():])) >= MIN_REST_AFTER_JOINER


def strip_joiner(text: str) -> str:
    """"还有我的转账到了没" -> "我的转账到了没"; unchanged when too little would be left."""
    stripped = (text or "").strip()
    found = cues().joiner.match(stripped)
    if not found:
        return stripped
    rest = _GAP.sub("", stripped[found.end():])
    return rest if len(rest) >= MIN_REST_AFTER_JOINER else stripped


def starts_with_switch(text: str) -> bool:
    return bool(cues().switch.match((text or "").strip()))


def says_misunderstood(text: str) -> bool:
    return bool(cues().misunderstood.match((text or "").strip()))


def covered_by(earlier_intent: str, intent: str) -> bool:
    """The answer to `earlier_intent` already answers `intent` (cues.yml `covers`)."""
    return intent in cues().covers.get(earlier_intent, frozenset())
