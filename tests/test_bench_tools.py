"""The benchmark scripts' own parts (no model, no server): CER, test-call building, upload bodies, CLIs."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import soundfile as sf

from bench import api_load, cost, handled_threshold, memory, nlp_speed, pipeline_vs_plain
from bench.common import SAMPLES, Clip, build_long_call, cer, edit_distance, normalize_for_cer, truth_text


def _naive_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_edit_distance_matches_the_textbook_algorithm() -> None:
    rng = random.Random(1)
    for _ in range(200):
        a = "".join(rng.choice("ab你好x") for _ in range(rng.randint(0, 10)))
        b = "".join(rng.choice("ab你好x") for _ in range(rng.randint(0, 10)))
        assert edit_distance(a, b) == _naive_distance(a, b), (a, b)


def test_cer_ignores_script_punctuation_and_case() -> None:
    assert normalize_for_cer("您好，這個 Price!") == "您好这个price"
    assert cer("您好，这个价格", "您好這個價格。") == 0.0
    assert cer("你好世界", "你好世间") == pytest.approx(0.25)


def test_long_call_concatenates_clips_with_their_truth_in_order(tmp_path) -> None:
    clips = [Clip(SAMPLES / f"{n}.stereo.flac", SAMPLES / f"{n}.truth.json") for n in ("en-demo", "zh-phone")]
    call = build_long_call(clips, target_seconds=70, out_path=tmp_path / "call.wav", gap=1.0)
    audio, rate = sf.read(str(call.path))
    assert rate == 16000 and audio.shape[1] == 2
    assert call.sources == ["en-demo.stereo.flac", "zh-phone.stereo.flac"]
    assert call.duration == pytest.approx(audio.shape[0] / 16000)
    assert call.duration > 59 + 51
    english, chinese = truth_text(clips[0].truth), truth_text(clips[1].truth)
    assert call.truth_text == english + chinese


def test_upload_body_is_a_valid_wav_of_the_declared_length() -> None:
    body, length = memory.wav_stream(200_000, "bnd", "rep@example.com")
    data = b"".join(body)
    assert len(data) == length
    start = data.index(b"RIFF")
    end = data.rindex(b"\r\n--bnd--")
    audio, rate = sf.read(io.BytesIO(data[start:end]))
    assert rate == 16000 and len(audio) == (200_000 - 44) // 2


def test_truth_transcript_keeps_every_party_apart() -> None:
    transcript = nlp_speed.transcript_from_truth(SAMPLES / "zh-meeting.truth.json")
    assert transcript.speakers["S0"] == "rep"
    assert len(transcript.speakers) == 3
    assert all(t.role == ("rep" if t.speaker == "S0" else "customer") for t in transcript.turns)


def test_handled_threshold_figures_average_authors_and_balance_the_classes() -> None:
    # author 1: 3 handled, 1 unhandled; author 2 only handled answers (its unhandled recall is undefined)
    scores = [(np.array([True, True, True, False]), np.array([0.9, 0.6, 0.4, 0.2])),
              (np.array([True, True]), np.array([0.8, 0.3]))]
    figures = handled_threshold.threshold_figures(scores, 0.5)
    assert figures["accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert figures["handled_recall"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert figures["unhandled_recall"] == pytest.approx(1.0)
    assert figures["balanced"] == pytest.approx(((2 / 3 + 1) / 2 + 1 / 2) / 2)


@pytest.mark.parametrize("module", [pipeline_vs_plain, cost, nlp_speed, api_load, memory])
def test_every_benchmark_explains_itself(module, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_objection_counts_match_type_and_turn_and_a_raised_threshold_drops_the_unsure(tmp_path) -> None:
    from bench.new_authors import _keep_confident
    from callscope.models.document import Objection
    from callscope.nlp.corpus import load_calls
    from callscope.nlp.train import objection_counts

    path = tmp_path / "calls_authors_zz.yaml"
    path.write_text("""- id: zz-1
  lang: zh
  industry: test
  stage: negotiation
  turns:
    - R 报价发您了。
    - C 太贵了。 !price
    - R 我给您算笔账。 !handled
    - C 我得问问老板。 !authority
    - R 好的。 !unhandled
""")
    call = load_calls(path)[0]
    found = [Objection(type="price", turn=1, start=0.0, end=1.0, text="太贵了。", handled=True,
                       confidence=0.9),
             Objection(type="trust", turn=3, start=2.0, end=3.0, text="我得问问老板。", handled=False,
                       confidence=0.65)]
    # price right and handled right; trust is a false positive and authority a miss
    assert objection_counts(call, found) == (1, 1, 1, 1)
    assert objection_counts(call, _keep_confident(found, 0.7)) == (1, 0, 1, 1)
