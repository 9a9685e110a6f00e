"""The quick rule check finds a broken rule in seconds, and passes on the real data."""
import shutil
from pathlib import Path

import pytest

from bot.rule_check import rule_problems
from bot.settings import PROJECT_ROOT


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    shutil.copytree(PROJECT_ROOT / "data" / "stories", tmp_path / "data" / "stories")
    shutil.copytree(PROJECT_ROOT / "data" / "rules", tmp_path / "data" / "rules")
    return tmp_path


def test_the_project_rules_are_consistent(project_copy):
    assert rule_problems(project_copy) is None


def test_a_contradicting_rule_is_reported(project_copy):
    (project_copy / "data" / "rules" / "broken.yml").write_text(
        'version: "3.1"\nrules:\n- rule: 打招呼却说再见\n  steps:\n  - intent: greet\n  - action: utter_goodbye\n',
        encoding="utf-8")
    problems = rule_problems(project_copy)
    assert problems and "utter_goodbye" in problems and "utter_greet" in problems
