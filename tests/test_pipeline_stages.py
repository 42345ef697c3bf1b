"""The speech stages as callscope.pipeline runs them (decode -> diarize -> turns -> roles), each with
typed output, on real audio with the real model: each stage's result is what the next one reads, and
pipeline.transcribe is exactly their composition."""

from __future__ import annotations

from pathlib import Path

from callscope import asr
from callscope.asr.diarize import Diarization
from callscope.core.config import Settings
from callscope.ingest import load_recording
from callscope.pipeline import SPEECH_STAGES, transcribe
from tests.conftest import sample_clip


def _turns(transcript) -> list[tuple]:
    return [(t.speaker, t.role, t.text, round(t.start, 3), round(t.end, 3)) for t in transcript.turns]


def test_stereo_stages_speakers_come_from_the_channels(tmp_path: Path) -> None:
    settings = Settings.from_env()
    # the rep on channel 1: diarize must name channel 1's speaker S0 and the roles stage make it the rep
    recording = load_recording(sample_clip(tmp_path, "zh-demo.stereo.flac", 0, 12), channels="stereo",
                               rep_channel=1, settings=settings)
    decoded = asr.decode(recording, settings)
    assert isinstance(decoded, asr.Decoded) and sorted(decoded.channels) == [0, 1]
    assert all(decoded.channels[ch].words for ch in (0, 1)) and decoded.audio is None

    speakers = asr.find_speakers(decoded, settings)
    assert speakers.diarization is None and speakers.by_channel == {1: "S0", 0: "S1"}

    turns = asr.speaker_turns(decoded, speakers)
    assert {t.speaker for t in turns} == {"S0", "S1"}
    assert {t.channel for t in turns if t.speaker == "S0"} == {1}

    roles = asr.assign_roles(turns, speakers)
    assert roles.by_speaker == {"S0": "rep", "S1": "customer"}
    assert all(t.role == roles.by_speaker[t.speaker] for t in turns)

    staged = asr.transcript(decoded, speakers, turns, roles)
    assert "diarization" not in staged.asr and staged.speakers == roles.by_speaker
    timings: dict[str, float] = {}
    composed = transcribe(recording, settings, timings=timings)
    assert _turns(composed) == _turns(staged)
    assert set(timings) == set(SPEECH_STAGES) and timings["decode"] > 0


def test_mono_stages_diarize_the_mix_and_say_which_diarizer_ran(tmp_path: Path) -> None:
    settings = Settings.from_env()
    recording = load_recording(sample_clip(tmp_path, "zh-demo.mono.flac", 0, 25), channels="mono",
                               settings=settings)
    decoded = asr.decode(recording, settings)
    assert sorted(decoded.channels) == [0] and decoded.audio is not None and decoded.mono.words

    speakers = asr.find_speakers(decoded, settings)
    assert isinstance(speakers.diarization, Diarization) and speakers.by_channel == {}
    assert speakers.diarization.method in ("embeddings", "mfcc", "turn-taking")

    turns = asr.speaker_turns(decoded, speakers)
    diarized = {s.speaker for s in speakers.diarization.spans}
    assert turns and {t.speaker for t in turns} <= diarized

    roles = asr.assign_roles(turns, speakers)
    assert list(roles.by_speaker.values()).count("rep") == 1  # exactly one rep
    staged = asr.transcript(decoded, speakers, turns, roles)
    assert staged.asr["diarization"]["method"] == speakers.diarization.method
    assert _turns(transcribe(recording, settings)) == _turns(staged)
