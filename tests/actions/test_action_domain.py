"""Rasa sends its domain only to the actions that read it (endpoints.yml
`enable_selective_domain`): every action whose code reads the domain is one of them, and the
actions the dialogue layer runs by name (topics, "登录好了") read none of it."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Set

import yaml
from rasa.shared.core.domain import Domain
from rasa_sdk.forms import FormValidationAction

from actions import knowledge
from actions.registry import _actions

ROOT = Path(__file__).resolve().parents[2]
# Reading the domain: the forms' questions (form_slots) or any key of it.
READS_DOMAIN = re.compile(r"form_slots\(|domain\.get\(|domain\[")


def reads_domain(action: object) -> bool:
    if isinstance(action, FormValidationAction):
        return True
    classes = [cls for cls in type(action).__mro__ if cls.__module__.startswith("actions.")]
    return any(READS_DOMAIN.search(inspect.getsource(cls)) for cls in classes)


def sent_the_domain() -> Set[str]:
    domain = Domain.load(str(ROOT / "domain.yml"))
    return {name for name in domain.user_actions if domain.does_custom_action_explicitly_need_domain(name)}


def test_selective_domain_is_on_in_every_endpoints_file():
    for path in [ROOT / "endpoints.yml", *sorted((ROOT / "bench").glob("endpoints*.yml"))]:
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["action_endpoint"]["enable_selective_domain"] is True, path


def test_every_action_that_reads_the_domain_is_sent_it():
    readers = {name for name, action in _actions().items() if reads_domain(action)}
    assert "action_stop_form" in readers and "validate_complaint_form" in readers  # the check sees them
    assert readers <= sent_the_domain(), f"mark send_domain in domain.yml: {sorted(readers - sent_the_domain())}"


def test_actions_run_by_name_read_no_domain():
    """action_answer_topic, action_follow_up, action_next_step and action_resume_after_login pass
    their (empty) domain on to these."""
    named = set(re.findall(r"\baction_\w+", (ROOT / "data/knowledge/topics.yml").read_text(encoding="utf-8")))
    named |= {topic.answer for topic in knowledge.topics().topics.values() if topic.answer.startswith("action_")}
    named &= set(_actions())
    assert named and not {name for name in named if reads_domain(_actions()[name])}
