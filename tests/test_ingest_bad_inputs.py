"""Bad recordings are refused with an InputError whose one-line message says why (never a traceback)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.ingest import load_recording

RATE = 16000
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "zh-demo.stereo.flac"


def _tone(seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def _wav(path: Path, audio: np.ndarray) -> Path:
    sf.write(path, audio, RATE)
    return path


def zero_bytes(tmp: Path) -> Path:
    (tmp / "empty.wav").write_bytes(b"")
    return tmp / "empty.wav"


def text_as_wav(tmp: Path) -> Path:
    (tmp / "notes.wav").write_text("meeting notes, not audio\n" * 50, encoding="utf-8")
    return tmp / "notes.wav"


def random_bytes(tmp: Path) -> Path:
    (tmp / "noise.mp3").write_bytes(np.random.default_rng(7).bytes(40_000))
    return tmp / "noise.mp3"


def truncated_flac(tmp: Path) -> Path:
    data = SAMPLE.read_bytes()
    (tmp / "cut.flac").write_bytes(data[: len(data) // 3])
    return tmp / "cut.flac"


def silence(tmp: Path) -> Path:
    return _wav(tmp / "silence.wav", np.zeros(5 * RATE, np.float32))


def half_second(tmp: Path) -> Path:
    return _wav(tmp / "short.wav", _tone(0.5))


def claims_ten_hours(tmp: Path) -> Path:
    """A FLAC file whose header (STREAMINFO total samples) claims ten hours; it holds two seconds."""
    path = tmp / "liar.flac"
    sf.write(path, _tone(2.0), RATE, format="FLAC")
    data = bytearray(path.read_bytes())
    # STREAMINFO starts at byte 8; bytes 18..25 pack rate(20) channels(3) bits(5) total samples(36)
    (packed,) = struct.unpack(">Q", data[18:26])
    packed = (packed & ~((1 << 36) - 1)) | (10 * 3600 * RATE)
    data[18:26] = struct.pack(">Q", packed)
    path.write_bytes(bytes(data))
    return path


def a_directory(tmp: Path) -> Path:
    (tmp / "calls.wav").mkdir()
    return tmp / "calls.wav"


def missing(tmp: Path) -> Path:
    return tmp / "nowhere" / "call.flac"


def mono_tone(tmp: Path) -> Path:
    return _wav(tmp / "mono.wav", _tone(3.0))


CASES: list[tuple[str, Callable[[Path], Path], dict, str]] = [
    ("zero bytes", zero_bytes, {}, "empty file"),
    ("text renamed .wav", text_as_wav, {}, "not an audio file"),
    ("random bytes", random_bytes, {}, "not an audio file"),
    ("truncated flac", truncated_flac, {}, "truncated"),
    ("digital silence", silence, {}, "silent"),
    ("0.5 s tone", half_second, {}, "shorter than the 1s minimum"),
    ("header claims 10 h", claims_ten_hours, {}, "over the 4h00m00s limit"),
    ("over a low max_duration", mono_tone, {"settings": Settings(max_duration=2.0)}, "limit"),
    ("a directory", a_directory, {}, "is a directory"),
    ("missing path", missing, {}, "no such file"),
    ("rep channel 1 on mono", mono_tone, {"rep_channel": 1}, "--rep-channel 1 needs a two-channel file"),
    ("stereo asked of mono", mono_tone, {"channels": "stereo"}, "--channels stereo needs a two-channel file"),
    ("unknown channel mode", mono_tone, {"channels": "quad"}, "channels must be auto, stereo or mono"),
    ("rep channel 2", mono_tone, {"rep_channel": 2}, "rep channel must be 0 or 1"),
]


@pytest.mark.parametrize(("make", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_reason(tmp_path: Path, make, kwargs: dict, expected: str) -> None:
    path = make(tmp_path)
    kwargs = {"settings": Settings(), **kwargs}
    with pytest.raises(InputError) as caught:
        load_recording(path, **kwargs)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and len(message) < 300
    assert "Traceback" not in message


def test_unreadable_file(tmp_path: Path) -> None:
    path = _wav(tmp_path / "locked.wav", _tone(2.0))
    path.chmod(0)
    try:
        if path.open("rb").readable():  # root reads anything: nothing to test then
            pytest.skip("running as a user that ignores file permissions")
    except PermissionError:
        with pytest.raises(InputError, match="permission denied"):
            load_recording(path, settings=Settings())
    finally:
        path.chmod(0o644)


def test_long_header_refused_before_decoding(tmp_path: Path) -> None:
    """The ten-hour claim is refused from the header: no 10 h of samples is ever allocated."""
    import tracemalloc

    path = claims_ten_hours(tmp_path)
    tracemalloc.start()
    with pytest.raises(InputError):
        load_recording(path, settings=Settings())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 1024**2


def hiss(tmp: Path) -> Path:
    """Five seconds of line hiss: loud enough to pass the level check, no speech in it."""
    noise = np.random.default_rng(3).normal(0, 0.05, 5 * RATE).astype(np.float32)
    return _wav(tmp / "hiss.wav", noise)


# the same table through the real command line: flags for the keyword arguments, env for settings
CLI_CASES = [c for c in CASES if c[2].get("channels") != "quad" and c[2].get("rep_channel") != 2]
CLI_CASES.append(("hiss, no speech", hiss, {}, "no speech found"))


def _cli_args(kwargs: dict) -> tuple[list[str], dict[str, str]]:
    flags, env = [], {}
    if "channels" in kwargs:
        flags += ["--channels", kwargs["channels"]]
    if "rep_channel" in kwargs:
        flags += ["--rep-channel", str(kwargs["rep_channel"])]
    if "settings" in kwargs:
        env["CALLSCOPE_MAX_DURATION"] = str(kwargs["settings"].max_duration)
    return flags, env


@pytest.mark.parametrize(("make", "kwargs", "expected"), [c[1:] for c in CLI_CASES],
                         ids=[c[0] for c in CLI_CASES])
def test_the_command_line_answers_bad_input_with_one_line(tmp_path: Path, make, kwargs: dict,
                                                          expected: str) -> None:
    import os
    import subprocess
    import sys

    flags, env = _cli_args(kwargs)
    cli = Path(sys.executable).parent / "callscope"
    proc = subprocess.run([str(cli), "analyze", str(make(tmp_path)), *flags], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert proc.returncode != 0 and proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("callscope: error:")]
    assert len(errors) == 1 and expected in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
