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


def test_names_said_in_free_text_are_masked_for_the_content_team():
    from bot.masking import mask_personal

    cases = {
        "我叫张丽想问一下转账": "我叫张*想问一下转账",
        "户名：王建明，卡号6222020200112233445": "户名：王*明，卡号**** **** **** 3445",
        "张丽女士的卡丢了": "张*女士的卡丢了",
        "本人是刘德华": "本人是刘*华",
        "我的名字是 赵四 电话13812345678": "我的名字是 赵* 电话138****5678",
        "转给陈一": "转给陈*",
    }
    for said, shown in cases.items():
        assert mask_personal(said) == shown, said
    # a surname alone, a form of address alone and sentences without a name stay as they are
    for said in ("我姓王", "王先生你好", "我是个体工商户", "我是老年人，不会用手机", "给我老伴转钱", "", "5000块"):
        assert mask_personal(said) == said, said
