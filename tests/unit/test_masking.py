from bot.masking import mask_text


def test_card_numbers_keep_only_the_last_four_digits():
    assert mask_text("卡号6222021234567890123") == "卡号**** **** **** 0123"
    assert mask_text("6222 0212 3456 7890") == "**** **** **** 7890"
    assert mask_text("16位6228480402564890") == "16位**** **** **** 4890"


def test_id_numbers_are_masked_not_mistaken_for_cards():
    assert mask_text("身份证11010119900307123X") == "身份证110*************3X"
    assert mask_text("身份证110101199003071234") == "身份证110*************34"


def test_mobile_numbers_are_masked():
    assert mask_text("电话13812345678") == "电话138****5678"


def test_amounts_and_short_numbers_are_left_alone():
    text = "转账5000元，尾号1234，2026年11月23日"
    assert mask_text(text) == text
