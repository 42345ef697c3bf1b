"""The evaluation's metric functions on small hand-made inputs with known answers."""

from __future__ import annotations

import pytest

from bench.metrics import (
    LabeledObjection,
    edit_distance,
    error_rate,
    f1,
    match_objections,
    normalize_text,
    number_to_chinese,
    number_to_english,
    role_accuracy,
    rubric_agreement,
    summary_stats,
    talk_ratio,
)


def test_edit_distance_counts_substitutions_insertions_deletions() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    assert edit_distance(["a", "b"], []) == 2
    assert edit_distance(["x"], ["x"]) == 0


def test_cer_ignores_punctuation_spaces_and_traditional_characters() -> None:
    rate = error_rate("下周二下午，我们见面。", "下週二 下午我們見面", "zh")
    assert rate.reference_tokens == 9
    assert rate.errors == 0


def test_cer_one_substitution_and_one_deletion() -> None:
    rate = error_rate("预算二十万", "预算三十", "zh")  # 二->三 substituted, 万 dropped
    assert (rate.errors, rate.reference_tokens) == (2, 5)
    assert rate.rate == pytest.approx(0.4)


def test_cer_reads_digits_as_chinese_numerals() -> None:
    assert error_rate("预算大概二十万，年化百分之八", "预算大概20万，年化8%", "zh").errors == 0
    assert error_rate("两百套工位", "200套工位", "zh").errors == 0


def test_wer_lowercases_strips_punctuation_and_reads_numbers() -> None:
    rate = error_rate("Next Tuesday at 3 pm works.", "next tuesday at three p.m. works", "en")
    assert (rate.errors, rate.reference_tokens) == (0, 6)
    rate = error_rate("We have about eighty vans", "we have eighty band", "en")  # about deleted, vans->band
    assert (rate.errors, rate.reference_tokens) == (2, 5)


def test_mixed_error_rate_counts_chinese_characters_and_english_words() -> None:
    tokens = normalize_text("我们也在看Salesforce系统", "zh")
    assert tokens == ["我", "们", "也", "在", "看", "salesforce", "系", "统"]


def test_numbers_spelled_out() -> None:
    assert number_to_chinese("15000") == "一万五千"
    assert number_to_chinese("105") == "一百零五"
    assert number_to_chinese("12") == "十二"
    assert number_to_chinese("1.5") == "一点五"
    assert number_to_english("60000") == "sixty thousand"
    assert number_to_english("312") == "three hundred twelve"


def test_role_accuracy_over_time() -> None:
    truth = [(0.0, 4.0, "rep"), (5.0, 9.0, "customer")]
    assert role_accuracy(truth, [(0.0, 4.0, "rep"), (5.0, 9.0, "customer")]) == pytest.approx(1.0)
    # the customer's turn attributed to the rep: half the speech time is wrong
    assert role_accuracy(truth, [(0.0, 9.0, "rep")]) == pytest.approx(0.5)
    # the first second of the rep's turn is missed by the prediction
    assert role_accuracy(truth, [(1.0, 4.0, "rep"), (5.0, 9.0, "customer")]) == pytest.approx(7 / 8)


def test_role_accuracy_accepts_either_role_in_crosstalk() -> None:
    truth = [(0.0, 2.0, "rep"), (1.0, 3.0, "customer")]
    assert role_accuracy(truth, [(0.0, 1.5, "rep"), (1.5, 3.0, "customer")]) == pytest.approx(1.0)


def test_talk_ratio_is_rep_share_of_speech() -> None:
    assert talk_ratio([(0, 6, "rep"), (6, 10, "customer")]) == pytest.approx(0.6)
    assert talk_ratio([]) == 0.0


def test_objection_matching_by_type_and_time_with_tolerance() -> None:
    truth = [LabeledObjection("price", 10.0, 14.0, True), LabeledObjection("timing", 30.0, 33.0, False)]
    predicted = [
        LabeledObjection("price", 16.5, 18.0, True),  # 2.5 s after the truth turn: within 3 s, a hit
        LabeledObjection("timing", 40.0, 42.0, False),  # right type, 7 s away: a false positive
        LabeledObjection("need", 31.0, 32.0, True),  # wrong type: a false positive
    ]
    match = match_objections(truth, predicted)
    assert (match.true_positives, match.false_positives, match.false_negatives) == (1, 2, 1)
    assert match.handled_correct == 1
    assert match.wrong_type == 1  # the need at 31 s is where the timing objection was raised
    assert f1(1, 2, 1) == pytest.approx((1 / 3, 1 / 2, 0.4))


def test_a_truth_objection_matches_only_once() -> None:
    truth = [LabeledObjection("price", 10.0, 14.0, False)]
    predicted = [LabeledObjection("price", 10.0, 12.0, True), LabeledObjection("price", 12.0, 14.0, False)]
    match = match_objections(truth, predicted)
    assert (match.true_positives, match.false_positives, match.false_negatives) == (1, 1, 0)
    assert match.handled_correct == 0  # the first (earliest) prediction is the one matched
    assert match.wrong_type == 0  # the second is a repeat, not another type


def test_f1_undefined_is_zero() -> None:
    assert f1(0, 0, 0) == (0.0, 0.0, 0.0)


def test_rubric_agreement_counts_nulls_and_missing_items() -> None:
    truth = {"opening": True, "qualification_budget": None, "compliance": False, "next_step": True}
    predicted = {"opening": True, "qualification_budget": None, "compliance": True}
    assert rubric_agreement(truth, predicted) == (2, 4)


def test_summary_stats() -> None:
    assert summary_stats([1.0, 2.0, 6.0]) == {"mean": 3.0, "median": 2.0, "n": 3}
    assert summary_stats([]) == {"mean": None, "median": None, "n": 0}
