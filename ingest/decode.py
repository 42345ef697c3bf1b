"""Decode any audio container PyAV (FFmpeg) can read into 16 kHz float32 channels.

Every failure becomes an InputError with a one-line reason. The container's declared
duration is checked before decoding so an over-long file is refused without reading it,
and decoding stops at the limit too, for files whose header lies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from callscope.core.errors import InputError

TARGET_RATE = 16000
# a file whose decoded audio is shorter than this share of its declared length was cut short
_MIN_DECODED_SHARE = 0.9


@dataclass
class DecodedAudio:
    channels: np.ndarray  # shape (n_channels, n_samples), float32, TARGET_RATE
    source_format: str
    source_sample_rate: int
    source_channels: int


def check_readable(path: Path) -> None:
    """Refuse paths that are not a readable, non-empty regular file."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an audio file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")


def _declared_duration(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def decode(path: Path, max_duration: float) -> DecodedAudio:
    """Decode the first audio stream of `path`, all its channels kept, resampled to 16 kHz."""
    check_readable(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path.name}: not an audio file FFmpeg can read ({_reason(exc)})") from None
    with container:
        if not container.streams.audio:
            raise InputError(f"{path.name}: no audio stream in this {container.format.name} file")
        stream = container.streams.audio[0]
        declared = _declared_duration(container, stream)
        if declared is not None and declared > max_duration:
            raise InputError(
                f"{path.name}: {_hms(declared)} long, over the {_hms(max_duration)} limit (max_duration)"
            )
        n_channels = stream.channels or 1
        source = DecodedAudio(np.zeros((0, 0), np.float32), container.format.name.split(",")[0],
                              int(stream.rate or 0), n_channels)
        chunks, corrupt = _decode_frames(container, stream, path, max_duration)

    if not chunks:
        raise InputError(f"{path.name}: no decodable audio (corrupt or truncated file)")
    audio = np.concatenate(chunks, axis=1)
    decoded = audio.shape[1] / TARGET_RATE
    if corrupt and (declared is None or decoded < _MIN_DECODED_SHARE * declared):
        raise InputError(f"{path.name}: corrupt or truncated audio (decoding failed after {decoded:.1f}s)")
    if declared and declared > 2.0 and decoded < _MIN_DECODED_SHARE * declared:
        raise InputError(
            f"{path.name}: truncated file ({decoded:.1f}s of audio, the header says {declared:.1f}s)"
        )
    source.channels = audio
    return source


def _decode_frames(container: av.container.InputContainer, stream: av.audio.AudioStream, path: Path,
                   max_duration: float) -> tuple[list[np.ndarray], bool]:
    """Planar float32 chunks at 16 kHz; the flag says whether decoding hit broken data."""
    # fltp keeps the channels apart; layout=None keeps the source's layout
    resampler = av.audio.resampler.AudioResampler(format="fltp", layout=None, rate=TARGET_RATE)
    limit = int((max_duration + 1.0) * TARGET_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().astype(np.float32, copy=False)
                chunks.append(chunk)
                total += chunk.shape[1]
            if total > limit:
                raise InputError(
                    f"{path.name}: more than {_hms(max_duration)} of audio, over the limit (max_duration)"
                )
        for out in resampler.resample(None):  # flush the resampler's tail
            chunks.append(out.to_ndarray().astype(np.float32, copy=False))
    except (av.error.FFmpegError, ValueError) as exc:
        if not isinstance(exc, av.error.EOFError):
            return chunks, True
    return chunks, False


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
