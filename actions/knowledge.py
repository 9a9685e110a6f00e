"""Typed access to the content tables in data/knowledge/*.yml.

The tables are edited by the content team, so they are validated when this module is
imported (the action server refuses to start with a broken table) and every error names the
file and the key to fix. Each table is read once and cached.

Tables:
- intents.yml          intent -> Chinese label (clarification questions, agent console, reports)
- transfer_limits.yml  transfer limits by channel x verification method, and how to raise them
- loan_materials.yml   loan application materials by loan type x customer type
- topics.yml           what each answer is about: its parameters, the part of the answer for each
                       parameter value, the next step, and how forms are named (actions/dialogue.py)
- context_labels.yml   how the slots read at the agent desk and in the handoff summary
                       (actions/context_labels.py)
- complaint_categories.yml  which words in a complaint's story make its category (the team it goes to)
- wording.yml          every sentence fragment, button, choice list and value name the actions
                       put together (amounts, dates, separators and the agent desk's summary too)
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Type, TypeVar

import yaml
from pydantic import BaseModel, Extra, ValidationError, conlist, constr, validator

KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "data" / "knowledge"
ENTITY_PATTERNS = Path(__file__).resolve().parents[1] / "data" / "lexicon" / "entity_patterns.yml"

# Canonical entity values (data/lexicon/entity_patterns.yml); tables must use these names.
CHANNELS = ("手机银行", "网上银行", "柜台", "ATM", "微信")
LOAN_TYPES = ("个人消费贷", "住房贷款", "汽车贷款", "经营贷")
CUSTOMER_TYPES = ("个人", "个体工商户", "小微企业")
# The complaint categories core banking accepts (services/core_banking/schemas.py ComplaintCategory).
COMPLAINT_CATEGORIES = ("服务态度", "转账汇款", "银行卡", "贷款", "收费", "手机银行", "理财")
OTHER_COMPLAINT_CATEGORY = "其他"

NonEmpty = constr(strip_whitespace=True, min_length=1)


class KnowledgeError(ValueError):
    """A knowledge table is missing or malformed; the message names the file and key."""


class _Model(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


V = TypeVar("V")


def _exactly(table: Dict[str, V], names: Sequence[str], what: str, rule: str = "必须是") -> Dict[str, V]:
    """The table's keys must be exactly `names`: the editor is told which are unknown or missing."""
    unknown = sorted(set(table) - set(names))
    missing = sorted(set(names) - set(table))
    if unknown:
        raise ValueError(f"未知{what} {unknown}，{rule} {list(names)} 之一")
    if missing:
        raise ValueError(f"缺少{what} {missing}")
    return table


# ---------------------------------------------------------------- intents.yml
class IntentLabels(_Model):
    intents: Dict[NonEmpty, NonEmpty]  # type: ignore[valid-type]

    def label(self, intent: str) -> str:
        return self.intents.get(intent, intent)


# ---------------------------------------------------------------- transfer_limits.yml
class LimitRow(_Model):
    verification: NonEmpty  # type: ignore[valid-type]
    single: Optional[int]  # None = no upper limit
    daily: Optional[int]
    note: str = ""

    @validator("single", "daily")
    def _positive(cls, value: Optional[int]) -> Optional[int]:
        if value is not None and value <= 0:
            raise ValueError("限额必须是正整数，或写 null 表示不设上限")
        return value

    @validator("daily")
    def _daily_not_below_single(cls, daily: Optional[int], values: dict) -> Optional[int]:
        single = values.get("single")
        if daily is not None and (single is None or daily < single):
            raise ValueError("单日限额不能低于单笔限额")
        return daily


class RaiseMethod(_Model):
    method: NonEmpty  # type: ignore[valid-type]
    needs: NonEmpty  # type: ignore[valid-type]
    reaches: NonEmpty  # type: ignore[valid-type]


class TransferLimits(_Model):
    channels: Dict[str, conlist(LimitRow, min_items=1)]  # type: ignore[valid-type]
    account_class_notes: List[NonEmpty] = []  # type: ignore[valid-type]
    raise_methods: conlist(RaiseMethod, min_items=1)  # type: ignore[valid-type]
    #: the channel a logged-in customer's own limits are answered for when they name none
    default_channel: NonEmpty  # type: ignore[valid-type]

    @validator("channels")
    def _known_channels(cls, channels: Dict[str, List[LimitRow]]) -> Dict[str, List[LimitRow]]:
        return _exactly(channels, CHANNELS, "渠道", "渠道名必须是")

    @validator("default_channel")
    def _known_default_channel(cls, channel: str) -> str:
        if channel not in CHANNELS:
            raise ValueError(f"未知渠道 {channel}，渠道名必须是 {list(CHANNELS)} 之一")
        return channel


# ---------------------------------------------------------------- loan_materials.yml
class LoanProduct(_Model):
    summary: NonEmpty  # type: ignore[valid-type]
    materials: Dict[str, conlist(NonEmpty, min_items=1)]  # type: ignore[valid-type]

    @validator("materials")
    def _every_customer_type(cls, materials: Dict[str, List[str]]) -> Dict[str, List[str]]:
        return _exactly(materials, CUSTOMER_TYPES, "客户类型")


class LoanMaterials(_Model):
    common_note: NonEmpty  # type: ignore[valid-type]
    loans: Dict[str, LoanProduct]

    @validator("loans")
    def _every_loan_type(cls, loans: Dict[str, LoanProduct]) -> Dict[str, LoanProduct]:
        return _exactly(loans, LOAN_TYPES, "贷款品种")

    def materials_for(self, loan_type: str, customer_type: str) -> List[str]:
        return list(self.loans[loan_type].materials[customer_type])


# ---------------------------------------------------------------- topics.yml
PARAMETERS = ("channel", "transfer_type", "card_type", "loan_type", "customer_type", "time_of_week",
              "account_holder", "mobile_issue", "password_issue", "amount")
_ANSWER_NAME = r"^(utter|action)_[a-z0-9_]+$"


class ParameterLabel(_Model):
    question: NonEmpty  # type: ignore[valid-type]


class Topic(_Model):
    label: NonEmpty  # type: ignore[valid-type]
    intents: conlist(NonEmpty, min_items=1)  # type: ignore[valid-type]
    answer: constr(regex=_ANSWER_NAME)  # type: ignore[valid-type]
    parameters: List[str] = []
    parts: Dict[str, Dict[str, str]] = {}
    next_step: constr(regex=_ANSWER_NAME)  # type: ignore[valid-type]

    @validator("parameters", each_item=True)
    def _known_parameter(cls, name: str) -> str:
        if name not in PARAMETERS:
            raise ValueError(f"未知参数 {name}，必须是 {list(PARAMETERS)} 之一")
        return name

    @validator("parts")
    def _parts_of_parameters(cls, parts: Dict[str, Dict[str, str]], values: dict) -> Dict[str, Dict[str, str]]:
        unknown = sorted(set(parts) - set(values.get("parameters") or []))
        if unknown:
            raise ValueError(f"parts 里的 {unknown} 不在这个话题的 parameters 里")
        return parts

    def part(self, parameter: str, value: str) -> Optional[str]:
        """The part of the answer for one parameter value, if the table has one."""
        text = self.parts.get(parameter, {}).get(str(value), "")
        return text.strip() or None


class Topics(_Model):
    forms: Dict[NonEmpty, NonEmpty]  # type: ignore[valid-type]
    parameters: Dict[str, ParameterLabel]
    topics: Dict[NonEmpty, Topic]  # type: ignore[valid-type]

    @validator("parameters")
    def _every_parameter(cls, labels: Dict[str, ParameterLabel]) -> Dict[str, ParameterLabel]:
        return _exactly(labels, PARAMETERS, "参数")

    @validator("topics")
    def _one_topic_per_intent(cls, topics: Dict[str, Topic]) -> Dict[str, Topic]:
        seen: Dict[str, str] = {}
        for name, topic in topics.items():
            for intent in topic.intents:
                if intent in seen:
                    raise ValueError(f"意图 {intent} 同时属于话题 {seen[intent]} 和 {name}，只能属于一个")
                seen[intent] = name
        return topics

    def for_intent(self, intent: Optional[str]) -> Optional[str]:
        return next((name for name, topic in self.topics.items() if intent in topic.intents), None)

    def with_parameter(self, parameter: str) -> List[str]:
        """Topics that answer by this parameter, in table order."""
        return [name for name, topic in self.topics.items() if parameter in topic.parameters]

    def form_label(self, form: str) -> str:
        return self.forms.get(form, form)


# ---------------------------------------------------------------- complaint_categories.yml
class ComplaintCategories(_Model):
    """Category -> the words of a story that put a complaint in it; the first category in file
    order with a word in the story wins, none is "其他"."""

    categories: Dict[NonEmpty, conlist(NonEmpty, min_items=1)]  # type: ignore[valid-type]

    @validator("categories")
    def _known_categories(cls, categories: Dict[str, List[str]]) -> Dict[str, List[str]]:
        unknown = sorted(set(categories) - set(COMPLAINT_CATEGORIES))
        if unknown:
            raise ValueError(f"未知类别 {unknown}，类别必须是 {list(COMPLAINT_CATEGORIES)} 之一")
        return categories

    def category_of(self, story: str) -> str:
        folded = story.casefold()
        for category, keywords in self.categories.items():
            if any(keyword.casefold() in folded for keyword in keywords):
                return category
        return OTHER_COMPLAINT_CATEGORY


# ---------------------------------------------------------------- wording.yml
class ButtonText(_Model):
    title: NonEmpty  # type: ignore[valid-type]
    payload: NonEmpty  # type: ignore[valid-type]


# ---------------------------------------------------------------- context_labels.yml
SlotFormat = constr(regex=r"^(text|amount|yes_no|date|form|topic)$")


class SlotLabel(_Model):
    label: Optional[NonEmpty] = None  # type: ignore[valid-type]
    format: SlotFormat = "text"  # type: ignore[valid-type]
    values: Dict[str, NonEmpty] = {}  # type: ignore[valid-type]
    hidden: bool = False

    @validator("hidden")
    def _shown_slots_have_a_label(cls, hidden: bool, values: dict) -> bool:
        if not hidden and not values.get("label"):
            raise ValueError("要给坐席看的槽位必须有 label（不给看的写 hidden: true）")
        return hidden


class ContextLabels(_Model):
    slots: Dict[NonEmpty, SlotLabel]  # type: ignore[valid-type]


class Choices(_Model):
    """Which values a list of buttons offers (canonical entity values; titles via `labels`)."""

    limit_channels: conlist(NonEmpty, min_items=1)  # type: ignore[valid-type]

    @validator("limit_channels", each_item=True)
    def _known_channel(cls, channel: str) -> str:
        if channel not in CHANNELS:
            raise ValueError(f"未知渠道 {channel}，渠道名必须是 {list(CHANNELS)} 之一")
        return channel


class Wording(_Model):
    """Sentence fragments and button titles the actions put together (whole answers are
    responses in domain.yml). `{name}` placeholders are filled by the actions; `make check`
    compares them with the actions' `fragment("name", key=...)` calls."""

    # Not stripped: a fragment may start with a line break ("\n地点：{place}") or be " → ".
    fragments: Dict[NonEmpty, constr(min_length=1)]  # type: ignore[valid-type]
    buttons: Dict[NonEmpty, ButtonText]  # type: ignore[valid-type]
    choices: Choices
    labels: Dict[NonEmpty, Dict[str, NonEmpty]]  # type: ignore[valid-type]


# ---------------------------------------------------------------- loading
M = TypeVar("M", bound=BaseModel)


def load_table(name: str, model: Type[M], directory: Path = KNOWLEDGE_DIR) -> M:
    """Reads and validates one table; errors name the file and the key."""
    path = directory / name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{path}: expected a mapping at the top level")
    try:
        return model.parse_obj(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"key '{'.'.join(map(str, err['loc']))}': {err['msg']}" for err in exc.errors()
        )
        raise KnowledgeError(f"{path}: {problems}") from exc


@lru_cache(maxsize=None)
def intent_labels() -> IntentLabels:
    return load_table("intents.yml", IntentLabels)


@lru_cache(maxsize=None)
def transfer_limits() -> TransferLimits:
    return load_table("transfer_limits.yml", TransferLimits)


@lru_cache(maxsize=None)
def loan_materials() -> LoanMaterials:
    return load_table("loan_materials.yml", LoanMaterials)


@lru_cache(maxsize=None)
def topics() -> Topics:
    return load_table("topics.yml", Topics)


@lru_cache(maxsize=None)
def context_labels() -> ContextLabels:
    return load_table("context_labels.yml", ContextLabels)


@lru_cache(maxsize=None)
def complaint_categories() -> ComplaintCategories:
    return load_table("complaint_categories.yml", ComplaintCategories)


@lru_cache(maxsize=None)
def wording() -> Wording:
    return load_table("wording.yml", Wording)


def fragment(name: str, **values: object) -> str:
    """A sentence fragment from wording.yml with its placeholders filled."""
    try:
        template = wording().fragments[name]
    except KeyError:
        raise KnowledgeError(f"data/knowledge/wording.yml: no fragment '{name}'") from None
    try:
        return template.format(**values)
    except (KeyError, IndexError) as exc:
        raise KnowledgeError(f"data/knowledge/wording.yml: fragment '{name}' uses an unknown placeholder {exc}") from exc


def button(name: str) -> Dict[str, str]:
    """A button (title and payload) from wording.yml."""
    found = wording().buttons[name]
    return {"title": found.title, "payload": found.payload}


def label(group: str, key: str) -> str:
    """How a value is named to customers (wording.yml labels), else the value itself."""
    return wording().labels.get(group, {}).get(str(key), str(key))


def joined(items: Iterable[object], separator: str = "list_separator") -> str:
    """Items joined by a separator fragment of wording.yml (default "、")."""
    return fragment(separator).join(str(item) for item in items)


@lru_cache(maxsize=None)
def _entity_patterns() -> Dict[str, Dict[str, list]]:
    return yaml.safe_load(ENTITY_PATTERNS.read_text(encoding="utf-8")) or {}


def entity_values(entity: str) -> List[str]:
    """The canonical values of an entity (data/lexicon/entity_patterns.yml), in file order."""
    return [str(value) for value in (_entity_patterns().get(entity) or {})]


# Every table and its model: `make check` and the studio validate the files with these.
TABLE_MODELS: Dict[str, Type[BaseModel]] = {
    "intents.yml": IntentLabels, "transfer_limits.yml": TransferLimits, "loan_materials.yml": LoanMaterials,
    "topics.yml": Topics, "complaint_categories.yml": ComplaintCategories, "wording.yml": Wording,
    "context_labels.yml": ContextLabels,
}


def load_all() -> None:
    """Validates every table (called at import so a broken table stops the action server)."""
    intent_labels()
    transfer_limits()
    loan_materials()
    topics()
    complaint_categories()
    wording()
    context_labels()


load_all()
