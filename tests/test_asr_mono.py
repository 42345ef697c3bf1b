"""Mono calls: the mix is transcribed, diarization tells the speakers apart, roles come out right."""

from __future__ import annotations

import pytest

from tests.test_asr_transcribe import TRADITIONAL, best_match, cer, transcript_of, truth_turns

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
