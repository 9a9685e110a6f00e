"""Answers: domain.yml responses and the knowledge tables (data/knowledge/*.yml) as forms.

What a content user reads and edits here:
- a response's variations (text, buttons); written back into domain.yml with ruamel.yaml
  round-trip, so the other responses, the comments and the quoting stay as they were;
- a knowledge table as a list of entries (each string / number of the table, with its path, a
  Chinese label and the line), edited value by value; string lists (loan materials) take new
  items and lose old ones. A table the action server reads is validated with the action server's
  own model (actions/knowledge.py) before it is saved: a save never stops the action server.

Placeholders are checked before the workspace's save (which runs the whole content check): the
`{name}`s a text uses must be the ones the Python fills (bot/content/action_wording.py, the
same scan and the same rules as bot/content/lint.py), else the save is refused with the
placeholder, the content file and the line. Problems the text had before the edit are left to
the content check (it refuses only new errors too).

The preview shows one message as the app shows it (a bubble, buttons as quick replies) and as
the WeChat connector sends it (connectors/wechat_text.py `render_messages`, the connector's own: buttons become numbered
lines and a hint, `wechat_option` / `wechat_options_hint` of wording.yml; longer than
connectors/wechat_api.py `MAX_TEXT_BYTES` goes out as several customer-service messages).
"""
from __future__ import annotations

import contextlib
import re
import string
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple, Type, Union

import yaml as pyyaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import (DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString,
                                      PlainScalarString, SingleQuotedScalarString)

from actions import knowledge
from bot.content.action_wording import (FRAGMENT, RESPONSE, ContentUse, MalformedTemplate, fragment_placeholders,
                                        response_placeholders, scan_sources)
from bot.content.lint import Linter
from bot.content.project import item_line, key_line
from connectors.wechat_api import MAX_TEXT_BYTES, split_text
from connectors.wechat_text import render_messages
from services.agent_desk import errors
from services.agent_desk.studio.workspace import Author, Change, Workspace
from services.agent_desk.studio.yaml_edit import RoundTrip, last_slot, parsed, reload

DOMAIN = "domain.yml"
KNOWLEDGE = "data/knowledge"
WORDING_STEM = "wording"
WECHAT_LIMIT_BYTES = 2048          # WeChat's own limit of a text message (UTF-8)
MAX_BUTTONS = 6                    # more do not fit a phone's width, and become a long list in WeChat
MAX_BUTTON_TITLE = 12              # characters a quick-reply chip shows without cutting
_STEM = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_YAML11_WORD = re.compile(r"^(?i:y|yes|n|no|true|false|on|off|null|~)$")
_NAME_LIKE = re.compile(r"^(/?[A-Za-z_][A-Za-z0-9_]*(\{.*\})?)$")


# ------------------------------------------------------------------------------ the tables
@dataclass(frozen=True)
class TableSpec:
    title: str
    model: Optional[Type[BaseModel]]   # the action server's model of the table (actions/knowledge.py)
    labels: Dict[str, str]


_COMMON_LABELS = {"label": "名称", "title": "按钮文字", "payload": "点击后发送", "note": "说明", "summary": "简介",
                  "question": "追问说法", "values": "值的叫法", "hidden": "不给坐席看", "format": "格式"}

TABLES: Dict[str, TableSpec] = {
    "topics": TableSpec("话题表（常见问题的分段回答）", knowledge.Topics, {
        "forms": "业务名称", "parameters": "参数", "topics": "话题", "intents": "意图", "answer": "回答",
        "parts": "分段回答", "next_step": "下一步"}),
    "transfer_limits": TableSpec("转账限额表", knowledge.TransferLimits, {
        "channels": "渠道", "verification": "验证方式", "single": "单笔限额（元）", "daily": "单日限额（元）",
        "account_class_notes": "账户类型的额外限制", "default_channel": "默认渠道", "raise_methods": "提额办法",
        "method": "办法", "needs": "需要", "reaches": "提高后"}),
    "loan_materials": TableSpec("贷款材料表", knowledge.LoanMaterials, {
        "common_note": "通用提示", "loans": "贷款品种", "materials": "材料"}),
    "wording": TableSpec("句子片段和按钮（程序拼回答用）", knowledge.Wording, {
        "fragments": "句子片段", "buttons": "按钮", "choices": "按钮选项", "labels": "标准值的叫法",
        "limit_channels": "问限额时的渠道按钮", "handoff_reason": "转人工原因"}),
    "complaint_categories": TableSpec("投诉类别的关键词", knowledge.ComplaintCategories, {
        "categories": "类别"}),
    "intents": TableSpec("意图的中文名称", knowledge.IntentLabels, {"intents": "意图"}),
    "context_labels": TableSpec("坐席看到的槽位名称", knowledge.ContextLabels, {"slots": "槽位"}),
}


def table_file(stem: str) -> str:
    if not _STEM.match(stem or ""):
        raise errors.NotFound(f"没有这张知识表：{stem}")
    return f"{KNOWLEDGE}/{stem}.yml"


def _spec(stem: str) -> TableSpec:
    return TABLES.get(stem) or TableSpec(stem, None, {})


# ------------------------------------------------------------------------------ YAML round trip
_SafeLoader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


def _safe_load(text: str) -> Any:
    return pyyaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a safe loader)


def _slot_token(container: Any, key: Any) -> Any:
    entry = container.ca.items.get(key)
    position = 2 if isinstance(container, CommentedMap) else 0
    return entry[position] if entry and len(entry) > position and not isinstance(entry[position], list) else None


def _is_block(container: Any, key: Any) -> bool:
    """A `|` / `>` scalar: its own last line break is part of it, so what follows starts right away."""
    return isinstance(container[key], (LiteralScalarString, FoldedScalarString))


@contextlib.contextmanager
def tail_kept(node: Any) -> Iterator[None]:
    """Edits of a collection (items added or removed at its end) keep what follows it: the blank
    line and the comments before the next entry move to the collection's new last scalar."""
    slot = last_slot(node)
    token = _slot_token(*slot) if slot else None
    following = ""
    if token is not None:
        if _is_block(*slot):
            following = str(token.value)
            container, key = slot
            container.ca.items[key][2 if isinstance(container, CommentedMap) else 0] = None
        else:
            line, newline, following = str(token.value).partition("\n")
            if following:
                token.value = line + newline
    yield
    slot = last_slot(node) if following else None
    if slot is None:
        return
    token = _slot_token(*slot)
    if token is not None:
        blank = _is_block(*slot) and not str(token.value).strip()  # a line break the block already ends with
        token.value = following if blank else str(token.value) + following
        return
    container, key = slot
    new = CommentToken(following if _is_block(*slot) else "\n" + following, CommentMark(0))
    mapping = isinstance(container, CommentedMap)
    entry = container.ca.items.setdefault(key, [None, None, None, None] if mapping else [None, None])
    entry[2 if mapping else 0] = new


def styled(old: Any, new: str) -> Any:
    """`new` in the scalar style of the value it replaces: a one-line text keeps its quotes, a
    multi-line one is a `|-` block (double quotes where a block cannot hold it exactly)."""
    if "\n" in new:
        if new != new.strip() or any(line != line.rstrip() for line in new.split("\n")):
            return DoubleQuotedScalarString(new)  # a block scalar cannot keep leading / trailing blanks
        return LiteralScalarString(new)
    if isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        return type(old)(new)
    if _YAML11_WORD.match(new):  # PyYAML (the action server) would read these as true / false
        return SingleQuotedScalarString(new)
    return PlainScalarString(new)  # plain where YAML allows it, else ruamel quotes it


# ------------------------------------------------------------------------------ placeholders
@dataclass(frozen=True)
class Source:
    """Who fills a text: 动作 / 渠道程序 / 坐席系统, in which Python file and line."""

    reader: str
    file: str
    line: int
    filled: Optional[List[str]]   # None: the call passes **values, what it fills is not known


@dataclass(frozen=True)
class Placeholders:
    """What a text may and must use. `open`: nobody can tell (any name is accepted)."""

    required: List[str]
    fills: List[str]
    slots: List[str]
    open: bool
    sources: List[Source]
    note: str


@dataclass(frozen=True)
class Problem:
    code: str      # placeholder_unfilled | placeholder_missing | fragment_malformed
    key: str
    message: str   # what is wrong, without where (the caller says where)


_uses_cache: Dict[Tuple[str, str], List[ContentUse]] = {}
_uses_lock = threading.Lock()


def content_uses(ws: Workspace) -> List[ContentUse]:
    """The responses and fragments the worktree's Python names (action_wording's scan), per commit."""
    key = (str(ws.root), ws.head())
    with _uses_lock:
        if key not in _uses_cache:
            _uses_cache.clear()
            _uses_cache[key] = scan_sources(ws.paths.wording_readers)
        return _uses_cache[key]


def _expectation(ws: Workspace, kind: str, name: str, slots: Sequence[str],
                 scanned: Optional[List[ContentUse]] = None) -> Placeholders:
    """What the lint's placeholder checks (check_response_placeholders, check_wording) demand of
    this response / fragment: the calls whose keywords are known constrain it."""
    linter = Linter(ws.paths)
    uses = [u for u in (content_uses(ws) if scanned is None else scanned) if u.kind == kind and u.name == name]
    known = [u for u in uses if u.filled is not None]
    sources = [Source(linter.reader(u), ws.paths.rel(u.path), u.line,
                      sorted(u.filled) if u.filled is not None else None) for u in uses]
    required = sorted(set().union(*(u.filled for u in known))) if known else []
    fills = sorted(frozenset.intersection(*(u.filled for u in known))) if known else []
    slot_names = sorted(slots) if kind == RESPONSE else []
    what = "回答" if kind == RESPONSE else "句子片段"
    if known:
        note = f"程序填：{_names(fills) or '（不填任何值）'}。" + ("另外可以用槽位的值。" if slot_names else "")
        is_open = False
    elif uses:
        note = f"程序用到这个{what}，但看不出它填哪些值，请保持原有的 {{}} 不变。"
        is_open = True
    elif kind == RESPONSE:
        note = "没有程序给这个回答填值，只能用槽位的值（{槽位名}）。" if slot_names else "没有程序给这个回答填值，不能用 {}。"
        is_open = False
    else:
        note = "没有程序用到这个句子片段。"
        is_open = True
    return Placeholders(required, fills, slot_names, is_open, sources, note)


def response_expectation(ws: Workspace, name: str, slots: Sequence[str]) -> Placeholders:
    return _expectation(ws, RESPONSE, name, slots)


def fragment_expectation(ws: Workspace, name: str, scanned: Optional[List[ContentUse]] = None) -> Placeholders:
    return _expectation(ws, FRAGMENT, name, (), scanned)


def _names(keys: Sequence[str]) -> str:
    return "、".join("{" + k + "}" for k in keys)


def _filler(expected: Placeholders, key: str) -> str:
    for source in expected.sources:
        if source.filled is not None and key in source.filled:
            return f"{source.reader} {source.file} 第 {source.line} 行"
    return "程序"


def found_placeholders(kind: str, texts: Sequence[str]) -> FrozenSet[str]:
    """The names a text uses, read the way they are filled: Rasa for responses, str.format for
    wording.yml fragments (MalformedTemplate when the braces do not pair up)."""
    if kind == RESPONSE:
        return response_placeholders(texts)
    names: set = set()
    for text in texts:
        names |= fragment_placeholders(text)
    return frozenset(names)


def problems(kind: str, texts: Sequence[str], expected: Placeholders) -> List[Problem]:
    """The lint's placeholder_missing / placeholder_unfilled errors for one text."""
    try:
        found = found_placeholders(kind, texts)
    except MalformedTemplate as exc:
        return [Problem("fragment_malformed", "", f"花括号不成对（{exc}）。{{名字}} 要成对写；想显示花括号本身请写 {{{{ 和 }}}}。")]
    missing = sorted(set(expected.required) - found)
    out: List[Problem] = []
    if not expected.open:  # first: a name nobody fills (often a typo of a missing one)
        for key in sorted(found - set(expected.fills) - set(expected.slots)):
            if kind == RESPONSE:
                effect = f"，也没有叫 {key} 的槽位，客户会看到原样的“{{{key}}}”"
            else:
                effect = "，程序拼这句话时会出错，客户收不到回答"
            typo = f"是不是把 {_names(missing)} 写错了？" if missing else ""
            fix = f"请删掉 {{{key}}} 或改成程序填的名字：{_names(expected.fills)}。" if expected.fills else \
                f"程序不给这段文字填任何值，请删掉 {{{key}}}。"
            out.append(Problem("placeholder_unfilled", key, f"有 {{{key}}}，但没有程序填它{effect}。{typo}{fix}"))
    for key in missing:
        out.append(Problem("placeholder_missing", key,
                           f"少了 {{{key}}}：{_filler(expected, key)}会填这个值，少了客户就看不到它。"
                           f"请加回 {{{key}}}（名字要一模一样）。"))
    return out


def _new_problems(kind: str, old_texts: Optional[Sequence[str]], new_texts: Sequence[str],
                  expected: Placeholders) -> List[Problem]:
    before = {(p.code, p.key) for p in problems(kind, old_texts, expected)} if old_texts is not None else set()
    return [p for p in problems(kind, new_texts, expected) if (p.code, p.key) not in before]


# ------------------------------------------------------------------------------ responses
@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Variation:
    text: str
    buttons: List[Button]
    channel: Optional[str] = None
    line: Optional[int] = None
    other_keys: List[str] = field(default_factory=list)  # image, custom, condition...: kept as they are


@dataclass(frozen=True)
class ResponseSummary:
    name: str
    label: str
    variations: int
    buttons: int
    text: str
    placeholders: List[str]


@dataclass(frozen=True)
class ResponseView:
    name: str
    label: str
    file: str
    line: Optional[int]
    version: str
    variations: List[Variation]
    placeholders: Placeholders


def _domain(ws: Workspace) -> Tuple[Any, Any, str]:
    """domain.yml: (the file read, its data — read-only —, its version)."""
    current = ws.read(DOMAIN)
    data = parsed(DOMAIN, current.text)
    if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
        raise errors.NotFound("domain.yml 里没有 responses")
    return current, data, current.version


def _slots(data: Any) -> List[str]:
    slots = data.get("slots") if isinstance(data, dict) else None
    return [str(s) for s in slots] if isinstance(slots, dict) else []


def _intents(data: Any) -> List[str]:
    found = []
    for item in (data.get("intents") or []) if isinstance(data, dict) else []:
        found.append(str(next(iter(item)) if isinstance(item, dict) else item))
    return found


def _variation_texts(variation: Any) -> List[str]:
    """The texts of one variation Rasa fills: the text, and the buttons' titles and payloads."""
    if not isinstance(variation, dict):
        return []
    texts = [str(variation.get("text") or "")]
    for button in variation.get("buttons") or []:
        if isinstance(button, dict):
            texts += [str(button.get("title") or ""), str(button.get("payload") or "")]
    return texts


def _variation_view(seq: Any, index: int, item: Any) -> Variation:
    if not isinstance(item, dict):
        return Variation(str(item or ""), [], None, item_line(seq, index))
    buttons = [Button(str(b.get("title") or ""), str(b.get("payload") or ""))
               for b in item.get("buttons") or [] if isinstance(b, dict)]
    others = [str(k) for k in item if k not in ("text", "buttons", "channel")]
    channel = item.get("channel")
    return Variation(str(item.get("text") or ""), buttons, str(channel) if channel else None,
                     item_line(seq, index), others)


def _topic_labels(ws: Workspace) -> Dict[str, str]:
    """Response name -> what it is for, from topics.yml (a topic's answer or next step)."""
    path = ws.root / KNOWLEDGE / "topics.yml"
    try:
        data = _safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, pyyaml.YAMLError):
        return {}
    labels: Dict[str, str] = {}
    for topic in ((data or {}).get("topics") or {}).values() if isinstance(data, dict) else []:
        if not isinstance(topic, dict):
            continue
        label = str(topic.get("label") or "")
        for key, what in (("answer", "回答"), ("next_step", "下一步")):
            name = str(topic.get(key) or "")
            if name.startswith("utter_") and label:
                labels.setdefault(name, f"{label} · {what}")
    return labels


def list_responses(ws: Workspace) -> Tuple[List[ResponseSummary], str]:
    _, data, version = _domain(ws)
    labels = _topic_labels(ws)
    out = []
    for name, seq in data["responses"].items():
        variations = seq if isinstance(seq, list) else []
        first = variations[0] if variations and isinstance(variations[0], dict) else {}
        texts = [t for v in variations for t in _variation_texts(v)]
        text = str(first.get("text") or "")
        out.append(ResponseSummary(str(name), labels.get(str(name), ""), len(variations),
                                   len(first.get("buttons") or []), text[:80], sorted(response_placeholders(texts))))
    return out, version


def read_response(ws: Workspace, name: str) -> ResponseView:
    _, data, version = _domain(ws)
    responses = data["responses"]
    if name not in responses:
        raise errors.NotFound(f"domain.yml 里没有回答 {name}")
    seq = responses[name] if isinstance(responses[name], list) else []
    variations = [_variation_view(seq, i, item) for i, item in enumerate(seq)]
    expected = response_expectation(ws, name, _slots(data))
    return ResponseView(name, _topic_labels(ws).get(name, ""), DOMAIN, key_line(responses, name), version,
                        variations, expected)


@dataclass(frozen=True)
class VariationEdit:
    text: str
    buttons: List[Button]
    channel: Optional[str] = None


def _check_buttons(name: str, index: int, buttons: Sequence[Button], intents: Sequence[str],
                   line: Optional[int]) -> None:
    """A button's `/intent` payload names an intent of the domain (else the click is not understood)."""
    for button in buttons:
        if not button.title.strip() or not button.payload.strip():
            raise errors.ContentInvalid(f"回答 {name} 的第 {index + 1} 种说法：按钮要有文字和点击后发送的内容",
                                        file=DOMAIN, line=line, code="button_incomplete")
        named = re.match(r"^/([A-Za-z0-9_\-]+)", button.payload.strip())
        if named and intents and named.group(1) not in intents:
            raise errors.ContentInvalid(
                f"{DOMAIN} 第 {line or '?'} 行：回答 {name} 的第 {index + 1} 种说法里，按钮“{button.title}”点下去发送 "
                f"{button.payload}，但 domain.yml 里没有意图 {named.group(1)}。请改成已有的意图（例如 /{intents[0]}）。",
                file=DOMAIN, line=line, code="unknown_intent")


def _set_buttons(item: CommentedMap, buttons: Sequence[Button]) -> None:
    if not buttons:
        if "buttons" in item:
            del item["buttons"]
        return
    seq = item.get("buttons")
    if not isinstance(seq, CommentedSeq):
        seq = CommentedSeq()
        item["buttons"] = seq
    for i, button in enumerate(buttons):
        if i < len(seq) and isinstance(seq[i], CommentedMap):
            entry = seq[i]
            if entry.get("title") != button.title:
                entry["title"] = styled(entry.get("title"), button.title)
            if entry.get("payload") != button.payload:
                entry["payload"] = styled(entry.get("payload"), button.payload)
        else:
            entry = CommentedMap()
            entry["title"] = styled(None, button.title)
            entry["payload"] = styled(None, button.payload)
            if i < len(seq):
                seq[i] = entry
            else:
                seq.append(entry)
    while len(seq) > len(buttons):
        del seq[len(seq) - 1]


def edit_response(text: str, name: str, variations: Sequence[VariationEdit]) -> str:
    """domain.yml's text with the response's variations replaced (the rest of the file as it was)."""
    doc = RoundTrip(DOMAIN, text)
    apply_variations(doc.data, name, variations)
    return doc.dump()


def apply_variations(data: Any, name: str, variations: Sequence[VariationEdit]) -> None:
    """Sets the response's variations in round-trip domain data, in place: a variation's other keys,
    the comments and the quoting of what did not change are kept."""
    responses = data["responses"]
    seq = responses[name]
    if not isinstance(seq, CommentedSeq):
        seq = CommentedSeq()
        responses[name] = seq
    with tail_kept(seq):
        for i, edit in enumerate(variations):
            item = seq[i] if i < len(seq) and isinstance(seq[i], CommentedMap) else None
            if item is None:
                item = CommentedMap()
                if i < len(seq):
                    seq[i] = item
                else:
                    seq.append(item)
            if "text" in item:
                if item["text"] != edit.text:
                    item["text"] = styled(item["text"], edit.text)
            elif edit.text:
                item.insert(0, "text", styled(None, edit.text))
            _set_buttons(item, edit.buttons)
            if edit.channel:
                item["channel"] = edit.channel
            elif "channel" in item:
                del item["channel"]
        while len(seq) > len(variations):
            del seq[len(seq) - 1]


def save_response(ws: Workspace, name: str, variations: Sequence[VariationEdit], base_version: str,
                  author: Author, message: Optional[str] = None) -> Change:
    current, data, version = _domain(ws)
    message = (message or "").strip() or f"修改回答 {name}"
    if version != base_version:
        return ws.save(DOMAIN, current.text, base_version, author, message)  # refused: 409 with the diff
    responses = data["responses"]
    if name not in responses:
        raise errors.NotFound(f"domain.yml 里没有回答 {name}")
    old_seq = responses[name] if isinstance(responses[name], list) else []
    intents = _intents(data)
    for i, edit in enumerate(variations):
        old = old_seq[i] if i < len(old_seq) and isinstance(old_seq[i], dict) else {}
        line = item_line(old_seq, i) or key_line(responses, name)
        if not edit.text.strip() and ("text" in old or not old):
            raise errors.ContentInvalid(f"{DOMAIN} 第 {line} 行：回答 {name} 的第 {i + 1} 种说法没有文字，"
                                        f"请填写或删掉这种说法", file=DOMAIN, line=line, code="empty_text")
        _check_buttons(name, i, edit.buttons, intents, line)
    new_text = edit_response(current.text, name, variations)
    new_seq = reload(DOMAIN, new_text)["responses"][name]
    expected = response_expectation(ws, name, _slots(data))
    for i, item in enumerate(new_seq):
        old = _variation_texts(old_seq[i]) if i < len(old_seq) else None
        found = _new_problems(RESPONSE, old, _variation_texts(item), expected)
        if found:
            line = item_line(new_seq, i)
            raise errors.ContentInvalid(f"{DOMAIN} 第 {line} 行：回答 {name} 的第 {i + 1} 种说法里{found[0].message}",
                                        file=DOMAIN, line=line, code=found[0].code)
    return ws.save(DOMAIN, new_text, base_version, author, message)


# ------------------------------------------------------------------------------ tables
PathKey = Union[int, str]
Scalar = Union[None, bool, int, float, str]


@dataclass(frozen=True)
class TableSummary:
    stem: str
    file: str
    title: str
    entries: int


@dataclass(frozen=True)
class Entry:
    path: List[PathKey]
    group: str                  # where in the table, in Chinese: 渠道 › 手机银行 › 第 1 项
    label: str                  # the entry's own name
    kind: str                   # text | name | number | bool
    value: Scalar
    line: Optional[int]
    comment: str = ""           # the comment at the end of the entry's line
    section: str = ""           # the comment lines above it (a heading of the file)
    removable: bool = False     # an item of a list (the model says whether the list may shrink)
    placeholders: Optional[Placeholders] = None


@dataclass(frozen=True)
class ListInfo:
    path: List[PathKey]
    group: str
    label: str
    line: Optional[int]


@dataclass(frozen=True)
class TableView:
    stem: str
    file: str
    title: str
    description: str
    version: str
    entries: List[Entry]
    lists: List[ListInfo]


def list_tables(ws: Workspace) -> List[TableSummary]:
    folder = ws.ensure().root / KNOWLEDGE
    found = sorted(p for p in folder.glob("*.yml") if p.is_file() and _STEM.match(p.stem)) if folder.is_dir() else []
    order = list(TABLES)
    found.sort(key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    out = []
    for path in found:
        try:
            data = _safe_load(path.read_text(encoding="utf-8"))
        except (OSError, pyyaml.YAMLError):
            data = None
        count = sum(1 for _ in _leaves(data, [])) if data is not None else 0
        out.append(TableSummary(path.stem, f"{KNOWLEDGE}/{path.name}", _spec(path.stem).title, count))
    return out


def _leaves(node: Any, path: List[PathKey]):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, path + [i])
    else:
        yield path, node


def _label(spec: TableSpec, key: PathKey) -> str:
    if isinstance(key, int):
        return f"第 {key + 1} 项"
    return spec.labels.get(str(key)) or _COMMON_LABELS.get(str(key)) or str(key)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None or isinstance(value, (int, float)):
        return "number"
    return "name" if _NAME_LIKE.match(str(value)) and not re.search(r"[^\x00-\x7f]", str(value)) else "text"


def _comment_lines(node: Any, key: Any) -> List[str]:
    try:
        tokens = node.ca.items.get(key) or []
    except AttributeError:
        return []
    lines: List[str] = []
    for token in tokens:
        if token is None:
            continue
        for token_item in token if isinstance(token, list) else [token]:
            value = getattr(token_item, "value", None)
            if isinstance(value, str):
                lines.extend(value.split("\n"))
    return lines


def _end_comment(node: Any, key: Any, line: Optional[int]) -> str:
    """The `# ...` at the end of the entry's own line."""
    try:
        tokens = node.ca.items.get(key) or []
    except AttributeError:
        return ""
    for token in tokens:
        mark = getattr(token, "start_mark", None) if token is not None and not isinstance(token, list) else None
        value = getattr(token, "value", "") if token is not None and not isinstance(token, list) else ""
        if mark is not None and line is not None and mark.line + 1 == line and value.lstrip().startswith("#"):
            return value.split("\n", 1)[0].lstrip().lstrip("#").strip()
    return ""


def _heading(node: Any, keys: List[Any], index: int) -> str:
    """Full-line comments between the previous entry and this one (ruamel keeps them on the previous key)."""
    if index == 0:  # above a mapping's first key: the mapping's own comment
        before = (getattr(node.ca, "comment", None) or [None, None])[1] if hasattr(node, "ca") else None
        lines = [line for token in before or [] for line in str(getattr(token, "value", "")).split("\n")]
    else:
        lines = _comment_lines(node, keys[index - 1])[1:]
    found = [line.strip().lstrip("#").strip() for line in lines if line.strip().startswith("#")]
    return "；".join(found)


def _walk(spec: TableSpec, node: Any, path: List[PathKey], names: List[str], entries: List[Entry],
          lists: List[ListInfo], annotate: Callable[[List[PathKey], Any], Optional[Placeholders]]) -> None:
    group = " › ".join(names)
    if isinstance(node, dict):
        keys = list(node.keys())
        for index, key in enumerate(keys):
            value = node[key]
            child = path + [key]
            if isinstance(value, (dict, list)):
                _walk(spec, value, child, names + [_label(spec, key)], entries, lists, annotate)
                continue
            line = key_line(node, key)
            heading = _heading(node, keys, index) if path or index else ""  # the file's own header is its description
            entries.append(Entry(child, group, _label(spec, key), _kind(value), _plain(value), line,
                                 _end_comment(node, key, line), heading, False, annotate(child, value)))
    elif isinstance(node, list):
        scalars = all(not isinstance(v, (dict, list)) for v in node)
        if scalars:
            lists.append(ListInfo(path, " › ".join(names[:-1]), names[-1] if names else "", _node_line(node)))
        for i, value in enumerate(node):
            child = path + [i]
            if isinstance(value, (dict, list)):
                _walk(spec, value, child, names + [_label(spec, i)], entries, lists, annotate)
                continue
            line = item_line(node, i)
            entries.append(Entry(child, group, _label(spec, i), _kind(value), _plain(value), line,
                                 _end_comment(node, i, line), "", True, annotate(child, value)))


def _node_line(node: Any) -> Optional[int]:
    try:
        return node.lc.line + 1
    except AttributeError:
        return None


def _plain(value: Any) -> Scalar:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _description(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return "\n".join(lines).strip()


def _fragment_name(stem: str, path: Sequence[PathKey]) -> Optional[str]:
    if stem == WORDING_STEM and len(path) == 2 and path[0] == "fragments":
        return str(path[1])
    return None


def read_table(ws: Workspace, stem: str) -> TableView:
    rel = table_file(stem)
    current = ws.read(rel)
    data = parsed(rel, current.text)
    spec = _spec(stem)
    scanned = content_uses(ws) if stem == WORDING_STEM else []

    def annotate(path: List[PathKey], _: Any) -> Optional[Placeholders]:
        name = _fragment_name(stem, path)
        return fragment_expectation(ws, name, scanned) if name else None

    entries: List[Entry] = []
    lists: List[ListInfo] = []
    _walk(spec, data, [], [], entries, lists, annotate)
    return TableView(stem, rel, spec.title, _description(current.text), current.version, entries, lists)


@dataclass(frozen=True)
class TableOp:
    op: str                     # set | append | remove
    path: List[PathKey]
    value: Scalar = None


def _where(path: Sequence[PathKey], rel: str) -> str:
    """Where an entry is, in the form's words: 渠道 › 手机银行 › 第 1 项 › 单日限额（元）."""
    spec = _spec(rel.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    return " › ".join(_label(spec, p) for p in path) or "（整张表）"


def _child(node: Any, key: PathKey, rel: str, path: Sequence[PathKey]) -> Tuple[Any, Any]:
    """(the real key, the value) of `key` in node; 422 when the table has no such entry."""
    if isinstance(node, dict):
        if key in node:
            return key, node[key]
        for real in node:
            if str(real) == str(key):
                return real, node[real]
    elif isinstance(node, list) and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(node):
        return key, node[key]
    raise errors.InvalidInput(f"{rel} 里没有这一项：{_where(path, rel)}（可能已被别人删掉，请重新载入）", code="no_such_entry")


def _resolve(data: Any, rel: str, path: Sequence[PathKey]) -> Tuple[Any, Any, Any]:
    """(parent node, key in the parent, value) of the entry at `path`."""
    if not path:
        raise errors.InvalidInput("请指明要修改的条目", code="no_such_entry")
    node = data
    for depth, key in enumerate(path[:-1]):
        _, node = _child(node, key, rel, path[:depth + 1])
    real, value = _child(node, path[-1], rel, path)
    return node, real, value


def _compatible(old: Any, new: Scalar, rel: str, path: Sequence[PathKey]) -> Scalar:
    where = f"{rel} 的 {_where(path, rel)}"
    if isinstance(old, (dict, list)):
        raise errors.InvalidInput(f"{where} 是一组内容，不能改成一个值", code="not_a_value")
    if isinstance(old, bool):
        if not isinstance(new, bool):
            raise errors.InvalidInput(f"{where} 只能是“是”或“否”", code="wrong_type")
        return new
    if old is None or isinstance(old, (int, float)):
        if new is None or (isinstance(new, (int, float)) and not isinstance(new, bool)):
            return new
        if isinstance(new, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", new):
            number = float(new)
            return int(number) if number.is_integer() and "." not in new else number
        if isinstance(new, str) and not new.strip():
            return None
        raise errors.InvalidInput(f"{where} 必须是数字（留空表示不设上限 / 没有）", code="wrong_type")
    if not isinstance(new, str):
        raise errors.InvalidInput(f"{where} 必须是文字", code="wrong_type")
    return new


def apply_ops(text: str, rel: str, ops: Sequence[TableOp]) -> Tuple[RoundTrip, List[List[PathKey]]]:
    """The table with the edits applied; also the paths whose text changed (for the placeholder check)."""
    doc = RoundTrip(rel, text)
    changed: List[List[PathKey]] = []
    for op in ops:
        if op.op == "set":
            parent, key, old = _resolve(doc.data, rel, op.path)
            new = _compatible(old, op.value, rel, op.path)
            if new == _plain(old) and type(new) is type(_plain(old)):
                continue
            parent[key] = styled(old, new) if isinstance(new, str) else new
            changed.append(list(op.path))
        elif op.op == "append":
            target = doc.data
            for depth, key in enumerate(op.path):
                _, target = _child(target, key, rel, op.path[:depth + 1])
            if not isinstance(target, list) or any(isinstance(v, (dict, list)) for v in target):
                raise errors.InvalidInput(f"{rel} 的 {_where(op.path, rel)} 不是可以添加条目的列表", code="not_a_list")
            sample = target[0] if len(target) else ""
            value = _compatible(sample, op.value, rel, op.path)
            with tail_kept(target):
                target.append(styled(None, value) if isinstance(value, str) else value)
            changed.append(list(op.path) + [len(target) - 1])
        elif op.op == "remove":
            parent, key, _ = _resolve(doc.data, rel, op.path)
            if not isinstance(parent, list):
                raise errors.InvalidInput(f"{rel} 的 {_where(op.path, rel)} 不是列表里的一项，不能删除", code="not_a_list_item")
            with tail_kept(parent):
                del parent[key]
        else:
            raise errors.InvalidInput(f"不认识的修改方式：{op.op}")
    return doc, changed


def _model_problem(model: Type[BaseModel], text: str, rel: str) -> Optional[errors.ContentInvalid]:
    """The action server's own check of the table (actions/knowledge.py load_table), with the line."""
    try:
        raw = pyyaml.safe_load(text)
        if not isinstance(raw, dict):
            return errors.ContentInvalid(f"{rel}：最外层必须是“名字: 内容”的表", file=rel, line=1)
        model.parse_obj(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [p for p in first.get("loc", ()) if p != "__root__"]
        data = reload(rel, text)
        line = _line_of(data, loc)
        return errors.ContentInvalid(
            f"{rel} 第 {line or '?'} 行（{_where(loc, rel)}）：{_pydantic_message(first)}。"
            f"这样保存的话，动作服务器读不了这张表，请改正后再保存。", file=rel, line=line, code="table_invalid")
    except pyyaml.YAMLError:
        return None  # reported with its line by the workspace
    return None


def _pydantic_message(error: Dict[str, Any]) -> str:
    kind, msg = str(error.get("type", "")), str(error.get("msg", ""))
    if kind == "value_error.missing":
        return "缺少这一项"
    if kind == "value_error.extra":
        return "多了不认识的一项"
    if kind.startswith("type_error.integer") or kind == "type_error.integer":
        return "必须是整数"
    if kind.startswith("value_error.any_str.min_length"):
        return "不能为空"
    if kind.startswith("value_error.list.min_items"):
        return "至少要有一项"
    if kind.startswith("type_error"):
        return f"类型不对（{msg}）"
    return msg


def _line_of(data: Any, loc: Sequence[Any]) -> Optional[int]:
    node, line = data, None
    for key in loc:
        if isinstance(node, dict) and key in node:
            line = key_line(node, key) or line
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            line = item_line(node, key) or line
            node = node[key]
        else:
            break
    return line or _node_line(data)


def save_table(ws: Workspace, stem: str, ops: Sequence[TableOp], base_version: str, author: Author,
               message: Optional[str] = None) -> Change:
    rel = table_file(stem)
    current = ws.read(rel)
    spec = _spec(stem)
    message = (message or "").strip() or f"修改{spec.title}（{rel}）"
    if current.version != base_version:
        return ws.save(rel, current.text, base_version, author, message)  # refused: 409 with the diff
    if not ops:
        raise errors.InvalidInput("没有要保存的修改", code="no_change")
    old = parsed(rel, current.text)
    doc, changed = apply_ops(current.text, rel, ops)
    new_text = doc.dump()
    new = reload(rel, new_text)
    for path in changed:
        name = _fragment_name(stem, path)
        if not name:
            continue
        expected = fragment_expectation(ws, name)
        before = old.get("fragments", {}).get(name) if isinstance(old.get("fragments"), dict) else None
        value = new["fragments"][name]
        found = _new_problems(FRAGMENT, [str(before)] if before is not None else None, [str(value)], expected)
        if found:
            line = key_line(new["fragments"], name)
            raise errors.ContentInvalid(f"{rel} 第 {line} 行：句子片段 {name} 里{found[0].message}", file=rel, line=line,
                                        code=found[0].code)
    if spec.model is not None:
        problem = _model_problem(spec.model, new_text, rel)
        if problem is not None:
            raise problem
    return ws.save(rel, new_text, base_version, author, message)


# ------------------------------------------------------------------------------ preview
SAMPLE_VALUES = {
    "amount": "5,000 元", "single": "5 万元", "daily": "20 万元", "used": "1,000 元", "left": "4,000 元",
    "limit": "5 万元", "current": "5,000 元", "requested": "5 万元", "balance": "12,345.60 元",
    "available": "12,345.60 元", "channel": "手机银行", "verification": "刷脸", "method": "在手机银行刷脸提额",
    "card": "借记卡 尾号1234", "lost_card_title": "借记卡 尾号1234", "last4": "1234", "card_type": "借记卡",
    "loan_type": "个人消费贷", "customer_type": "个体工商户", "who": "个体工商户", "i": "1", "wan": "5",
    "yuan": "5,000", "year": "2026", "month": "3", "day": "5", "time": "14:30", "when": "3月5日 14:30",
    "minutes": "3", "ahead": "2", "hours": "08:00-22:00", "opens": "3月6日 08:00", "ticket_id": "TS20260305001",
    "request_id": "LR20260305001", "phone": "138****1234", "form_label": "投诉登记", "topic_label": "转账限额",
    "intent_label": "转账限额是多少", "value": "手机银行", "question": "哪个渠道", "status": "处理中",
    "reason": "余额不足", "destination": "日本", "dates": "3月5日-3月12日",
}


def sample_value(key: str) -> str:
    return SAMPLE_VALUES.get(key, f"〔{key}〕")


def fill_samples(kind: str, text: str) -> str:
    """The text with every placeholder replaced by a sample value (as Rasa / str.format would fill it)."""
    if kind == RESPONSE:
        return re.sub(r"{([^\n{}]+?)}", lambda m: sample_value(m.group(1).strip())
                      if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", m.group(1).strip()) else m.group(0), text)
    try:
        parts = []
        for literal, name, _, _ in string.Formatter().parse(text):
            parts.append(literal)
            if name is not None:
                parts.append(sample_value(re.split(r"[.\[]", name, maxsplit=1)[0]))
        return "".join(parts)
    except ValueError:
        return text


def branch_fragment(ws: Workspace) -> Callable[..., str]:
    """`fragment(name, **values)` reading the studio branch's wording.yml (the code's one when the
    project has none, as the connector would)."""
    fragments: Dict[str, str] = {}
    path = ws.root / KNOWLEDGE / "wording.yml"
    try:
        data = _safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        if isinstance(data, dict) and isinstance(data.get("fragments"), dict):
            fragments = {str(k): str(v) for k, v in data["fragments"].items()}
    except (OSError, pyyaml.YAMLError):
        fragments = {}

    def fragment(name: str, **values: object) -> str:
        if name in fragments:
            try:
                return fragments[name].format(**values)
            except (KeyError, IndexError, ValueError):
                pass
        return knowledge.fragment(name, **values)

    return fragment


@dataclass(frozen=True)
class PreviewWarning:
    code: str
    message: str


@dataclass(frozen=True)
class AppPreview:
    text: str
    buttons: List[Button]
    chars: int


@dataclass(frozen=True)
class WeChatPreview:
    text: str
    options: List[str]          # what replying 1, 2, ... sends
    chars: int
    bytes: int
    limit_bytes: int            # what the connector sends as one passive reply (MAX_TEXT_BYTES)
    messages: int               # how many WeChat messages it becomes


@dataclass(frozen=True)
class SampleValue:
    name: str
    sample: str


@dataclass(frozen=True)
class Preview:
    app: AppPreview
    wechat: WeChatPreview
    placeholders: List[SampleValue]
    warnings: List[PreviewWarning]
    expected: Optional[Placeholders]


def preview(ws: Workspace, text: str, buttons: Sequence[Button], kind: str = RESPONSE,
            name: Optional[str] = None) -> Preview:
    kind = FRAGMENT if kind == FRAGMENT else RESPONSE
    texts = [text] + [t for b in buttons for t in (b.title, b.payload)]
    warnings: List[PreviewWarning] = []
    try:
        used = sorted(found_placeholders(kind, texts))
    except MalformedTemplate:
        used = []
    expected: Optional[Placeholders] = None
    if name:
        if kind == RESPONSE:
            try:
                data = parsed(DOMAIN, ws.read(DOMAIN).text)
            except errors.DeskError:
                data = {}
            expected = response_expectation(ws, name, _slots(data))
        else:
            expected = fragment_expectation(ws, name)
        for problem in problems(kind, texts, expected):
            warnings.append(PreviewWarning(problem.code, "文字里" + problem.message))
    filled = fill_samples(kind, text.strip() if kind == RESPONSE else text)
    shown = [Button(fill_samples(kind, b.title), b.payload) for b in buttons]
    samples = [SampleValue(key, sample_value(key)) for key in used]
    if samples:
        warnings.append(PreviewWarning("placeholder_sample", "预览里 " + "、".join(f"{{{s.name}}} 显示为“{s.sample}”"
                                                                          for s in samples)
                                + "；客户看到的是程序或槽位填的实际值。"))
    wechat_text, options = render_messages([{"text": filled, "buttons": [{"title": b.title, "payload": b.payload}
                                                                     for b in shown]}], branch_fragment(ws))
    size = len(wechat_text.encode("utf-8"))
    messages = len(split_text(wechat_text)) if size > MAX_TEXT_BYTES else 1
    if size > MAX_TEXT_BYTES:
        warnings.append(PreviewWarning("wechat_too_long",
                                f"微信里这条消息有 {size} 字节，超过单条消息的上限（微信 {WECHAT_LIMIT_BYTES} 字节，"
                                f"本行程序按 {MAX_TEXT_BYTES} 字节算），会拆成 {messages} 条客服消息发出。请精简文字。"))
    if len(buttons) > MAX_BUTTONS:
        warnings.append(PreviewWarning("too_many_buttons",
                                f"有 {len(buttons)} 个按钮，超过 {MAX_BUTTONS} 个：App 里要左右滑动才能看全，"
                                f"微信里会变成 {len(buttons)} 行编号选项。"))
    for button in shown:
        if len(button.title) > MAX_BUTTON_TITLE:
            warnings.append(PreviewWarning("button_title_long", f"按钮“{button.title}”超过 {MAX_BUTTON_TITLE} 个字，"
                                                         f"App 里可能显示不全。"))
    if not text.strip():
        warnings.append(PreviewWarning("empty_text", "没有文字：客户只会看到按钮。"))
    return Preview(AppPreview(filled, shown, len(filled)),
                   WeChatPreview(wechat_text, options, len(wechat_text), size, MAX_TEXT_BYTES, messages),
                   samples, warnings, expected)
