"""The content studio's working copy: a git worktree of the project on the studio branch.

Nothing is edited in place on main. Every save is one commit on the studio branch (default
`content/studio`), in a worktree under `<RUN_DIR>/studio/worktree`, with the content user as its
author and a Chinese message; the branch is reviewed and merged like any other change (or
exported as a patch: `Workspace.patch()`).

Two editors, one file: every read returns the file's version (its git blob id); a save names the
version it started from. When the file changed in between, nothing is written and the answer
shows what the other editor changed (a diff from the version read to the current one).

A save that breaks the content (YAML that does not parse, a new error of the content check) is
refused with the file and line, and the file is left as it was.
"""
from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from bot.content.lint import Issue, run_lint
from bot.content.project import ProjectPaths, YamlFileError, load_yaml
from services.agent_desk import errors

# What the studio may write: the content files, never code or configuration.
EDITABLE_FILES = ("domain.yml",)
EDITABLE_FOLDERS = ("data/",)
CONTENT_PATHS = ("domain.yml", "data")


@dataclass(frozen=True)
class Author:
    username: str
    display_name: str

    @property
    def email(self) -> str:
        return f"{self.username}@content-studio.invalid"

    def git_env(self) -> Dict[str, str]:
        """Author and committer are the content user (the studio has no identity of its own)."""
        return {"GIT_AUTHOR_NAME": self.display_name, "GIT_AUTHOR_EMAIL": self.email,
                "GIT_COMMITTER_NAME": self.display_name, "GIT_COMMITTER_EMAIL": self.email}


@dataclass(frozen=True)
class FileVersion:
    path: str      # relative to the project root, with "/"
    text: str
    version: str   # git blob id of `text`


@dataclass(frozen=True)
class Change:
    commit: str
    author: str
    username: str
    when: str      # ISO 8601
    message: str
    files: Tuple[str, ...]


class GitError(RuntimeError):
    pass


def _git(cwd: Path, *args: str, env: Optional[Dict[str, str]] = None, stdin: Optional[str] = None) -> str:
    run_env = dict(os.environ)
    run_env.update(env or {})
    run_env.setdefault("GIT_TERMINAL_PROMPT", "0")
    done = subprocess.run(["git", *args], cwd=cwd, env=run_env, input=stdin, capture_output=True,
                          text=True, encoding="utf-8", check=False)
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])}: {done.stderr.strip()[:500]}")
    return done.stdout


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held on `path` (created if missing), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def checked_path(rel: str) -> str:
    """`rel` if it names a YAML content file inside the project (no "..", no code), else 422."""
    clean = PurePosixPath(rel.replace("\\", "/"))
    text = str(clean)
    if clean.is_absolute() or ".." in clean.parts or clean.suffix not in (".yml", ".yaml") or (
            text not in EDITABLE_FILES and not any(text.startswith(f) for f in EDITABLE_FOLDERS)):
        raise errors.InvalidInput(f"不能在内容工作室里修改这个文件：{rel}", code="not_a_content_file")
    return text


def unified_diff(before: str, after: str, path: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))


class Workspace:
    """One project's studio branch, checked out in its own worktree."""

    def __init__(self, project: Path, branch: str, directory: Path,
                 lint: Callable[[ProjectPaths], Sequence[Issue]] = run_lint) -> None:
        self.project = Path(project)
        self.branch = branch
        self.directory = Path(directory)
        self.root = self.directory / "worktree"
        self._lint = lint
        self._baseline: Tuple[str, frozenset] = ("", frozenset())

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths(self.root)

    # -- the worktree ------------------------------------------------------------------------
    def ensure(self) -> "Workspace":
        """Creates the branch (from the project's HEAD) and its worktree when missing."""
        if (self.root / ".git").exists():
            return self
        try:
            _git(self.project, "rev-parse", "--git-dir")
        except (GitError, FileNotFoundError) as exc:
            raise errors.StudioUnavailable(f"项目不是 git 仓库，内容工作室无法保存修改：{self.project}") from exc
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if (self.root / ".git").exists():
                return self
            _git(self.project, "worktree", "prune")
            has_branch = bool(_git(self.project, "branch", "--list", self.branch).strip())
            if has_branch:
                _git(self.project, "worktree", "add", str(self.root), self.branch)
            else:
                _git(self.project, "worktree", "add", "-b", self.branch, str(self.root), "HEAD")
        return self

    def _locked(self) -> "contextlib.AbstractContextManager[None]":
        """One writer at a time, across the desk's processes (a file lock beside the worktree)."""
        return file_lock(self.directory / "workspace.lock")

    def head(self) -> str:
        return _git(self.ensure().root, "rev-parse", "HEAD").strip()

    # -- reading -----------------------------------------------------------------------------
    def read(self, rel: str) -> FileVersion:
        rel = checked_path(rel)
        path = self.ensure().root / rel
        if not path.is_file():
            raise errors.NotFound(f"文件不存在：{rel}")
        text = path.read_text(encoding="utf-8")
        return FileVersion(rel, text, self._blob_id(text))

    def _blob_id(self, text: str) -> str:
        return _git(self.root, "hash-object", "--stdin", stdin=text).strip()

    def _blob_text(self, version: str) -> Optional[str]:
        try:
            return _git(self.root, "cat-file", "blob", version)
        except GitError:
            return None

    # -- saving ------------------------------------------------------------------------------
    def save(self, rel: str, text: str, base_version: str, author: Author, message: str) -> Change:
        """Writes `text` to `rel` and commits it, if the file is still at `base_version`."""
        return self.save_many({rel: (text, base_version)}, author, message)

    def update(self, rel: str, base_version: str, author: Author, message: str,
               edit: Callable[[str], str]) -> Change:
        """Applies `edit` to the file's current text and commits (same checks as `save`)."""
        current = self.read(rel)
        return self.save(rel, edit(current.text), base_version, author, message)

    def save_many(self, changes: Dict[str, Tuple[str, str]], author: Author, message: str) -> Change:
        """Several files in one commit; each named file maps to (new text, version read)."""
        if not message.strip():
            raise errors.InvalidInput("请填写修改说明")
        checked = {checked_path(rel): value for rel, value in changes.items()}
        self.ensure()
        with self._locked():
            before = {rel: self._current_text(rel) for rel in checked}
            for rel, (text, base_version) in checked.items():
                self._refuse_conflict(rel, before[rel], base_version)
            baseline = self._baseline_issues()
            for rel, (text, _) in checked.items():
                self._write(rel, text)
            try:
                self._refuse_broken(checked, baseline)
            except errors.ContentInvalid:
                self._restore(before)
                raise
            return self._commit(list(checked), author, message)

    def _current_text(self, rel: str) -> Optional[str]:
        path = self.root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def _refuse_conflict(self, rel: str, current: Optional[str], base_version: str) -> None:
        current_version = self._blob_id(current) if current is not None else ""
        if base_version == current_version:
            return
        base = self._blob_text(base_version) if base_version else ""
        raise errors.EditConflict(file=rel, current_version=current_version,
                                  diff=unified_diff(base or "", current or "", rel))

    def _write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")

    def _restore(self, before: Dict[str, Optional[str]]) -> None:
        for rel, text in before.items():
            path = self.root / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")

    def _baseline_issues(self) -> frozenset:
        """The content check's errors at HEAD (so a save is refused only for errors it adds)."""
        head = _git(self.root, "rev-parse", "HEAD").strip()
        if self._baseline[0] != head:
            self._baseline = (head, frozenset(_error_key(i) for i in self._lint(self.paths) if i.severity == "error"))
        return self._baseline[1]

    def _refuse_broken(self, changed: Dict[str, Tuple[str, str]], baseline: frozenset) -> None:
        for rel in changed:
            try:
                load_yaml(self.root / rel)
            except YamlFileError as exc:
                raise errors.ContentInvalid(f"{rel} 第 {exc.line or '?'} 行：YAML 格式错误（{exc.problem}），"
                                            f"请检查缩进、冒号和引号", file=rel, line=exc.line) from exc
        new = [i for i in self._lint(self.paths) if i.severity == "error" and _error_key(i) not in baseline]
        if new:
            first = new[0]
            where = f"{first.file} 第 {first.line} 行" if first.line else first.file
            raise errors.ContentInvalid(f"{where}：{first.message}", file=first.file, line=first.line)

    def _commit(self, files: List[str], author: Author, message: str) -> Change:
        _git(self.root, "add", "--", *files)
        if not _git(self.root, "diff", "--cached", "--name-only").strip():
            raise errors.InvalidInput("内容没有变化，无需保存", code="no_change")
        _git(self.root, "commit", "-q", "-m", message, env=author.git_env())
        self._baseline = ("", frozenset())
        return self.history(limit=1)[0]

    # -- history and review ------------------------------------------------------------------
    def history(self, limit: int = 50) -> List[Change]:
        """The studio branch's commits that touched content, newest first."""
        out = _git(self.ensure().root, "log", f"-{int(limit)}", "--name-only",
                   "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s", "--", *CONTENT_PATHS)
        changes = []
        for record in out.split("\x1e")[1:]:
            header, _, names = record.partition("\n")
            commit, name, email, when, subject = header.split("\x1f")
            changes.append(Change(commit, name, email.split("@")[0], when, subject,
                                  tuple(n for n in names.splitlines() if n.strip())))
        return changes

    def patch(self) -> str:
        """Every studio commit not yet in the project's checked-out branch, as `git am` input."""
        base = _git(self.project, "rev-parse", "HEAD").strip()
        return _git(self.ensure().root, "format-patch", "--stdout", f"{base}..{self.branch}")

    def snapshot(self, commit: str, destination: Path) -> Path:
        """The project's files at `commit` in `destination` (training never reads a half-edited tree)."""
        destination.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=self.root,
                                 capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
        return destination


def _error_key(issue: Issue) -> Tuple[str, str, str]:
    """An error without its line and its figures: unrelated edits shift lines, and an intent that
    still has too few examples after one more ("只有 6 条" → "只有 7 条") is not a new error."""
    return (issue.code, issue.file, re.sub(r"\d+", "#", issue.message))
