"""Any recording a sales team has -> a Recording (16 kHz float32, one array per speaker channel).

Channel modes:
- "stereo": one speaker per channel (call-recorder style); the file must have two or more channels.
- "mono": everything mixed into one channel; speakers are told apart by diarization later.
- "auto": stereo when the two channels really carry different speakers (see ingest.channels),
  mono when they are duplicates of one mix, or when one of them is silent.
Files with more than two channels keep their two loudest channels (in file order).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.ingest.channels import analyse_pair, two_loudest
from callscope.ingest.decode import TARGET_RATE, decode
from callscope.models.document import Recording

ChannelMode = Literal["auto", "stereo", "mono"]
# a recording whose peak stays under this level (-60 dBFS) holds no speech at all
_SILENCE_PEAK = 1e-3

log = logging.getLogger("callscope.ingest")


def load_recording(path: str | Path, *, channels: str = "auto", rep_channel: int = 0,
                   settings: Settings | None = None) -> Recording:
    """Decode and check one recording. Raises InputError with a one-line reason for bad input."""
    settings = settings or Settings.from_env()
    if channels not in ("auto", "stereo", "mono"):
        raise InputError(f"channels must be auto, stereo or mono, not {channels!r}")
    if rep_channel not in (0, 1):
        raise InputError(f"rep channel must be 0 or 1, not {rep_channel!r}")
    path = Path(path)
    audio = decode(path, settings.max_duration)
    data = audio.channels

    if audio.source_channels == 1 or data.shape[0] == 1:
        if channels == "stereo":
            raise InputError(f"{path.name}: --channels stereo needs a two-channel file; this one is mono")
        if rep_channel == 1:
            raise InputError(f"{path.name}: --rep-channel 1 needs a two-channel file; this one is mono")
    if data.shape[0] > 2:
        data, kept_channels = two_loudest(data)
        # said, not done silently: a 6-channel conference export loses four of its voices here
        log.warning("%s has %d channels; analysing only the two loudest (channels %d and %d, counted from 0)",
                    path.name, audio.source_channels, *kept_channels)

    duration = data.shape[1] / TARGET_RATE
    if duration < settings.min_duration:
        raise InputError(
            f"{path.name}: only {duration:.2f}s of audio, shorter than the {settings.min_duration:g}s minimum"
        )
    if duration > settings.max_duration:
        raise InputError(
            f"{path.name}: {duration:.0f}s of audio, over the {settings.max_duration:.0f}s limit"
        )
    if float(np.max(np.abs(data))) < _SILENCE_PEAK:
        raise InputError(f"{path.name}: the recording is silent (no signal above -60 dBFS)")

    layout, kept = _choose_layout(data, channels)
    return Recording(
        source=str(path),
        sample_rate=TARGET_RATE,
        channels=kept,
        layout=layout,
        rep_channel=rep_channel if layout == "stereo" else None,
        source_format=audio.source_format,
        source_sample_rate=audio.source_sample_rate,
        source_channels=audio.source_channels,
    )


def _choose_layout(data: np.ndarray, mode: str) -> tuple[Literal["stereo", "mono"], list[np.ndarray]]:
    if data.shape[0] == 1:
        return "mono", [np.ascontiguousarray(data[0])]
    a, b = np.ascontiguousarray(data[0]), np.ascontiguousarray(data[1])
    if mode == "stereo":
        return "stereo", [a, b]
    if mode == "mono":
        return "mono", [((a + b) / 2).astype(np.float32)]
    report = analyse_pair(a, b, TARGET_RATE)
    if report.two_party:
        return "stereo", [a, b]
    if report.quiet_channel is not None:  # one side carries nothing: the other one is the recording
        return "mono", [b if report.quiet_channel == 0 else a]
    return "mono", [((a + b) / 2).astype(np.float32)]
