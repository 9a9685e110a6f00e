"""Facts picked out of what the customer wrote: when, where, a phone number, the last 4 digits.

Forms use these to fill every slot the customer already gave ("我要投诉 昨天下午在人民路支行
排队两个小时都没人管" -> when: 昨天下午, where: 人民路支行) and to check a free-text answer.
Text is normalised first (full-width, Traditional, Chinese numerals: 十二月十号 -> 12月10号).
"""
from __future__ import annotations

import re
from typing import Optional

from bot.nlu.normalizer import default_normalizer

_DAY = (r"(?:今天|昨天|前天|大前天|刚才|刚刚|上周[一二三四五六日天]?|这周[一二三四五六日天]?|本周[一二三四五六日天]?"
        r"|上个?(?:星期|礼拜)[一二三四五六日天]?|(?:星期|礼拜|周)[一二三四五六日天]"
        r"|上个月|这个月|月初|月底|\d{1,2}月\d{1,2}[日号]|\d{1,2}[日号])")
_PART_OF_DAY = r"(?:早上|上午|中午|下午|傍晚|晚上|夜里|凌晨)"
_CLOCK = r"(?:(?:\d{1,2}|[一二两三四五六七八九十]{1,3})点(?:半|\d{1,2}分?)?(?:左右)?)"
_WHEN = re.compile(rf"{_DAY}(?:{_PART_OF_DAY})?(?:{_CLOCK})?|{_PART_OF_DAY}{_CLOCK}?|{_CLOCK}")
# A travel date is a day, not "下个月": 12月10号, 10号, 下周三.
_TRAVEL_DAY = re.compile(r"\d{1,2}月\d{1,2}[日号]|(?<!\d)\d{1,2}[日号]|下(?:周|个?星期|个?礼拜)[一二三四五六日天]")
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,12}?(?:支行|分行|营业厅|营业部|分理处)")
# Words before a branch's name that are not part of it: "在人民路支行", "希望支行给个说法".
_PLACE_LEAD = re.compile(r"^.*(?:在|去|到|于|的|是|希望|要求|让|请|叫)")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# "我要投诉你们网点的柜员" says whom, not what happened: the form still asks.
_ONLY_WHOM = re.compile(r"(网点|柜员|支行|分行|银行|客服|经理|工作人员|保安|大堂)[的]?[\s。!！]*$")
_COMPLAINT_LEAD = re.compile(r"^\s*(?:我|我们)?(?:要|想|必须)?(?:投诉|举报|反映)(?:一下|你们的|你们)?[\s,，。:：!！]*")


def normalized(text: str) -> str:
    return default_normalizer()(text or "")


def time_phrase(text: str) -> Optional[str]:
    """The first time expression: 昨天下午, 上周五, 12月3号, 上午10点."""
    found = _WHEN.search(normalized(text))
    return found.group(0) if found else None


def travel_dates(text: str) -> Optional[str]:
    """The customer's words for the trip's dates, when they name a day (12月10号走，20号回来)."""
    text = normalized(text)
    return text.strip()[:60] if _TRAVEL_DAY.search(text) else None


def place_phrase(text: str) -> Optional[str]:
    """A branch named in the text: 人民路支行 (not "在网点", which names no branch)."""
    found = _PLACE.search(normalized(text))
    if not found:
        return None
    place = _PLACE_LEAD.sub("", found.group(0))
    return place if len(place) > 2 else None


def phone_number(text: str) -> Optional[str]:
    found = _PHONE.search(normalized(text).replace(" ", "").replace("-", ""))
    return found.group(0) if found else None


def last4_digits(text: str) -> Optional[str]:
    found = _LAST4.findall(normalized(text))
    return found[-1] if found else None


def complaint_story(text: str) -> Optional[str]:
    """What happened, from "我要投诉 <what happened>"; None if only the wish to complain was said."""
    whole = normalized(text).strip()
    rest = _COMPLAINT_LEAD.sub("", whole, count=1).strip()
    if rest != whole:  # "我要投诉 ..." : the story is what follows, unless it only names whom
        return rest if len(rest) >= 4 and not _ONLY_WHOM.search(rest) else None
    return whole if len(whole) >= 8 else None  # "你们乱扣我手续费，我要投诉": all of it
