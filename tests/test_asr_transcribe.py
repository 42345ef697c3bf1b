"""Real model, real audio: the sample calls come out as the right words, speakers, roles and turns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from callscope.models.document import Turn
from tests.conftest import transcript_of

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# characters that exist only in traditional script, common in sales talk
TRADITIONAL = set("們這說會時門麼對現與為來後裡價錢貴買賣開關準備經題嗎還個東發")


def truth_turns(sample_id: str) -> list[dict]:
    return json.loads((SAMPLES / f"{sample_id}.truth.json").read_text(encoding="utf-8"))["turns"]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over letters and digits (punctuation and spaces ignored)."""
    ref, hyp = (re.sub(r"[\W_]+", "", t.lower()) for t in (reference, hypothesis))
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))


def best_match(truth: dict, turns: list[Turn]) -> Turn | None:
    """The transcript turn that overlaps a truth turn most in time."""
    def overlap(t: Turn) -> float:
        return min(t.end, truth["end"]) - max(t.start, truth["start"])
    best = max(turns, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def test_cer_helper() -> None:
    assert cer("你好，世界", "你好世界") == 0.0
    assert cer("abcd", "abxd") == pytest.approx(0.25)


def test_zh_stereo_is_simplified_chinese_with_punctuation() -> None:
    tr = transcript_of("zh-demo.stereo.flac")
    text = "".join(t.text for t in tr.turns)
    assert tr.language == "zh" and tr.layout == "stereo"
    assert not TRADITIONAL & set(text), f"traditional characters: {TRADITIONAL & set(text)}"
    assert re.search(r"[，。？]", text)
    assert not re.search(r"[\u4e00-\u9fff][,?!]", text), "ASCII punctuation inside Chinese"
    assert all(t.language == "zh" for t in tr.turns)


def test_zh_stereo_words_are_close_to_the_script() -> None:
    tr = transcript_of("zh-demo.stereo.flac")
    truth = truth_turns("zh-demo")
    for role, limit in (("rep", 0.15), ("customer", 0.15)):
        reference = "".join(t["text"] for t in truth if t["role"] == role)
        hypothesis = "".join(t.text for t in tr.turns if t.role == role)
        assert cer(reference, hypothesis) < limit, role


def test_zh_stereo_shows_no_invented_tail_and_the_report_marks_the_hole() -> None:
    # the rep's 省下的赔偿就超过了系统费用 (about 1 min in) decodes as 剩下案。坚持好朋友爱，文娃: a drift
    # the check drops; the analysis keeps the hole's times and the report says where words are missing
    from callscope.core.config import Settings
    from callscope.pipeline import SPEECH_STAGES, analyze_transcript
    from callscope.report import render_text
    from callscope.scoring import load_rubric

    tr = transcript_of("zh-demo.stereo.flac")
    rep = "".join(t.text for t in tr.turns if t.role == "rep")
    assert not any(w in rep for w in ("坚持", "朋友", "文娃")), rep
    holes = tr.asr["channels"][0]["unheard_speech"]
    assert any(58 < a < b < 66 for a, b in holes), holes
    settings = Settings.from_env()
    report = render_text(analyze_transcript(tr, load_rubric(settings.rubric), settings,
                                            dict.fromkeys(SPEECH_STAGES, 0.0)), lang="zh")
    marked = [line for line in report.splitlines() if "未能可靠转写" in line]
    assert len(marked) == len(holes) + len(tr.asr["channels"][1]["unheard_speech"])
    assert any(line.strip().startswith(("01:01  销售", "01:02  销售")) for line in marked), marked


def test_zh_stereo_roles_speakers_and_turns() -> None:
    tr = transcript_of("zh-demo.stereo.flac")
    truth = truth_turns("zh-demo")
    assert tr.speakers == {"S0": "rep", "S1": "customer"}
    assert all((t.speaker == "S0") == (t.role == "rep") == (t.channel == 0) for t in tr.turns)
    # one transcript turn per scripted turn, give or take a split at a long pause
    assert len(truth) - 1 <= len(tr.turns) <= len(truth) + 3
    matched = [best_match(t, tr.turns) for t in truth]
    wrong = [t["text"] for m, t in zip(matched, truth, strict=True) if m is None or m.role != t["role"]]
    assert not wrong
    for turn in tr.turns:
        assert turn.start < turn.end and turn.words
        # the edges reach out to the channel's speech (VAD), never inside the words
        assert turn.start <= turn.words[0].start and turn.words[-1].end <= turn.end and turn.text
        assert turn.words[0].start - turn.start < 1.5 and turn.end - turn.words[-1].end < 3.0
    starts = [t.start for t in tr.turns]
    assert starts == sorted(starts)
    # consecutive turns of one speaker only after a long pause
    for a, b in zip(tr.turns, tr.turns[1:], strict=False):
        if a.speaker == b.speaker:
            assert b.start - a.end > 1.0


def test_asr_metadata() -> None:
    asr = transcript_of("zh-demo.stereo.flac").asr
    assert asr["model"] == "whisper-base" and asr["device"] in ("cpu", "cuda")
    assert asr["compute_type"] in ("int8", "float16")
    assert [c["language"] for c in asr["channels"]] == ["zh", "zh"]
    assert asr["decode_seconds"] > 0 and isinstance(asr["guards"], dict)


def test_english_call_stays_english() -> None:
    tr = transcript_of("en-demo.stereo.flac")
    assert tr.language == "en"
    assert all(t.language == "en" for t in tr.turns)
    text = " ".join(t.text for t in tr.turns)
    assert not re.search(r"[\u4e00-\u9fff]", text)
    reference = " ".join(t["text"] for t in truth_turns("en-demo"))
    assert cer(reference, text) < 0.25


def test_mixed_call_keeps_english_turns_english() -> None:
    tr = transcript_of("mixed-demo.stereo.flac")
    assert tr.language == "zh"
    english = [t for t in truth_turns("mixed-demo") if not re.search(r"[\u4e00-\u9fff]", t["text"])]
    assert english, "the mixed sample has whole English turns"
    for truth in english:
        turn = best_match(truth, tr.turns)
        assert turn is not None and turn.language == "en", truth["text"]
        assert cer(truth["text"], turn.text) < 0.35, (truth["text"], turn.text)
    chinese = [t for t in tr.turns if t.language == "zh"]
    assert chinese and not TRADITIONAL & set("".join(t.text for t in chinese))
