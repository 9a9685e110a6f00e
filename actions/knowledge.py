"""Typed access to the content tables in data/knowledge/*.yml.

The tables are edited by the content team, so they are validated when this module is
imported (the action server refuses to start with a broken table) and every error names the
file and the key to fix. Each table is read once and cached.

Tables:
- intents.yml          intent -> Chinese label (clarification questions, agent console, reports)
- transfer_limits.yml  transfer limits by channel x verification method, and how to raise them
- loan_materials.yml   loan application materials by loan type x customer type
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Type, TypeVar

import yaml
from pydantic import BaseModel, Extra, ValidationError, conlist, constr, validator

KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "data" / "knowledge"

# Canonical entity values (data/lexicon/entity_patterns.yml); tables must use these names.
CHANNELS = ("手机银行", "网上银行", "柜台", "ATM", "微信")
LOAN_TYPES = ("个人消费贷", "住房贷款", "汽车贷款", "经营贷")
CUSTOMER_TYPES = ("个人", "个体工商户", "小微企业")

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

    @validator("channels")
    def _known_channels(cls, channels: Dict[str, List[LimitRow]]) -> Dict[str, List[LimitRow]]:
        return _exactly(channels, CHANNELS, "渠道", "渠道名必须是")


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


def load_all() -> None:
    """Validates every table (called at import so a broken table stops the action server)."""
    intent_labels()
    transfer_limits()
    loan_materials()


load_all()
