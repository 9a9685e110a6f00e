"""Where the content files of a project are, and how to read them with line numbers.

Everything takes a project root so the tests can point the tools at small fixture projects.
YAML is read with ruamel.yaml round-trip loading, which keeps the line of every key and
list item: messages to content teams say which file and line to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

DEFAULT_ROOT = Path(__file__).resolve().parents[2]
YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class ProjectPaths:
    root: Path = DEFAULT_ROOT

    @property
    def domain(self) -> Path:
        return self.root / "domain.yml"

    @property
    def nlu_dir(self) -> Path:
        return self.root / "data" / "nlu"

    @property
    def stories_dir(self) -> Path:
        return self.root / "data" / "stories"

    @property
    def rules_dir(self) -> Path:
        return self.root / "data" / "rules"

    @property
    def training_dirs(self) -> Tuple[Path, Path, Path]:
        """The folders Rasa reads training data from (never the `data` root)."""
        return (self.nlu_dir, self.stories_dir, self.rules_dir)

    @property
    def actions_dir(self) -> Path:
        return self.root / "actions"

    @property
    def wording_readers(self) -> Tuple[Path, ...]:
        """The folders whose Python names responses, fragments and buttons: the custom actions,
        the channels' own messages and the sentences the agent desk writes for customers."""
        return (self.actions_dir, self.root / "connectors", self.root / "services" / "agent_desk")

    @property
    def entity_patterns(self) -> Path:
        return self.root / "data" / "lexicon" / "entity_patterns.yml"

    @property
    def topics(self) -> Path:
        return self.root / "data" / "knowledge" / "topics.yml"

    @property
    def wording(self) -> Path:
        return self.root / "data" / "knowledge" / "wording.yml"

    @property
    def intent_labels(self) -> Path:
        return self.root / "data" / "knowledge" / "intents.yml"

    @property
    def test_data(self) -> Path:
        return self.root / "tests" / "nlu" / "test_data.yml"

    def rel(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


class YamlFileError(Exception):
    """A YAML file that cannot be parsed; `line` is 1-based when known."""

    def __init__(self, path: Path, line: Optional[int], problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def load_yaml(path: Path) -> Any:
    """Round-trip load (keeps line numbers). Raises YamlFileError with the line of the problem."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlFileError(path, line, str(exc.problem or exc.context or exc)) from exc
    except (YAMLError, UnicodeDecodeError) as exc:
        raise YamlFileError(path, None, str(exc)) from exc


def key_line(node: Any, key: Any) -> Optional[int]:
    """1-based line of `key` in a round-trip mapping."""
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def value_line(node: Any, key: Any) -> Optional[int]:
    try:
        return node.lc.value(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def item_line(node: Any, index: int) -> Optional[int]:
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def node_line(node: Any) -> Optional[int]:
    try:
        return node.lc.line + 1
    except AttributeError:
        return None


def yaml_files(*folders: Path) -> List[Path]:
    found: List[Path] = []
    for folder in folders:
        if folder.is_file() and folder.suffix in YAML_SUFFIXES:
            found.append(folder)
        elif folder.is_dir():
            found.extend(p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in YAML_SUFFIXES)
    return found


@dataclass
class Example:
    """One NLU training example as written in a file."""

    intent: str
    text: str  # plain text, entity markup removed
    raw: str  # as written, with [entity](markup)
    path: Path
    line: Optional[int]
    entities: List[Dict[str, Any]] = field(default_factory=list)


@dataclass
class IntentBlock:
    intent: str
    path: Path
    line: Optional[int]
    examples: List[Example]


def iter_nlu_blocks(path: Path, data: Any) -> Iterator[IntentBlock]:
    """The `- intent:` entries of one Rasa YAML training file, with the line of each example."""
    from rasa.shared.nlu.training_data import entities_parser

    if not isinstance(data, dict):
        return
    for index, entry in enumerate(data.get("nlu") or []):
        if not isinstance(entry, dict) or "intent" not in entry:
            continue
        intent = str(entry["intent"])
        block_line = item_line(data["nlu"], index) or key_line(entry, "intent")
        examples: List[Example] = []
        raw_examples = entry.get("examples")
        for raw, line in _example_lines(entry, raw_examples):
            try:
                entities = entities_parser.find_entities_in_training_example(raw)
                text = entities_parser.replace_entities(raw)
            except Exception:  # malformed markup: keep the raw text, Rasa's validator reports it
                entities, text = [], raw
            examples.append(Example(intent, text, raw, path, line, entities))
        yield IntentBlock(intent, path, block_line, examples)


def _example_lines(entry: Any, raw_examples: Any) -> Iterator[Tuple[str, Optional[int]]]:
    if isinstance(raw_examples, str):
        start = value_line(entry, "examples")
        # A block scalar (`examples: |`) starts on the line after the `|`.
        first = (start + 1) if start is not None and _is_block_scalar(raw_examples) else start
        for offset, line in enumerate(raw_examples.splitlines()):
            stripped = line.strip()
            if not stripped.startswith("-"):
                continue
            text = stripped[1:].strip()
            if text:
                yield text, (first + offset if first is not None else None)
    elif isinstance(raw_examples, list):
        for i, item in enumerate(raw_examples):
            text = item.get("text") if isinstance(item, dict) else item
            if text:
                yield str(text).strip(), item_line(raw_examples, i)


def _is_block_scalar(value: Any) -> bool:
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    return isinstance(value, (LiteralScalarString, FoldedScalarString))


def load_intent_labels(paths: ProjectPaths) -> Dict[str, str]:
    """intent -> Chinese label from data/knowledge/intents.yml (tolerant of a few layouts)."""
    if not paths.intent_labels.exists():
        return {}
    try:
        data = load_yaml(paths.intent_labels)
    except YamlFileError:
        return {}
    if isinstance(data, dict) and isinstance(data.get("intents"), (dict, list)):
        data = data["intents"]
    labels: Dict[str, str] = {}
    if isinstance(data, dict):
        for intent, value in data.items():
            label = _label_of(value)
            if label:
                labels[str(intent)] = label
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                name = item.get("intent") or item.get("name")
                label = _label_of(item)
                if name and label:
                    labels[str(name)] = label
    return labels


def _label_of(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("label", "zh", "name_zh", "title", "中文", "名称", "description"):
            if isinstance(value.get(key), str):
                return value[key]
    return None
