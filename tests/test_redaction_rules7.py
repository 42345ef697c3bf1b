"""Redaction rules 7 (nlp/redaction.py, asked replies): the answer to a question for a personal number is
personal, even when ASR garbled it beyond any digit rule ('Green the number in' for a card read out after
'How would you like to pay?', 用。 for an address). Where the rep asked for the number itself and nothing
was found in the customer's reply, the reply (after its lead-in) is redacted as the kind asked; not when
it declines or defers (不方便, 我加你微信吧, "I'll email it over later"), only says 'go on' or waits, says
a quantity or a time, or when the question asked for no number (a phone system, 手机壳, an order number,
a pitch that mentions a phone). The phone-band replies are written like the ASR transcripts of the
evaluation sets; the others are new phrasings."""

from __future__ import annotations

import pytest

from callscope.models.document import Transcript
from callscope.nlp import redaction
from callscope.nlp.redaction import RULES_VERSION, redact_transcript
from callscope.nlp.resources import load_yaml
from tests.test_redaction_speech import _dialogue


def _redacted(*lines: tuple[str, str], language: str) -> Transcript:
    transcript = _dialogue(*lines, language=language)
    redact_transcript(transcript)
    return transcript


def test_rules_version_is_8() -> None:
    assert RULES_VERSION == 8  # rules 8 (read-outs) found more: stored calls are redacted again


def test_owner_words_are_data() -> None:
    assert {str(w) for w in load_yaml("redaction.yaml")["number_owners"]} == {"my", "your", "our"}
    assert {"my", "your", "our"} == redaction._NUMBER_OWNERS


@pytest.mark.parametrize(("language", "question", "reply", "kind", "kept"), [
    # phone band: the address's words heard as other words, no 'at', no 'dot'
    ("en", "And your email address?", "It's Maria Takmino Tio.", "email", "It's "),
    ("en", "Can I grab your e-mail?", "Sure, it's Jen Sweeney Atrium.", "email", "Sure, it's "),
    ("zh", "方便留个邮箱吗？我把资料发过去。", "用。", "email", ""),
    ("zh", "邮箱发您一份资料，邮箱是？", "And it's really young when they're not seeing a cat.", "email",
     ""),
    # every digit of a card lost, the question names the card only by paying; the reply says 'number'
    ("en", "How would you like to pay?", "Green the number in", "card", ""),
    # the digits heard as a quantity ('0.94K'), the question garbled too ('number to reach you')
    ("en", "What's the best Humber 3 tube?", "My helmet is 6 times 0.94K,", "phone", "My helmet is "),
    ("en", "Could you read me the card number?", "Yeah, the number is for a sick, ate, ate, hero, my.",
     "card", "Yeah, the number is "),
    # what ASR left of 'It's a Mastercard. Five two one two …' after 'I'll need a card'
    ("en", "To hold the booking. I'll need a card.", "It's a", "card", "It's "),
    # where to send something: an address, however it was heard (the sent thing a look-alike's name)
    ("en", "Where should we send the confirmation?", "To a dot miller, that's M, I, L, L, E, R, seventy.",
     "email", ""),
    ("en", "And where can I send the invoice?", "Over to pina lot, collar, hope that come.", "email", ""),
    ("zh", "报告出来以后发到哪里？", "Send it to Zhou, him, no, at one to sick.", "email", ""),
    ("zh", "会议链接发到哪个邮箱比较好？", "Mine made one, under the door, young baby.", "email", ""),
    # 'a number abroad': a bare 'number' after 'a' asks, whatever word follows
    ("en", "Do you have a number abroad, in case you're away?", "My US one is for one time, sick to ate.",
     "phone", "My US "),
    ("zh", "您的手机号是？", "我手机是要三巴，要儿要死，吴刘期酒。", "phone", "我手机是"),
    ("zh", "麻烦报一下您的身份证号码。", "身份证是三儿林要领就把期。", "id", "身份证是"),
])
def test_garbled_reply_to_a_question_for_a_number_is_redacted(language: str, question: str, reply: str,
                                                               kind: str, kept: str) -> None:
    # (the reply of one turn; kept: what stays of its lead-in)
    transcript = _redacted(("rep", question), ("customer", reply), language=language)
    turn = transcript.turns[1]
    assert [r.kind for r in turn.redactions] == [kind], turn.text
    mark = redaction.PLACEHOLDERS["en" if language == "en" else "zh"][kind]
    assert turn.text.startswith(kept + mark), turn.text
    assert not transcript.turns[0].redactions


def test_reply_over_a_wait_is_redacted_not_the_wait() -> None:
    transcript = _redacted(("rep", "What's the best number to reach you?"),
                           ("customer", "Hold on, let me look."),
                           ("rep", "Sure, take your time."),
                           ("customer", "Okay, it's sick heaven mirror, tree tree, i've lied."),
                           language="en")
    assert not transcript.turns[1].redactions
    assert [r.kind for r in transcript.turns[3].redactions] == ["phone"]
    assert transcript.turns[3].text.startswith("Okay, it's [phone]")


def test_reply_over_a_back_channel_is_redacted() -> None:
    transcript = _redacted(("rep", "卡号是多少？"), ("customer", "嗯，"), ("rep", "嗯。"),
                           ("customer", "六爸而而，吧要期，就是留。"), language="zh")
    assert not transcript.turns[1].redactions
    assert [r.kind for r in transcript.turns[3].redactions] == ["card"]


@pytest.mark.parametrize(("language", "lines"), [
    # declines and deferrals
    ("zh", [("rep", "方便留个电话吗？"), ("customer", "不太方便，我加你微信吧。")]),
    ("zh", [("rep", "方便留个手机号吗？"), ("customer", "你加我微信，就这个号。")]),
    ("zh", [("rep", "您的邮箱是多少？"), ("customer", "回头我发你吧，现在手边没电脑。")]),
    ("zh", [("rep", "身份证号码报一下。"), ("customer", "身份证在我爱人那，我得问问她。")]),
    ("en", [("rep", "Can I get your cell number?"),
            ("customer", "I'd rather not, just use the office line.")]),
    ("en", [("rep", "What's your email?"), ("customer", "I'll email it over later today.")]),
    ("en", [("rep", "Card number, please?"), ("customer", "Let me check and get back to you on that one.")]),
    ("en", [("rep", "What's the best number for you?"), ("customer", "This one is fine.")]),
    ("en", [("rep", "Great, what's your email?"), ("customer", "It's on the website.")]),
    # only a back-channel, or a question back
    ("zh", [("rep", "电话多少？"), ("customer", "嗯。")]),
    ("en", [("rep", "And your phone number?"), ("customer", "Sure.")]),
    ("en", [("rep", "What's your account number?"), ("customer", "Which account, the old one?")]),
    # a quantity, a time, an amount, a look-alike's name
    ("zh", [("rep", "您的联系电话是多少？"), ("customer", "话费一个月一百二十块。")]),
    ("en", [("rep", "What's the best number to reach you?"), ("customer", "After five thirty on Tuesday.")]),
    ("en", [("rep", "What's your card number?"), ("customer", "It's on the invoice, the PO is pending.")]),
    # questions that ask for no number
    ("en", [("rep", "What phone system do you use?"), ("customer", "Mostly Avaya and some Teams.")]),
    ("en", [("rep", "How big is your phone system?"), ("customer", "Our phone is huge.")]),
    ("en", [("rep", "How many card readers do you need?"), ("customer", "Around forty or so.")]),
    ("en", [("rep", "How many users on the account?"), ("customer", "Twelve right now.")]),
    ("en", [("rep", "What's the order number?"), ("customer", "Brier seven nine, I think.")]),
    ("en", [("rep", "Did you get the email?"), ("customer", "Yes, looks good to me.")]),
    ("en", [("rep", "Our app pings your phone when a door opens after nine. It's simple."),
            ("customer", "That sounds useful for us.")]),
    ("en", [("rep", "Shall I send the brochure on WhatsApp?"), ("customer", "Send it, but no promises.")]),
    ("zh", [("rep", "手机壳要什么颜色？"), ("customer", "黑色的吧。")]),
    ("zh", [("rep", "电话会议几点开？"), ("customer", "下午三点。")]),
    ("zh", [("rep", "身份证复印件要几份？"), ("customer", "两份就行。")]),
    ("zh", [("rep", "一共多少个门店账号？"), ("customer", "六百三十八个。")]),
    ("zh", [("rep", "他们有社保吗？"), ("customer", "有社保，我爸有点高血压。")]),
    ("zh", [("rep", "好的，我下午把方案发您邮箱，您看可以吗？"), ("customer", "行，周五之前发我。")]),
    ("zh", [("rep", "有问题随时打我电话。"), ("customer", "好的，谢谢。")]),
    ("zh", [("rep", "您上周在展厅留了电话，说想看看车，现在方便吗？"),
            ("customer", "哦对，是我们行政说要换车。")]),
    ("zh", [("rep", "报修主要是打电话还是微信？"), ("customer", "微信多一些，他们直接发前台。")]),
    ("zh", [("rep", "您电话多少？"), ("customer", "有事打客服热线就行。")]),
    ("en", [("rep", "Where should I send the contract?"),
            ("customer", "To our office on Harbor Road, suite nine.")]),
    ("en", [("rep", "Could you leave me your number?"), ("customer", "Call the switchboard, ask for Dana.")]),
    ("zh", [("rep", "我周四前把方案发您，您看哪天方便？"), ("customer", "下周一开会。")]),
    ("en", [("rep", "Did you have a number in mind?"), ("customer", "Under three grand a month, all in.")]),
])
def test_no_redaction_without_a_question_for_a_number_or_when_declined(
        language: str, lines: list[tuple[str, str]]) -> None:
    transcript = _redacted(*lines, language=language)
    assert not any(t.redactions for t in transcript.turns), [t.text for t in transcript.turns]


def test_found_number_in_the_reply_leaves_the_rest() -> None:
    # the digits are found by the digit rules: the rest of the reply is no more of it
    transcript = _redacted(("rep", "Can I get a phone number?"),
                           ("customer", "Sure, it's 206 843 7523."), ("rep", "Got it."),
                           ("customer", "Thanks, talk soon."), language="en")
    assert [r.kind for r in transcript.turns[1].redactions] == ["phone"]
    assert not transcript.turns[3].redactions


def test_redacting_again_changes_nothing() -> None:
    # the backfill re-redacts stored text: a placeholder in the reply is no garbled number
    transcript = _redacted(("rep", "And your email address?"), ("customer", "It's Maria Takmino Tio."),
                           language="en")
    text = transcript.turns[1].text
    again = _dialogue(("rep", "And your email address?"), ("customer", text), language="en")
    redact_transcript(again)
    assert again.turns[1].text == text and not again.turns[1].redactions
