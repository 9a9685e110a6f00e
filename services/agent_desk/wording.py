"""The sentences the desk writes, from data/knowledge/wording.yml (the bot's wording table).

The desk reads the same table through the same loader as the actions (actions/knowledge.py
`fragment`, which imports only yaml and pydantic), so the content team edits one file and
`make check` verifies the names and placeholders the desk fills (bot/content/action_wording.py
scans services/agent_desk/ as it scans actions/).

The desk is a service of its own and must keep queueing customers when the table cannot be
read: a missing or broken knowledge table, a fragment that is gone or a placeholder renamed.
Then the problem is logged once and the sentence below is used instead — the wording the desk
had when its sentences moved to the table, with the same placeholders (tests/unit compares
them with the table's). They are a last resort, not where the wording is edited.
"""
from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from types import ModuleType
from typing import Optional, Set

log = logging.getLogger(__name__)

FALLBACK = {
    "handoff_wait_next": "正在为您转接人工客服，您是下一位，预计等待约 {minutes} 分钟，请稍候。",
    "handoff_wait_ahead": "正在为您转接人工客服，您前面还有 {ahead} 位客户，预计等待约 {minutes} 分钟，请稍候。",
    "handoff_after_hours": ("现在是非人工服务时间（人工服务时间为每天 {hours}）。您的问题已为您记录，"
                            "您可以继续留言，人工客服将在 {opens} 上班后按顺序优先处理，并通过您预留的联系方式回电。"),
    "date_time": "{month}月{day}日 {time}",
    "desk_anonymous_name": "未登录客户",
}

_reported: Set[str] = set()


@lru_cache(maxsize=1)
def _knowledge() -> Optional[ModuleType]:
    """actions.knowledge, or None when its tables cannot be loaded (logged once)."""
    try:
        return importlib.import_module("actions.knowledge")
    except Exception as exc:  # KnowledgeError (a broken or missing table) or a missing module
        log.error("wording table unavailable, the desk uses its built-in sentences: %s", exc)
        return None


def fragment(name: str, **values: object) -> str:
    """A fragment of wording.yml with its placeholders filled; the built-in sentence if the
    table cannot give it."""
    knowledge = _knowledge()
    if knowledge is not None:
        try:
            return knowledge.fragment(name, **values)
        except Exception as exc:  # KnowledgeError: no such fragment, or an unknown placeholder
            if name not in _reported:
                _reported.add(name)
                log.error("wording fragment %s unusable, the desk uses its built-in sentence: %s", name, exc)
    return FALLBACK[name].format(**values)
