"""Redaction of numbers and addresses as people say them and ASR writes them (nlp/redaction.py, rules 3):
context given only by the question, a number split over turns around a back-channel, a correction, ASR's
soundalikes and separators, addresses asked for without the word e-mail; and the look-alikes kept."""

from __future__ import annotations

import pytest

from callscope.models.document import Transcript, Turn, Word
from callscope.nlp.redaction import redact_text, redact_transcript


def _dialogue(*lines: tuple[str, str], language: str = "zh") -> Transcript:
    """Turns of rep (S0) and customer (S1), 3 s each, one word per character (zh) or per word (en)."""
    turns, t = [], 0.0
    for role, text in lines:
        pieces = list(text) if language == "zh" else [w if k == 0 else " " + w
                                                      for k, w in enumerate(text.split(" "))]
        step = 3.0 / max(1, len(pieces))
        words = [Word(t + k * step, t + (k + 1) * step, p) for k, p in enumerate(pieces)]
        turns.append(Turn(t, t + 3.0, "S0" if role == "rep" else "S1", role, text, language=language,
                          words=words))
        t += 3.5
    return Transcript(duration=t, language=language, layout="stereo", turns=turns)


def _digits_left(text: str) -> int:
    return sum(ch.isdigit() or ch in "零〇一二三四五六七八九幺两洞" for ch in text)


@pytest.mark.parametrize(("question", "answer"), [
    ("方便留个手机号吗？", "幺三八，两两四五，洞洞六七"),  # 幺 / 两 / 洞
    ("请问您的电话？", "幺三八1234五六七八"),  # words and numerals mixed
    ("手机号码多少？", "一三八一二三四五六七"),  # a digit dropped by ASR: the question says phone
    ("身份证号码报一下。", "三一零一零四一九九七零五一七四二一"),  # 17 of 18: the question says ID
    ("卡号是多少？", "六二二二，六二八三，六零一六，一零五五"),  # no Luhn: the question says card
    ("后面有问题我打给谁？", "打给我就行，我电话要39588要3998。"),  # ASR's 要 for 幺
    ("微信多少？", "微信就是手机号189.989.730.9你搜一下。"),  # ASR's dots between groups
    ("卡好事多少？", "六二二二六二八三六零一六一零五五零零三"),  # ASR's 好 for 号 in the question
])
def test_context_from_the_question_and_spoken_forms_zh(question: str, answer: str) -> None:
    transcript = _dialogue(("rep", question), ("customer", answer))
    redact_transcript(transcript)
    text = transcript.turns[1].text
    assert transcript.turns[1].redactions, text
    assert _digits_left(text) < 4, text


@pytest.mark.parametrize(("question", "answer", "mark"), [
    ("What's your direct line?", "My direct line is area code 312, then 569, 5793.", "[phone]"),
    ("Can I text you the link?", "Sure, text me at two oh six, triple five, oh three two oh.", "[phone]"),
    ("Do you have a Chinese mobile?", "Yes, one seven seven, seven one double-eight, four one three three.",
     "[phone]"),
    ("Which account should the rebate go to?", "It's 0 5 2 1 8 5 4 9 1 4.", "[card]"),
    ("Which card is on file?", "Use my Mastercard, time 312, 8983, 1948, 9398.", "[card]"),
    ("Where should I send the contract?", "Send it to emma twenty one at hotmail dot com.", "[email]"),
    ("Where should I send the contract?", "Send it to k wong at fastmail dot com.", "[email]"),
    ("Anything else?", "Sure, ping me, it's lisa at gmail dot com.", "[email]"),  # a mail provider
    ("Anything else?", "Ping me at Lisa @ Gmail.com", "[email]"),  # 'at' written as @ by ASR
    ("Where should I send the contract?", "And it's okay 1 at past mail.com.", "[email]"),
    ("What's the best way to reach you?", "Just jsmith at acme dot com.", "[email]"),
    ("What's the number?", "(415) 555-2671", "[phone]"),
    ("What's your ID?", "It's 1 2 3 4 5 6 7 8 9.", "[id]"),
    ("And a mobile?", "It's oh seven nine one one, treble one, two three four five.", "[phone]"),  # British
    ("And the office?", "Call me on nought two oh, seven nine four six, double oh one two.", "[phone]"),
    ("Anything else?", "Sure, it's john@ gmail dot com", "[email]"),  # ASR's @ for a spoken 'at'
])
def test_context_from_the_question_and_spoken_forms_en(question: str, answer: str, mark: str) -> None:
    transcript = _dialogue(("rep", question), ("customer", answer), language="en")
    redact_transcript(transcript)
    text = transcript.turns[1].text
    assert mark in text, text
    assert sum(ch.isdigit() for ch in text) < 4 and "(" not in text, text


def test_a_number_split_by_a_back_channel_is_redacted_in_both_parts_with_their_times() -> None:
    transcript = _dialogue(("rep", "方便留个电话吗？"), ("customer", "可以，一七七，九二九八"),
                           ("rep", "好的，然后呢？"), ("customer", "然后是四一六二。"))
    found = redact_transcript(transcript)
    assert [(f.turn, f.kind, f.value) for f in found] == [(1, "phone", "+8617792984162"),
                                                          (3, "phone", "+8617792984162")]
    tail, head = transcript.turns[1], transcript.turns[3]
    assert tail.text == "可以，[电话]" and head.text == "然后是[电话]。"
    # each part's time span is where its digits were said (to the 10 ms stored): characters 3-10 of the
    # tail, 3-6 of the head
    step = 3.0 / len("可以，一七七，九二九八")
    assert (tail.redactions[0].start, tail.redactions[0].end) == pytest.approx((3.5 + 3 * step, 6.5),
                                                                              abs=0.01)
    step = 3.0 / len("然后是四一六二。")
    assert (head.redactions[0].start, head.redactions[0].end) == pytest.approx(
        (10.5 + 3 * step, 10.5 + 7 * step), abs=0.01)
    assert [w.text for w in head.words] == ["然", "后", "是", "[电话]", "。"]


def test_a_number_split_three_ways_and_one_after_two_back_channels() -> None:
    transcript = _dialogue(("rep", "您的手机号是？"), ("customer", "幺三八"), ("rep", "嗯"),
                           ("customer", "一二三四"), ("rep", "嗯，您说。"), ("customer", "五六七八。"))
    redact_transcript(transcript)
    assert [t.text for t in transcript.turns if t.role == "customer"] == ["[电话]", "[电话]", "[电话]。"]
    english = _dialogue(("rep", "And the best number?"), ("customer", "Sure, two one two"),
                        ("rep", "Mm-hmm."), ("rep", "Okay."),
                        ("customer", "four four four, one zero six four."), language="en")
    redact_transcript(english)
    assert english.turns[1].text == "Sure, [phone]" and english.turns[4].text == "[phone]."


@pytest.mark.parametrize("lines", [
    (("rep", "订单号多少？"), ("customer", "订单号是2024"), ("rep", "嗯"), ("customer", "1015003876")),
    (("rep", "How many people?"), ("customer", "About 15000"), ("rep", "Mm-hmm."),
     ("customer", "20000 next year.")),
    (("rep", "多少钱？"), ("customer", "一共是138"), ("rep", "嗯"), ("customer", "万，分三期。")),
])
def test_look_alikes_split_over_turns_are_kept(lines: tuple[tuple[str, str], ...]) -> None:
    language = "en" if lines[1][1].isascii() else "zh"
    transcript = _dialogue(*lines, language=language)
    redact_transcript(transcript)
    assert [t.text for t in transcript.turns] == [text for _, text in lines]


def test_the_question_is_found_over_a_back_channel() -> None:
    """A number given after the rep's 'go on' takes its kind from the question before: an ID number ASR
    wrote with a digit dropped is still one, as is a ticket number still a ticket number."""
    transcript = _dialogue(("rep", "身份证号码报一下。"), ("customer", "我找一下"), ("rep", "嗯。"),
                           ("customer", "三一零一零四一九九七零五一七四二一"))
    redact_transcript(transcript)
    assert transcript.turns[3].text == "[身份证]"
    ticket = _dialogue(("rep", "What's the ticket?"), ("customer", "Hold on."), ("rep", "Sure."),
                       ("customer", "The number is 7030952492."), language="en")
    redact_transcript(ticket)
    assert ticket.turns[3].text == "The number is 7030952492."


@pytest.mark.parametrize(("answer", "left"), [
    ("幺三八一二三四五六七八，不对，是幺三八一二三四五六七九。", "，不对，是"),
    ("一三八一二三四五六七八，不对不对，后面是五六七九。", "，不对不对，后面是"),
])
def test_a_correction_is_redacted_as_the_number_it_corrects(answer: str, left: str) -> None:
    transcript = _dialogue(("rep", "您的手机号是？"), ("customer", answer))
    redact_transcript(transcript)
    assert transcript.turns[1].text == f"[电话]{left}[电话]。"


@pytest.mark.parametrize(("question", "answer"), [
    ("What's the ticket?", "ticket number 7 0 3 0 9 5 2 4 9 2"),
    ("What's the ticket?", "It's number seven zero three zero nine five two four nine two."),
    ("Which version are you on?", "We're on version 4.2.1, build 585.144."),
    ("What's the SKU?", "The SKU is 7526.048.744."),
    ("预算有多少？", "总价一百三十八万，预算是一百五十万。"),
    ("单价多少？", "单价一百三十八元，我要3台，要500个配件。"),
    ("什么时候交付？", "二零二六年一月十二号交付，二月二十八号前验收。"),
    ("增长了多少？", "同比增长13.8%，环比增长5%，客单价12.99。"),
    ("会议在哪？", "下午三点半，在十二楼一二零八会议室。"),
    ("订单号多少？", "订单号是二零二四一零一五零零一四五一。"),
    ("您的手机号是？", "稍等，我先把订单号报给你，20241015001451。"),
    ("Where can I read more?", "Minutes at Northwind.com for the details."),
    ("Where should I send the contract?", "Send it to our office, we're at 1200 Main Street."),
    ("How can I contact your team?", "Find us at northwind dot com."),
    ("开票需要什么？", "电话我等下发你，税号913100001322000000，开专票。"),  # a company's tax number
    ("What's your account size?", "We have 1,500,000 in annual spend."),
    ("账户余额多少？", "账户里还有1280000元。"),
    ("您的身份证号码？", "身份证在我包里，有效期到2030年12月31日。"),
    ("When's the renewal?", "March 15th 2026 at 10:30."),
    ("What time works?", "Call me Tuesday the 14th at 10:30, or Wednesday at 2."),
])
def test_look_alikes_are_kept(question: str, answer: str) -> None:
    language = "en" if answer.isascii() else "zh"
    transcript = _dialogue(("rep", question), ("customer", answer), language=language)
    redact_transcript(transcript)
    assert transcript.turns[1].text == answer


def test_a_soundalike_beside_a_whole_number_is_left_out_of_it() -> None:
    """要 beside a mobile number is a word (ASR's 幺 only inside one): the mobile is redacted alone and
    hashed as itself."""
    transcript = _dialogue(("rep", "怎么联系您？"), ("customer", "你要13812345678这个号码就行。"))
    (found,) = redact_transcript(transcript)
    assert (found.kind, found.value) == ("phone", "+8613812345678")
    assert transcript.turns[1].text == "你要[电话]这个号码就行。"


def test_redact_text_reads_spoken_forms() -> None:
    assert redact_text("我的手机幺三八 洞洞六七 八八九九") == "我的手机[电话]"
    assert redact_text("reach me at two one two, three double seven, double nine double two", "en") == \
        "reach me at [phone]"
