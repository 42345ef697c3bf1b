"""Mono calls: the mix is transcribed, diarization tells the speakers apart, roles come out right."""

from __future__ import annotations

import pytest

from tests.conftest import transcript_of
from tests.test_asr_transcribe import TRADITIONAL, best_match, cer, truth_turns

pytest.importorskip("callscope.asr.diarize", reason="asr/diarize.py (speaker diarization) is not there yet")
pytest.importorskip("callscope.asr.roles", reason="asr/roles.py (rep or customer) is not there yet")


def test_zh_mono_speakers_roles_and_words() -> None:
    tr = transcript_of("zh-demo.mono.flac")
    truth = truth_turns("zh-demo")
    assert tr.layout == "mono" and tr.language == "zh"
    assert set(tr.speakers.values()) == {"rep", "customer"}
    matched = [best_match(t, tr.turns) for t in truth]
    right = sum(m is not None and m.role == t["role"] for m, t in zip(matched, truth, strict=True))
    assert right >= 0.8 * len(truth)
    text = "".join(t.text for t in tr.turns)
    assert not TRADITIONAL & set(text)
    assert cer("".join(t["text"] for t in truth), text) < 0.2
    assert all(t.channel is None or t.channel == 0 for t in tr.turns)
    # the diarization step says what it did: one TTS voice pitch-shifted, so not the speaker embeddings
    step = tr.asr["diarization"]
    assert step["method"] in ("mfcc", "turn-taking") and step["reason"]


def test_real_two_voice_mono_call_goes_through_the_embedding_step(tmp_path) -> None:
    """A mono call of two real voices (clips joined by bench.diarization): decode -> diarize (speaker
    embeddings) -> turns -> roles; each turn's speaker is the voice that said it."""
    from collections import Counter

    import soundfile as sf

    from bench import diarization as bench
    from callscope.asr import speakers
    from callscope.core.config import Settings
    from callscope.ingest.audio import load_recording
    from callscope.pipeline import transcribe

    if not speakers.available() or not bench.REALSPEECH.is_dir():
        pytest.skip("needs the speakers extra and ../shared/realspeech")
    call = bench.joined_call("call2-LD", "LD")
    path = tmp_path / "call2-LD.wav"
    sf.write(path, call.audio, bench.RATE)
    settings = Settings.from_env()
    tr = transcribe(load_recording(path, settings=settings), settings)
    assert tr.asr["diarization"]["method"] == "embeddings"
    assert tr.asr["diarization"]["speakers"] == 2
    assert sorted(tr.speakers.values()) == ["customer", "rep"]
    pairs = Counter()
    for turn in tr.turns:
        mid = (turn.start + turn.end) / 2
        voice = next((v for a, b, v in call.reference if a - 0.3 <= mid <= b + 0.3), None)
        pairs[(turn.speaker, voice)] += turn.duration
    by_speaker = {}
    for (speaker, voice), held in pairs.items():
        by_speaker.setdefault(speaker, Counter())[voice] += held
    right = sum(c.most_common(1)[0][1] for c in by_speaker.values())
    assert right >= 0.9 * sum(pairs.values())
    assert len({c.most_common(1)[0][0] for c in by_speaker.values()}) == 2  # two voices, two speakers


def test_clustering_a_long_meeting_subsamples_and_still_separates_voices() -> None:
    """Past MAX_CLUSTERED windows the clustering works on a subset; every window still gets its voice."""
    import numpy as np

    from callscope.asr import diarize

    rng = np.random.default_rng(0)
    n = diarize.MAX_CLUSTERED * 3
    truth = (np.arange(n) // 40) % 2  # two voices taking turns of 40 windows
    centres = rng.normal(size=(2, 22))
    emb = centres[truth] + 0.3 * rng.normal(size=(n, 22))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = diarize._cluster(emb, 2, 4)
    agreement = max(np.mean(labels == truth), np.mean(labels == 1 - truth))
    assert len(labels) == n and set(labels) == {0, 1} and agreement > 0.99
