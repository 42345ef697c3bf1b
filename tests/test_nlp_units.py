"""The nlp building blocks on their own: tokens, questions, next steps, handling, metrics, trackers."""

from __future__ import annotations

import numpy as np
import pytest

from callscope.models.document import OBJECTION_TYPES, Transcript, Turn, Word
from callscope.nlp.buyer import is_consumer_call
from callscope.nlp.hits import find_trackers
from callscope.nlp.metrics import MONOLOGUE_GAP, SPEECH_PAUSE, compute_metrics, speech_time
from callscope.nlp.model import Classifiers
from callscope.nlp.next_steps import find_next_steps, find_time
from callscope.nlp.objections import cue_types, detect_objection, find_objections, is_handled, weak_cue_types
from callscope.nlp.questions import count_open_questions, is_question, question_kind
from callscope.nlp.text import detect_language, normalize, split_sentences
from callscope.nlp.tokens import tokenize


def turn(start: float, end: float, role: str, text: str = "好的", speaker: str | None = None) -> Turn:
    speaker = speaker or ("S0" if role == "rep" else "S1")
    return Turn(start=start, end=end, speaker=speaker, role=role, text=text)


def transcript(turns: list[Turn], duration: float) -> Transcript:
    return Transcript(duration=duration, language="zh", layout="stereo", turns=turns)


def test_tokens_zh_en_mixed() -> None:
    assert tokenize("我们的报价和决策人都确认了") == ["我们", "的", "报价", "和", "决策人", "都", "确认",
                                                     "了"]
    assert tokenize("Don't worry, it's $3.5k per SEAT!") == ["don't", "worry", "it's", "3.5", "k", "per",
                                                              "seat"]
    assert tokenize("这个CRM一年3600元") == ["这个", "crm", "一年", "3600", "元"]
    assert "签约" in tokenize("我們下週簽約")  # traditional characters are normalised first
    assert "星云智控" in tokenize("我们考虑星云智控", extra_terms=["星云智控"])


def test_normalize_keeps_offsets() -> None:
    text = "這個價格ＡＢＣ太貴了"
    assert len(normalize(text)) == len(text) and normalize(text) == "这个价格abc太贵了"
    assert detect_language("我们用Salesforce的CRM") == "zh" and detect_language("the price is ok") == "en"
    sentences = split_sentences("你好。我是小李！请问您是王总吗? It costs 3.5k. Okay")
    assert [s.text for s in sentences] == ["你好。", "我是小李！", "请问您是王总吗?", "It costs 3.5k.",
                                           "Okay"]


@pytest.mark.parametrize(("text", "kind"), [
    ("您现在客户资料是怎么管的", "open"),
    ("为什么当时没有续约", "open"),
    ("你们团队有哪些人参与", "open"),
    ("预算大概多少", "open"),
    ("您这边方便吗", "closed"),
    ("是不是下周就要上线", "closed"),
    ("那就这样吧", None),
    ("我们什么都可以", None),
    ("好的，没问题。", None),
    ("What does your team use today", "open"),
    ("How are you handling this", "open"),
    ("Do you have a budget for this", "closed"),
    ("Is Tuesday okay?", "closed"),
    ("I think that works.", None),
])
def test_question_kind(text: str, kind: str | None) -> None:
    assert question_kind(text) == kind
    assert is_question(text) is (kind is not None)


@pytest.mark.parametrize(("text", "when"), [
    ("我下周二下午给您发方案", "下周二下午"),
    ("那就十五号签合同", "十五号"),
    ("明天上午十点我们再过一遍", "明天上午十点"),
    ("月底前把款打过来", "月底前"),
    ("十五号之前把合同发给您", "十五号之前"),
    ("月底之前给您答复", "月底之前"),
    ("I'll send the proposal next Tuesday", "next tuesday"),
    ("Let's meet tomorrow at 3 pm", "tomorrow at 3 pm"),
    ("We can sign on the 5th", "on the 5th"),
])
def test_time_expressions(text: str, when: str) -> None:
    span = find_time(text)
    assert span is not None and normalize(text[span[0]:span[1]]).strip() == when


@pytest.mark.parametrize("text", ["上周五我们聊过", "我们之前说过这个", "昨天下午打过电话"])
def test_past_times_are_not_plans(text: str) -> None:
    assert find_time(text) is None


def test_time_mentions_that_are_not_next_steps() -> None:
    lines = [turn(0, 3, "customer", "现在太忙了，年后再说吧"),
             turn(4, 7, "rep", "上周二我们已经发过方案了"),
             turn(8, 10, "customer", "下个月再说吧"),
             turn(11, 14, "rep", "我们公司成立于2015年，明天是我们的周年庆"),
             turn(15, 18, "customer", "Not now, call me next quarter.")]
    assert find_next_steps(transcript(lines, 20)) == []


def test_next_step_agreed_in_adjacent_turns_is_one() -> None:
    lines = [turn(0, 4, "rep", "那我下周二下午过去给您演示一下？"),
             turn(5, 7, "customer", "好，下周二下午见。")]
    steps = find_next_steps(transcript(lines, 8))
    assert [(s.turn, s.when, s.role) for s in steps] == [(0, "下周二下午", "rep")]


def test_objection_cues_and_look_alikes() -> None:
    assert cue_types("这个价格太贵了") == {"price"}
    assert cue_types("价格不是问题，不太贵") == set()
    assert cue_types("我说了不算，得老板批") == {"authority"}
    assert cue_types("不用担心，我们很放心") == set()


@pytest.mark.parametrize(("kind", "answer", "handled"), [
    ("price", "理解，您是跟哪家比的？我们这个包含实施，总成本其实更低", True),
    ("price", "那我给您打八折", False),
    ("price", "理解理解", False),
    ("price", "", False),
    ("authority", "没问题，下周三我跟您一起去给老板讲一下，汇报材料我来准备", True),
    ("timing", "好的，那不打扰您了", False),
    ("trust", "放心吧，肯定没问题的", False),
    ("trust", "我们有三百多家客户，可以安排您去参观一个同行案例，合同里也写明质保", True),
    ("competitor", "您这就不对了，他们家东西不行", False),
    ("budget", "I hear you. What if we start with a pilot and do the rest in your next budget cycle?", True),
    ("need", "Sure, no problem, bye", False),
    ("need", "That's fair. A lot of companies like yours said the same until an audit found gaps", True),
    ("competitor", "他们家那个就是杂牌，质量很差，您别考虑了", False),  # running them down answers nothing
    ("authority", "Of course. Is there anything specific she checks? I can send her the numbers", True),
    ("timing", "那行，那到时候再说吧", False),
])
def test_handling(kind: str, answer: str, handled: bool) -> None:
    assert is_handled(kind, answer) is handled


def test_metrics_exact() -> None:
    turns = [
        turn(0.0, 10.0, "rep"),
        turn(11.0, 20.0, "rep"),  # 1 s gap, no customer between: one 20 s monologue
        turn(21.0, 25.0, "customer"),
        turn(26.5, 30.0, "rep", "您现在用什么系统？预算多少？"),  # 1.5 s pause after the customer
        turn(29.5, 35.0, "customer"),  # overlaps the rep
        turn(34.0, 40.0, "rep"),  # overlap: pause 0
        turn(40.0, 41.0, "customer", "嗯"),
        turn(41.5 + MONOLOGUE_GAP + 1, 50.0, "rep"),  # 0.5 + gap + 1 s pause after the customer
    ]
    m = compute_metrics(transcript(turns, 60.0), rep_questions=2, customer_questions=0)
    rep = 10 + 9 + 3.5 + 6 + (50.0 - 41.5 - MONOLOGUE_GAP - 1)
    customer = 4 + 5.5 + 1
    assert m.talk_ratio == pytest.approx(rep / (rep + customer))
    assert m.longest_monologue == pytest.approx(20.0)
    assert m.interactivity == pytest.approx(6 / 1.0)  # 6 speaker switches in one minute
    assert m.patience == pytest.approx((1.5 + 0.0 + (0.5 + MONOLOGUE_GAP + 1)) / 3)
    assert m.questions == 2 and m.question_rate == pytest.approx(2.0)


def test_speech_time_uses_words() -> None:
    t = turn(0.0, 10.0, "rep", "你好 我是 小李")
    t.words = [Word(0.0, 1.0, "你好"), Word(3.0, 4.0, "我是"), Word(3.5, 5.0, "小李")]
    other = turn(11.0, 13.0, "customer")
    m = compute_metrics(transcript([t, other], 13.0), 0, 0)
    assert m.rep_speech == pytest.approx(3.0) and m.customer_speech == pytest.approx(2.0)
    # a pause shorter than SPEECH_PAUSE (a comma) is part of speaking; a longer one is not
    t.words = [Word(0.0, 1.0, "你好"), Word(1.3, 2.0, "我是"), Word(3.0, 4.0, "小李")]
    assert SPEECH_PAUSE < 1.0 and speech_time(t) == pytest.approx(2.0 + 1.0)  # 0-2 s, then 3-4 s


def test_trackers_default_and_override(tmp_path) -> None:
    lines = [turn(0, 3, "customer", "我们也在看销售易，价格便宜一些"), turn(4, 6, "rep", "合同条款可以谈")]
    names = {h.name for h in find_trackers(transcript(lines, 7))}
    assert {"competitors", "pricing", "contract_terms"} <= names
    custom = tmp_path / "trackers.yaml"
    custom.write_text("trackers:\n  our_product: [星云, nebula]\n", encoding="utf-8")
    hits = find_trackers(transcript([turn(0, 2, "customer", "Nebula 和星云是一个东西吗？我听说过星云。")], 3),
                         custom)
    # one hit per tracker per sentence: evidence of the topic, not a word count
    assert [(h.name, h.term) for h in hits] == [("our_product", "Nebula"), ("our_product", "星云")]


class _FixedObjectionModel:
    """Stands in for the objection classifier: the same probabilities for every sentence."""

    classes_ = ["none", *OBJECTION_TYPES]

    def __init__(self, **probs: float) -> None:
        self.row = [1.0 - sum(probs.values())] + [probs.get(t, 0.0) for t in OBJECTION_TYPES]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([self.row] * len(texts))


def _model(**probs: float) -> Classifiers:
    return Classifiers(stage=None, objection=_FixedObjectionModel(**probs), meta={})  # type: ignore[arg-type]


def test_weak_objection_cues_only_tip_what_the_model_sees() -> None:
    nothing = np.zeros(len(OBJECTION_TYPES))
    assert weak_cue_types("我们有点担心售后跟不上") == {"trust"}
    assert detect_objection(nothing, "我们有点担心售后跟不上") is None  # a worry named, not yet an objection
    leaning = nothing.copy()
    leaning[OBJECTION_TYPES.index("trust")] = 0.45
    assert detect_objection(leaning, "我们有点担心售后跟不上") == "trust"
    assert detect_objection(nothing, "说实话，你们这个太贵了") == "price"  # a strong cue flags alone


def test_paraphrased_objections_have_cues() -> None:
    assert cue_types("这个数比我们心里的价位高不少") == {"price"}
    assert cue_types("Spending is frozen, we can't afford it this year") == {"budget"}
    assert cue_types("金额这么大，得董事长签字才行") == {"authority"}
    assert cue_types("It's not just up to me, I'd have to take this to the partners") == {"authority"}
    assert cue_types("老实说我心里没底") == {"trust"}


def test_a_customer_turn_raises_one_objection_type() -> None:
    lines = [turn(0, 3, "rep", "这是我们的报价。"),
             turn(4, 8, "customer", "太贵了，别家比你们便宜不少。"),
             turn(9, 12, "rep", "理解，您是跟哪家比的？我们的总成本其实更低。")]
    found = find_objections(transcript(lines, 12), _model(price=0.5, competitor=0.3))
    assert [(o.type, o.turn, o.handled) for o in found] == [("price", 1, True)]
    # a second type counts when it is about as certain as the first
    found = find_objections(transcript(lines, 12), _model(price=0.9, competitor=0.9))
    assert sorted(o.type for o in found) == ["competitor", "price"]


@pytest.mark.parametrize(("text", "kind"), [
    ("What's your biggest challenge right now?", "open"),
    ("How's the rollout going", "open"),
    ("So what does your process look like", "open"),
    ("Can you tell me about your team?", "open"),
    ("Could you walk me through a typical week?", "open"),
    ("Can you send it today?", "closed"),
    ("您最看重哪几点？", "open"),
    ("现在哪块最头疼", "open"),
    ("哪怕晚一点也没关系", None),
    ("您知道为什么我们卖得好吗？", "closed"),  # a pitch lead-in, not discovery
    # question words used as indefinites or in a pitch ask nothing
    ("很多大厂都在用，价格也比市面上便宜不少。", None),
    ("用不了多久就坏，您可千万别用。", None),
    ("今天来给您介绍一下我们的门锁方案。", None),
    ("不试怎么知道呢？", "closed"),
    ("Can I ask, who watches the alerts at night?", "open"),
    ("Can I ask, who watches the alerts at night?。", "open"),
])
def test_question_kinds_of_everyday_questions(text: str, kind: str | None) -> None:
    assert question_kind(text) == kind


@pytest.mark.parametrize(("text", "count"), [
    ("咱们公司现在的账是谁在做？开票和报税是怎么安排的？", 2),
    # the same two questions as ASR writes them: one sentence, no question mark
    ("咱们公司现在的账事谁在做开票和报税是怎么安排的呢", 2),
    ("您现在用的是什么系统", 1),
    ("什么时候", 1),
    ("您看这样行不行？", 0),
    ("How do you track it today? Who signs off?", 2),
])
def test_open_questions_are_counted_per_ask(text: str, count: int) -> None:
    assert count_open_questions(text) == count


@pytest.mark.parametrize(("texts", "consumer"), [
    (["您好，孩子今年上几年级？", "初二，数学不太好"], True),
    (["我和我爱人周末过来看看户型"], True),
    (["我们公司现在有四十个销售", "孩子们都在用"], False),  # an organisation is named: a business call
    (["你们的系统能导出报表吗？"], False),  # nothing said either way: the default, a business call
    (["Is this for your team or for your family?", "It's for my kids"], False),
])
def test_consumer_calls_name_a_household_and_no_organisation(texts: list[str], consumer: bool) -> None:
    lines = [turn(i * 3.0, i * 3.0 + 2, "rep" if i % 2 == 0 else "customer", t) for i, t in enumerate(texts)]
    assert is_consumer_call(transcript(lines, len(texts) * 3.0)) is consumer


def test_answering_who_decides_is_not_an_authority_objection() -> None:
    asked = [turn(0, 3, "rep", "这个项目最后是谁来拍板？"), turn(4, 6, "customer", "最后是老板拍板。")]
    assert find_objections(transcript(asked, 6), _model()) == []
    unasked = [turn(0, 3, "rep", "方案您看过了吧。"), turn(4, 6, "customer", "这个得老板拍板。")]
    assert [o.type for o in find_objections(transcript(unasked, 6), _model())] == ["authority"]
