"""Who spoke when, from neural speaker embeddings: Resemblyzer d-vectors and spectral clustering.

Offline: the encoder's weights come in the resemblyzer wheel (loaded from its package folder,
nothing fetched), the clustering is `spectralcluster`; both, with torch, are the `speakers` extra
(`pip install -e '.[speakers]'`). Without them `available()` is False and callers fall back.

1. Windows of 1.5 s every 0.5 s inside the speech regions get a d-vector (a 3-layer LSTM on
   40 power-mel bands, as Resemblyzer computes them; the level of the speech is set to -30 dBFS first).
2. Spectral clustering (the Turn-to-Diarize configuration of `spectralcluster`: percentile
   thresholding with auto-tune, graph-cut Laplacian) chooses the number of speakers (1..MAX_SPEAKERS).
3. The count is checked: a cluster whose two halves are clearly different voices is split (a speaker
   with one short turn hides inside another cluster), clusters whose centroids are one voice are merged.
4. Re-segmentation: each 10 ms frame scores every speaker by the similarity of the windows over it
   to the speaker's centroid, and a Viterbi pass with a switching cost draws the boundaries.

One speaker found means the voices are not separable by their timbre (the synthetic calls: one TTS
voice pitch-shifted per role); callers then use the MFCC / turn-taking path (asr.diarize, asr.roles).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from callscope.asr.voice import sliding_windows, viterbi_path

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: one frame
N_MELS = 40
WINDOW = 150  # frames per embedding window (1.5 s)
STEP = 50  # frames between window starts (0.5 s; 0.25 s: no better on bench.diarization, twice the time)
MIN_WINDOW = 50  # a speech region shorter than this (frames) gets no window of its own
SHORTEST = 25  # ...and none at all below this; its frames take their neighbours' speaker
MAX_SPEAKERS = 6
MAX_CLUSTERED = 400  # windows clustered directly (spectralcluster's eigen-solver grows with the cube:
#                      measured 4 s per solve at 800 windows, about 11 solves in the auto-tune)
SPLIT_BELOW = 0.65  # a cluster whose halves' centroids are less alike than this holds two voices
MIN_SPLIT = 2  # windows each half needs before a split counts
MERGE_ABOVE = 0.82  # clusters whose centroids are more alike than this are one voice
SWITCH_COST = 5.0  # Viterbi: a change of speaker must win this much similarity (hundredths) per frame
TARGET_DBFS = -30.0
_warned: list[bool] = []


@dataclass
class SpeakerSpan:
    start: float
    end: float
    speaker: str  # S0, S1, ... in order of first appearance


@dataclass
class EmbeddingDiarization:
    spans: list[SpeakerSpan]
    speakers: int  # the number found (1: the voices are not separable)
    closest: float  # cosine similarity of the two most alike speakers' centroids (1.0 for one speaker)
    windows: int
    seconds: float
    info: dict = field(default_factory=dict)


def available() -> bool:
    """True when torch, spectralcluster and the resemblyzer weights are installed (the speakers extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "spectralcluster", "resemblyzer")) \
        and _weights_path() is not None


def warn_unavailable(stream=None) -> None:
    """One stderr line per process saying that the embedding diarizer is missing and what is used."""
    if _warned:
        return
    _warned.append(True)
    print("callscope: speaker embeddings not installed (pip install 'callscope[speakers]'); "
          "mono calls use the MFCC / turn-taking diarizer", file=stream or sys.stderr)


def _weights_path() -> Path | None:
    spec = importlib.util.find_spec("resemblyzer")  # its __init__ is not run: it imports webrtcvad
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "pretrained.pt"
    return path if path.exists() else None


class Encoder:
    """Resemblyzer's voice encoder (LSTM 40 -> 3x256, linear 256, ReLU, unit length) on the CPU."""

    def __init__(self) -> None:
        import torch
        from torch import nn

        weights = _weights_path()
        if weights is None:
            raise RuntimeError("resemblyzer's pretrained.pt not found")
        torch.set_num_threads(1)  # measured: 2 threads are 4x slower on a loaded 2-core machine
        self._torch = torch
        self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
        self.lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        self.lstm.eval()
        self.linear.eval()

    def embed(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, 40) power mels -> (batch, 256) unit d-vectors."""
        torch = self._torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(mels), 64):
                x = torch.from_numpy(np.ascontiguousarray(mels[i:i + 64], dtype=np.float32))
                _, (hidden, _) = self.lstm(x)
                e = torch.relu(self.linear(hidden[-1]))
                out.append((e / (torch.norm(e, dim=1, keepdim=True) + 1e-9)).numpy())
        return np.concatenate(out) if out else np.zeros((0, 256), np.float32)


@functools.lru_cache(maxsize=1)
def encoder() -> Encoder:
    return Encoder()


@functools.lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney mel scale and area normalization."""
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0),
                        f * 3.0 / 200.0)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * 200.0 / 3.0)

    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return (weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]).astype(np.float32)


def mel_spectrogram(audio16k: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram, as resemblyzer.audio.wav_to_mel_spectrogram computes it."""
    y = np.pad(np.asarray(audio16k, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    n = max(0, 1 + (len(y) - N_FFT) // HOP)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    out = np.empty((n, N_MELS), np.float32)
    for i in range(0, n, 2000):  # in blocks: an hour of frames at once would take gigabytes
        idx = np.arange(N_FFT)[None, :] + HOP * np.arange(i, min(n, i + 2000))[:, None]
        spectrum = np.abs(np.fft.rfft(y[idx] * window, axis=1)) ** 2
        out[i:i + len(idx)] = spectrum @ _mel_filters().T
    return out


def diarize(audio16k: np.ndarray, speech: list[tuple[float, float]],
            max_speakers: int = MAX_SPEAKERS) -> EmbeddingDiarization:
    """Speaker spans of 16 kHz mono audio within `speech` (VAD regions in seconds); deterministic."""
    t0 = time.perf_counter()
    windowed = embed_windows(audio16k, speech)
    n, regions, windows, emb = windowed.frames, windowed.regions, windowed.windows, windowed.embeddings
    if len(windows) < 3:
        spans = frame_spans(_fill(np.zeros(n, int), regions), regions) if regions else []
        return EmbeddingDiarization(spans, 1 if regions else 0, 1.0, len(windows), time.perf_counter() - t0)
    labels = _refine(emb, _cluster(emb, max_speakers))
    k = int(labels.max()) + 1
    centroids = _centroids(emb, labels)
    sims = centroids @ centroids.T
    np.fill_diagonal(sims, -1.0)
    closest = float(sims.max()) if k > 1 else 1.0
    if k > 1:
        frame_labels = _resegment(emb, windows, centroids, regions, n)
    else:
        frame_labels = _fill(np.zeros(n, int), regions)
    spans = frame_spans(frame_labels, regions)
    found = len({s.speaker for s in spans})
    return EmbeddingDiarization(spans, found, closest, len(windows), time.perf_counter() - t0,
                                {"clusters": k})


@dataclass
class Windows:
    """The d-vectors of the sliding windows over the speech, in 10 ms frames."""

    frames: int  # frames in the recording
    regions: list[tuple[int, int]]  # speech regions, frames
    windows: list[tuple[int, int]]  # embedding windows, frames
    embeddings: np.ndarray  # (windows, 256) unit d-vectors; empty below 3 windows


def embed_windows(audio16k: np.ndarray, speech: list[tuple[float, float]]) -> Windows:
    """Step 1: windows of WINDOW frames every STEP inside the speech regions, each with its d-vector
    (the speech's level set to TARGET_DBFS first)."""
    mel = mel_spectrogram(audio16k)
    n = len(mel)
    regions = [(max(0, int(round(a * 100))), min(n, int(round(b * 100)))) for a, b in speech]
    regions = [(a, b) for a, b in regions if b - a >= SHORTEST]
    windows = sliding_windows(regions, WINDOW, STEP, MIN_WINDOW)
    if len(windows) < 3:
        return Windows(n, regions, windows, np.zeros((0, 256), np.float32))
    speech_audio = np.concatenate([audio16k[a * HOP:b * HOP] for a, b in regions])
    gain = 10 ** (TARGET_DBFS / 20) / (float(np.sqrt(np.mean(speech_audio ** 2))) + 1e-9)
    mel *= gain * gain  # power spectrum: the square of the amplitude gain
    return Windows(n, regions, windows, _embed(mel, windows))


def resegment(windowed: Windows, centroids: np.ndarray) -> np.ndarray:
    """Step 4: each speech frame's speaker (index into `centroids`; -1 outside speech), by Viterbi."""
    return _resegment(windowed.embeddings, windowed.windows, centroids, windowed.regions, windowed.frames)


def _embed(mel: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    by_length: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(windows):
        by_length.setdefault(b - a, []).append(i)
    emb = np.zeros((len(windows), 256), np.float32)
    for idx in by_length.values():
        emb[idx] = encoder().embed(np.stack([mel[windows[i][0]:windows[i][1]] for i in idx]))
    return emb


def _cluster(emb: np.ndarray, max_speakers: int) -> np.ndarray:
    """Spectral clustering with the speaker count chosen by the eigen-gap (auto-tuned thresholding).
    Past MAX_CLUSTERED windows an evenly spread subset is clustered; the rest join their nearest centroid."""
    if len(emb) > MAX_CLUSTERED:
        subset = np.linspace(0, len(emb) - 1, MAX_CLUSTERED).astype(int)
        labels = _cluster(emb[subset], max_speakers)
        return (emb @ _centroids(emb[subset], labels).T).argmax(axis=1)
    from spectralcluster import (
        AutoTune,
        LaplacianType,
        RefinementName,
        RefinementOptions,
        SpectralClusterer,
        SymmetrizeType,
        ThresholdType,
    )

    refinement = RefinementOptions(
        thresholding_soft_multiplier=0.01, thresholding_type=ThresholdType.Percentile,
        thresholding_with_binarization=True, thresholding_preserve_diagonal=True,
        symmetrize_type=SymmetrizeType.Average,
        refinement_sequence=[RefinementName.RowWiseThreshold, RefinementName.Symmetrize])
    autotune = AutoTune(p_percentile_min=0.40, p_percentile_max=0.95, init_search_step=0.05, search_level=1)
    clusterer = SpectralClusterer(min_clusters=1, max_clusters=max_speakers, refinement_options=refinement,
                                  autotune=autotune, laplacian_type=LaplacianType.GraphCut,
                                  row_wise_renorm=True, custom_dist="cosine")
    x = emb - emb.mean(axis=0)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    labels = np.asarray(clusterer.predict(x), dtype=int)
    return np.unique(labels, return_inverse=True)[1]


def _centroids(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.stack([emb[labels == k].mean(axis=0) for k in range(int(labels.max()) + 1)])
    return c / (np.linalg.norm(c, axis=1, keepdims=True) + 1e-9)


def _refine(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Split clusters that hold two clearly different voices, then merge clusters that are one voice."""
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = labels.copy()
    following = int(labels.max()) + 1
    for c in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2 * MIN_SPLIT:
            continue
        halves = fcluster(linkage(emb[idx], "average", metric="cosine"), 2, "maxclust")
        if min(np.sum(halves == 1), np.sum(halves == 2)) < MIN_SPLIT:
            continue
        a, b = emb[idx[halves == 1]].mean(axis=0), emb[idx[halves == 2]].mean(axis=0)
        if float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)) < SPLIT_BELOW:
            labels[idx[halves == 2]] = following
            following += 1
    labels = np.unique(labels, return_inverse=True)[1]
    while labels.max() > 0:
        c = _centroids(emb, labels)
        sims = c @ c.T
        np.fill_diagonal(sims, -1.0)
        i, j = np.unravel_index(int(sims.argmax()), sims.shape)
        if sims[i, j] < MERGE_ABOVE:
            break
        labels = np.unique(np.where(labels == i, j, labels), return_inverse=True)[1]
    return labels


def _resegment(emb: np.ndarray, windows: list[tuple[int, int]], centroids: np.ndarray,
               regions: list[tuple[int, int]], n: int) -> np.ndarray:
    k = len(centroids)
    sims = emb @ centroids.T
    num = np.zeros((n, k))
    den = np.zeros(n)
    for (a, b), s in zip(windows, sims, strict=True):
        weight = 1.0 - np.abs(np.arange(a, b) - (a + b) / 2) / ((b - a) / 2 + 1)  # the middle counts most
        num[a:b] += weight[:, None] * s[None, :]
        den[a:b] += weight
    out = np.full(n, -1)
    for a, b in regions:
        covered = den[a:b] > 0
        if covered.any():
            score = num[a:b][covered] / den[a:b][covered][:, None]
            labels = np.full(b - a, -1)
            labels[covered] = viterbi_path(score * 100, SWITCH_COST)
            out[a:b] = labels
    return _fill(out, regions)


def _fill(labels: np.ndarray, regions: list[tuple[int, int]]) -> np.ndarray:
    """Speech frames no window covers take the speaker of the nearest covered frame."""
    out = np.full_like(labels, -1)
    speech = np.concatenate([np.arange(a, b) for a, b in regions]) if regions else np.zeros(0, int)
    known = speech[labels[speech] >= 0]
    if len(known) == 0:
        out[speech] = 0
        return out
    if len(known) > 1:
        pos = np.clip(np.searchsorted(known, speech), 1, len(known) - 1)
        left, right = known[pos - 1], known[pos]
        nearest = np.where(np.abs(speech - left) <= np.abs(right - speech), left, right)
    else:
        nearest = np.full(len(speech), known[0])
    out[speech] = labels[nearest]
    return out


def frame_spans(frame_labels: np.ndarray, regions: list[tuple[int, int]]) -> list[SpeakerSpan]:
    """Speaker spans (seconds, to 10 ms) of 10 ms frame labels inside the speech regions: a span per run of
    one label, neighbouring runs of one speaker joined, speakers named S0, S1, ... by first appearance,
    frames labelled below 0 (no one) left out. Both diarizers (this one and asr.diarize's MFCC one) end
    here."""
    names: dict[int, str] = {}
    spans: list[SpeakerSpan] = []
    for a, b in regions:
        labels = frame_labels[a:b]
        cuts = np.flatnonzero(np.diff(labels)) + 1
        for s, e in zip(np.r_[0, cuts], np.r_[cuts, len(labels)], strict=True):
            if labels[s] < 0:
                continue
            name = names.setdefault(int(labels[s]), f"S{len(names)}")
            start, end = (a + s) * HOP / SAMPLE_RATE, (a + e) * HOP / SAMPLE_RATE
            if spans and spans[-1].speaker == name and start - spans[-1].end < 1e-6:
                spans[-1].end = round(float(end), 2)
            else:
                spans.append(SpeakerSpan(round(float(start), 2), round(float(end), 2), name))
    return spans
