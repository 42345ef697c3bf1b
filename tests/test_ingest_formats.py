"""Every container a sales team sends decodes to 16 kHz float32; the channel layout is told right."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from callscope.core.config import Settings
from callscope.ingest import load_recording

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
STEREO = SAMPLES / "zh-demo.stereo.flac"
MONO = SAMPLES / "zh-demo.mono.flac"


def _excerpt(seconds: float = 12.0) -> tuple[np.ndarray, int]:
    """The first seconds of the two-party sample: (2, n) float32 and its rate."""
    data, rate = sf.read(STEREO, dtype="float32", frames=int(seconds * 16000))
    return np.ascontiguousarray(data.T), rate


def _encode(path: Path, audio: np.ndarray, rate: int, codec: str, container: str | None = None) -> Path:
    """Write (channels, n) float32 audio with an FFmpeg encoder through PyAV."""
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        step = stream.codec_context.frame_size or 1024
        for i in range(0, audio.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i:i + step]), format="fltp",
                                               layout=layout)
            frame.rate, frame.pts, frame.time_base = rate, i, fractions.Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _resample(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    n = int(audio.shape[1] * new_rate / rate)
    x_old, x_new = np.arange(audio.shape[1]) / rate, np.arange(n) / new_rate
    return np.stack([np.interp(x_new, x_old, ch) for ch in audio]).astype(np.float32)


@pytest.mark.parametrize(("name", "codec", "container", "rate"), [
    ("call.mp3", "libmp3lame", None, 44100),
    ("call.m4a", "aac", "mp4", 48000),
    ("call.aac", "aac", "adts", 22050),
    ("call.opus", "libopus", "ogg", 48000),
    ("call.wav", "pcm_s16le", "wav", 8000),
    ("call.flac", "flac", "flac", 32000),
])
def test_formats_decode_to_16k_and_keep_both_parties(tmp_path: Path, name: str, codec: str,
                                                       container: str | None, rate: int) -> None:
    audio, src_rate = _excerpt()
    path = _encode(tmp_path / name, _resample(audio, src_rate, rate), rate, codec, container)
    rec = load_recording(path, settings=Settings())
    assert rec.sample_rate == 16000
    assert rec.source_sample_rate == rate
    assert rec.source_channels == 2
    assert all(ch.dtype == np.float32 for ch in rec.channels)
    assert rec.duration == pytest.approx(12.0, abs=0.15)  # codec padding stays small
    assert rec.layout == "stereo" and rec.rep_channel == 0
    # the rep (channel 0) opens the call: channel 0 is the louder one in the first seconds
    first = slice(0, 4 * 16000)
    assert np.abs(rec.channels[0][first]).mean() > 3 * np.abs(rec.channels[1][first]).mean()


def test_two_party_stereo_sample_is_stereo() -> None:
    rec = load_recording(STEREO, rep_channel=1, settings=Settings())
    assert rec.layout == "stereo" and len(rec.channels) == 2 and rec.rep_channel == 1
    assert rec.duration == pytest.approx(sf.info(STEREO).duration, abs=0.01)


def test_mono_sample_is_mono() -> None:
    rec = load_recording(MONO, settings=Settings())
    assert rec.layout == "mono" and len(rec.channels) == 1 and rec.rep_channel is None


def test_duplicated_channels_are_mono(tmp_path: Path) -> None:
    mono, rate = sf.read(MONO, dtype="float32", frames=12 * 16000)
    path = _encode(tmp_path / "dup.mp3", np.stack([mono, mono * 0.9]), rate, "libmp3lame")
    rec = load_recording(path, settings=Settings())
    assert rec.layout == "mono" and len(rec.channels) == 1


def test_one_silent_channel_keeps_the_other(tmp_path: Path) -> None:
    mono, rate = sf.read(MONO, dtype="float32", frames=12 * 16000)
    sf.write(tmp_path / "left.wav", np.stack([mono, np.zeros_like(mono)], axis=1), rate)
    rec = load_recording(tmp_path / "left.wav", settings=Settings())
    assert rec.layout == "mono"
    assert np.allclose(rec.channels[0], mono, atol=1e-3)


def test_forced_modes(tmp_path: Path) -> None:
    mixed = load_recording(STEREO, channels="mono", settings=Settings())
    assert mixed.layout == "mono" and mixed.rep_channel is None
    mono, rate = sf.read(MONO, dtype="float32", frames=12 * 16000)
    sf.write(tmp_path / "dup.wav", np.stack([mono, mono], axis=1), rate)
    forced = load_recording(tmp_path / "dup.wav", channels="stereo", settings=Settings())
    assert forced.layout == "stereo" and len(forced.channels) == 2


def test_more_than_two_channels_keep_the_two_loudest_and_say_so(tmp_path: Path, caplog) -> None:
    audio, rate = _excerpt()
    quiet = np.zeros_like(audio[0]) + 1e-4 * np.random.default_rng(1).standard_normal(audio.shape[1])
    four = np.stack([quiet, audio[0], quiet, audio[1]], axis=1).astype(np.float32)
    sf.write(tmp_path / "four.wav", four, rate)
    with caplog.at_level("WARNING", logger="callscope.ingest"):
        rec = load_recording(tmp_path / "four.wav", settings=Settings())
    assert [r.getMessage() for r in caplog.records] == [
        "four.wav has 4 channels; analysing only the two loudest (channels 1 and 3, counted from 0)"]
    assert rec.source_channels == 4
    assert rec.layout == "stereo"
    assert np.allclose(rec.channels[0], audio[0], atol=1e-3)
    assert np.allclose(rec.channels[1], audio[1], atol=1e-3)
