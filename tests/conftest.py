"""Shared fixtures. Real model, real audio: the transcripts and analyses of the samples are computed once
per test session."""

from __future__ import annotations

import copy
import functools
import json
import time
from pathlib import Path

import pytest

from callscope.core.config import Settings
from callscope.models.document import Transcript

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def _speech_of(filename: str, channels: str, rep_channel: int) -> tuple[Transcript, dict[str, float]]:
    """samples/<filename> through ingest and the speech stages exactly as analyze() runs them, with the
    stages' timings; once per test session (the model's transcript is the costly part)."""
    from callscope.ingest import load_recording
    from callscope.pipeline import recognizer_vocabulary, transcribe

    settings = Settings.from_env()
    t0 = time.perf_counter()
    recording = load_recording(SAMPLES / filename, channels=channels, rep_channel=rep_channel,
                               settings=settings)
    timings = {"ingest": time.perf_counter() - t0}
    language = None if settings.language == "auto" else settings.language
    return transcribe(recording, settings, language=language, vocabulary=recognizer_vocabulary(),
                      timings=timings), timings


def transcript_of(filename: str, channels: str = "auto", rep_channel: int = 0) -> Transcript:
    """The recognised transcript of samples/<filename> (a copy: a caller may change it), as analyze()
    makes it, transcribed once per test session."""
    return copy.deepcopy(_speech_of(filename, channels, rep_channel)[0])


@functools.cache
def analysis_of(filename: str, channels: str = "auto", rep_channel: int = 0) -> dict:
    """The analysis document of samples/<filename>, computed once per test session: the stages after
    speech of pipeline.analyze() on the session's transcript of the file."""
    from callscope.pipeline import analyze_transcript
    from callscope.scoring import load_rubric

    settings = Settings.from_env()
    transcript, timings = _speech_of(filename, channels, rep_channel)
    analysis = analyze_transcript(copy.deepcopy(transcript), load_rubric(settings.rubric), settings,
                                  dict(timings))
    # through JSON, as the CLI and the API send it: a value JSON cannot carry fails every test using it
    return json.loads(json.dumps(analysis.to_dict()))


def truth_of(sample_id: str) -> dict:
    return json.loads((SAMPLES / f"{sample_id}.truth.json").read_text(encoding="utf-8"))


def sample_clip(tmp_path: Path, name: str, start: float, seconds: float) -> Path:
    """A FLAC file with `seconds` of samples/name from `start` on."""
    import soundfile

    data, rate = soundfile.read(SAMPLES / name)
    out = tmp_path / f"{Path(name).stem}-{start:g}.flac"
    soundfile.write(out, data[int(start * rate): int((start + seconds) * rate)], rate, format="FLAC")
    return out
