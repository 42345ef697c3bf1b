"""Is a two-channel file a real two-party call (one speaker per channel) or mono in disguise?

Call recorders write the rep and the customer to separate channels; many other tools write
the same mix to both. We look at short frames where someone speaks: in a real two-party
recording one channel is clearly louder than the other in most of them (the other side
only hears crosstalk or echo), while duplicated or room-microphone stereo has both
channels at about the same level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.05
# channels correlated above this (or differing by less than this share of energy) are one mix
_SAME_CORRELATION = 0.95
_SAME_DIFFERENCE_SHARE = 0.02
# a frame is "separated" when one channel is this many dB louder than the other
_SEPARATION_DB = 10.0
# ... and the file is two-party when at least this share of its speech frames are separated
_SEPARATED_SHARE = 0.5
# frames quieter than this (relative to the loudest frame) are not speech
_ACTIVE_DB = -45.0
# a channel this much quieter (RMS) than the other carries nothing
_SILENT_CHANNEL_DB = -40.0


@dataclass
class ChannelReport:
    correlation: float
    difference_share: float  # energy of (a - b) over energy of a + b
    separated_share: float  # share of speech frames where one channel dominates
    quiet_channel: int | None  # index of a channel that carries (next to) nothing

    @property
    def two_party(self) -> bool:
        if self.quiet_channel is not None:
            return False
        if self.correlation > _SAME_CORRELATION or self.difference_share < _SAME_DIFFERENCE_SHARE:
            return False
        return self.separated_share >= _SEPARATED_SHARE


def _db(x: np.ndarray | float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(x, 1e-12))


def analyse_pair(a: np.ndarray, b: np.ndarray, sample_rate: int) -> ChannelReport:
    ea, eb = float(np.mean(a.astype(np.float64) ** 2)), float(np.mean(b.astype(np.float64) ** 2))
    quiet = None
    if _db(ea) - _db(eb) > -_SILENT_CHANNEL_DB:
        quiet = 1
    elif _db(eb) - _db(ea) > -_SILENT_CHANNEL_DB:
        quiet = 0
    std_a, std_b = float(np.std(a)), float(np.std(b))
    correlation = float(np.corrcoef(a, b)[0, 1]) if std_a > 0 and std_b > 0 else 0.0
    difference_share = float(np.mean((a - b).astype(np.float64) ** 2) / max(ea + eb, 1e-20))

    frame = max(1, int(FRAME_SECONDS * sample_rate))
    n = min(len(a), len(b)) // frame
    fa = _db(np.mean(a[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    fb = _db(np.mean(b[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    loudest = np.maximum(fa, fb)
    active = loudest > (loudest.max(initial=-120.0) + _ACTIVE_DB)
    separated = float(np.mean(np.abs(fa - fb)[active] > _SEPARATION_DB)) if active.any() else 0.0
    return ChannelReport(correlation, difference_share, separated, quiet)


def two_loudest(channels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """For files with more than two channels: the two with the most energy, in their order, and
    their indexes."""
    energy = np.mean(channels.astype(np.float64) ** 2, axis=1)
    keep = sorted(int(i) for i in np.argsort(energy)[-2:])
    return channels[keep], keep
