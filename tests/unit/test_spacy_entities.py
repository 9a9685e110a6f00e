"""The project-built spaCy pipeline: rule-based bank entities with canonical values."""

import pytest
import spacy

from bot.nlu import spacy_pipeline
from bot.nlu.components import BankEntityExtractor
from bot.nlu.normalizer import default_normalizer


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("spacy") / "zh_bank"
    assert spacy_pipeline.ensure_built(model_path=path) is True
    assert spacy_pipeline.ensure_built(model_path=path) is False  # cached by fingerprint
    return spacy.load(path)


def entities(nlp, text):
    doc = nlp(default_normalizer()(text))
    return [(e["entity"], e["value"]) for e in BankEntityExtractor._extract_entities(doc)]


@pytest.mark.parametrize("text, expected", [
    # jieba would merge 经营贷 with its neighbour; character matching still finds it.
    ("申请经营贷要带什么", [("loan_type", "经营贷")]),
    ("我是开饭店的个体户想申请经营性贷款", [("customer_type", "个体工商户"), ("customer_type", "个体工商户"),
                                          ("loan_type", "经营贷")]),
    ("次日到账和实时到账有什么区别", [("transfer_type", "次日到账"), ("transfer_type", "实时到账")]),
    ("信用卡境外消费限额怎么调", [("card_type", "信用卡")]),
    ("atm一天能取多少", [("channel", "ATM")]),
    ("網銀轉賬限額", [("channel", "网上银行")]),
    ("买车贷款利率多少", [("loan_type", "汽车贷款")]),
])
def test_bank_terms_have_canonical_values(nlp, text, expected):
    assert entities(nlp, text) == expected


@pytest.mark.parametrize("text, amount", [
    ("我要转五千块钱给我儿子", 5000),
    ("转2万", 20000),
    ("¥3000.50", 3000.5),
    ("我为什么转不了5000", 5000),
    ("一点五万元", 15000),
])
def test_amounts_are_numbers(nlp, text, amount):
    assert ("amount", amount) in entities(nlp, text)


@pytest.mark.parametrize("text", [
    "2023年3月5号转的", "今天转了3笔", "我的手机13812345678", "卡号6222021234567890123丢了",
    "等了2小时", "我73岁了",
])
def test_dates_counts_and_long_numbers_are_not_amounts(nlp, text):
    assert [e for e in entities(nlp, text) if e[0] == "amount"] == []


def test_every_pattern_file_label_is_a_known_entity():
    labels = {p["label"] for p in spacy_pipeline.load_patterns()}
    assert labels == {"loan_type", "customer_type", "transfer_type", "card_type", "channel", "time_of_week",
                      "account_holder", "mobile_issue", "password_issue", "destination"}


def test_patterns_carry_their_canonical_value_as_id():
    patterns = spacy_pipeline.load_patterns()
    assert {"label": "loan_type", "pattern": "经营性贷款", "id": "经营贷"} in patterns
    assert {"label": "loan_type", "pattern": "经营贷", "id": "经营贷"} in patterns
