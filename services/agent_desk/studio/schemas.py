"""Typed models of the studio's HTTP answers that several studio routes share."""
from __future__ import annotations

from typing import List

from pydantic import BaseModel, Field

from services.agent_desk.studio.workspace import Change, FileVersion


class FileOut(BaseModel):
    path: str
    text: str
    version: str = Field(..., description="send it back as base_version when saving this file")

    @classmethod
    def of(cls, file: FileVersion) -> "FileOut":
        return cls(path=file.path, text=file.text, version=file.version)


class ChangeOut(BaseModel):
    commit: str
    author: str = Field(..., description="the content user's display name")
    username: str
    when: str = Field(..., description="ISO 8601")
    message: str
    files: List[str]

    @classmethod
    def of(cls, change: Change) -> "ChangeOut":
        return cls(commit=change.commit, author=change.author, username=change.username, when=change.when,
                   message=change.message, files=list(change.files))


class HistoryOut(BaseModel):
    branch: str
    changes: List[ChangeOut]
