"""The conversation test set (tests/conversations/*.yml) through the running stack.

Every conversation is driven turn by turn through Rasa's REST channel with the real action
server and core banking (tests/conversations/runner.py); the pass rate per group is printed
and saved under results/conversations/. The gate: at least 95 % of all conversations pass.
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.conversations import runner

PASS_RATE_GATE = 0.95
MIN_CONVERSATIONS = 120
MIN_PER_GROUP = 15
# The groups the set must cover with at least MIN_PER_GROUP conversations each.
REQUIRED_GROUPS = ("follow_up", "then_what", "correction", "form_switch", "multi_question", "elderly",
                   "anonymous_login")


def test_the_set_covers_every_group() -> None:
    conversations = runner.load_set()
    per_group = Counter(c.group for c in conversations)
    assert len(conversations) >= MIN_CONVERSATIONS, per_group
    thin = {g: per_group.get(g, 0) for g in REQUIRED_GROUPS if per_group.get(g, 0) < MIN_PER_GROUP}
    assert not thin, f"groups with fewer than {MIN_PER_GROUP} conversations: {thin}"
    names = Counter((c.source, c.name) for c in conversations)
    assert not [n for n, k in names.items() if k > 1], "conversation names must be unique within a file"


def test_every_turn_checks_something() -> None:
    empty = [(c.name, t.say) for c in runner.load_set() for t in c.turns if not t.expect and not t.forbid]
    assert not empty, f"turns with neither expect nor forbid: {empty}"


@pytest.mark.stack
def test_conversation_set_pass_rate(stack) -> None:
    conversations = runner.load_set()
    talk = runner.Stack(stack.rasa_url, stack.url("core_banking"), stack.env["CORE_BANKING_SERVICE_TOKEN"])
    talk.unfreeze_all(sorted({c.customer for c in conversations if c.customer != runner.ANONYMOUS}))
    results = runner.run_set(talk, conversations)
    rows = runner.figures(results)
    saved = runner.save(results, rows)
    print("\n" + runner.table(rows) + f"\n(details: {saved}/summary.md)")
    overall = rows[-1]
    assert overall.rate >= PASS_RATE_GATE, (
        f"{overall.passed}/{overall.conversations} conversations passed ({overall.rate:.1%}, gate "
        f"{PASS_RATE_GATE:.0%})\n{runner.table(rows)}\n{runner.failures(results)}")
