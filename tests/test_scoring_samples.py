"""Scoring the samples' scripted transcripts (truth turns, no ASR) with the real nlp.annotate,
against the per-item rubric labels in samples/*.truth.json."""

from __future__ import annotations

import functools

import pytest

from callscope.models.document import Conversation, Scorecard, Transcript, Turn
from callscope.scoring import load_rubric, score
from tests.conftest import SAMPLES, truth_of

SAMPLE_IDS = sorted(p.name.removesuffix(".truth.json") for p in SAMPLES.glob("*.truth.json"))


def transcript_of(sample_id: str) -> Transcript:
    """The script's own words and times: scoring is judged apart from ASR errors."""
    truth = truth_of(sample_id)
    speakers: dict[str, str] = {}
    turns = []
    for t in truth["turns"]:
        speaker = speakers.setdefault(t["role"], f"S{len(speakers)}")
        role = "rep" if t["role"] == "rep" else "customer"
        turns.append(Turn(t["start"], t["end"], speaker, role, t["text"], language=truth["language"]))
    language = truth["language"] if truth["language"] in ("zh", "en") else "zh"
    roles = {s: ("rep" if r == "rep" else "customer") for r, s in speakers.items()}
    return Transcript(duration=truth.get("duration", turns[-1].end), language=language, layout="stereo",
                      turns=turns, speakers=roles)


@functools.cache
def scored(sample_id: str) -> tuple[Conversation, Scorecard]:
    from callscope.nlp.annotate import annotate

    conv = annotate(transcript_of(sample_id))
    return conv, score(conv, load_rubric("default"))


def test_scorecards_agree_with_the_labeled_rubric_items() -> None:
    agree = total = 0
    misses = []
    for sample_id in SAMPLE_IDS:
        labels = truth_of(sample_id)["labels"]["rubric"]
        for item in scored(sample_id)[1].items:
            if item.id in labels:
                total += 1
                agree += item.passed == labels[item.id]
                if item.passed != labels[item.id]:
                    misses.append(f"{sample_id}:{item.id}={item.passed}")
    assert total >= 40
    assert agree / total >= 0.8, misses


@pytest.mark.parametrize("sample_id", ["zh-demo"])
def test_the_model_call_is_excellent(sample_id: str) -> None:
    card = scored(sample_id)[1]
    assert card.grade == "excellent" and card.grade_label == "优秀"
    items = {i.id: i for i in card.items}
    assert items["qualification_budget"].passed and items["qualification_authority"].passed
    assert items["next_step"].passed and "下周二下午三点" in items["next_step"].feedback


def test_the_pushy_phone_call_fails_with_its_forbidden_claims_as_evidence() -> None:
    card = scored("zh-phone")[1]
    items = {i.id: i for i in card.items}
    assert card.grade == "fail"
    compliance = items["compliance"]
    assert compliance.passed is False
    assert [round(e.start, 1) for e in compliance.evidence][:2] == [31.2, 34.8]
    assert items["talk_ratio"].passed is False and "%" in items["talk_ratio"].feedback
    assert items["needs_discovery"].passed is False


def test_qa_strict_fails_the_phone_call_by_veto_and_names_missing_disclosures() -> None:
    conv, _ = scored("zh-phone")
    card = score(conv, load_rubric("qa-strict"))
    items = {i.id: i for i in card.items}
    assert card.grade == "fail"
    assert items["compliance"].passed is False
    assert items["recording_disclosure"].passed is False
    # greeting by name (陈先生您好) is not asking "请问是陈先生吗": strict 质检 wants the check
    assert items["identity_check"].passed is False
    assert items["identity_check"].evidence[0].start == pytest.approx(0.4)
