"""Redaction of personal numbers and addresses (nlp/redaction.py): what is found, what is kept, times."""

from __future__ import annotations

import json

import pytest

from callscope.models.document import Transcript, Turn, Word
from callscope.nlp.redaction import classify, find, redact_text, redact_transcript

PERSONAL_ZH = [
    ("我的手机号是13812345678，有事打给我。", "[电话]"),
    ("我的手机是一三八一二三四五六七八。", "[电话]"),
    ("幺三八 幺二三四 五六七八", "[电话]"),
    ("电话是010-62345678", "[电话]"),
    ("座机零幺零 六二三四 五六七八", "[电话]"),
    ("身份证号码是110105199003071234。", "[身份证]"),
    ("身份证是11010519900307123。", "[身份证]"),  # a digit dropped by ASR: the context says ID
    ("卡号是6222021234567890128。", "[银行卡]"),
    ("我的银行卡号6222 0212 3456 7890 123", "[银行卡]"),
    ("邮箱是zhangsan艾特qq点com。", "[邮箱]"),
    ("邮箱是幺二三四五六七八九艾特一六三点com", "[邮箱]"),
    ("加我微信吧，一八六 零二一二 三三四四", "[电话]"),
    ("我电话是0755-26881234", "[电话]"),
    ("我的卡是招商银行的，6225 8801 2345 6789", "[银行卡]"),  # no Luhn: the bank says card
    ("我身份证后面是一九九零零三零七一二三四", "[身份证]"),
    ("身份证号 44030519880101123X", "[身份证]"),
    ("我邮箱是 wangfang 艾特 163 点 com", "[邮箱]"),
]
PERSONAL_EN = [
    ("My number is one three eight, one two three four, five six seven eight.", "[phone]"),
    ("You can call me at four one five, five five five, two six seven one.", "[phone]"),
    ("call me at double five one, 2345 6789", "[phone]"),
    ("My email is john dot smith at gmail dot com.", "[email]"),
    ("Send it to j o h n at acme dot io please", "[email]"),
    ("My card number is 4532 0151 1283 0366.", "[card]"),
    ("Account number is 1234 5678 9012 34", "[card]"),
    ("my account is 9876 5432 1098", "[card]"),
    ("you can text me at 212 555 0147", "[phone]"),
    ("reach me at plus forty four seven nine one one one two three four five six", "[phone]"),
    ("email me at lisa.wong@acme.co.uk", "[email]"),
    ("my ID number is one one zero one zero five one nine nine zero zero three zero seven one two three four",
     "[id]"),
]
LOOK_ALIKES = [
    "这个方案一共是一万两千八百元。",
    "订单号是13812345678。",
    "我们订了1380台，总价12800元。",
    "2024年3月15日签合同。",
    "下单数量是一百二十台",
    "订单编号20241015003876",
    "Visit us at callscope dot com",
    "The order number is 4532015112830366.",
    "The total is 1,280,000 dollars for 500 seats.",
    "We signed on 2024-03-15 and paid $45,000.",
    "我们明年预计采购三千台，单价一千二百八十元",
    "二零二五年六月三十号之前交付",
    "We'll need 13800 seats by 2026",
    "PO number 4500012345 please",
    "优惠价 13999 元",
    "库存编号 62220212345678",
    "it's at 3 pm on the 15th, room 1208",
    "第13812345678位客户",
    "我们银行有一万三千八百名员工",
]


@pytest.mark.parametrize(("text", "mark"), PERSONAL_ZH + PERSONAL_EN)
def test_personal_numbers_are_replaced(text: str, mark: str) -> None:
    out = redact_text(text, "en" if text.isascii() else "zh")
    assert mark in out
    assert not any(ch.isdigit() for ch in out)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_kept(text: str) -> None:
    assert redact_text(text, "en" if text.isascii() else "zh") == text


def test_checksums_decide_without_context() -> None:
    assert classify("110105199003071234") == ("id", "110105199003071234")
    assert classify("6222021234567890128")[0] == "card"
    assert classify("13812345678") == ("phone", "+8613812345678")
    assert classify("13812345678", context="neg") is None
    assert classify("12345678") is None
    assert classify("1234567890123", context="card") == ("card", "1234567890123")


def _turn(start: float, speaker: str, role: str, pieces: list[str], language: str = "zh") -> Turn:
    words, t = [], start
    for piece in pieces:
        words.append(Word(t, t + 0.4, piece))
        t += 0.4
    return Turn(start, t, speaker, role, "".join(pieces), language=language, words=words)


def test_transcript_redaction_keeps_times_and_never_serialises_values() -> None:
    transcript = Transcript(duration=20.0, language="zh", layout="stereo", turns=[
        _turn(0.0, "S0", "rep", ["请问", "您的", "手机号", "是", "多少", "？"]),
        _turn(3.0, "S1", "customer", ["一三八", "一二三四", "，"]),
        _turn(5.0, "S0", "rep", ["嗯", "。"]),
        _turn(6.0, "S1", "customer", ["五六七八", "。"]),
        _turn(9.0, "S1", "customer", ["身份证", "是", "110105199003071234", "。"]),
    ])
    found = redact_transcript(transcript)
    assert [f.kind for f in found] == ["phone", "phone", "id"]
    tail, head, ident = transcript.turns[1], transcript.turns[3], transcript.turns[4]
    assert tail.text.startswith("[电话]") and head.text.startswith("[电话]")
    assert tail.redactions[0].kind == "phone" and tail.redactions[0].start == pytest.approx(3.0)
    assert tail.redactions[0].end == pytest.approx(3.8)
    assert ident.text == "身份证是[身份证]。"
    assert (ident.redactions[0].start, ident.redactions[0].end) == pytest.approx((9.8, 10.2))
    assert [w.text for w in ident.words] == ["身份证", "是", "[身份证]", "。"]
    dumped = json.dumps(transcript.to_dict(), ensure_ascii=False)
    for secret in ("1234", "110105", "五六七八", "+86"):
        assert secret not in dumped
    again = Transcript.from_dict(transcript.to_dict())
    assert again.turns[4].redactions[0].kind == "id"


def test_find_reports_values_for_hashing() -> None:
    transcript = Transcript(duration=5.0, language="en", layout="mono", turns=[
        _turn(0.0, "S1", "customer", ["My", " phone", " is", " 415", " 555", " 2671"], "en")])
    transcript.turns[0].text = "My phone is 415 555 2671"
    (hit,) = find(transcript)
    assert (hit.kind, hit.value) == ("phone", "+14155552671")


def _dialogue(*lines: tuple[str, str], language: str = "en") -> Transcript:
    turns, t = [], 0.0
    for role, text in lines:
        turns.append(Turn(t, t + 3.0, "S0" if role == "rep" else "S1", role, text, language=language))
        t += 3.5
    return Transcript(duration=t, language=language, layout="stereo", turns=turns)


def test_what_asr_writes_in_answers() -> None:
    """ASR's versions of an answer to a question for a number or an address (from the renders)."""
    cases = [
        (("rep", "And your email address?"), ("customer", "It's Maria Attack Minotio."), "[email]"),
        (("rep", "方便留个邮箱吗？"), ("customer", "My mail is nyat163.com."), "[email]"),
        (("rep", "What's the best number to reach you?"), ("customer", "My share is 415, I made 4458, 5, 8."),
         "[phone]"),
        (("rep", "您的联系变化是多少？"), ("customer", "以及1假要3836486案。"), "[电话]"),
    ]
    for question, answer, mark in cases:
        transcript = _dialogue(question, answer, language="zh" if mark == "[电话]" else "en")
        redact_transcript(transcript)
        assert mark in transcript.turns[1].text, transcript.turns[1].text
        assert not any(ch.isdigit() for ch in transcript.turns[1].text.replace("1假", ""))


def test_a_website_is_not_an_address() -> None:
    transcript = _dialogue(("rep", "Where can I read more?"),
                           ("customer", "Minutes at Northwind.com for the details."))
    redact_transcript(transcript)
    assert transcript.turns[1].text == "Minutes at Northwind.com for the details."


def test_phone_band_soundalikes_of_digits_count_beside_real_digits() -> None:
    """Over a phone line "five" comes out as "time", "seven" as "heaven", "zero" as "near" (the band loses
    the fricatives): beside a real digit, in an answer to a question for a number, they are digits."""
    cases = [
        ("Can I get a phone number?",
         "Sure, it's too neer-o-pig. Eight-four-three, time and time two-three."),
        ("What's the best number to reach you?", "my helmet 6 time, mirrored 94, heaven 1431,"),
        ("How do I reach you directly?", "call me on to mirror 56, time, time 1, time 28,"),
    ]
    for question, answer in cases:
        transcript = _dialogue(("rep", question), ("customer", answer))
        redact_transcript(transcript)
        assert "[phone]" in transcript.turns[1].text, transcript.turns[1].text
        assert sum(ch.isdigit() for ch in transcript.turns[1].text) < 4, transcript.turns[1].text


@pytest.mark.parametrize("text", [
    "I made it in time for the demo, even the team came.",
    "We ate the cost for 3 years, and to be fair it was fine.",
    "It's time to sign: 12 seats for 2 years, fine by me.",
])
def test_soundalikes_alone_are_words(text: str) -> None:
    transcript = _dialogue(("rep", "What's the best number to reach you?"), ("customer", text))
    redact_transcript(transcript)
    assert transcript.turns[1].text == text


def test_a_short_reply_to_an_address_question_that_ends_like_one_is_taken_whole() -> None:
    """ASR garbles a spoken address over a phone line past any pattern, but the reply to 'your e-mail?'
    still ends as one ("not calm" for "dot com"): taken whole; the same words after another question
    stay."""
    for answer in ("If we cannot not win.com.", "mymail.my.up153.com", "It's seeking us not when not come."):
        transcript = _dialogue(("rep", "And your email address?"), ("customer", answer))
        redact_transcript(transcript)
        assert transcript.turns[1].text.startswith("[email]"), transcript.turns[1].text
        kept = _dialogue(("rep", "Where can I read more?"), ("customer", answer))
        redact_transcript(kept)
        assert kept.turns[1].text == answer
