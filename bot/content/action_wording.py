"""Which content the custom actions name, read from their source without running them.

The actions put every customer-facing sentence together from content: domain.yml responses
(`dispatcher.utter_message(response="utter_x", key=value)`) and the fragments and buttons of
data/knowledge/wording.yml (`fragment("name", key=value)`, `joined(items, "separator")`,
`button("name")`). This module finds those calls with `ast`, so `check` can tell the content
team, with the action's file and line, when a name or a placeholder no longer matches.
The channels' own messages (connectors/) and the sentences the agent desk writes
(services/agent_desk/) call `fragment("name", key=value)` the same way and are scanned too
(`scan_sources`, the folders of ProjectPaths.wording_readers).

What a call fills is known when every keyword is written out; a call with `**values` fills
something unknown and only its name is checked. A name is resolved when it is a string
literal, a module constant (`CLARIFY_PARAMETER_RESPONSE = "utter_..."`), a local variable
assigned literals in the same function (`frozen_now = "utter_a" if changed else "utter_b"`),
or either branch of such a conditional. Class and module attributes whose value is a response
name (`anonymous_faq = "utter_check_balance"`) count as uses without placeholders known.
"""
from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple

RESPONSE = "response"
FRAGMENT = "fragment"
BUTTON = "button"

# Keyword arguments of rasa_sdk's CollectingDispatcher.utter_message that are not placeholders.
UTTER_MESSAGE_ARGUMENTS = frozenset({"text", "image", "json_message", "template", "response", "attachment",
                                     "buttons", "elements"})
DEFAULT_SEPARATOR = "list_separator"  # actions/knowledge.py joined()
_RESPONSE_NAME = re.compile(r"^utter_[A-Za-z0-9_]+$")
# Rasa's own placeholder syntax (rasa/core/nlg/interpolator.py); only identifiers are names.
_RASA_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ContentUse:
    kind: str  # RESPONSE | FRAGMENT | BUTTON
    name: str
    path: Path
    line: int
    filled: Optional[FrozenSet[str]]  # the placeholders the call fills; None = not known


def scan_actions(actions_dir: Path) -> List[ContentUse]:
    """Every use of a response, fragment or button in the actions' Python files."""
    return scan_sources([actions_dir])


def scan_sources(folders: Iterable[Path]) -> List[ContentUse]:
    """Every use of a response, fragment or button in the Python files of these folders
    (a folder that does not exist has none)."""
    uses: List[ContentUse] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
            except SyntaxError:
                continue  # not content: the process that runs it reports it
            uses.extend(_Scanner(path, tree).uses())
    return uses


class _Scanner:
    def __init__(self, path: Path, tree: ast.Module) -> None:
        self.path = path
        self.tree = tree
        self.constants: Dict[str, Set[str]] = {}
        for node in tree.body:
            for name, values in _assigned_strings(node):
                self.constants.setdefault(name, set()).update(values)

    def uses(self) -> List[ContentUse]:
        found: List[ContentUse] = []
        self._visit(self.tree, {}, found)
        return found

    def _visit(self, node: ast.AST, local: Dict[str, Set[str]], found: List[ContentUse]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self._visit(child, _local_strings(child), found)
                continue
            if isinstance(child, (ast.Assign, ast.AnnAssign)) and isinstance(node, (ast.Module, ast.ClassDef)):
                for _, values in _assigned_strings(child):
                    for value in sorted(values):
                        if _RESPONSE_NAME.match(value):
                            found.append(ContentUse(RESPONSE, value, self.path, child.lineno, None))
            if isinstance(child, ast.Call):
                found.extend(self._call(child, local))
            self._visit(child, local, found)

    def _names(self, node: Optional[ast.AST], local: Dict[str, Set[str]]) -> Set[str]:
        """The string values an expression can have, when the source says (else empty)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.Name):
            return set(local.get(node.id) or self.constants.get(node.id) or ())
        if isinstance(node, ast.IfExp):
            return self._names(node.body, local) | self._names(node.orelse, local)
        return set()

    def _call(self, call: ast.Call, local: Dict[str, Set[str]]) -> List[ContentUse]:
        function = _function_name(call.func)
        keywords = {k.arg: k for k in call.keywords if k.arg is not None}
        unknown = any(k.arg is None for k in call.keywords)  # **values
        if function == "utter_message":
            named = keywords.get("response") or keywords.get("template")
            if named is None:
                return []
            filled = None if unknown else frozenset(set(keywords) - UTTER_MESSAGE_ARGUMENTS)
            return [ContentUse(RESPONSE, name, self.path, named.value.lineno, filled)
                    for name in sorted(self._names(named.value, local))]
        if function in ("fragment", "button"):
            first = call.args[0] if call.args else (keywords["name"].value if "name" in keywords else None)
            if first is None:
                return []
            kind = FRAGMENT if function == "fragment" else BUTTON
            filled = None if unknown else frozenset(k for k in keywords if k != "name")
            return [ContentUse(kind, name, self.path, first.lineno, filled if kind == FRAGMENT else frozenset())
                    for name in sorted(self._names(first, local))]
        if function == "joined":
            separator = call.args[1] if len(call.args) > 1 else (
                keywords["separator"].value if "separator" in keywords else None)
            names = self._names(separator, local) if separator is not None else {DEFAULT_SEPARATOR}
            line = separator.lineno if separator is not None else call.lineno
            return [ContentUse(FRAGMENT, name, self.path, line, frozenset()) for name in sorted(names)]
        return []


def _function_name(func: ast.AST) -> Optional[str]:
    """`fragment(...)`, `knowledge.fragment(...)`, `dispatcher.utter_message(...)`."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr == "utter_message":
            return func.attr
        if isinstance(func.value, ast.Name) and func.value.id == "knowledge":
            return func.attr
    return None


def _string_values(node: Optional[ast.AST]) -> Set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _string_values(node.body), _string_values(node.orelse)
        return body | orelse if body and orelse else set()
    return set()


def _assigned_strings(node: ast.AST) -> Iterator[Tuple[str, Set[str]]]:
    """`NAME = "text"` (or a conditional of two literals) at this statement."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return
    values = _string_values(value)
    if values:
        for target in targets:
            if isinstance(target, ast.Name):
                yield target.id, values


def _local_strings(function: ast.AST) -> Dict[str, Set[str]]:
    found: Dict[str, Set[str]] = {}
    for node in ast.walk(function):
        for name, values in _assigned_strings(node):
            found.setdefault(name, set()).update(values)
    return found


# ------------------------------------------------------------------ placeholders
class MalformedTemplate(ValueError):
    """A fragment whose braces do not pair up (Python's str.format cannot read it)."""


def fragment_placeholders(template: str) -> FrozenSet[str]:
    """The `{name}` placeholders of a wording.yml fragment, as str.format reads them."""
    names: Set[str] = set()
    try:
        for _, field, _, _ in string.Formatter().parse(template):
            if field is None:
                continue
            base = re.split(r"[.\[]", field, maxsplit=1)[0]
            names.add(base)
    except ValueError as exc:
        raise MalformedTemplate(str(exc)) from exc
    return frozenset(names)


def response_placeholders(texts: Iterable[str]) -> FrozenSet[str]:
    """The `{name}` placeholders of response texts, as Rasa fills them (identifiers only, so a
    button payload's JSON such as `{"amount": 1}` is not one)."""
    return frozenset(match.strip() for text in texts for match in _RASA_PLACEHOLDER.findall(text or "")
                     if _IDENTIFIER.match(match.strip()))
