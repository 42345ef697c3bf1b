"""Openings, next steps and questions in their general forms (issue 14).

Every phrasing here was written for this file: none comes from the corpus, the dev set or the
lexicons' own examples, so a test passes on the shape of a sentence, not on a phrase we wrote down.
"""

from __future__ import annotations

import re

import pytest

from callscope.models.document import Analysis, Transcript, Turn
from callscope.nlp.annotate import annotate
from callscope.nlp.next_steps import find_next_steps
from callscope.nlp.opening import opening_parts
from callscope.nlp.questions import count_questions
from callscope.report import render_text
from callscope.scoring import load_rubric, score

# --- openings -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parts"), [
    # 我是X的Y, the company without any 公司/科技 suffix
    ("您好，我是长风财险的理赔顾问何佳。", {"self", "company"}),
    ("喂，我是木棉里家居的小邓。", {"self", "company"}),
    # 这边是X / 我这里是X公司
    ("您好，这边是青禾口腔，我姓冯。", {"self", "company"}),
    ("我这里是恒拓仪器公司，我叫段磊。", {"self", "company"}),
    # the purpose asked as a question, no 今天/打电话 anywhere
    ("我是千帆冷链的小贺，想问问贵公司冬天的生鲜运输现在是谁在做？", {"self", "company", "purpose"}),
    ("这边是橙果少儿编程，孩子今年暑假有报班的打算吗？", {"self", "company", "purpose"}),
    # English: this is / it's / it is / my name is NAME from / with COMPANY
    ("Hi Marcus, it is Helen from Northgate Mutual.", {"self", "company"}),
    ("Morning, this is Raj with Copperleaf.", {"self", "company"}),
    ("My name is Ines and I'm calling from Bayside Dental.", {"self", "company"}),
    ("Hey, it's Omar over at Tallpine, are you still shipping out of the old warehouse?",
     {"self", "company", "purpose"}),
])
def test_opening_parts_are_found_by_their_shape(text: str, parts: set[str]) -> None:
    assert opening_parts(text) >= parts


@pytest.mark.parametrize(("text", "absent"), [
    ("请问是周先生吗？", {"self", "company", "purpose"}),  # who is on the line: no purpose yet
    ("喂您好请问是胡经理吗我是小唐", {"company", "purpose"}),  # a name, no company
    ("您这边是做外贸的吧？", {"self", "company"}),  # the customer's side, not the rep's
    ("Is this Daniel? Do you have a minute?", {"self", "company", "purpose"}),
    ("我们的顾问会再联系", {"self", "company"}),
])
def test_opening_parts_are_not_found_where_they_are_not_said(text: str, absent: set[str]) -> None:
    assert not opening_parts(text) & absent


def _call(specs: list[tuple[float, float, str, str]], language: str) -> Transcript:
    turns = [Turn(s, e, "S0" if role == "rep" else "S1", role, text, language=language)
             for s, e, role, text in specs]
    return Transcript(duration=specs[-1][1] + 0.5, language=language, layout="stereo", turns=turns,
                      speakers={"S0": "rep", "S1": "customer"})


@pytest.mark.parametrize(("specs", "language"), [
    ([(0.5, 6.0, "rep", "您好，我是南屿家纺的小秦，想问下您店里秋冬的被芯备货了没有？"),
      (6.5, 9.0, "customer", "还没呢，你们有什么款？")], "zh"),
    ([(0.5, 5.0, "rep", "Hi, it is Carla from Redwood Cabinetry. Are you still planning the kitchen refit?"),
      (5.5, 8.0, "customer", "We are, yes.")], "en"),
])
def test_the_opening_item_passes_on_a_general_opening(specs, language) -> None:
    conv = annotate(_call(specs, language))
    item = next(i for i in score(conv, load_rubric("default")).items if i.id == "opening")
    assert item.passed is True, item.feedback


# --- next steps ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "when"), [
    ("行，价格我跟财务再对一下，今天下班前回您。", "今天下班前"),
    ("明早我把样衣的照片传给您。", "明早"),
    ("那周四之前我把修改后的报价发您邮箱。", "周四之前"),
    ("下下周二我们派人过去调试设备。", "下下周二"),
    ("发票我十一点前开好给您。", "十一点前"),
    ("I'll have the floor plans over to you tomorrow before noon.", "tomorrow before noon"),
    ("We'll get the signed order back to you by end of day Wednesday.", "by end of day Wednesday"),
    ("Let's book the walkthrough for the Tuesday after next.", "the Tuesday after next"),
    ("I can send the updated terms before Thursday's close of business.",
     "before Thursday's close of business"),
    ("I'll have the cost model to you by the sixteenth.", "by the sixteenth"),
    ("Let's schedule a quick review of the numbers on January tenth at two.", "January tenth at two"),
])
def test_next_steps_with_ordinary_deadlines_are_found(text: str, when: str) -> None:
    steps = find_next_steps(_call([(0.5, 5.0, "rep", text)], "zh" if re.search("[\u4e00-\u9fff]", text)
                                  else "en"))
    assert [s.when for s in steps] == [when]


@pytest.mark.parametrize("text", [
    "那就下个月再说吧。",  # a customer putting it off
    "Call me after the holidays, not now.",
    "上周四我们已经把合同寄给您了。",  # the past
])
def test_no_next_step_in_refusals_or_the_past(text: str) -> None:
    assert find_next_steps(_call([(0.5, 5.0, "customer", text)], "zh")) == []


@pytest.mark.parametrize(("proposal", "answer", "when"), [
    ("设计师这周六上午有空，九点半到您家可以吗？", "周六九点半，行，我们俩都在家。", "这周六上午"),
    ("can I pop round Saturday at ten to do the site check", "saturday ten works yeah", "Saturday at ten"),
    ("great saturday two p m at the showroom ok", "ok saturday two", "saturday two p m"),
])
def test_a_time_the_rep_proposes_and_the_customer_accepts_is_a_next_step(proposal: str, answer: str,
                                                                         when: str) -> None:
    lang = "zh" if re.search("[\u4e00-\u9fff]", proposal) else "en"
    steps = find_next_steps(_call([(0.5, 5.0, "rep", proposal), (5.5, 8.0, "customer", answer)], lang))
    assert [s.when for s in steps] == [when]


@pytest.mark.parametrize("text", [
    "张总下午好，我是云账通的客户经理周敏，今天按约好的给您演示一下进销存系统。",  # this call's today
    "这个价格是活动价，今天不定的话下周就恢复到十二万了。",  # pressure on a condition
    "If you sign the contract today, I can hold the price.",
])
def test_no_next_step_in_the_openings_today_or_in_pressure(text: str) -> None:
    lang = "zh" if re.search("[\u4e00-\u9fff]", text) else "en"
    calls = [(0.5, 5.0, "rep", text), (5.5, 8.0, "customer", "好的。")]
    assert find_next_steps(_call(calls, lang)) == []


# --- one definition of a question ---------------------------------------------------------------

QUESTIONS_CALL = [
    (0.5, 6.0, "rep", "您好，我是远帆文具的小郑，今天想跟您聊聊开学季的备货。"),
    (6.5, 9.0, "customer", "嗯，你说。"),
    # two open questions ASR ran together without a question mark
    (9.5, 16.0, "rep", "您现在的货是从哪里进的每个月大概要补几次货"),
    (16.5, 22.0, "customer", "主要从义乌进，一个月两三次吧。有什么新款吗？"),
    (22.5, 27.0, "rep", "有的。那仓库是您自己管吗？"),  # closed
    (27.5, 30.0, "customer", "对。"),
    (30.5, 36.0, "rep", "您觉得现在补货最头疼的是什么？"),  # open
    (36.5, 42.0, "customer", "断码，热销款老是缺。"),
    (42.5, 48.0, "rep", "好的，那我周三下午把新款清单发给您，您看可以吗？"),  # closed
    (48.5, 50.0, "customer", "可以。"),
]


def test_metrics_scorecard_and_report_count_questions_alike() -> None:
    conv = annotate(_call(QUESTIONS_CALL, "zh"))
    expected = [count_questions(t.text, "zh") for t in conv.transcript.turns if t.role == "rep"]
    assert sum(c.open for c in expected) == 3 and sum(c.asked for c in expected) == 5
    m = conv.metrics
    assert (m.questions, m.open_questions) == (5, 3)
    assert m.customer_questions == 1
    assert sum(i.questions for i, t in zip(conv.insights, conv.transcript.turns, strict=True)
               if t.role == "rep") == m.questions
    card = score(conv, load_rubric("default"))
    discovery = next(i for i in card.items if i.id == "needs_discovery")
    assert "3个开放式问题" in discovery.feedback
    report = render_text(Analysis(conv, card), lang="zh")
    assert re.search(r"销售提问\s+5（", report), report
    assert re.search(r"开放式问题\s+3\s", report), report
    assert "你问了3个开放式问题" in report
