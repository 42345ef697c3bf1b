"""Hand-built annotated calls for the scoring and report tests, plus scoring on real nlp output.

The conversations are built from models.document types directly (what nlp.annotate returns), with
the metrics computed by the real nlp.metrics, so the scoring tests do not depend on ASR or on the
nlp classifiers; `test_real_annotate_*` runs the real annotator on hand-made transcripts.
"""

from __future__ import annotations

from callscope.models.document import (
    Conversation,
    Evidence,
    Hit,
    NextStep,
    Objection,
    Transcript,
    Turn,
    TurnInsight,
)
from callscope.nlp.metrics import compute_metrics
from callscope.nlp.questions import count_questions
from callscope.scoring import load_rubric, score

# (start, end, role, text, question kind: None | "open" | "closed")
TurnSpec = tuple[float, float, str, str, str | None]

GOOD_ZH: list[TurnSpec] = [
    (0.5, 6.0, "rep", "您好，我是明远科技的顾问林晓，今天打电话是想跟您聊聊门店管理的情况。", None),
    (6.8, 8.0, "customer", "好的，你说吧。", None),
    (8.8, 13.0, "rep", "咱们现在门店的库存是怎么盘点的？遇到了哪些问题？", "open"),
    (13.8, 24.0, "customer", "每个月人工盘一次，经常对不上，损耗也大。", None),
    (24.8, 29.0, "rep", "这个项目今年大概有多少预算？", "closed"),
    (29.8, 34.0, "customer", "预算大概二十万左右。不过你们的价格太贵了吧。", None),
    (34.8, 42.0, "rep", "理解您的顾虑，按八家店算，每家每月不到两百元，三个月就能省回来。", None),
    (42.8, 45.0, "customer", "那还可以。", None),
    (45.8, 50.0, "rep", "除了您，还有哪些人参与决定？", "open"),
    (50.8, 54.0, "customer", "还有我们财务总监。", None),
    (54.8, 59.0, "rep", "好的，那我们下周二下午三点给您和财务总监做个演示，可以吗？", "closed"),
    (59.8, 61.0, "customer", "可以。", None),
]

BAD_EN: list[TurnSpec] = [
    (0.5, 4.0, "rep", "Hi, so we have a great product for you.", None),
    (4.5, 6.0, "customer", "Okay.", None),
    (6.5, 96.0, "rep", "Let me walk you through every feature we have, starting with the dashboard, then the "
                       "reports, then the integrations, then the mobile app and the admin console.", None),
    (96.5, 100.0, "customer", "We already use another vendor and they are fine.", None),
    (100.5, 110.0, "rep", "Honestly this gives guaranteed returns with zero risk, you should sign today.",
     None),
    (110.5, 112.0, "customer", "Okay, bye.", None),
]


def build(specs: list[TurnSpec], language: str = "zh", stage: str = "discovery",
          objections: list[Objection] | None = None, next_steps: list[NextStep] | None = None,
          compliance: list[Hit] | None = None) -> Conversation:
    turns = [Turn(s, e, "S0" if role == "rep" else "S1", role, text, language=language)
             for s, e, role, text, _ in specs]
    transcript = Transcript(duration=max(e for _, e, *_ in specs) + 0.5, language=language,
                            layout="stereo", turns=turns, speakers={"S0": "rep", "S1": "customer"})
    # questions exactly as annotate counts them (nlp.questions.count_questions, the one definition);
    # the spec's question column only tells the reader what each turn was written to be
    counts = [count_questions(t.text, language) for t in turns]
    insights = [TurnInsight(tokens=[], stage=stage, stage_confidence=0.8, questions=c.asked,
                            open_questions=c.open) for c in counts]
    questions = [Evidence(t.start, t.end, t.text, i)
                 for i, (t, c) in enumerate(zip(turns, counts, strict=True)) if c.asked and t.role == "rep"]
    rep = [c for t, c in zip(turns, counts, strict=True) if t.role == "rep"]
    return Conversation(
        transcript=transcript, insights=insights, stage=stage,
        stage_scores={stage: 0.8}, objections=objections or [], next_steps=next_steps or [],
        questions=questions, compliance=compliance or [], trackers=[],
        metrics=compute_metrics(transcript, sum(c.asked for c in rep),
                                sum(c.asked for t, c in zip(turns, counts, strict=True) if t.role != "rep"),
                                sum(c.open for c in rep)),
    )


def objection(specs: list[TurnSpec], turn: int, kind: str, handled: bool,
              answer: int | None = None) -> Objection:
    s, e, _, text, _ = specs[turn]
    response = None
    if answer is not None:
        a = specs[answer]
        response = Evidence(a[0], a[1], a[3], answer)
    return Objection(kind, turn, s, e, text, handled, 0.9, response)


def next_step(specs: list[TurnSpec], turn: int, when: str) -> NextStep:
    s, e, _, text, _ = specs[turn]
    return NextStep(turn, s, e, text, when)


def good_zh() -> Conversation:
    return build(GOOD_ZH, objections=[objection(GOOD_ZH, 5, "price", True, 6)],
                 next_steps=[next_step(GOOD_ZH, 10, "下周二下午三点")])


def bad_en() -> Conversation:
    s, e, _, text, _ = BAD_EN[4]
    return build(BAD_EN, language="en", stage="presentation",
                 objections=[objection(BAD_EN, 3, "competitor", False)],
                 compliance=[Hit("guaranteed_returns", "guaranteed returns", 4, s, e, text)])


def test_real_annotate_scores_a_hand_made_zh_transcript() -> None:
    from callscope.nlp.annotate import annotate

    conv = annotate(good_zh().transcript)
    card = score(conv, load_rubric("default"))
    by_id = {i.id: i for i in card.items}
    assert by_id["opening"].passed is True
    assert by_id["qualification_budget"].passed is True  # "多少预算？" is a rep question with a budget cue
    assert by_id["talk_ratio"].passed is True
    assert by_id["compliance"].passed is True
    assert by_id["next_step"].passed is True, conv.next_steps
    assert card.language == "zh" and card.score >= 60
    for item in card.items:
        assert any("\u4e00" <= c <= "\u9fff" for c in item.feedback), item.feedback


def test_real_annotate_flags_the_bad_en_transcript() -> None:
    from callscope.nlp.annotate import annotate

    conv = annotate(bad_en().transcript)
    card = score(conv, load_rubric("default"))
    by_id = {i.id: i for i in card.items}
    assert by_id["monologue"].passed is False
    assert by_id["monologue"].evidence[0].start == 6.5
    assert by_id["compliance"].passed is False, conv.compliance
    assert by_id["opening"].passed is False
    assert card.grade == "fail"
    assert all(item.feedback.isascii() for item in card.items)
