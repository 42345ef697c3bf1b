"""annotate() end to end on hand-made transcripts: zh, en, mixed, and ASR-noisy variants."""

from __future__ import annotations

import dataclasses
import time

import pytest

from callscope.core.config import Settings
from callscope.models.document import STAGES, Transcript, Turn, Word
from callscope.nlp.annotate import annotate
from callscope.nlp.classifiers import load_classifiers
from callscope.nlp.corpus import load_corpus, noisy_variants

GAP = 0.6  # seconds of silence between turns


def make_transcript(lines: list[tuple[str, str, float]], lang: str = "zh", gap: float = GAP) -> Transcript:
    turns, t = [], 0.5
    for role, text, seconds in lines:
        turns.append(Turn(start=t, end=t + seconds, speaker="S0" if role == "rep" else "S1", role=role,
                          text=text, language=lang))
        t += seconds + gap
    return Transcript(duration=t, language=lang, layout="stereo", turns=turns,
                      speakers={"S0": "rep", "S1": "customer"})


def with_words(turn: Turn, pieces: list[tuple[str, float, float]]) -> Turn:
    turn.words = [Word(start=a, end=b, text=w) for w, a, b in pieces]
    return turn


ZH_NEGOTIATION = [
    ("rep", "王总您好，我是云图科技的小李，上次的报价单您看了吧，五十个账号一年十八万。", 6.0),
    ("customer", "看了，说实话太贵了，超出我们预期不少。", 4.0),
    ("rep", "理解。您说的超出预期，主要是跟哪个比？"
            "这个价格包含了实施和培训，算下来每个销售一天不到十块钱。", 8.0),
    ("customer", "别家报价比你们便宜百分之十五。", 3.0),
    ("rep", "那我给您打个八折吧。", 2.0),
    ("customer", "嗯，那我再考虑一下。", 2.0),
    ("rep", "好的，我明天上午十点把新的报价单发您，您看可以吗？", 4.0),
    ("customer", "行。", 1.0),
]

ZH_DISCOVERY = [
    ("rep", "刘总您好，今天主要想了解一下咱们销售团队现在的情况。", 4.0),
    ("customer", "好，你问吧。", 1.5),
    ("rep", "咱们销售现在一共多少人？客户资料是怎么管的？", 4.0),
    ("customer", "四十个人左右，每个人自己一个Excel，月底汇总特别乱。", 5.0),
    ("rep", "那您觉得现在最头疼的问题是什么？", 2.5),
    ("customer", "主要是人一走客户就跟着走了，也不知道每个人在跟什么单。", 5.0),
    ("rep", "明白。这个项目预算大概有个范围吗？最后是您来拍板还是需要上会？", 5.0),
    ("customer", "这个我说了不算，得老板批。", 3.0),
    ("rep", "理解，那下次演示的时候能不能约上您老板一起？我准备一份汇报材料，重点讲投入产出。", 7.0),
    ("customer", "可以，下周二下午三点吧，我跟老板说一下。", 3.5),
]

EN_CLOSING = [
    ("rep", "Great news, legal approved the redlines, so I'll send the contract through DocuSign today.",
     6.0),
    ("customer", "Perfect, I'll sign it this afternoon.", 2.5),
    ("rep", "Once it's signed we'll invoice the first year, net thirty as agreed.", 4.0),
    ("customer", "Sounds good. When do we start?", 2.0),
    ("rep", "We'll kick off onboarding next Monday at 9 am with your admins. Does that work?", 5.0),
    ("customer", "Yes, Monday at 9 works.", 2.0),
]

EN_PROSPECTING_OBJECTION = [
    ("rep", "Hi, is this Sarah? This is Tom from Brightline, we help sales teams keep their pipeline clean.",
     5.0),
    ("customer", "We already have a CRM, we don't really need another tool.", 3.0),
    ("rep", "That makes sense. Out of curiosity, how much time do your managers spend on the forecast "
            "each week?",
     6.0),
    ("customer", "Probably half a day, honestly.", 2.0),
    ("rep", "Would you be open to a twenty minute call next Tuesday at 10 am so I can show you how others "
            "cut that?",
     6.0),
    ("customer", "Okay, Tuesday at 10 works.", 2.0),
]

MIXED_NEGOTIATION = [
    ("rep", "Hi Jason，我们的quote已经发您邮箱了，per seat一个月三十美金。", 5.0),
    ("customer", "我看了，这个price有点高，我们今年没有budget了。", 4.0),
    ("rep", "理解，budget这块我们可以分阶段来做，先上二十个seat做pilot，Q3有了新预算再扩。", 7.0),
    ("customer", "分阶段的话可以，那contract怎么签？", 3.0),
    ("rep", "可以先签一年，明天下午我把contract草稿发您。", 4.0),
]


@pytest.fixture(scope="module")
def nlp_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("nlp-cache"))


def test_zh_negotiation_call(nlp_settings: Settings) -> None:
    conv = annotate(make_transcript(ZH_NEGOTIATION), nlp_settings)
    assert conv.stage == "negotiation"
    assert abs(sum(conv.stage_scores.values()) - 1.0) < 1e-6
    by_type = {o.type: o for o in conv.objections}
    assert by_type["price"].turn == 1 and by_type["price"].handled is True
    assert by_type["price"].response is not None and by_type["price"].response.turn == 2
    # "那我给您打个八折吧" discounts at once: not handling the competitor objection
    assert by_type["competitor"].turn == 3 and by_type["competitor"].handled is False
    assert all(conv.transcript.turns[o.turn].role == "customer" for o in conv.objections)
    assert [(n.turn, n.when) for n in conv.next_steps] == [(6, "明天上午十点")]
    assert conv.compliance == []
    assert {h.name for h in conv.trackers} >= {"pricing", "competitors"}
    assert len(conv.insights) == len(conv.transcript.turns)
    assert all(i.stage in STAGES and 0 < i.stage_confidence <= 1 for i in conv.insights)


def test_zh_discovery_call(nlp_settings: Settings) -> None:
    conv = annotate(make_transcript(ZH_DISCOVERY), nlp_settings)
    assert conv.stage == "discovery"
    assert [(o.type, o.turn, o.handled) for o in conv.objections] == [("authority", 7, True)]
    assert [n.when for n in conv.next_steps] == ["下周二下午三点"]
    assert conv.next_steps[0].role == "customer"
    # rep questions: 多少人 / 怎么管 / 什么 / 范围吗 / 拍板还是需要上会 / 约上您老板一起
    assert conv.metrics.questions == len(conv.questions) >= 5
    assert any(i.open_question for i in conv.insights)


def test_en_closing_call(nlp_settings: Settings) -> None:
    conv = annotate(make_transcript(EN_CLOSING, lang="en"), nlp_settings)
    assert conv.stage == "closing"
    assert conv.objections == []
    assert any(n.when.lower().startswith("next monday") for n in conv.next_steps)
    assert {h.name for h in conv.trackers} >= {"contract_terms"}


def test_en_need_objection_handled_with_a_question(nlp_settings: Settings) -> None:
    conv = annotate(make_transcript(EN_PROSPECTING_OBJECTION, lang="en"), nlp_settings)
    assert conv.stage == "prospecting"
    assert [(o.type, o.turn, o.handled) for o in conv.objections] == [("need", 1, True)]
    assert [n.turn for n in conv.next_steps] == [4]
    assert "next tuesday" in conv.next_steps[0].when.lower()


def test_mixed_code_switching_call(nlp_settings: Settings) -> None:
    conv = annotate(make_transcript(MIXED_NEGOTIATION), nlp_settings)
    assert conv.stage == "negotiation"
    types = {o.type: o for o in conv.objections}
    assert "budget" in types and types["budget"].handled is True
    assert [n.turn for n in conv.next_steps] == [4]
    assert "budget" in {h.name for h in conv.trackers}


def test_compliance_only_in_rep_turns(nlp_settings: Settings) -> None:
    lines = [
        ("rep", "这款理财产品保证收益，绝对没有风险，今天不买就没了。", 6.0),
        ("customer", "你们能保证收益吗？", 2.0),
        ("rep", "我们不能保证收益，历史业绩不代表未来。", 4.0),
    ]
    conv = annotate(make_transcript(lines), nlp_settings)
    assert [(h.name, h.turn) for h in conv.compliance] == [
        ("guaranteed_return", 0), ("absolute_claim", 0), ("pressure", 0)]
    en = annotate(make_transcript([("rep", "Honestly it's a guaranteed return, zero risk. Today only!", 4.0),
                                   ("rep", "We can't guarantee returns, of course.", 3.0)], lang="en"),
                  nlp_settings)
    assert {h.name for h in en.compliance} == {"guaranteed_return", "pressure"}
    assert {h.turn for h in en.compliance} == {0}


def test_compliance_phrases_with_room_between_their_words(nlp_settings: Settings) -> None:
    lines = [
        ("rep", "我们保证孩子成绩提高二十分，提不上来全额退款。", 5.0),
        ("rep", "您今天签了，这个利率就锁定了，下个月就没有了。", 5.0),
        ("rep", "我们不敢保证孩子成绩一定提高。", 3.0),
        ("rep", "保证按时发货。成绩提高靠孩子自己。", 3.0),
    ]
    conv = annotate(make_transcript(lines), nlp_settings)
    assert [(h.name, h.turn) for h in conv.compliance] == [
        ("absolute_claim", 0), ("pressure", 1)]


def test_repeated_objection_is_one(nlp_settings: Settings) -> None:
    lines = [
        ("rep", "这台车裸车价十八万九。", 3.0),
        ("customer", "太贵了。", 1.5),
        ("customer", "真的太贵了，我们预期是十五万。", 3.0),
        ("rep", "理解，十五万是落地价还是裸车价？这台是混动的，一年油钱能省五千，算下来总成本其实差不多。",
         8.0),
    ]
    conv = annotate(make_transcript(lines), nlp_settings)
    price = [o for o in conv.objections if o.type == "price"]
    assert len(price) == 1 and price[0].turn == 1 and price[0].handled is True
    assert price[0].end == pytest.approx(conv.transcript.turns[2].end)


def test_asr_noisy_variants_keep_findings(nlp_settings: Settings) -> None:
    """No punctuation, homophones (太鬼了, 包价), traditional characters: same stage and objections."""
    import random

    rng = random.Random(7)
    for variant_index in range(2):
        lines = []
        for role, text, seconds in ZH_NEGOTIATION:
            variants = noisy_variants(text, rng)
            lines.append((role, variants[min(variant_index, len(variants) - 1)], seconds))
        conv = annotate(make_transcript(lines), nlp_settings)
        assert conv.stage == "negotiation", lines
        assert {"price", "competitor"} <= {o.type for o in conv.objections}, lines
    trad = [("rep", "王總您好，報價單您看了吧？", 3.0), ("customer", "看了，這個價格太貴了。", 3.0)]
    conv = annotate(make_transcript(trad), nlp_settings)
    assert [o.type for o in conv.objections] == ["price"]


def test_empty_and_tiny_transcripts(nlp_settings: Settings) -> None:
    empty = Transcript(duration=0.0, language="zh", layout="mono", turns=[])
    conv = annotate(empty, nlp_settings)
    assert conv.stage in STAGES and conv.objections == [] and conv.metrics.talk_ratio == 0.0
    one = annotate(make_transcript([("customer", "嗯", 0.5)]), nlp_settings)
    assert one.metrics.questions == 0 and len(one.insights) == 1


def ten_minute_call() -> Transcript:
    """150 distinct turns (corpus calls, in order) over ten minutes: nothing cached from a warm-up."""
    turns = [t for call in load_corpus().calls for t in call.turns][:150]
    return make_transcript([(t.role, t.text, 3.4) for t in turns])


def test_annotate_is_fast_on_a_ten_minute_call(nlp_settings: Settings) -> None:
    """The lexical NLP within 0.5 s of CPU on a ten-minute call; the sentence encoder (the understanding
    extra) on top within 50 ms a customer sentence (about 25 ms here: a deliberate cost, bought for
    objection recall, docs/performance.md)."""
    classifiers = load_classifiers(nlp_settings)
    lexical = dataclasses.replace(classifiers, encoder=None)
    annotate(make_transcript(ZH_NEGOTIATION), nlp_settings)  # warm-up: model load, jieba dictionary
    transcript = ten_minute_call()
    assert transcript.duration >= 600
    # CPU time, not wall time: what annotate costs, whatever else the machine is doing
    start = time.process_time()
    conv = annotate(transcript, nlp_settings, lexical)
    elapsed = time.process_time() - start
    assert len(conv.insights) == 150
    assert elapsed < 0.5, f"annotate took {elapsed:.3f}s of CPU on a 10-minute call"
    if classifiers.encoder is None:
        return
    sentences = sum(t.role == "customer" for t in transcript.turns)
    start = time.process_time()
    assert len(annotate(ten_minute_call(), nlp_settings, classifiers).insights) == 150
    extra = time.process_time() - start - elapsed
    assert extra / sentences < 0.05, f"the encoder took {extra:.3f}s of CPU for {sentences} sentences"


def test_word_timestamps_drive_evidence_times(nlp_settings: Settings) -> None:
    transcript = make_transcript([("rep", "您好。", 1.0), ("customer", "你们这个太贵了。", 3.0)])
    with_words(transcript.turns[1], [("你们", 2.1, 2.4), ("这个", 2.4, 2.7), ("太", 3.5, 3.7),
                                     ("贵了", 3.7, 4.0)])
    conv = annotate(transcript, nlp_settings)
    assert conv.objections[0].start == pytest.approx(2.1)
    assert conv.objections[0].end == pytest.approx(4.0)


def test_trackers_setting_overrides_the_default(tmp_path) -> None:
    custom = tmp_path / "trackers.yaml"
    custom.write_text("trackers:\n  security: [等保, 数据安全, GDPR]\n", encoding="utf-8")
    settings = Settings.from_env({"CALLSCOPE_TRACKERS": str(custom), "CALLSCOPE_CACHE_DIR": str(tmp_path)})
    lines = [("customer", "你们的数据安全怎么保证？价格多少？", 3.0), ("rep", "我们有三级等保认证。", 3.0)]
    conv = annotate(make_transcript(lines), settings)
    assert [(h.name, h.turn) for h in conv.trackers] == [("security", 0), ("security", 1)]


# What Whisper base actually wrote for samples/zh-demo.stereo.flac (homophone errors and all:
# 问提, 考绿尼, 刘工作各也是把张算清楚).
WHISPER_ZH_DEMO = [
    ('rep', 0.25, 6.13, '王经理您好，我是明远科技的顾问李明今天想了解一下贵公司仓库管理的情况。'),
    ('customer', 7.03, 10.15, '你好，李顾问最近仓库问提挺多的你说吧。'),
    ('rep', 11.2, 14.46, '咱们现在有几个仓库出入库主要是怎么管本。'),
    ('customer', 15.61, 20.11, '三个仓库现在还是扣表格登记月底盘点经常对不上找货也慢。'),
    ('rep', 21.28, 24.28, '这些问题里对业务影响最大的是哪一块。'),
    ('customer', 25.09, 28.93, '主要是发错货客户投诉越来越多上个月就赔了好几代。'),
    ('rep', 29.95, 33.21, '确实头疼哪今年在这方面大概有多少预算。'),
    ('customer', 34.19, 35.91, '预算大概20万左右吧。'),
    ('rep', 36.89, 40.27, '好的这个项目最后谁来拍板还有谁参与评估。'),
    ('customer', 41.22, 44.36, '最后是我们张总决定信息部的刘公也会一起看。'),
    ('rep', 45.17, 49.63, '我们的系统又扫码出入库库存时时更新能明显介绍发挫货。'),
    ('customer', 50.48, 53.38, '听起来不错不过我听说你们的价格挺贵的。'),
    ('rep', 54.2, 63.79, '理解价格确实要认真考绿尼是跟哪家比的我们有各同行客户用了半年发错误，'
                         '少了八成省下爱，谈废好朋友爱，文娃。'),
    ('customer', 64.61, 68.59, '那倒是可以算一下张真能省下赔偿的话老板应该愿意听。'),
    ('rep', 69.42, 75.72, '那下周二下午三点我带技术同事来给张总和刘工作各也是把张算清楚您看可以吗？'),
    ('customer', 76.728, 78.98, '行下周二下午三点到时候见'),
]


def test_real_whisper_output_of_the_zh_demo(nlp_settings: Settings) -> None:
    turns = [Turn(start=a, end=b, speaker="S0" if role == "rep" else "S1", role=role, text=text)
             for role, a, b, text in WHISPER_ZH_DEMO]
    conv = annotate(Transcript(duration=79.9, language="zh", layout="stereo", turns=turns), nlp_settings)
    assert conv.stage == "discovery"
    assert [(o.type, o.turn, o.handled) for o in conv.objections] == [("price", 11, True)]
    assert [(n.turn, n.when) for n in conv.next_steps] == [(14, "下周二下午三点")]
    assert conv.compliance == []
    assert conv.metrics.questions >= 5  # 几个仓库 / 怎么管 / 哪一块 / 多少预算 / 谁来拍板 / 可以吗
