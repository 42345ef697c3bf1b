"""Shared fixtures. Real model, real audio: analyses of the samples are computed once per test session."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from callscope.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def analysis_of(filename: str, channels: str = "auto", rep_channel: int = 0) -> dict:
    """The analysis document of samples/<filename>, computed once per test session."""
    from callscope.pipeline import AnalyzeOptions, analyze

    options = AnalyzeOptions(channels=channels, rep_channel=rep_channel)
    # through JSON, as the CLI and the API send it: a value JSON cannot carry fails every test using it
    return json.loads(json.dumps(analyze(SAMPLES / filename, options, Settings.from_env()).to_dict()))


def truth_of(sample_id: str) -> dict:
    return json.loads((SAMPLES / f"{sample_id}.truth.json").read_text(encoding="utf-8"))


def sample_clip(tmp_path: Path, name: str, start: float, seconds: float) -> Path:
    """A FLAC file with `seconds` of samples/name from `start` on."""
    import soundfile

    data, rate = soundfile.read(SAMPLES / name)
    out = tmp_path / f"{Path(name).stem}-{start:g}.flac"
    soundfile.write(out, data[int(start * rate): int((start + seconds) * rate)], rate, format="FLAC")
    return out
