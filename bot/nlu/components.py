"""Rasa graph components: text normalisation first, spaCy rule-based entities later, and a
guard that marks letters-only gibberish ("asdfgh") as not understood.

All are listed in `config.yml` by their module path.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Importing registers the `bank_amounts` spaCy factory before SpacyNLP loads the pipeline.
from bot.nlu.spacy_pipeline import AMOUNT_LABEL, amount_value
from bot.nlu.normalizer import Normalizer, default_normalizer, is_unreadable, load_latin_words


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class ChineseTextNormalizer(GraphComponent):
    """Rewrites message text to canonical Simplified Chinese (see bot/nlu/normalizer.py).

    The tracker keeps what the customer really typed; only the NLU sees this form.
    """

    def __init__(self, normalizer: Normalizer) -> None:
        self._normalize = normalizer

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ChineseTextNormalizer":
        return cls(default_normalizer())

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._normalize_all(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._normalize_all(messages)
        return messages

    def _normalize_all(self, messages: List[Message]) -> None:
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(TEXT, self._normalize(text))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    is_trainable=False,
    model_from="SpacyNLP",
)
class BankEntityExtractor(SpacyEntityExtractor):
    """spaCy's entity extractor, returning canonical values instead of the raw text.

    经营性贷款 -> 经营贷 (the EntityRuler pattern id), 5000块 -> 5000 (a number).
    """

    @staticmethod
    def _extract_entities(doc: Any) -> List[Dict[Text, Any]]:
        return [
            {
                "entity": ent.label_,
                "value": _canonical_value(ent),
                "start": ent.start_char,
                "end": ent.end_char,
                "confidence": None,
            }
            for ent in doc.ents
        ]


def _canonical_value(ent: Any) -> Any:
    if ent.label_ == AMOUNT_LABEL:
        return amount_value(ent.text)
    return ent.ent_id_ or ent.text


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class UnreadableTextGuard(GraphComponent):
    """Letters only, and no word the assistant knows (data/lexicon/latin_words.yml): the
    classifier's guess is not to be trusted, so its confidence is set to 0 and the
    FallbackClassifier after it answers `nlu_fallback` ("asdfgh" is not "ok")."""

    def __init__(self, known_words: frozenset) -> None:
        self._known = known_words

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnreadableTextGuard":
        return cls(load_latin_words())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT)
            if intent and is_unreadable(message.get(TEXT) or "", self._known):
                message.set(INTENT, {**intent, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                ranking = [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in message.get(INTENT_RANKING_KEY) or []]
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
