"""The count-vector featurisers make one scikit-learn call per message instead of two.

Rasa 3.6's CountVectorsFeaturizer featurises a message's text twice with its vectoriser: the
tokens one by one (sequence features), then the tokens joined (sentence features), and this
assistant runs two such featurisers (words, character n-grams): four `transform` calls per
message, each paying scikit-learn's set-up for a handful of short strings (5 % of a worker's
time in the live profile, docs/performance.md "Issue 13 item 3, second round"). A vectoriser
counts every document on its own, so the tokens and the joined text go through one `transform`
and its rows are split: the same matrices (the unit test compares them with stock's).
RASA_SPEEDUPS_OFF=count_vectors leaves it out.
"""
from __future__ import annotations

import functools
from typing import List, Optional, Text, Tuple

import scipy.sparse
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

from bot.settings import speedup_on

Features = List[Optional[scipy.sparse.spmatrix]]


def create_features(self: CountVectorsFeaturizer, attribute: Text,
                    all_tokens: List[List[Text]]) -> Tuple[Features, Features]:
    """Rasa 3.6's `_create_features`, with one `transform` per message."""
    if not self.vectorizers.get(attribute):
        return [None], [None]
    sequence_features: Features = []
    sentence_features: Features = []
    with_sentence = attribute in DENSE_FEATURIZABLE_ATTRIBUTES
    for tokens in all_tokens:
        if not tokens:  # nothing to featurise
            sequence_features.append(None)
            sentence_features.append(None)
            continue
        documents = list(tokens) + ([" ".join(tokens)] if with_sentence else [])
        counts = self.vectorizers[attribute].transform(documents)
        sequence_features.append(_sorted_coo(counts[:len(tokens)]))
        sentence_features.append(_sorted_coo(counts[len(tokens):]) if with_sentence else None)
    return sequence_features, sentence_features


def _sorted_coo(rows: scipy.sparse.csr_matrix) -> scipy.sparse.coo_matrix:
    rows.sort_indices()
    return rows.tocoo()


def install() -> None:
    """Replaces CountVectorsFeaturizer._create_features."""
    if getattr(CountVectorsFeaturizer._create_features, "_bank_one_call", False) or not speedup_on("count_vectors"):
        return
    replaced = functools.wraps(CountVectorsFeaturizer._create_features)(create_features)
    replaced._bank_one_call = True  # type: ignore[attr-defined]
    CountVectorsFeaturizer._create_features = replaced
