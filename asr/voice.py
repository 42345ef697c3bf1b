"""Voice features for telling speakers apart: frame features (light default) and window embeddings.

Numpy only: MFCCs and pitch on a 10 ms grid; a window's embedding is the mean and spread of its
frames. (Resemblyzer d-vectors were measured against this and did not separate our calls better.)
"""

from __future__ import annotations

import functools
from math import gcd

import numpy as np

SAMPLE_RATE = 16000
HOP = 0.01  # seconds between frames
WIN = 0.025  # analysis window, seconds
N_MELS = 40
N_MFCC = 20  # c1..c19 are kept: c0 is loudness, which says more about the line than the voice


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim > 1:
        audio = audio.mean(axis=1 if audio.shape[1] < audio.shape[0] else 0)
    if sample_rate == SAMPLE_RATE:
        return audio
    from scipy.signal import resample_poly

    g = gcd(sample_rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _mel_filters(n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    points = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    filters = np.zeros((n_mels, len(bins)), dtype=np.float32)
    for i in range(n_mels):
        lo, mid, hi = points[i], points[i + 1], points[i + 2]
        rising = (bins - lo) / max(mid - lo, 1e-6)
        falling = (hi - bins) / max(hi - mid, 1e-6)
        filters[i] = np.maximum(0.0, np.minimum(rising, falling))
    return filters


@functools.lru_cache(maxsize=2)
def _dct_matrix(n_mels: int, n_out: int) -> np.ndarray:
    k = np.arange(n_out)[:, None]
    n = np.arange(n_mels)[None, :]
    return (np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * np.sqrt(2.0 / n_mels)).astype(np.float32)


def log_mel(audio16k: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) log-mel energies on the 10 ms grid, band-limited to 300-3400 Hz.

    The phone band is used for every call so that wide-band and phone recordings look alike.
    """
    hop, win, n_fft = int(HOP * SAMPLE_RATE), int(WIN * SAMPLE_RATE), 512
    x = np.append(audio16k[:1], audio16k[1:] - 0.97 * audio16k[:-1])  # pre-emphasis
    n_frames = max(1, 1 + (len(x) - win) // hop)
    if len(x) < win:
        x = np.pad(x, (0, win - len(x)))
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * np.hamming(win).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    return np.log(power @ _mel_filters(n_fft, N_MELS, 250.0, 3500.0).T + 1e-8).astype(np.float32)


def log_pitch(audio16k: np.ndarray, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms frame: log f0 (autocorrelation, 60-400 Hz) and whether the frame is voiced."""
    hop, win = int(HOP * SAMPLE_RATE), 640  # 40 ms: two periods of a 60 Hz voice
    x = np.pad(audio16k, (0, max(0, hop * n_frames + win - len(audio16k))))
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] - x[idx].mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, 2 * win)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :win]
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    # YIN: cumulative-mean-normalized difference; the first dip under the threshold is the period
    diff = 2.0 * (ac[:, :1] - ac[:, : hi + 1])
    cmndf = diff[:, 1:] * np.arange(1, hi + 1) / (np.cumsum(diff[:, 1:], axis=1) + 1e-9)
    band = cmndf[:, lo - 1:]
    below = band < 0.2
    lag = np.where(below.any(axis=1), below.argmax(axis=1), band.argmin(axis=1)) + lo
    voiced = band[np.arange(n_frames), lag - lo] < 0.3
    return np.log(SAMPLE_RATE / lag).astype(np.float32), voiced


def mfcc(logmel: np.ndarray) -> np.ndarray:
    """(frames, N_MFCC - 1) cepstra c1..c19 from log-mel frames."""
    return (logmel @ _dct_matrix(N_MELS, N_MFCC).T)[:, 1:]


def stats_embeddings(features: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """Per window (frame ranges): the mean and standard deviation of the frame features."""
    out = np.empty((len(windows), 2 * features.shape[1]), dtype=np.float32)
    for i, (a, b) in enumerate(windows):
        chunk = features[a:b]
        out[i, : features.shape[1]] = chunk.mean(axis=0)
        out[i, features.shape[1]:] = chunk.std(axis=0)
    return out


def sliding_windows(regions: list[tuple[int, int]], window: int, step: int,
                    min_length: int = 0) -> list[tuple[int, int]]:
    """Windows of `window` frames every `step` frames over each region (the last one flush with the
    region's end); a region up to `window` long is one window, one under `min_length` none."""
    out = []
    for a, b in regions:
        if b - a < min_length:
            continue
        if b - a <= window:
            out.append((a, b))
            continue
        starts = list(range(a, b - window + 1, step))
        if starts[-1] + window < b:
            starts.append(b - window)
        out.extend((s, s + window) for s in starts)
    return out


def viterbi_path(loglik: np.ndarray, switch_cost: float) -> np.ndarray:
    """The most likely label per frame (frames x labels log-likelihoods), a change of label costing
    `switch_cost`."""
    n, k = loglik.shape
    score = loglik[0].copy()
    back = np.zeros((n, k), dtype=np.int32)
    penalty = switch_cost * (1 - np.eye(k))
    for t in range(1, n):
        cand = score[:, None] - penalty  # from i (rows) to j (columns)
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + loglik[t]
    path = np.empty(n, dtype=np.int32)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path

