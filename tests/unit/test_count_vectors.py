"""bot/count_vectors.py: one `transform` per message gives stock Rasa's sequence and sentence features."""
from __future__ import annotations

import pytest
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import ACTION_NAME, TEXT
from sklearn.feature_extraction.text import CountVectorizer

from bot import count_vectors

STOCK = CountVectorsFeaturizer._create_features
if hasattr(STOCK, "__wrapped__"):  # installed by an earlier test in this process
    STOCK = STOCK.__wrapped__

TRAINING = ["手机银行 转账 限额 是 多少", "实时 到账 和 次日 到账 有 什么 区别", "我 的 卡 丢 了", "utter_greet action_listen"]
MESSAGES = [["手机银行", "转账", "限额"], ["网银", "转账", "要", "手续费", "吗"], ["生僻字", "没见过"], ["卡"], [],
            ["utter_greet"]]


@pytest.mark.parametrize("vectorizer", [
    CountVectorizer(token_pattern=r"(?u)\b\w+\b", lowercase=True),
    CountVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
    CountVectorizer(analyzer="char_wb", ngram_range=(1, 3), binary=True),
], ids=["words", "character n-grams", "binary"])
@pytest.mark.parametrize("attribute", [TEXT, ACTION_NAME])  # with and without sentence features
def test_the_features_are_stock_rasas(vectorizer, attribute):
    featurizer = CountVectorsFeaturizer.__new__(CountVectorsFeaturizer)
    featurizer.vectorizers = {attribute: vectorizer.fit(TRAINING)}
    expected = STOCK(featurizer, attribute, MESSAGES)
    made = count_vectors.create_features(featurizer, attribute, MESSAGES)
    for stock_list, our_list in zip(expected, made):
        assert len(stock_list) == len(our_list) == len(MESSAGES)
        for stock, ours in zip(stock_list, our_list):
            if stock is None:
                assert ours is None
                continue
            assert ours.format == stock.format == "coo" and ours.shape == stock.shape and ours.dtype == stock.dtype
            assert (ours.row == stock.row).all() and (ours.col == stock.col).all() and (ours.data == stock.data).all()


def test_an_untrained_attribute_has_no_features():
    featurizer = CountVectorsFeaturizer.__new__(CountVectorsFeaturizer)
    featurizer.vectorizers = {}
    assert count_vectors.create_features(featurizer, TEXT, MESSAGES) == STOCK(featurizer, TEXT, MESSAGES) == ([None], [None])
