"""limit_raise_form: the customer's own words -> values core banking accepts."""
import pytest

from actions.accounts import raise_channel_from, verification_from
from actions.overseas import limit_from


@pytest.mark.parametrize("text, channel", [
    ("手机银行", "手机银行"), ("就是手机上那个app", "手机银行"), ("网银", "网上银行"),
    ("网上银行吧", "网上银行"), ("atm", "ATM"), ("微信", "微信"), ("柜台", None), ("不知道", None),
])
def test_channel(text, channel):
    assert raise_channel_from(text) == channel


@pytest.mark.parametrize("text, method", [
    ("刷脸", "face"), ("人脸识别", "face"), ("U盾", "ushield"), ("u 盾", "ushield"),
    ("短信验证码", "sms"), ("就用验证码", "sms"), ("随便", None),
])
def test_verification(text, method):
    assert verification_from(text) == method


@pytest.mark.parametrize("value, amount", [("10万", 100000.0), ("五万块", 50000.0), ("20000元", 20000.0),
                                           (30000, 30000.0), ("不知道", 0.0)])
def test_amount(value, amount):
    assert limit_from(value) == amount
