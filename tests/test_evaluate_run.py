"""bench.evaluate wiring: comparing documents with truth, and a real text-only run (no ASR, fast)."""

from __future__ import annotations

import pytest

from bench.evaluate import compare, run_one, summarize
from bench.truth import canonical_role, load_set


@pytest.fixture(scope="module")
def zh_demo():
    (call,) = load_set("samples", ["zh-demo"])
    return call


def test_sets_find_their_audio() -> None:
    samples = {c.id: c for c in load_set("samples")}
    assert set(samples["zh-demo"].audio) == {"stereo", "mono"}
    assert set(samples["zh-meeting"].audio) == {"mono"}
    assert samples["mixed-demo"].kind == "mixed" and samples["en-demo"].kind == "en"
    dev = load_set("dev")
    assert len(dev) >= 20 and all("stereo" in c.audio for c in dev)
    tune = load_set("tune")
    assert len(tune) == 14 and all(set(c.audio) == {"stereo", "mono"} and c.kind == "zh" for c in tune)
    # synthcall's Mandarin TTS garbles turns past about 50 characters: the truth would not be what is heard
    assert max(len(t["text"]) for c in tune for t in c.turns) <= 40
    # the tuning set's labels use the contract's stage names, so its stage column means something
    assert {c.labels["stage"] for c in tune} <= {"prospecting", "discovery", "presentation", "negotiation",
                                                 "closing", "after_sales"}


def test_a_document_equal_to_the_truth_scores_perfectly(zh_demo) -> None:
    labels = zh_demo.labels
    document = {
        "language": "zh",
        "segments": [
            {"start": t["start"], "end": t["end"], "role": canonical_role(t["role"]), "text": t["text"]}
            for t in zh_demo.turns
        ],
        "stage": labels["stage"],
        "objections": [{"type": t["objection"], "start": t["start"], "end": t["end"], "handled": t["handled"]}
                       for t in zh_demo.turns if "objection" in t],
        "next_steps": [{"start": t["start"], "text": t["text"]} for t in zh_demo.turns if t.get("next_step")],
        "metrics": {"talk_ratio": 0.6},
        "scorecard": {"items": [{"id": k, "passed": v} for k, v in labels["rubric"].items()]},
    }
    result = compare(zh_demo, document, "stereo", seconds=8.0)
    assert (result["text"]["metric"], result["text"]["errors"], result["text"]["rate"]) == ("CER", 0, 0.0)
    assert result["text"]["tokens"] > 300
    assert result["role_accuracy"] == pytest.approx(1.0)
    assert result["objections"]["tp"] == 1 and result["objections"]["fp"] == result["objections"]["fn"] == 0
    assert result["rubric"]["agree"] == result["rubric"]["items"] == 9
    assert result["rtf"] == pytest.approx(8.0 / zh_demo.duration)
    summary = summarize([result])
    assert summary["stage_accuracy"] == 1.0 and summary["objections"]["f1"] == 1.0


def test_text_only_run_uses_the_real_nlp_and_scoring(zh_demo) -> None:
    result = run_one(zh_demo, "text")
    assert "error" not in result, result.get("error")
    # the truth turns go in unchanged, so the measured talk ratio is the truth's
    assert result["talk_ratio"]["abs_error"] < 0.01
    assert result["rubric"]["items"] == 9
    assert result["stage"]["predicted"] in ("prospecting", "discovery", "presentation", "negotiation",
                                            "closing", "after_sales")
