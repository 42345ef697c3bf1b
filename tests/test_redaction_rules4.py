"""Redaction rules 4 (nlp/redaction.py): the question found farther back (over the customer's 'let me look'
and the rep's 'take your time'), numbers volunteered with no question, groups ASR cut with full stops or
words, 艾克斯 for the ID's X, country codes, pairs, 两/洞/拐; e-mail addresses as ASR writes them (spelled,
with commas, c o m, the question three turns back, 'mend' for send); and the English look-alikes kept:
a personal word inside a look-alike's name (order ID, meeting ID, transaction ID), PO / ref / zip, a quantity
after a weak phone word ('on the call … units'), pieces that are amounts,
round numbers one after the other."""

from __future__ import annotations

import pytest

from callscope.models.document import Transcript
from callscope.nlp.redaction import RULES_VERSION, redact_transcript
from tests.test_redaction_speech import _dialogue, _digits_left


def _redacted_last(*lines: tuple[str, str], language: str) -> Transcript:
    transcript = _dialogue(*lines, language=language)
    redact_transcript(transcript)
    return transcript


def test_rules_version_is_4_or_later() -> None:
    assert RULES_VERSION >= 4


@pytest.mark.parametrize("lines", [
    # the question three turns back, over the customer's own wait (一下 is not a number) and the rep's
    (("rep", "您手机号多少？"), ("customer", "我看一下啊，我记不太清了。"), ("rep", "好的不急。"),
     ("customer", "一三八一二三四五六七")),  # a digit dropped: only the question says phone
    (("rep", "方便留个电话吗？"), ("customer", "可以可以，您记一下哈。"),
     ("customer", "一三八一二三四五六七")),
    (("rep", "方便留个电话吗？"), ("customer", "可以，您记一下。"), ("rep", "好，您说。"),
     ("customer", "一三八，一二三四，五六七")),
    # volunteered, no question
    (("rep", "那我们下周再约。"), ("customer", "行，有事打我电话，一三九一二三四五六七。")),
    (("rep", "那我们下周再约。"), ("customer", "好的，微信同号，一三九 一二三四 五六七八。")),
    (("rep", "好的。"), ("customer", "有事找我，一三九一二三四五六七")),
    (("rep", "好的。"), ("customer", "加我威信，一三八一二三四五六七")),  # ASR's 威信 for 微信
    # ASR's full stops and words between the groups, mixed numerals, country codes, 两 洞 拐
    (("rep", "您的手机号？"), ("customer", "一三八。一二三四。五六七八。")),
    (("rep", "您的手机号？"), ("customer", "一三八就是一二三四然后五六七八")),
    (("rep", "您的手机号？"), ("customer", "138两四五六，七八九零")),
    (("rep", "您的手机号？"), ("customer", "加八六一三八一二三四五六七八")),
    (("rep", "您的手机号？"), ("customer", "0086 138 1234 5678")),
    (("rep", "您的手机号？"), ("customer", "幺拐拐，两洞洞洞，幺两三四")),
    (("rep", "您的手机号？"), ("customer", "一三八一二三四五六七八九")),  # a digit added
    # an ID of 17 digits and X said as 叉 or 艾克斯; a card of 19 digits; a bank's short name; paying by card
    (("rep", "身份证号码报一下。"), ("customer", "三一零一零四一九九七零五一七四二叉")),
    (("rep", "身份证号码报一下。"), ("customer", "31010419970517421艾克斯")),
    (("rep", "卡号多少？"), ("customer", "六二二二 零二一二 三四五六 七八九零 一二三")),
    (("rep", "用哪张卡付？"), ("customer", "建行的，6217 0012 3456 7890 123")),
    (("rep", "怎么付款？"), ("customer", "刷卡，6222 0212 3456 7890 124")),
])
def test_personal_numbers_zh(lines: tuple[tuple[str, str], ...]) -> None:
    last = _redacted_last(*lines, language="zh").turns[-1]
    assert last.redactions, last.text
    assert _digits_left(last.text) < 4, last.text


@pytest.mark.parametrize("lines", [
    (("rep", "What's a good number for you?"), ("customer", "Hold on, let me pull it up."),
     ("rep", "Sure, take your time."), ("customer", "It's 415 555 267.")),  # a digit dropped
    (("rep", "Thanks for your time today."), ("customer", "You can reach me on 415 555 2671 any time.")),
    (("rep", "Okay."), ("customer", "You can get me on 415 555 267.")),
    (("rep", "Okay."), ("customer", "Ring me on 07700 900 123.")),
    (("rep", "Thanks for your time today."),
     ("customer", "My cell's four one five, uh, five five five, two six seven one.")),
    (("rep", "What's your number?"),
     ("customer", "One three eight uh one two three four, five six seven eight.")),
    (("rep", "What's your number?"), ("customer", "415 five five five 2671.")),
    (("rep", "Thanks, bye."), ("customer", "Sure, 415 uh 555 2671.")),  # a hesitation inside, no context word
    (("rep", "What's your number?"), ("customer", "It's plus one, 415-555-2671.")),
    (("rep", "What's your number?"),
     ("customer", "Twenty one, forty seven, thirty three, eighteen, ninety.")),
    (("rep", "What's your number?"), ("customer", "4-1-5. 5-5-5. 2-6-7-1.")),
    (("rep", "My phone?"), ("customer", "My phone is 415,555,267.")),  # ASR's thousands commas
    (("rep", "Which card should we bill?"), ("customer", "Charge it to 4111 1111 1111 111.")),
    (("rep", "Which card should we bill?"), ("customer", "Put it on my Amex, 3782 822463 10005.")),
    (("rep", "How would you like to pay?"), ("customer", "4111 1111 1111 1112.")),  # no Luhn
])
def test_personal_numbers_en(lines: tuple[tuple[str, str], ...]) -> None:
    last = _redacted_last(*lines, language="en").turns[-1]
    assert last.redactions, last.text
    assert sum(ch.isdigit() for ch in last.text) < 4, last.text


@pytest.mark.parametrize(("lines", "language"), [
    ((("rep", "What's your email?"), ("customer", "It's j o h n at gmail dot com.")), "en"),
    ((("rep", "What's your email?"), ("customer", "M-A-R-Y dot Jones at outlook dot com.")), "en"),
    ((("rep", "What's your email?"), ("customer", "It's M, A, R, Y, at outlook dot com.")), "en"),
    ((("rep", "What's your email?"), ("customer", "John, at Gmail, dot com.")), "en"),
    ((("rep", "What's your email?"), ("customer", "John add Acme dot com.")), "en"),
    ((("rep", "What's your email?"),
      ("customer", "Yeah sure, it's jsmith and acme dot com, that's the best one to use for all of the "
                   "paperwork okay.")), "en"),  # a long reply, 'at' heard as 'and'
    ((("rep", "What's your email?"), ("customer", "john underscore smith at acme dot co dot uk")), "en"),
    ((("rep", "What's your email?"), ("customer", "It's mary dot jones at north wind dot io.")), "en"),
    ((("rep", "What's your email?"), ("customer", "It's tom at acme dot c o m.")), "en"),
    ((("rep", "What's your email?"), ("customer", "Hold on."), ("rep", "Sure."),
      ("customer", "Tom Baker at acme dot com.")), "en"),
    ((("rep", "Where should I mend the contract?"),
      ("customer", "And it's become not make a lot of luck not come.")), "en"),  # phone band
    ((("rep", "您邮箱多少？"), ("customer", "z h a n g s a n 艾特 qq 点 com")), "zh"),
    ((("rep", "您邮箱多少？"), ("customer", "zhangsan，艾特163，点com")), "zh"),
    ((("rep", "您邮箱多少？"), ("customer", "wang下划线wei艾特163点com")), "zh"),
    ((("rep", "您邮箱多少？"), ("customer", "李娜的拼音，lina，圈a，一二六点com")), "zh"),
    ((("rep", "您邮箱多少？"), ("customer", "一二三四五六七八九@qq.com")), "zh"),
])
def test_addresses_as_asr_writes_them(lines: tuple[tuple[str, str], ...], language: str) -> None:
    last = _redacted_last(*lines, language=language).turns[-1]
    assert [r.kind for r in last.redactions] == ["email"], last.text
    assert "@" not in last.text and "com" not in last.text.lower(), last.text


@pytest.mark.parametrize(("question", "answer"), [
    ("What's the order?", "The order ID is 4155552671."),
    ("Can you send the invite?", "Sure, the meeting ID is 845 2931 0077."),
    ("Got it.", "The transaction ID is 8842 1937 5521."),
    ("Which PO?", "PO 4155552671, approved last week."),
    ("Got it.", "Our ref 4155552671 covers it."),
    ("Got it.", "Confirmation 2125550143, for the webinar."),
    ("What's the tracking?", "It's 7749 1234 5678 with FedEx."),
    ("Got it.", "The policy number is 3125550199."),
    ("Got it.", "Serial number 6175550123 on the back."),
    ("What's your customer number?", "The invoice number is 4155552671."),
    ("What's the zip?", "Zip code 94107 1234, suite 300."),
    ("Budget?", "About 2,500,000 dollars, maybe 3,000,000."),
    ("How long?", "From 2019 to 2024, and 2025 too."),
    ("When?", "On 03 15 2025 at 10 30."),
    ("Timeline?", "We went from 2021 to 2022 to 2023 for this."),
    ("How many?", "We have 1200 seats, 15 percent growth, 3500 users."),
    ("Let me call you back.", "Sure, on the call we said 2024 was 4155552 units."),
    ("Who's the contact?", "Our contact handled 4,500 tickets in 2024."),
    ("What's the case?", "Case 03152025 is still open."),
    ("Got it.", "The account ID on the invoice is 7731 2290 45."),
    ("Our phone bill?", "Our phone bill was 1,250,000 last year."),
    # round numbers one after the other are quantities, whatever word ('numbers', 'call') is near
    ("How did Q3 go?", "Our numbers were 1200, 1350, 1500 and 1800 last quarter."),
    ("How busy is the team?", "Call volume went from 1500 to 2000 to 2500 a day."),
    ("Any questions?", "What's the number for the 2025 renewal, 48000?"),
    ("Which line item?", "Line 14, part 7731-2290-45, quantity 20."),
    ("And spend?", "We spent 2,150,000 in 2024 and 2,400,000 in 2025."),
    ("Team size?", "We had 2 uh 3 people on it, 12 uh 15 next year."),
])
def test_english_look_alikes_are_kept(question: str, answer: str) -> None:
    transcript = _redacted_last(("rep", question), ("customer", answer), language="en")
    assert transcript.turns[1].text == answer


@pytest.mark.parametrize("lines", [
    (("rep", "订单号多少？"), ("customer", "订单号是二零二四一零一五零零一四五一。")),
    (("rep", "会议号多少？"), ("customer", "腾讯会议号是845 293 1007。")),
    (("rep", "快递单号？"), ("customer", "顺丰的，SF1234567890123。")),
    (("rep", "好的。"), ("customer", "我们去年营收一三八零零万。")),
    (("rep", "您的手机号？"), ("customer", "手机号等一下，先说一下，我们要采购1380台。")),
    (("rep", "价格微信发我吧。"), ("customer", "好的，邮编200120，地址我也发你。")),
    # a wait does not carry an old question over a new one
    (("rep", "您手机号多少？"), ("customer", "稍等。"), ("rep", "这次采购多少台？"),
     ("customer", "一千三百八十台。")),
])
def test_mandarin_look_alikes_are_kept(lines: tuple[tuple[str, str], ...]) -> None:
    transcript = _redacted_last(*lines, language="zh")
    assert [t.text for t in transcript.turns] == [text for _, text in lines]


@pytest.mark.parametrize(("lines", "language"), [
    # a 19-digit card read four at a time, the rep's 嗯 after each group: five parts
    ((("rep", "卡号多少？"), ("customer", "六二二二"), ("rep", "嗯"), ("customer", "零二一二"), ("rep", "嗯"),
      ("customer", "三四五六"), ("rep", "嗯"), ("customer", "七八九零"), ("rep", "嗯"),
      ("customer", "一二三")), "zh"),
    # the rep asks for the rest again: the number goes on over the question
    ((("rep", "What's your number?"), ("customer", "415 555"),
      ("rep", "Sorry, could you repeat the last part?"), ("customer", "2671.")), "en"),
    ((("rep", "您手机号？"), ("customer", "一三八一二三四"), ("rep", "不好意思，后面几位再说一下？"),
      ("customer", "五六七八。")), "zh"),
])
def test_a_number_goes_on_over_back_channels_and_a_repeat_request(
        lines: tuple[tuple[str, str], ...], language: str) -> None:
    transcript = _redacted_last(*lines, language=language)
    customer = [t for t in transcript.turns if t.role == "customer"]
    assert all(t.redactions for t in customer), [t.text for t in customer]
    assert all(_digits_left(t.text) == 0 for t in customer), [t.text for t in customer]
