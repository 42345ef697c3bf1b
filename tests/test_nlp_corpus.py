"""Corpus files as outside authors write them: a second customer person (C2) and per-call rubric verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from callscope.core.config import Settings
from callscope.nlp.classifiers import load_classifiers
from callscope.nlp.corpus import load_calls, load_corpus
from callscope.nlp.train import call_transcript
from callscope.scoring.agreement import rubric_agreement

CALL = """
- id: auth-z-1
  lang: mixed
  industry: 家具
  stage: discovery
  rubric:
    opening: true
    needs_discovery: true
    qualification_budget: true
    qualification_authority: null
    objection_handling: null
    next_step: true
    compliance: true
  turns:
    - R 王姐您好，我是美居家具的小陈，今天打电话是想了解一下您新房装修的进度，客厅的家具是怎么打算的？
    - C 哦，还在看，客厅想换个大点的沙发。
    - C2 Budget 的话我们大概两万左右吧。
    - R 明白。那您现在主要考虑哪些风格？预算两万左右是整套还是只含沙发？
    - C 整套的，要耐用一点。
    - R 好的，那我明天下午三点把几个方案发您微信，您看行吗？
    - C 行。
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calls_authors_z.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_second_customer_person_and_rubric_verdicts_load(tmp_path: Path) -> None:
    (call,) = load_calls(_write(tmp_path, CALL))
    assert call.author == "authors_z" and call.lang == "mixed"
    assert [t.speaker for t in call.turns] == ["R", "C", "C2", "R", "C", "R", "C"]
    assert [t.role for t in call.turns][:3] == ["rep", "customer", "customer"]
    # a code-switched call's turns keep their own language; its transcript is a Mandarin call
    assert {t.lang for t in call.turns} == {"zh"}
    assert call.rubric["qualification_authority"] is None and call.rubric["next_step"] is True
    transcript = call_transcript(call)
    assert transcript.language == "zh"
    assert transcript.turns[2].speaker == "S2" and transcript.turns[2].role == "customer"
    # turns last as long as they take to say, so the rubric's 30 s opening window means what it says
    assert 4.0 < transcript.turns[0].end < 15.0
    assert all(a.end < b.start for a, b in zip(transcript.turns, transcript.turns[1:], strict=False))


@pytest.mark.parametrize("line, bad, message", [
    ("    next_step: true\n", "    next_step: maybe\n", "expected true, false or null, got 'maybe'"),
    ("  lang: mixed\n", "  lang: fr\n", "unknown label 'fr'"),
    ("    - C2 ", "    - C3 ", "expected 'R text', 'C text' or 'C2 text'"),
])
def test_a_bad_label_names_the_call(tmp_path: Path, line: str, bad: str, message: str) -> None:
    text = CALL.replace(line, bad)
    with pytest.raises(ValueError, match="auth-z-1") as err:
        load_calls(_write(tmp_path, text))
    assert message in str(err.value)


def test_rubric_agreement_counts_each_labeled_item(tmp_path: Path) -> None:
    (call,) = load_calls(_write(tmp_path, CALL))
    figures = rubric_agreement(load_classifiers(Settings.from_env()), [call])
    assert figures["rubric_calls"] == 1
    assert set(figures["rubric_items"]) == set(call.rubric)
    # an introduction with name, company and purpose, a dated next step and no forbidden claim
    for item in ("opening", "next_step", "compliance"):
        assert figures["rubric_items"][item] == 1.0, item
    assert 0.0 <= figures["rubric_agreement"] <= 1.0


def test_every_corpus_rubric_label_is_a_rubric_item() -> None:
    from callscope.scoring.rubric import load_rubric

    items = {item.id for item in load_rubric("default").items}
    labeled = {item for call in load_corpus().calls for item in call.rubric}
    assert labeled <= items
