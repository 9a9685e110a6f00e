"""The project's own checks of the content files, with messages in Chinese.

Each finding says which file and line to fix. Errors make `check` fail; warnings are
listed separately and do not. The checks are pure functions of a project folder, so the
tests run them on small broken fixture projects.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from bot.content.action_wording import (
    BUTTON,
    FRAGMENT,
    RESPONSE,
    ContentUse,
    MalformedTemplate,
    fragment_placeholders,
    response_placeholders,
    scan_sources,
)
from bot.content.project import (
    Example,
    IntentBlock,
    ProjectPaths,
    YamlFileError,
    item_line,
    iter_nlu_blocks,
    key_line,
    load_yaml,
    value_line,
    yaml_files,
)

ERROR = "error"
WARNING = "warning"

MIN_EXAMPLES = 25
NEAR_DUPLICATE_JACCARD = 0.9

# Responses that Rasa's built-in actions send by name.
BUILTIN_RESPONSES = {"utter_default", "utter_ask_rephrase", "utter_restart", "utter_back"}
_PUNCTUATION_OR_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_ANY_RESPONSE_NAME = re.compile(r"[\"'](utter_\w+)[\"']")


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" | "warning"
    code: str
    file: str
    line: Optional[int]
    message: str

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


class Linter:
    def __init__(self, paths: ProjectPaths, min_examples: int = MIN_EXAMPLES,
                 near_duplicate_jaccard: float = NEAR_DUPLICATE_JACCARD) -> None:
        self.paths = paths
        self.min_examples = min_examples
        self.jaccard = near_duplicate_jaccard
        self.issues: List[Issue] = []
        self._yaml_cache: Dict[Path, Any] = {}
        self._action_uses: Optional[List[ContentUse]] = None

    # ------------------------------------------------------------------ helpers
    def add(self, severity: str, code: str, path: Path, line: Optional[int], message: str) -> None:
        self.issues.append(Issue(severity, code, self.paths.rel(path), line, message))

    def load(self, path: Path) -> Any:
        if path not in self._yaml_cache:
            try:
                self._yaml_cache[path] = load_yaml(path)
            except YamlFileError as exc:
                self._yaml_cache[path] = None
                self.add(ERROR, "yaml_syntax", path, exc.line,
                         f"YAML 格式错误，文件无法读取：{exc.problem}。请检查缩进、冒号和引号"
                         f"（常见原因：用了 Tab 缩进、中文冒号“：”、列表项前缺少“- ”）。")
        return self._yaml_cache[path]

    def normalizer(self):
        from bot.nlu.normalizer import Normalizer, load_corrections

        typos = self.paths.root / "data" / "lexicon" / "typos.yml"
        return Normalizer(corrections=load_corrections(typos))

    # ------------------------------------------------------------------ data
    def action_uses(self) -> List[ContentUse]:
        """The responses, fragments and buttons the custom actions, the channels and the agent desk
        name (bot/content/action_wording.py over ProjectPaths.wording_readers)."""
        if self._action_uses is None:
            self._action_uses = scan_sources(self.paths.wording_readers)
        return self._action_uses

    def reader(self, use: ContentUse) -> str:
        """Who names the content, as the content team knows them: 动作, 渠道 or 坐席系统."""
        top = Path(self.paths.rel(use.path)).parts[:1]
        return {("connectors",): "渠道程序", ("services",): "坐席系统"}.get(tuple(top), "动作")

    def training_files(self) -> List[Path]:
        return yaml_files(*self.paths.training_dirs)

    def intent_blocks(self) -> List[IntentBlock]:
        blocks: List[IntentBlock] = []
        for path in self.training_files():
            blocks.extend(iter_nlu_blocks(path, self.load(path)))
        return blocks

    def domain_data(self) -> Dict[str, Any]:
        """Merged domain (domain.yml, or every YAML file of a domain folder)."""
        merged: Dict[str, Any] = {"intents": [], "entities": [], "responses": {}, "actions": [],
                                  "forms": {}, "slots": {}}
        domain = self.paths.domain
        files = yaml_files(domain) if domain.is_file() else yaml_files(self.paths.root / "domain")
        self._domain_files = files
        for path in files:
            data = self.load(path)
            if not isinstance(data, dict):
                continue
            for key in ("intents", "entities", "actions"):
                for i, item in enumerate(data.get(key) or []):
                    name = next(iter(item)) if isinstance(item, dict) else item
                    merged[key].append((str(name), path, item_line(data[key], i)))
            for key in ("responses", "forms", "slots"):
                section = data.get(key) or {}
                if isinstance(section, dict):
                    for name, value in section.items():
                        merged[key][str(name)] = (value, path, key_line(section, name))
        return merged

    # ------------------------------------------------------------------ run
    def run(self) -> List[Issue]:
        blocks = self.intent_blocks()
        examples = [e for b in blocks for e in b.examples]
        domain = self.domain_data()
        if not self._domain_files:
            self.add(ERROR, "domain_missing", self.paths.domain, None,
                     "找不到 domain.yml，无法检查回答和实体。请确认它在项目根目录。")
        self.check_duplicates(examples)
        self.check_near_duplicates(examples)
        self.check_intent_sizes(blocks)
        if self._domain_files:
            self.check_responses(domain)
            self.check_response_placeholders(domain)
            self.check_entities(examples, domain)
            self.check_context_labels(domain)
        self.check_knowledge_tables()
        self.check_wording()
        self.check_characters(examples)
        self.check_entity_patterns(examples, domain)
        self.check_test_data(examples)
        self.check_name_rules()
        order = {ERROR: 0, WARNING: 1}
        return sorted(self.issues, key=lambda i: (order[i.severity], i.file, i.line or 0, i.code))

    # ------------------------------------------------------------------ checks
    def check_context_labels(self, domain: Dict[str, Any]) -> None:
        """Every slot has a line in data/knowledge/context_labels.yml (how the agent desk shows it)."""
        path = self.paths.root / "data" / "knowledge" / "context_labels.yml"
        table = self.load(path) if path.exists() else None
        if not isinstance(table, dict):
            return  # no table in this project (the fixtures), or a YAML error already reported
        named = set((table.get("slots") or {}).keys())
        for slot, (_, where, line) in domain["slots"].items():
            if slot not in named:
                self.add(ERROR, "slot_label_missing", where, line,
                         f"槽位 {slot} 在 data/knowledge/context_labels.yml 里没有名称，坐席工作台会显示英文名。"
                         f"请加一行：{slot}: {{label: 中文名称}}（不给坐席看的写 {{hidden: true}}）。")

    def check_knowledge_tables(self) -> None:
        """Each data/knowledge table the actions read passes the action server's own model, so a
        table that would stop the action server fails the check instead (with its file and key)."""
        from pydantic import ValidationError

        from actions import knowledge  # importing it validates the real project's tables

        directory = self.paths.root / "data" / "knowledge"
        for name, model in knowledge.TABLE_MODELS.items():
            path = directory / name
            data = self.load(path) if path.exists() else None
            if data is None:
                continue  # not in this project (the fixtures), or a YAML error already reported
            try:
                model.parse_obj(data)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(map(str, err["loc"]))
                    line = key_line(data, err["loc"][0]) if isinstance(data, dict) and err["loc"] else None
                    self.add(ERROR, "knowledge_table_invalid", path, line,
                             f"{where}：{err['msg']}。这张表助手读不了，改好之前动作服务器无法启动。")

    def check_name_rules(self) -> None:
        """data/lexicon/names.yml (how `make mine` finds names to mask) must load and work."""
        from bot.masking import _name_pattern

        path = self.paths.root / "data" / "lexicon" / "names.yml"
        if not path.exists() or self.load(path) is None:
            return  # a project without the file masks numbers only; a YAML error is reported by load
        try:
            _name_pattern.__wrapped__(path)
        except (KeyError, TypeError, AttributeError, re.error) as exc:
            self.add(ERROR, "name_rules", path, None,
                     f"姓名遮蔽规则无法使用（{exc}）。需要 surnames、before_name、after_name、never_in_name 四项，"
                     f"姓氏用空格分开，提示词和称呼每行一个。")

    def check_duplicates(self, examples: List[Example]) -> None:
        """The same example under two intents (error) or twice in one intent (warning)."""
        seen: Dict[str, Example] = {}
        for ex in examples:
            first = seen.get(ex.text)
            if first is None:
                seen[ex.text] = ex
            elif first.intent != ex.intent:
                self.add(ERROR, "duplicate_example", ex.path, ex.line,
                         f"示例“{ex.text}”同时出现在意图 {first.intent}（{_where(self.paths, first)}）和 "
                         f"{ex.intent} 下。模型无法区分，请只保留在正确的那个意图里。")
            else:
                self.add(WARNING, "repeated_example", ex.path, ex.line,
                         f"示例“{ex.text}”在意图 {ex.intent} 里重复出现（另见 {_where(self.paths, first)}），"
                         f"请删掉一条。")

    def _canonical(self, examples: List[Example]) -> List[str]:
        normalize = self.normalizer()
        return [_PUNCTUATION_OR_SPACE.sub("", normalize(ex.text)).lower() for ex in examples]

    def check_near_duplicates(self, examples: List[Example]) -> None:
        """Across intents: equal after normalisation (error) or char-bigram Jaccard >= 0.9 (warning)."""
        canon = self._canonical(examples)
        by_canon: Dict[str, Example] = {}
        for ex, key in zip(examples, canon):
            if not key:
                continue
            first = by_canon.setdefault(key, ex)
            if first.intent != ex.intent and first.text != ex.text:
                self.add(ERROR, "normalized_duplicate", ex.path, ex.line,
                         f"示例“{ex.text}”（意图 {ex.intent}）与“{first.text}”（意图 {first.intent}，"
                         f"{_where(self.paths, first)}）在规范化（繁转简、全角转半角、错别字纠正、去标点）后完全相同，"
                         f"模型看到的是同一句话。请只保留在正确的意图里。")
        for i, j, score in _similar_pairs(canon, self.jaccard):
            a, b = examples[i], examples[j]
            if a.intent == b.intent or canon[i] == canon[j]:
                continue
            self.add(WARNING, "near_duplicate", b.path, b.line,
                     f"示例“{b.text}”（意图 {b.intent}）与“{a.text}”（意图 {a.intent}，{_where(self.paths, a)}）"
                     f"几乎一样（字符二元组相似度 {score:.2f}）。两个意图容易混淆，请改写其中一条或确认归属。")

    def check_intent_sizes(self, blocks: List[IntentBlock]) -> None:
        counts: Dict[str, Set[str]] = defaultdict(set)
        first_block: Dict[str, IntentBlock] = {}
        for block in blocks:
            counts[block.intent].update(e.text for e in block.examples)
            first_block.setdefault(block.intent, block)
        for intent, texts in sorted(counts.items()):
            if len(texts) < self.min_examples:
                block = first_block[intent]
                self.add(ERROR, "too_few_examples", block.path, block.line,
                         f"意图 {intent} 只有 {len(texts)} 条不同的示例，至少需要 {self.min_examples} 条。"
                         f"请补充客户真实会说的不同说法（换词、换语序、口语、带错别字的都可以）。")

    def check_responses(self, domain: Dict[str, Any]) -> None:
        defined: Dict[str, Tuple[Path, Optional[int]]] = {
            name: (path, line) for name, (_, path, line) in domain["responses"].items()}
        # Responses may also be defined in training data files (retrieval intents).
        for path in self.training_files():
            data = self.load(path)
            if isinstance(data, dict) and isinstance(data.get("responses"), dict):
                for name in data["responses"]:
                    defined.setdefault(str(name), (path, key_line(data["responses"], name)))

        used: Dict[str, List[Tuple[Path, Optional[int], str]]] = defaultdict(list)
        for path in self.training_files():
            for name, line in _story_actions(self.load(path)):
                if name.startswith("utter_"):
                    used[name].append((path, line, "故事/规则"))
        for name, path, line in domain["actions"]:
            if name.startswith("utter_"):
                used[name].append((path, line, "domain.yml 的 actions"))
        soft_used: Set[str] = set(BUILTIN_RESPONSES)
        for form, (spec, _, _) in domain["forms"].items():
            for slot in _required_slots(spec):
                soft_used.update({f"utter_ask_{slot}", f"utter_ask_{form}_{slot}"})
        for form in domain["forms"]:  # "那怎么办" inside a form (actions/dialogue.py)
            soft_used.add(f"utter_form_help_{form}")
        for name, path, line in self._topic_answers():
            used[name].append((path, line, "话题表"))
        for py in sorted((self.paths.root / "bot").glob("*.py")):  # the Rasa-side helpers (bot/no_repeat.py)
            soft_used.update(m.group(1) for m in _ANY_RESPONSE_NAME.finditer(py.read_text(encoding="utf-8")))
        for use in self.action_uses():
            if use.kind == RESPONSE:
                used[use.name].append((use.path, use.line, "自定义动作"))
        if self.paths.actions_dir.is_dir():
            for py in sorted(self.paths.actions_dir.rglob("*.py")):
                source = py.read_text(encoding="utf-8", errors="replace")
                soft_used.update(m.group(1) for m in _ANY_RESPONSE_NAME.finditer(source))

        for name, places in sorted(used.items()):
            if name in defined:
                continue
            for path, line, where in places:
                self.add(ERROR, "response_undefined", path, line,
                         f"{where}用到了回答 {name}，但 domain.yml 的 responses 里没有定义它。"
                         f"请在 domain.yml 的 responses 下添加 {name}（或改成已有回答的名字）。")
        story_or_code_used = {n for n, places in used.items()
                              if any(w != "domain.yml 的 actions" for _, _, w in places)}
        for name, (path, line) in sorted(defined.items()):
            if name in story_or_code_used or name in soft_used:
                continue
            self.add(WARNING, "response_unused", path, line,
                     f"回答 {name} 已定义，但没有任何故事、规则、表单或自定义动作（actions/*.py）用到它，"
                     f"客户永远看不到。请在 data/rules 或 data/stories 里使用它，或删除。")

    def check_response_placeholders(self, domain: Dict[str, Any]) -> None:
        """An action's `utter_message(response="utter_x", key=value)` and the response's {placeholders}:
        every value the action fills has a {key} in every variant of the response, and every {name}
        in the response is filled by the action or is a slot (else the customer reads "{name}")."""
        slots = set(domain["slots"])
        for use in self.action_uses():
            if use.kind != RESPONSE or use.filled is None or use.name not in domain["responses"]:
                continue
            variants, path, line = domain["responses"][use.name]
            for index, variant in enumerate(variants if isinstance(variants, list) else []):
                if not isinstance(variant, dict):
                    continue
                where = f"{self.paths.rel(path)} 第 {item_line(variants, index) or line} 行"
                texts = [str(variant.get("text") or "")]
                for button in variant.get("buttons") or []:
                    if isinstance(button, dict):
                        texts += [str(button.get("title") or ""), str(button.get("payload") or "")]
                has = response_placeholders(texts)
                for key in sorted(use.filled - has):
                    self.add(ERROR, "placeholder_missing", use.path, use.line,
                             f"动作给回答 {use.name} 填了 {{{key}}}，但这个回答（{where}）里没有 {{{key}}}，"
                             f"这个值客户就看不到了。请在回答里加回 {{{key}}}（名字要一模一样）。")
                for key in sorted(has - use.filled - slots):
                    self.add(ERROR, "placeholder_unfilled", use.path, use.line,
                             f"回答 {use.name}（{where}）里有 {{{key}}}，但这个动作没有填它，也没有叫 {key} 的槽位，"
                             f"客户会看到原样的“{{{key}}}”。请删掉 {{{key}}} 或改成动作填的名字："
                             f"{'、'.join('{' + k + '}' for k in sorted(use.filled)) or '（不填任何值）'}。")

    def check_wording(self) -> None:
        """data/knowledge/wording.yml and the Python that reads it (the actions, the channels'
        messages, the agent desk's sentences): every fragment and button they name exists, every
        placeholder they fill is in the fragment and every placeholder of the fragment is filled;
        every handoff reason has its wording."""
        path = self.paths.wording
        uses = [u for u in self.action_uses() if u.kind in (FRAGMENT, BUTTON)]
        if not path.exists():
            for use in uses:
                self.add(ERROR, f"{use.kind}_undefined", use.path, use.line,
                         f"{self.reader(use)}用到了{'句子片段' if use.kind == FRAGMENT else '按钮'} {use.name}，"
                         f"但项目里没有 data/knowledge/wording.yml。")
            return
        data = self.load(path)
        if not isinstance(data, dict):
            return  # a YAML error is reported by load
        fragments = data.get("fragments") if isinstance(data.get("fragments"), dict) else {}
        buttons = data.get("buttons") if isinstance(data.get("buttons"), dict) else {}
        placeholders: Dict[str, Any] = {}
        for name, template in fragments.items():
            try:
                placeholders[str(name)] = fragment_placeholders(str(template))
            except MalformedTemplate as exc:
                placeholders[str(name)] = None
                self.add(ERROR, "fragment_malformed", path, key_line(fragments, name),
                         f"句子片段 {name} 的花括号不成对（{exc}）。{{名字}} 要成对写；想显示花括号本身请写 {{{{ 和 }}}}。")
        for use in uses:
            table, what = (fragments, "句子片段") if use.kind == FRAGMENT else (buttons, "按钮")
            if use.name not in table:
                self.add(ERROR, f"{use.kind}_undefined", use.path, use.line,
                         f"{self.reader(use)}用到了{what} {use.name}，但 data/knowledge/wording.yml 的 "
                         f"{'fragments' if use.kind == FRAGMENT else 'buttons'} 里没有它。"
                         f"请在 wording.yml 里添加 {use.name}（或改回原来的名字）。")
                continue
            has = placeholders.get(use.name) if use.kind == FRAGMENT else None
            if has is None or use.filled is None:
                continue
            where = f"data/knowledge/wording.yml 第 {key_line(fragments, use.name)} 行"
            for key in sorted(use.filled - has):
                self.add(ERROR, "placeholder_missing", use.path, use.line,
                         f"{self.reader(use)}给句子片段 {use.name} 填了 {{{key}}}，但片段（{where}）里没有 {{{key}}}，"
                         f"这个值客户就看不到了。请在片段里加回 {{{key}}}（名字要一模一样）。")
            for key in sorted(has - use.filled):
                self.add(ERROR, "placeholder_unfilled", use.path, use.line,
                         f"句子片段 {use.name}（{where}）里有 {{{key}}}，但{self.reader(use)}没有填它，回答时会出错。"
                         f"请删掉 {{{key}}} 或改成{self.reader(use)}填的名字："
                         f"{'、'.join('{' + k + '}' for k in sorted(use.filled)) or '（不填任何值）'}。")
        named = {(u.kind, u.name) for u in uses}
        for kind, table, what in ((FRAGMENT, fragments, "句子片段"), (BUTTON, buttons, "按钮")):
            for name in table:
                if (kind, str(name)) not in named:
                    self.add(WARNING, f"{kind}_unused", path, key_line(table, name),
                             f"{what} {name} 已定义，但没有任何动作（actions/*.py）、渠道程序（connectors/*.py）"
                             f"或坐席系统（services/agent_desk/*.py）用到它，谁也看不到它。"
                             f"请确认名字没写错，或删除。")
        self.check_handoff_reason_labels(data, path)

    def check_handoff_reason_labels(self, data: Dict[str, Any], path: Path) -> None:
        from bot.handoff_rules import HandoffReason

        labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
        if not labels:
            return  # a wording table without value names (the tests' small projects)
        table = labels.get("handoff_reason") if isinstance(labels.get("handoff_reason"), dict) else {}
        for reason in HandoffReason:
            if reason.value not in table:
                self.add(ERROR, "handoff_reason_unlabelled", path, key_line(labels, "handoff_reason") or key_line(data, "labels"),
                         f"转人工原因 {reason.value} 在 wording.yml 的 labels.handoff_reason 里没有中文写法，"
                         f"坐席会看到英文。请加一行：{reason.value}: 中文原因。")

    def _topic_answers(self) -> List[Tuple[str, Path, Optional[int]]]:
        """The responses data/knowledge/topics.yml names as a topic's answer or next step."""
        path = self.paths.topics
        data = self.load(path) if path.exists() else None
        topics = data.get("topics") if isinstance(data, dict) else None
        found: List[Tuple[str, Path, Optional[int]]] = []
        for topic in (topics or {}).values():
            if not isinstance(topic, dict):
                continue
            for key in ("answer", "next_step"):
                name = str(topic.get(key) or "")
                if name.startswith("utter_"):
                    found.append((name, path, value_line(topic, key)))
        return found

    def check_entities(self, examples: List[Example], domain: Dict[str, Any]) -> None:
        known = {name for name, _, _ in domain["entities"]}
        for ex in examples:
            for entity in ex.entities:
                name = entity.get("entity")
                if name and name not in known:
                    self.add(ERROR, "entity_not_in_domain", ex.path, ex.line,
                             f"示例“{ex.raw}”标注了实体 {name}，但 domain.yml 的 entities 里没有它。"
                             f"本项目的实体来自 data/lexicon/entity_patterns.yml 的规则，示例里一般不需要标注；"
                             f"请去掉标注，或在 domain.yml 里声明该实体。")

    def check_characters(self, examples: List[Example]) -> None:
        from bot.nlu.normalizer import to_simplified

        for ex in examples:
            simplified = to_simplified(ex.text)
            if simplified != ex.text:
                changed = "".join(sorted({a for a, b in zip(ex.text, simplified) if a != b}))
                self.add(WARNING, "traditional_chars", ex.path, ex.line,
                         f"示例“{ex.text}”含繁体字（{changed}），请改为简体：“{simplified}”。")
            fullwidth = _FULLWIDTH_ALNUM.findall(ex.text)
            if fullwidth:
                fixed = _FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), ex.text)
                self.add(WARNING, "fullwidth_chars", ex.path, ex.line,
                         f"示例“{ex.text}”含全角数字/字母（{''.join(dict.fromkeys(fullwidth))}），"
                         f"请改为半角：“{fixed}”。")

    def check_entity_patterns(self, examples: List[Example], domain: Dict[str, Any]) -> None:
        path = self.paths.entity_patterns
        if not path.exists():
            return
        data = self.load(path)
        if not isinstance(data, dict):
            return
        # The project's spaCy pipeline segments Chinese by character (every non-space character
        # is a token) and matches phrases on LOWER, so a phrase matches exactly when it is a
        # substring of the lower-cased text without spaces. (Importing spaCy costs seconds.)
        entries: List[Tuple[str, str, Optional[int], List[str]]] = []
        for label, values in data.items():
            if not isinstance(values, dict):
                continue
            for canonical, variants in values.items():
                forms = list(dict.fromkeys([str(canonical), *map(str, variants or [])]))
                entries.append((str(label), str(canonical), key_line(values, canonical), forms))
        normalize = self.normalizer()
        corpus = "\n".join(_phrase_key(normalize(ex.text)) for ex in examples)
        matched = {form for _, _, _, forms in entries for form in forms if _phrase_key(form) in corpus}
        known = {name for name, _, _ in domain["entities"]}
        for label in data:
            if known and str(label) not in known:
                self.add(WARNING, "pattern_entity_not_in_domain", path, key_line(data, label),
                         f"实体 {label} 有识别规则，但 domain.yml 的 entities 里没有声明，识别结果会被忽略。")
        for label, canonical, line, forms in entries:
            unused = [f for f in forms if f not in matched]
            if unused:
                self.add(WARNING, "pattern_unmatched", path, line,
                         f"实体 {label} 的标准值“{canonical}”下，说法 {'、'.join(unused)} 在训练数据（data/nlu）"
                         f"里一次都没出现。请在相关意图里补充含这些说法的示例，或删掉不会用到的说法。")

    def check_test_data(self, examples: List[Example]) -> None:
        """Held-out test examples must not also be training examples (the report would flatter)."""
        path = self.paths.test_data
        if not path.exists():
            return
        training = {ex.text for ex in examples}
        for block in iter_nlu_blocks(path, self.load(path)):
            for ex in block.examples:
                if ex.text in training:
                    self.add(WARNING, "test_example_in_training", ex.path, ex.line,
                             f"测试集示例“{ex.text}”也出现在训练数据里，评估结果会虚高。请从测试集或训练数据中删掉一处。")


def _phrase_key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _where(paths: ProjectPaths, ex: Example) -> str:
    return f"{paths.rel(ex.path)}:{ex.line}" if ex.line else paths.rel(ex.path)


def _story_actions(data: Any) -> Iterable[Tuple[str, Optional[int]]]:
    """Every `action: name` in stories/rules (recursively, so `or:` and conditions count)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "action" and isinstance(value, str):
                yield value, value_line(data, key)
            else:
                yield from _story_actions(value)
    elif isinstance(data, list):
        for item in data:
            yield from _story_actions(item)


def _required_slots(spec: Any) -> List[str]:
    if not isinstance(spec, dict):
        return []
    slots = spec.get("required_slots") or []
    if isinstance(slots, dict):
        return [str(s) for s in slots]
    return [str(s) for s in slots]


def _similar_pairs(texts: List[str], threshold: float, chunk: int = 1000) -> Iterable[Tuple[int, int, float]]:
    """Index pairs (i < j) whose character-bigram sets have Jaccard >= threshold."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    bigram_texts = [t if len(t) >= 2 else "" for t in texts]
    if sum(1 for t in bigram_texts if t) < 2:
        return
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(2, 2), binary=True, lowercase=False)
    matrix = vectorizer.fit_transform(bigram_texts).tocsr().astype(np.int32)
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    transposed = matrix.T.tocsc()
    for start in range(0, matrix.shape[0], chunk):
        block = (matrix[start:start + chunk] @ transposed).tocoo()
        rows, cols, inter = block.row + start, block.col, block.data.astype(float)
        union = sizes[rows] + sizes[cols] - inter
        keep = (cols > rows) & (union > 0)
        keep[keep] &= inter[keep] / union[keep] >= threshold
        for i, j, score in zip(rows[keep], cols[keep], inter[keep] / union[keep]):
            yield int(i), int(j), float(score)


def run_lint(paths: ProjectPaths, **options: Any) -> List[Issue]:
    return Linter(paths, **options).run()
