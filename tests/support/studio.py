"""The content studio's test project: tests/fixtures/studio_project copied into a fresh git
repository (the studio edits a branch of it, never the fixture itself)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot.settings import PROJECT_ROOT

STUDIO_FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "studio_project"
_GIT_ENV = {"GIT_AUTHOR_NAME": "fixture", "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
            "GIT_COMMITTER_NAME": "fixture", "GIT_COMMITTER_EMAIL": "fixture@example.invalid"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **_GIT_ENV}, capture_output=True,
                          text=True, check=True)
    return done.stdout


def content_repo(destination: Path, source: Path = STUDIO_FIXTURE) -> Path:
    """A git repository at `destination` holding `source`, one commit on `main` (reused when
    `destination` already is one)."""
    if (destination / ".git").exists():
        return destination
    shutil.copytree(source, destination)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "fixture")
    return destination
