"""Editing content YAML so that a save changes only the lines it means to (ruamel.yaml round trip).

A file is loaded once for editing (`RoundTrip`) and written back in its own layout: the
indentation that reproduces it unchanged (the project's NLU and rules files put `- intent:` at
column 0, domain.yml indents lists `  - greet`; comments, quotes and blank lines are kept).
`last_slot` is where ruamel keeps what follows a collection (its blank line and the comments
before the next entry), which edits at a collection's end must carry along.
"""
from __future__ import annotations

import io
import threading
from typing import Any, Dict, Optional, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from services.agent_desk import errors

Indent = Tuple[int, int, int]  # ruamel's (mapping, sequence, offset)
NLU_LAYOUT: Indent = (2, 2, 0)
DOMAIN_LAYOUT: Indent = (2, 4, 2)
LAYOUTS: Tuple[Indent, ...] = (DOMAIN_LAYOUT, NLU_LAYOUT, (4, 4, 2), (4, 6, 4))
# ruamel's loader and dumper are not thread-safe; the desk serves requests from a thread pool.
_lock = threading.Lock()


def _represent_none(representer: Any, _: Any) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")  # `null`, as the files write it


# Registered on ruamel's round-trip representer class, so once for every YAML instance.
RoundTripRepresenter.add_representer(type(None), _represent_none)


def _yaml(indent: Indent) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return y


def _dump(data: Any, indent: Indent) -> str:
    out = io.StringIO()
    with _lock:
        _yaml(indent).dump(data, out)
    return out.getvalue()


def reload(rel: str, text: str) -> Any:
    """The file's data, round-trip (lines, comments and quoting kept); 422 with the line if it does not parse."""
    try:
        with _lock:
            return _yaml(DOMAIN_LAYOUT).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise errors.ContentInvalid(f"{rel} 第 {line or '?'} 行：YAML 格式错误，请先修好这个文件", file=rel,
                                    line=line) from exc


_layout_cache: Dict[str, Indent] = {}
_parsed_cache: Dict[str, Any] = {}


def _remember(cache: Dict[str, Any], key: str, value: Any, size: int = 16) -> None:
    with _lock:
        if len(cache) >= size:
            cache.pop(next(iter(cache)))
        cache[key] = value


def parsed(rel: str, text: str) -> Any:
    """Read-only round-trip data of a file's text (parsed once per version: never edit it)."""
    key = rel + "\0" + text
    found = _parsed_cache.get(key)
    if found is None:
        found = reload(rel, text)
        _remember(_parsed_cache, key, found)
    return found


def layout_of(rel: str, text: str) -> Indent:
    """The indentation that writes `text` back unchanged, else the one that changes fewest lines."""
    found = _layout_cache.get(text)
    if found is None:
        original = reload(rel, text)
        lines = text.splitlines()

        def changed(indent: Indent) -> int:
            again = _dump(original, indent).splitlines()
            return sum(1 for a, b in zip(again, lines) if a != b) + abs(len(again) - len(lines))

        found = min(LAYOUTS, key=changed)  # min keeps the first of equals: an exact one scores 0
        _remember(_layout_cache, text, found)
    return found


class RoundTrip:
    """One content file loaded for editing; `dump()` writes it back in the file's own layout.
    `RoundTrip.new(rel, data, layout)` starts a file that does not exist yet."""

    def __init__(self, rel: str, text: str) -> None:
        self.rel = rel
        self.text = text
        self.data = reload(rel, text)
        self.indent: Optional[Indent] = None

    @classmethod
    def new(cls, rel: str, data: Any, layout: Indent) -> "RoundTrip":
        doc = cls.__new__(cls)
        doc.rel, doc.text, doc.data, doc.indent = rel, "", data, layout
        return doc

    def dump(self) -> str:
        if self.indent is None:
            self.indent = layout_of(self.rel, self.text)
        return _dump(self.data, self.indent)


def last_slot(node: Any) -> Optional[Tuple[Any, Any]]:
    """(container, key) of the last scalar of a block collection: where ruamel keeps the comments
    and blank lines that follow the collection."""
    slot = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        slot, node = (node, key), node[key]
    return slot
