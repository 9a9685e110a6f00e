"""Annotation: customers' messages (from the inbox) become NLU training examples of an intent.

- An existing intent: the messages are appended to the `examples: |` block of the file that
  already holds the intent (the first `data/nlu/*.yml` block of it).
- A new intent: its examples go to the NLU file the user picks (default `data/nlu/studio.yml`),
  and the intent is wired up in the same commit: the intent in domain.yml, an answer
  `utter_<intent>` with the text the user gives, a rule in data/rules/faq.yml (intent →
  utter_<intent>), and its Chinese name in data/knowledge/intents.yml when the project has it.

All files of one annotation are one commit (`Workspace.save_many`) against the versions the
client read, so a file another editor changed meanwhile is a 409 with the diff and nothing is
written; content the check refuses is a 422 with the file and line.

What is written is the masked text (`bot.masking.mask_personal`, applied again here whatever
the client sends): customers' card, ID and phone numbers and names never become training
data. Examples are plain text: the project's entities come from its rule-based extractor, not
from markup in the examples, so the entity spans the inbox shows are not written.
Texts that are already examples of the intent are skipped; a text that is an example of
another intent is refused (the content check would refuse it as a duplicate anyway).

YAML is edited with ruamel.yaml round-trip, in the indentation the file already uses, so a
save changes only the lines it adds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.content.project import iter_nlu_blocks, load_intent_labels
from bot.masking import mask_personal
from services.agent_desk import errors
from services.agent_desk.studio.workspace import Author, Change, Workspace
from services.agent_desk.studio.yaml_edit import NLU_LAYOUT, RoundTrip, last_slot, parsed

DOMAIN_FILE = "domain.yml"
RULES_FILE = "data/rules/faq.yml"
LABELS_FILE = "data/knowledge/intents.yml"
NLU_FOLDER = "data/nlu/"
DEFAULT_NEW_FILE = "data/nlu/studio.yml"
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# Intents Rasa defines itself; a studio intent may not take their names.
RASA_INTENTS = frozenset({"nlu_fallback", "restart", "session_start", "back"})
MAX_TEXT = 300


@dataclass
class IntentInfo:
    name: str
    label: str
    file: Optional[str]              # the NLU file that holds its examples (None: in domain.yml only)
    version: str                     # that file's version ("" when none)
    examples: List[str] = field(default_factory=list)
    line: Optional[int] = None


@dataclass
class Project:
    """The intents of the worktree and the version of every file an annotation may write."""

    intents: Dict[str, IntentInfo]
    versions: Dict[str, str]         # path -> version (files that exist)
    nlu_files: List[str]
    example_intent: Dict[str, Tuple[str, str, Optional[int]]]  # example text -> (intent, file, line)


@dataclass
class NewIntent:
    answer_text: str
    file: Optional[str] = None
    label: Optional[str] = None


@dataclass
class Annotation:
    change: Change
    intent: str
    added: List[str]
    skipped: List[str]
    created_intent: bool


# ------------------------------------------------------------------------------ reading
def _rel_files(ws: Workspace, folder: str) -> List[str]:
    base = ws.root / folder
    if not base.is_dir():
        return []
    return sorted(str(p.relative_to(ws.root)).replace("\\", "/") for p in base.rglob("*")
                  if p.is_file() and p.suffix in (".yml", ".yaml"))


def _parse(rel: str, text: str) -> Any:
    """Read-only data of a file (None when it does not parse: the check reports that file)."""
    try:
        return parsed(rel, text)
    except errors.ContentInvalid:
        return None


def read_project(ws: Workspace) -> Project:
    """Intents (with labels, file, examples) and file versions, read from the worktree."""
    ws.ensure()
    versions: Dict[str, str] = {}
    intents: Dict[str, IntentInfo] = {}
    example_intent: Dict[str, Tuple[str, str, Optional[int]]] = {}
    labels = load_intent_labels(ws.paths)
    nlu_files = _rel_files(ws, NLU_FOLDER)
    for rel in nlu_files:
        file = ws.read(rel)
        versions[rel] = file.version
        for block in iter_nlu_blocks(ws.root / rel, _parse(rel, file.text)):
            info = intents.get(block.intent)
            if info is None:
                info = intents[block.intent] = IntentInfo(block.intent, labels.get(block.intent, ""), rel,
                                                          file.version, line=block.line)
            for example in block.examples:
                example_intent.setdefault(example.text, (block.intent, rel, example.line))
                if example.text not in info.examples:
                    info.examples.append(example.text)
    for rel in (DOMAIN_FILE, RULES_FILE, LABELS_FILE):
        if (ws.root / rel).is_file():
            file = ws.read(rel)
            versions[rel] = file.version
            if rel == DOMAIN_FILE:
                for name in _domain_intents(_parse(rel, file.text)):
                    intents.setdefault(name, IntentInfo(name, labels.get(name, ""), None, ""))
    return Project(dict(sorted(intents.items())), versions, nlu_files, example_intent)


def _domain_intents(data: Any) -> List[str]:
    names = []
    for item in (data.get("intents") or []) if isinstance(data, dict) else []:
        name = next(iter(item)) if isinstance(item, dict) and item else item
        if isinstance(name, str):
            names.append(name)
    return names


# ------------------------------------------------------------------------------ texts
def clean_texts(texts: Iterable[str]) -> List[str]:
    """The texts as they will be written: masked, one line, no duplicates, in order."""
    seen, cleaned = set(), []
    for raw in texts:
        text = mask_personal(re.sub(r"\s+", " ", str(raw or "")).strip())
        if text.startswith("- "):
            text = text[2:].strip()
        if not text or text in seen:
            continue
        if text.startswith("/"):
            raise errors.InvalidInput(f"“{text}”是按钮指令，不是客户说的话，不能作为示例", code="not_a_message")
        if len(text) > MAX_TEXT:
            raise errors.InvalidInput(f"示例太长（{len(text)} 字，最多 {MAX_TEXT} 字）：{text[:20]}…")
        seen.add(text)
        cleaned.append(text)
    if not cleaned:
        raise errors.InvalidInput("请至少选择一条消息", code="no_texts")
    return cleaned


# ------------------------------------------------------------------------------ YAML editing
def _new_file(rel: str, **top: Any) -> RoundTrip:
    """A training-data file that does not exist yet, laid out like the project's (`- intent:` at column 0)."""
    data = CommentedMap()
    data["version"] = "3.1"
    data.update(top)
    return RoundTrip.new(rel, data, NLU_LAYOUT)


def _examples_block(texts: Sequence[str], existing: str = "") -> LiteralScalarString:
    if existing and not existing.endswith("\n"):
        existing += "\n"
    return LiteralScalarString(existing + "".join(f"- {t}\n" for t in texts))


def _slot(container: Any) -> int:
    return 0 if isinstance(container, CommentedSeq) else 2  # ruamel: after a list item / after a value


def _pop_trailing(node: Any) -> Any:
    """The blank lines / comment lines after the last item of `node` (not an end-of-line comment)."""
    where = last_slot(node)
    if where is None:
        return None
    container, key = where
    token = container.ca.items.get(key)
    index = _slot(container)
    if not token or len(token) <= index or token[index] is None:
        return None
    value = getattr(token[index], "value", "")
    if not (isinstance(value, str) and value.startswith("\n")):
        return None
    found, token[index] = token[index], None
    return found


def _push_trailing(node: Any, comment: Any) -> None:
    where = last_slot(node)
    if comment is None or where is None:
        return
    container, key = where
    token = container.ca.items.setdefault(key, [None, None, None, None])
    token[_slot(container)] = comment


def _append(seq: CommentedSeq, item: Any) -> None:
    """Appends to a sequence; what followed its last item (blank line, comment) follows the new one."""
    trailing = _pop_trailing(seq)
    seq.append(item)
    _push_trailing(seq, trailing)


def _set_last(mapping: CommentedMap, key: str, value: Any) -> None:
    """Adds a key at the end of a mapping, keeping what followed the previous last key after it."""
    trailing = _pop_trailing(mapping)
    mapping[key] = value
    _push_trailing(mapping, trailing)


def add_examples(text: Optional[str], rel: str, intent: str, texts: Sequence[str]) -> str:
    """The NLU file's text with `texts` appended to the intent's block (a new block if none)."""
    doc = _new_file(rel, nlu=CommentedSeq()) if text is None else RoundTrip(rel, text)
    data = doc.data
    if text is not None:
        if not isinstance(data, dict):
            raise errors.ContentInvalid(f"{rel} 不是 Rasa 的 NLU 训练数据文件", file=rel)
        if not isinstance(data.get("nlu"), list):
            data["nlu"] = CommentedSeq()
    nlu = data["nlu"]
    for entry in nlu:
        if isinstance(entry, dict) and str(entry.get("intent")) == intent:
            examples = entry.get("examples")
            if isinstance(examples, list):
                examples.extend(texts)
            else:
                block = _examples_block(texts, examples if isinstance(examples, str) else "")
                if hasattr(examples, "comment"):
                    block.comment = examples.comment  # a comment/blank line after the block stays after it
                entry["examples"] = block
            break
    else:
        entry = CommentedMap()
        entry["intent"] = intent
        entry["examples"] = _examples_block(texts)
        _append(nlu, entry)
    return doc.dump()


def add_intent_to_domain(text: str, intent: str, response: str, answer: str) -> str:
    doc = RoundTrip(DOMAIN_FILE, text)
    data = doc.data
    if not isinstance(data, dict):
        raise errors.ContentInvalid("domain.yml 的格式不对", file=DOMAIN_FILE)
    if not isinstance(data.get("intents"), list):
        data["intents"] = CommentedSeq()
    if intent not in _domain_intents(data):
        _append(data["intents"], intent)
    if not isinstance(data.get("responses"), dict):
        data["responses"] = CommentedMap()
    if response not in data["responses"]:
        variant = CommentedMap()
        variant["text"] = LiteralScalarString(answer + "\n") if "\n" in answer else answer
        variants = CommentedSeq()
        variants.append(variant)
        _set_last(data["responses"], response, variants)
    return doc.dump()


def add_rule(text: Optional[str], intent: str, response: str, name: str) -> str:
    doc = _new_file(RULES_FILE) if text is None else RoundTrip(RULES_FILE, text)
    data = doc.data
    if text is not None:
        if not isinstance(data, dict):
            raise errors.ContentInvalid(f"{RULES_FILE} 的格式不对", file=RULES_FILE)
    if not isinstance(data.get("rules"), list):
        data["rules"] = CommentedSeq()
    taken = {str(r.get("rule")) for r in data["rules"] if isinstance(r, dict)}
    rule = CommentedMap()
    rule["rule"] = name if name not in taken else f"{name}（{intent}）"
    steps = CommentedSeq()
    for key, value in (("intent", intent), ("action", response)):
        step = CommentedMap()
        step[key] = value
        steps.append(step)
    rule["steps"] = steps
    _append(data["rules"], rule)
    return doc.dump()


def add_label(text: str, intent: str, label: str) -> Optional[str]:
    """data/knowledge/intents.yml with the new intent's name (None: a layout we do not edit)."""
    doc = RoundTrip(LABELS_FILE, text)
    data = doc.data
    table = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return None
    if intent not in table:
        _set_last(table, intent, label)
    return doc.dump()


# ------------------------------------------------------------------------------ the annotation
def _checked_new_file(rel: Optional[str]) -> str:
    rel = (rel or DEFAULT_NEW_FILE).strip().replace("\\", "/")
    if not rel.startswith(NLU_FOLDER) or not rel.endswith((".yml", ".yaml")) or ".." in rel.split("/"):
        raise errors.InvalidInput(f"新意图的示例只能写在 {NLU_FOLDER} 下的 .yml 文件里：{rel}", code="not_an_nlu_file")
    return rel


def _base(base_versions: Dict[str, str], rel: str, exists: bool) -> str:
    if rel in base_versions:
        return base_versions[rel]
    if not exists:
        return ""  # a file that does not exist yet: its version is ""
    raise errors.InvalidInput(f"缺少文件 {rel} 的版本（请重新打开标注页后再保存）", code="base_version_missing")


def annotate(ws: Workspace, author: Author, texts: Sequence[str], intent: str,
             base_versions: Dict[str, str], new_intent: Optional[NewIntent] = None) -> Annotation:
    """Writes `texts` as examples of `intent` (creating it when `new_intent`), as one commit."""
    intent = (intent or "").strip()
    cleaned = clean_texts(texts)
    project = read_project(ws)
    known = project.intents.get(intent)
    if new_intent is not None:
        _check_new_name(intent, known)
    elif known is None:
        raise errors.NotFound(f"意图 {intent} 不存在；要新建意图请选择“新建意图”", code="intent_not_found")

    added, skipped = [], []
    for text in cleaned:
        found = project.example_intent.get(text)
        if found is None:
            added.append(text)
        elif found[0] == intent:
            skipped.append(text)
        else:
            other, rel, line = found
            raise errors.InvalidInput(f"“{text}”已经是意图 {other} 的示例（{rel} 第 {line} 行），"
                                      f"同一句话不能属于两个意图", code="example_in_other_intent",
                                      file=rel, line=line)
    if not added:
        raise errors.InvalidInput(f"这些消息已经都是意图 {intent} 的示例，无需保存", code="no_change")

    changes: Dict[str, Tuple[str, str]] = {}

    def edit(rel: str, fn: Any) -> None:
        path = ws.root / rel
        exists = path.is_file()
        current = path.read_text(encoding="utf-8") if exists else None
        new_text = fn(current)
        if new_text is not None:
            changes[rel] = (new_text, _base(base_versions, rel, exists))

    if new_intent is None:
        rel = known.file or DEFAULT_NEW_FILE
        edit(rel, lambda current: add_examples(current, rel, intent, added))
        message = f"标注 {len(added)} 条消息为意图 {intent}"
    else:
        answer = (new_intent.answer_text or "").strip()
        if not answer:
            raise errors.InvalidInput("新意图需要一条回答：请填写机器人回答这个问题的话", code="answer_required")
        if len(answer) > 2000:
            raise errors.InvalidInput("回答太长（最多 2000 字）")
        label = (new_intent.label or "").strip()[:60]
        rel = _checked_new_file(new_intent.file)
        response = f"utter_{intent}"
        edit(rel, lambda current: add_examples(current, rel, intent, added))
        edit(DOMAIN_FILE, lambda current: add_intent_to_domain(_required(current, DOMAIN_FILE), intent, response,
                                                               answer))
        edit(RULES_FILE, lambda current: add_rule(current, intent, response, label or intent))
        if (ws.root / LABELS_FILE).is_file():
            edit(LABELS_FILE, lambda current: add_label(current, intent, label or intent))
        message = f"新建意图 {intent}" + (f"（{label}）" if label else "") + f"，标注 {len(added)} 条消息"
    change = ws.save_many(changes, author, message)
    return Annotation(change, intent, added, skipped, new_intent is not None)


def _required(text: Optional[str], rel: str) -> str:
    if text is None:
        raise errors.StudioUnavailable(f"项目里没有 {rel}")
    return text


def _check_new_name(intent: str, known: Optional[IntentInfo]) -> None:
    if not INTENT_NAME.match(intent) or intent.startswith(("utter_", "action_", "validate_")):
        raise errors.InvalidInput("意图名只能用小写英文字母、数字和下划线，以字母开头（例如 ask_card_fee）",
                                  code="invalid_intent_name")
    if intent in RASA_INTENTS:
        raise errors.InvalidInput(f"{intent} 是 Rasa 自带的意图名，请换一个", code="invalid_intent_name")
    if known is not None:
        raise errors.InvalidInput(f"意图 {intent} 已经存在，请直接选择它", code="intent_exists")


def intent_detail(ws: Workspace, name: str) -> Tuple[IntentInfo, Project]:
    project = read_project(ws)
    info = project.intents.get(name)
    if info is None:
        raise errors.NotFound(f"意图 {name} 不存在", code="intent_not_found")
    return info, project

