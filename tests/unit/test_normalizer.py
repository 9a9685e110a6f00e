"""The text normaliser: what every message looks like before the NLU sees it."""
import pytest

from bot.nlu.normalizer import (
    MAX_NLU_CHARS,
    Normalizer,
    apply_corrections,
    clean_characters,
    default_normalizer,
    numerals_to_digits,
    to_simplified,
)


@pytest.fixture(scope="module")
def normalize() -> Normalizer:
    return default_normalizer()


@pytest.mark.parametrize("text, expected", [
    ("五千块", "5000块"),
    ("2万", "20000"),
    ("转两万五", "转25000"),
    ("一点五万元", "15000元"),
    ("1.5万", "15000"),
    ("3千块", "3000块"),
    ("二十万", "200000"),
    ("两千五百块", "2500块"),
    ("五块", "5块"),
    ("我今年七十三岁了", "我今年73岁了"),
])
def test_chinese_numerals_and_magnitudes_become_numbers(text, expected):
    assert numerals_to_digits(text) == expected


@pytest.mark.parametrize("text", ["十分感谢", "千万别冻结", "万一丢了怎么办", "查一下余额", "一张卡", "快一点"])
def test_words_containing_numerals_are_left_alone(text):
    assert numerals_to_digits(text) == text


def test_traditional_becomes_simplified():
    assert to_simplified("請問網上銀行轉賬限額是多少") == "请问网上银行转账限额是多少"


def test_full_width_becomes_half_width_and_noise_is_removed():
    assert clean_characters("ＡＴＭ取款５０００元！") == "ATM取款5000元!"
    assert clean_characters("我 想  转账\u200b 😀😀 ") == "我想转账"
    assert clean_characters("手机银行 APP 登录") == "手机银行 APP 登录"


def test_typo_corrections_prefer_the_longest_match():
    corrections = {"人功": "人工", "转人功": "转人工", "转帐": "转账"}
    assert apply_corrections("我要转人功，转帐失败", corrections) == "我要转人工，转账失败"


def test_the_whole_chain_on_a_messy_elderly_message(normalize):
    text = "我係退休嘅老人，想用手機銀行轉五千塊俾我個仔，點解話超過限額？😭"
    result = normalize(text)
    assert "手机银行" in result and "5000" in result and "限额" in result
    assert "😭" not in result


def test_typo_file_is_applied(normalize):
    assert normalize("转帐现额是多少") == "转账限额是多少"


def test_button_payloads_are_not_touched(normalize):
    payload = '/inform{"amount": 5000, "loan_type": "经营贷"}'
    assert normalize(payload) == payload


def test_empty_and_huge_messages(normalize):
    assert normalize("") == ""
    assert normalize("   ") == ""
    huge = "我想问一下转账限额" * 500
    assert len(normalize(huge)) == MAX_NLU_CHARS
