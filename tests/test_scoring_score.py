"""Scoring hand-built annotated calls: pass, fail, not applicable, partial credit, evidence, language."""

from __future__ import annotations

import pytest

from callscope.models.document import Hit, Scorecard
from callscope.scoring import load_rubric, score
from tests.test_scoring_calls import BAD_EN, GOOD_ZH, bad_en, build, good_zh, next_step, objection


def _items(card: Scorecard) -> dict:
    return {item.id: item for item in card.items}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def test_a_good_zh_call_passes_every_item_with_evidence_and_zh_feedback() -> None:
    card = score(good_zh(), load_rubric("default"))
    items = _items(card)
    assert card.score == 100.0 and card.grade == "excellent" and card.grade_label == "优秀"
    assert card.language == "zh" and card.rubric == "default" and card.rubric_version
    assert all(item.passed for item in card.items)
    for item in card.items:  # every verdict, passing ones too, shows what it rests on
        assert item.evidence, item.id
    assert items["compliance"].evidence[0].text.startswith("检查了")
    assert items["opening"].evidence[0].start == 0.5
    assert items["qualification_budget"].evidence[0].text == "这个项目今年大概有多少预算？"
    assert "下周二下午三点" in items["next_step"].feedback
    assert "57%" in items["talk_ratio"].feedback  # {talk_ratio:.0%} filled from the call
    assert all(_has_cjk(item.feedback) for item in card.items)
    # the objection and the rep's answer are both shown
    assert [e.start for e in items["objection_handling"].evidence] == [29.8, 34.8]


def test_a_bad_en_call_fails_with_the_deciding_moments_and_en_feedback() -> None:
    card = score(bad_en(), load_rubric("default"))
    items = _items(card)
    assert card.grade == "fail" and card.grade_label == "Fail" and card.score < 30
    for item_id in ("opening", "needs_discovery", "talk_ratio", "monologue", "objection_handling",
                    "next_step", "compliance"):
        assert items[item_id].passed is False, item_id
    # the longest monologue is the evidence, its length in the feedback
    assert (items["monologue"].evidence[0].start, items["monologue"].evidence[0].end) == (6.5, 96.0)
    assert "90 seconds" in items["monologue"].feedback
    assert items["objection_handling"].evidence[0].text == BAD_EN[3][3]
    assert "competitor" in items["objection_handling"].feedback
    assert items["compliance"].evidence[0].start == 100.5
    assert "guaranteed returns" in items["compliance"].feedback
    assert "your name" in items["opening"].feedback
    assert all(item.feedback.isascii() for item in card.items)


def test_items_that_do_not_apply_are_null_and_leave_the_total() -> None:
    conv = build(GOOD_ZH, next_steps=[next_step(GOOD_ZH, 10, "下周二下午三点")])  # no objection raised
    card = score(conv, load_rubric("default"))
    item = _items(card)["objection_handling"]
    assert item.passed is None and item.score == 0
    assert item.feedback == "本通话客户没有提出异议。"
    assert card.score == 100.0  # 85 of 85 applicable points

    after_sales = build(GOOD_ZH, stage="after_sales")
    items = _items(score(after_sales, load_rubric("default")))
    assert items["qualification_budget"].passed is None  # budget is not asked after the sale
    assert items["qualification_authority"].passed is None


def test_one_of_two_objections_handled_earns_half_the_points() -> None:
    objections = [objection(GOOD_ZH, 5, "price", True, 6), objection(GOOD_ZH, 3, "need", False)]
    conv = build(GOOD_ZH, objections=objections, next_steps=[next_step(GOOD_ZH, 10, "下周二")])
    item = _items(score(conv, load_rubric("default")))["objection_handling"]
    assert item.passed is False
    assert item.score == pytest.approx(7.5) and item.max == 15
    assert "2个异议中处理了1个" in item.feedback and "无需求" in item.feedback
    assert item.evidence[0].start == GOOD_ZH[3][0]  # the unhandled one first


def test_next_step_without_a_time_gets_partial_credit() -> None:
    conv = build(GOOD_ZH, next_steps=[next_step(GOOD_ZH, 10, "")])
    item = _items(score(conv, load_rubric("default"), lang="en"))["next_step"]
    assert item.passed is False and item.score == pytest.approx(6.0)
    assert item.feedback.startswith("There is a next step but no time")


def test_budget_raised_only_by_the_customer_gets_partial_credit() -> None:
    specs = list(GOOD_ZH)
    specs[4] = (24.8, 29.0, "rep", "明白了，这个问题很常见。", None)  # the budget question is gone
    item = _items(score(build(specs), load_rubric("default")))["qualification_budget"]
    assert item.passed is False and item.score == pytest.approx(4.0)
    assert item.evidence[0].text.startswith("预算大概二十万")
    assert "客户自己提出" in item.feedback


def test_talk_ratio_just_outside_the_band_loses_part_of_the_points() -> None:
    specs = list(GOOD_ZH)
    specs[6] = (34.8, 57.0, "rep", specs[6][3], None)  # a longer answer pushes the rep above 65 %
    specs[7:] = [(s + 15.0, e + 15.0, r, t, q) for s, e, r, t, q in specs[7:]]
    conv = build(specs)
    assert 0.65 < conv.metrics.talk_ratio < 0.8
    item = _items(score(conv, load_rubric("default")))["talk_ratio"]
    assert item.passed is False and 0 < item.score < item.max
    assert item.evidence and item.evidence[0].text  # the rep's longest turns


def test_lang_override_gives_english_feedback_for_a_zh_call() -> None:
    card = score(good_zh(), load_rubric("default"), lang="en")
    assert card.language == "en" and card.grade_label == "Excellent"
    assert _items(card)["opening"].name == "Opening"
    # all English but the time expression quoted from the call
    assert all(item.feedback.isascii() for item in card.items if item.id != "next_step")
    assert _items(card)["next_step"].feedback == "You agreed a concrete next step: 下周二下午三点."


def test_unknown_call_language_falls_back_to_the_rubric_first_language() -> None:
    card = score(good_zh(), load_rubric("default"), lang="fr")
    assert card.language == "zh"


def test_qa_strict_veto_fails_the_call_on_one_forbidden_claim() -> None:
    s, e, _, text, _ = GOOD_ZH[6]
    hit = Hit("guaranteed_returns", "保证收益", 6, s, e, text)
    clean = score(good_zh(), load_rubric("qa-strict"))
    dirty = score(build(GOOD_ZH, objections=[objection(GOOD_ZH, 5, "price", True, 6)], compliance=[hit]),
                  load_rubric("qa-strict"))
    assert _items(clean)["compliance"].passed is True
    items = _items(dirty)
    assert items["compliance"].passed is False and items["compliance"].evidence[0].start == s
    assert dirty.grade == "fail" and dirty.grade_label == "不合格"
    # the rubric is swappable: different items and a different standard for the same call
    assert set(items) != set(_items(score(good_zh(), load_rubric("default"))))
    assert items["recording_disclosure"].passed is False  # the rep never said the call is recorded
    assert items["identity_check"].passed is False


def test_customer_compliance_phrases_do_not_count_against_the_rep() -> None:
    s, e, _, text, _ = GOOD_ZH[3]
    hit = Hit("guaranteed_returns", "保证", 3, s, e, text, role="customer")
    card = score(build(GOOD_ZH, compliance=[hit]), load_rubric("default"))
    assert _items(card)["compliance"].passed is True


def test_interrupting_the_customer_is_found() -> None:
    specs = list(GOOD_ZH)
    specs[4] = (22.0, 29.0, "rep", specs[4][3], "closed")  # starts 2 s before the customer stops at 24.0
    item = _items(score(build(specs), load_rubric("default"), lang="en"))["patience"]
    assert item.passed is False and item.evidence[0].start == 22.0
    assert "1 time" in item.feedback


def test_a_call_where_nobody_spoke_has_nothing_to_score() -> None:
    from callscope.models.document import Conversation, Transcript
    from callscope.nlp.metrics import compute_metrics

    transcript = Transcript(duration=5.0, language="zh", layout="mono", turns=[])
    metrics = compute_metrics(transcript, 0, 0)
    conv = Conversation(transcript, [], "prospecting", {}, [], [], [], [], [], metrics)
    for rubric in ("default", "qa-strict"):
        card = score(conv, load_rubric(rubric))
        assert all(item.passed is None for item in card.items)
        assert card.score == 0 and card.grade == "fail"


def test_a_consumer_buying_for_the_family_is_not_asked_who_decides() -> None:
    specs = [
        (0.5, 6.0, "rep", "您好，我是优学教育的顾问小林，想跟您聊聊孩子的数学。", None),
        (6.8, 9.0, "customer", "好的，你说。", None),
        (9.8, 14.0, "rep", "孩子现在哪块最吃力？平时作业要写多久？", "open"),
        (14.8, 20.0, "customer", "几何吧，作业要写到十点。", None),
    ]
    items = _items(score(build(specs), load_rubric("default")))
    assert items["qualification_authority"].passed is None
    assert items["qualification_budget"].passed is False  # a family still has a budget
    business = _items(score(build(GOOD_ZH), load_rubric("default")))
    assert business["qualification_authority"].passed is True


def _closed_count_too() -> dict:
    """The default rubric with needs_discovery counting closed questions about the customer as well."""
    data = load_rubric("default").to_dict()
    item = next(i for i in data["items"] if i["id"] == "needs_discovery")
    item["params"].update(count_closed=True, min_count=1)
    item["feedback"]["pass"]["zh"] = "很好，你问了{count}个问题了解客户的情况。"
    return data


def test_open_questions_are_counted_per_question_not_per_turn() -> None:
    specs = list(GOOD_ZH)
    specs[8] = (45.8, 50.0, "rep", "好的，明白了。", None)  # only the turn with two open questions is left
    item = _items(score(build(specs), load_rubric("default")))["needs_discovery"]
    assert item.passed is True
    # two turns ask open questions: one asks two ("怎么…？遇到了哪些问题？"), the budget one
    # ("有多少预算？", a how-much question) one; three questions, not two turns
    assert len(item.evidence) == 2
    assert "3个开放式问题" in item.feedback


def test_closed_questions_about_the_customer_count_with_count_closed() -> None:
    specs = [(0.5, 6.0, "rep", "您好，我是远帆文具的小郑，今天想跟您聊聊开学季的备货。", None),
             (6.5, 9.0, "customer", "嗯，你说。", None),
             (9.5, 14.0, "rep", "咱们这七年里有没有出过断货？", None),  # closed, about the customer
             (14.5, 18.0, "customer", "出过两次。", None)]
    loose = _items(score(build(specs), load_rubric(_closed_count_too())))["needs_discovery"]
    assert loose.passed is True and "1个问题" in loose.feedback
    assert [e.start for e in loose.evidence] == [9.5]
    # the contract's default: open questions about the customer's situation, a closed one does not pass
    assert _items(score(build(specs), load_rubric("default")))["needs_discovery"].passed is False
    silent = specs[:2] + [(9.5, 14.0, "rep", "我们的本子质量很好，价格也便宜。", None)]
    assert _items(score(build(silent), load_rubric(_closed_count_too())))["needs_discovery"].passed is False
