"""The project's own spaCy pipeline for Chinese bank entities (nothing is downloaded).

`build_pipeline()` makes a blank `zh` pipeline (character segmentation, so a bank term is
found whatever jieba does with its neighbours) with:
- an EntityRuler whose phrase patterns come from `data/lexicon/entity_patterns.yml`; each
  pattern's `id` is the canonical value (经营性贷款 -> 经营贷);
- `bank_amounts`, a small component that marks money amounts in normalised text
  (5000块, ¥3000, 转5000给儿子) but not dates, times, counts, phone or card numbers.

`ensure_built()` writes it to `models/spacy_zh_bank`, rebuilding only when the pattern
file or this module changed. Rasa's SpacyNLP loads it from that path.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List

import spacy
import yaml
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PATTERNS_PATH = PROJECT_ROOT / "data" / "lexicon" / "entity_patterns.yml"
MODEL_PATH = PROJECT_ROOT / "models" / "spacy_zh_bank"
_FINGERPRINT_FILE = "bank_fingerprint.txt"

AMOUNT_LABEL = "amount"
_AMOUNT = re.compile(
    r"(?<![\d.])(?P<currency>[¥￥])?\s*(?P<number>\d{1,9}(?:\.\d{1,2})?)(?![\d.])"
    r"\s*(?P<unit>块钱|块|元|人民币)?"
)
# A bare number followed by one of these is a date, time, count or duration, not money.
_NOT_MONEY_AFTER = re.compile(r"\s*(年|月|日|号|点|天|小时|分|秒|个|次|位|岁|%|期|笔|张|楼|号码|周|星期|折)")


def load_patterns(path: Path = PATTERNS_PATH) -> List[Dict[str, str]]:
    """EntityRuler patterns from the content team's YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    patterns = []
    for label, values in data.items():
        for canonical, variants in (values or {}).items():
            for variant in {str(canonical), *map(str, variants or [])}:
                patterns.append({"label": label, "pattern": variant, "id": str(canonical)})
    return sorted(patterns, key=lambda p: (p["label"], p["id"], p["pattern"]))


@Language.component("bank_amounts")
def bank_amounts(doc: Doc) -> Doc:
    """Adds `amount` spans for money amounts, keeping the rule-based entities already found."""
    spans = [span for span in (_amount_span(doc, m) for m in _AMOUNT.finditer(doc.text)) if span]
    doc.ents = filter_spans(list(doc.ents) + spans)
    return doc


def _amount_span(doc: Doc, match: re.Match) -> "Span | None":
    has_currency = bool(match.group("currency") or match.group("unit"))
    if not has_currency and _NOT_MONEY_AFTER.match(doc.text, match.end("number")):
        return None
    return doc.char_span(match.start(), match.end(), label=AMOUNT_LABEL, alignment_mode="expand")


def amount_value(text: str) -> "int | float | None":
    """The number inside an amount span: '¥5000.50元' -> 5000.5."""
    found = re.search(r"\d+(?:\.\d+)?", text)
    if not found:
        return None
    number = float(found.group(0))
    return int(number) if number.is_integer() else number


def build_pipeline(patterns: Iterable[Dict[str, str]]) -> Language:
    nlp = spacy.blank("zh")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(list(patterns))
    nlp.add_pipe("bank_amounts")
    return nlp


def fingerprint(patterns_path: Path = PATTERNS_PATH) -> str:
    digest = hashlib.sha256()
    digest.update(patterns_path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(spacy.__version__.encode())
    return digest.hexdigest()


def ensure_built(model_path: Path = MODEL_PATH, patterns_path: Path = PATTERNS_PATH) -> bool:
    """Builds the pipeline if missing or stale. Returns True if it was (re)built."""
    wanted = fingerprint(patterns_path)
    marker = model_path / _FINGERPRINT_FILE
    if marker.exists() and marker.read_text().strip() == wanted:
        return False
    nlp = build_pipeline(load_patterns(patterns_path))
    nlp.meta["name"] = "zh_bank_rules"
    nlp.meta["description"] = json.dumps({"patterns": str(patterns_path.name)})
    # Build beside the target and swap it in, so a running reader never sees half a model.
    model_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=model_path.name + ".", dir=model_path.parent))
    nlp.to_disk(staging)
    (staging / _FINGERPRINT_FILE).write_text(wanted)
    if model_path.exists():
        shutil.rmtree(model_path)
    staging.rename(model_path)
    return True
