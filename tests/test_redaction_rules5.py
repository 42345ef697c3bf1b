"""Redaction rules 5 (nlp/redaction.py): cue stretches. Where a personal word asked for a number (手机,
身份证, 卡号, 'cell', 'card number' … in the turn, or in the question it answers), the digits and the words
phone-band ASR heard for digits (期 for 七, 酒 for 九, 'fire' for five, 'sticks' for six), with a garbled
word or two between, are redacted as one number, over ASR's segment break too, and in the audio's spans;
a spoken address's shape ('… add … not …') after a question for one. Look-alikes in a personal context
(a price, a date, a quantity, an order number, a hotline) are kept. The utterances are new phrasings,
written for these rules, in none of the evaluation sets."""

from __future__ import annotations

import re

import pytest

from callscope.models.document import Transcript
from callscope.nlp.redaction import RULES_VERSION, redact_text, redact_transcript
from tests.test_redaction_speech import _dialogue


def _redacted(*lines: tuple[str, str], language: str) -> Transcript:
    transcript = _dialogue(*lines, language=language)
    redact_transcript(transcript)
    return transcript


_SAID_DIGIT = re.compile(r"\d|[零一二三四五六七八九幺]|\b(?:one|two|three|four|five|six|seven|eight|nine)\b",
                         re.IGNORECASE)


def _assert_all_redacted(lines: tuple[tuple[str, str], ...], language: str) -> None:
    """Every customer turn that says digits is redacted, and no four of them are left in any turn."""
    transcript = _redacted(*lines, language=language)
    texts = [t.text for t in transcript.turns]
    for (role, said), turn in zip(lines, transcript.turns, strict=True):
        if role == "customer" and _SAID_DIGIT.search(said):
            assert turn.redactions, texts
        assert len(_SAID_DIGIT.findall(turn.text)) < 4, texts


def test_rules_version_is_at_least_5() -> None:
    assert RULES_VERSION >= 5  # rules 6: tests/test_redaction_rules6.py


@pytest.mark.parametrize("lines", [
    # digits heard as other characters inside the number
    (("rep", "您手机号多少？"), ("customer", "幺三九期八八幺，二酒四六")),
    (("rep", "麻烦报一下卡号。"), ("customer", "六二二八期，四四酒零，三三二一，八八六")),
    (("rep", "加个微信吧？"), ("customer", "好，微信号幺八六，期期二，三四五")),
    # a garbled character or two between the groups
    (("rep", "您的电话是？"), ("customer", "一八九，那个，五五二，零零七四")),
    # ASR's segment break right after the personal word, and inside the number
    (("rep", "好的。"), ("customer", "我手机号是"), ("customer", "一五八二三四期六七八")),
    (("rep", "证件号码多少？"), ("customer", "四四零三零五一酒八"), ("customer", "零二二四七三二七")),
])
def test_garbled_numbers_zh(lines: tuple[tuple[str, str], ...]) -> None:
    _assert_all_redacted(lines, "zh")


@pytest.mark.parametrize("lines", [
    # phone-band words for digits between the groups
    (("rep", "What's the best number to call you on?"),
     ("customer", "Sure, it's 312, fire 55, 8 sticks 21.")),
    (("rep", "Can I get your cell?"), ("customer", "Yeah, six four six, line night for, to two.")),
    # garbled words between the groups that no list holds
    (("rep", "Which card do you want on file?"), ("customer", "Use 5521 blue house 8830 the 1276 4409.")),
    (("rep", "Could I get a number for you?"), ("customer", "917 sure man 44 2, 9 1 8.")),
    # the segment break after 'my mobile number is', and the rest in the next segment
    (("rep", "Okay."), ("customer", "My mobile number is"),
     ("customer", "six four six, two, nine uh one, 44.")),
    (("rep", "Your ID number?"), ("customer", "It's 7 7 3 row 1"), ("customer", "8 8 4 2 2.")),
    (("rep", "Your cell number?"), ("customer", "It's 415? Heaven 55? 2671.")),  # a list's rising voice
    # a garbled word at the segment break
    (("rep", "And your mobile?"), ("customer", "It's 646 heaven 5"), ("customer", "Marvin 2 1 4 4.")),
    # the cue a sentence back in the turn
    (("rep", "Anything else?"),
     ("customer", "Use my cell phone, as I'm rarely at my desk, it's 415 heaven 55 time 2671 thanks.")),
    # a hesitation before the segment break
    (("rep", "Your cell?"), ("customer", "It's 415 heaven 55 uh"), ("customer", "2671 yeah.")),
])
def test_garbled_numbers_en(lines: tuple[tuple[str, str], ...]) -> None:
    _assert_all_redacted(lines, "en")


@pytest.mark.parametrize(("lines", "language"), [
    ((("rep", "Best way to reach you?"), ("customer", "Cellphone, 0412 345 678.")), "en"),
    ((("rep", "Anything else?"), ("customer", "My telephone is 020 7946 0958 at home.")), "en"),
    ((("rep", "请问怎么联系您？"), ("customer", "加我QQ，三八九四七二六五一")), "zh"),
    ((("rep", "需要登记一下证件。"), ("customer", "我用港澳通行证，C一二三四五六七八")), "zh"),
    ((("rep", "还要登记一下。"), ("customer", "医保卡号是一二三四五六七八九零")), "zh"),
])
def test_more_personal_words(lines: tuple[tuple[str, str], ...], language: str) -> None:
    _assert_all_redacted(lines, language)


def test_a_stretch_over_a_segment_break_has_its_times_in_both_segments() -> None:
    transcript = _redacted(("rep", "What's your cell?"), ("customer", "It's four one six, for"),
                           ("customer", "3 2 seven 7, 1 9."), language="en")
    first, second = transcript.turns[1], transcript.turns[2]
    assert first.redactions and second.redactions, (first.text, second.text)
    for turn in (first, second):
        assert all(turn.start <= r.start <= r.end <= turn.end for r in turn.redactions)


@pytest.mark.parametrize(("lines", "language"), [
    ((("rep", "What's your email?"), ("customer", "Yes, it's Kevin add a brain not cow.")), "en"),
    ((("rep", "Where do I send the quote?"), ("customer", "It's l chang and point nexus lot org.")), "en"),
    ((("rep", "How can I get hold of you?"),
      ("customer", "Drop me a line, tara at tara design dot studio.")), "en"),  # a newer top-level domain
    ((("rep", "And the email?"), ("customer", "Reed at icloud.")), "en"),  # a provider, its domain unsaid
])
def test_an_address_by_its_shape(lines: tuple[tuple[str, str], ...], language: str) -> None:
    last = _redacted(*lines, language=language).turns[-1]
    assert [r.kind for r in last.redactions] == ["email"], last.text


@pytest.mark.parametrize(("lines", "language"), [
    ((("rep", "您手机号多少？"), ("customer", "我这手机是去年三月份买的，花了四千九百九十九块。")), "zh"),
    ((("rep", "您的账号是多少？"), ("customer", "我们账号下面有二十五个子账号，一年一千二百块。")), "zh"),
    ((("rep", "您电话多少？"), ("customer", "先说订单号吧，二零二四一一零八三三五。")), "zh"),
    ((("rep", "您电话多少？"), ("customer", "有事打客服热线九五五五五就行。")), "zh"),
    ((("rep", "电话会议几点？"), ("customer", "下周三下午三点半，大概四十五分钟。")), "zh"),
    ((("rep", "What's your cell number?"),
      ("customer", "I'm driving, can I send it after 5 pm on Tuesday the 14th?")), "en"),
    ((("rep", "Can I get your phone number?"),
      ("customer", "Sure, but first the order number is 7731 4420 19.")), "en"),
    ((("rep", "Which card did you use?"),
      ("customer", "The one that expired in 2023, it was for 120 dollars.")), "en"),
    ((("rep", "How many phone lines do you have?"),
      ("customer", "About 40 to 45 lines, maybe 50 next year.")), "en"),
    ((("rep", "What's your email?"), ("customer", "I'd rather not say, call the office and ask.")), "en"),
    ((("rep", "Your cell number?"), ("customer", "Sure, 646 22, right? And 4 more seats.")), "en"),
    ((("rep", "Anything else?"),
      ("customer", "Our phone system is old, we bought it years ago, it has 415 heaven 55 lines.")), "en"),
    # codes: a dial-in and its passcode, a verification code sent to the phone
    ((("rep", "How do I join the call?"),
      ("customer", "The dial-in is 800 555 0199, passcode 44172.")), "en"),
    ((("rep", "您手机收到验证码了吗？"), ("customer", "收到了，验证码是四七二酒一八。")), "zh"),
    # a business's number: toll-free, 400; a cost center
    ((("rep", "What's the support line?"), ("customer", "Our support line is 1-800-555-0199.")), "en"),
    ((("rep", "How do I call you guys?"), ("customer", "Call our toll-free number, 888 555 0142.")), "en"),
    ((("rep", "您电话多少？"), ("customer", "打我们的服务电话，四零零八二零八八二零。")), "zh"),
    ((("rep", "And the routing?"),
      ("customer", "The routing is handled by our AP team, cost center 4410-220.")), "en"),
])
def test_look_alikes_in_a_personal_context_are_kept(lines: tuple[tuple[str, str], ...],
                                                    language: str) -> None:
    transcript = _redacted(*lines, language=language)
    assert [t.text for t in transcript.turns] == [text for _, text in lines]


def test_one_placeholder_over_the_stretch_and_the_pieces_found_in_it() -> None:
    assert redact_text("My cell is 312, fire 55, 8 sticks 21.", "en") == "My cell is [phone]."
    assert redact_text("我手机号是幺三九期八八幺，二酒四六") == "我手机号是[电话]"


@pytest.mark.parametrize("text", ["我手机号是幺三九期八八幺，二酒四六",
                                  "My cell is 312, fire 55, 8 sticks 21.",
                                  # a placeholder is no cue for the digits after it
                                  "Anything else? 4155552671, and then 5 heaven 5 5 5."])
def test_redacting_again_changes_nothing(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once != text
