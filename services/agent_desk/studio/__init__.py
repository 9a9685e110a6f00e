"""The content studio: the content team improves the assistant from real conversations, in the
desk's web app (`/studio/`), without editing YAML by hand. docs/content-studio.md.

| module        | concern                                                                    |
|---------------|----------------------------------------------------------------------------|
| workspace.py  | the studio branch's worktree: versioned reads, checked saves, history      |
| inbox.py      | messages the bot did not understand, from the Redis tracker store, masked  |
| annotate.py   | assign a message (or a group) to an intent: written to data/nlu/*.yml      |
| answers.py    | responses and knowledge tables as forms, with the app / WeChat preview     |
| training.py   | check, train, evaluate, gate, activate in Rasa, roll back                  |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from services.agent_desk.config import DeskSettings
from services.agent_desk.models import Agent
from services.agent_desk.studio.training import Trainer
from services.agent_desk.studio.workspace import Author, Workspace


@dataclass
class Studio:
    """What the studio's routes share, built once per app (`app.state.studio`)."""

    settings: DeskSettings
    workspace: Workspace
    trainer: Optional[Trainer] = None  # check, train, activate, roll back (training.py)

    @classmethod
    def from_settings(cls, settings: DeskSettings) -> "Studio":
        directory = settings.effective_studio_dir
        workspace = Workspace(settings.studio_project, settings.studio_branch, directory)
        return cls(settings, workspace, trainer=Trainer.from_settings(settings, workspace))


def author_of(user: Agent) -> Author:
    return Author(user.username, user.display_name)
