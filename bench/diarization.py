"""Diarization on real voices: frame accuracy under the best mapping and the number of speakers found.

    .venv/bin/python -m bench.diarization [--method auto|embeddings|mfcc] [--phone] [--only NAME,...]
        [--ceiling] [--out FILE.json]

Recordings (../shared/realspeech, real human speech; read its README):
- `ami`: pyannote_ami_tst00.wav, a 30 s AMI meeting excerpt, 4 speakers, human RTTM reference. Most of it
  is overlapped speech (two to four people at once over 60 % of the speech time).
- `falcon`: picovoice_falcon_test.wav, 18.6 s, 3 speakers, segment reference (Picovoice's test data).
- `call2-*`, `call3-*`, `call4-*`: joined "calls": utterances of real single-speaker clips from different
  corpora (wenet, FunASR, LibriSpeech, 3D-Speaker, PaddleSpeech), cut at their pauses into 1-3 s turns,
  alternating between 2, 3 or 4 speakers with 0.05-1 s pauses and uneven levels; the truth is known by
  construction (speech = the clip's own VAD regions). Built here, deterministically, on each run.
--phone makes every recording phone band first (8 kHz and back, noise at about -50 dBFS), as calls are.

Frame accuracy: 10 ms frames of reference speech that the system gave a speaker (the VAD's speech),
each counted right when its speaker, mapped one-to-one onto the reference speakers to agree most
(Hungarian), is one of the speakers talking then (with overlap, any of them). `strict` counts the
reference speech the VAD missed as wrong too; `main` is the score of giving everything to the
speaker who talks most.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, machine_info, machine_line, print_table, write_json


def _realspeech() -> Path:
    """$CALLSCOPE_REALSPEECH, else the first shared/realspeech beside the checkout or above it."""
    if os.environ.get("CALLSCOPE_REALSPEECH"):
        return Path(os.environ["CALLSCOPE_REALSPEECH"])
    for folder in [ROOT, *ROOT.parents]:
        if (folder / "shared" / "realspeech").is_dir():
            return folder / "shared" / "realspeech"
    return ROOT.parent / "shared" / "realspeech"


REALSPEECH = _realspeech()
RATE = 16000
FRAME = 0.01
# speaker letter -> single-speaker clips of one voice (voices checked alike within, apart across)
VOICES = {
    "A": ["funasr_csharp_1"],
    "B": ["funasr_csharp_2", "funasr_csharp_3"],
    "C": ["wenet_gpu_long", "wenet_gpu_mid"],
    "D": ["wenet_ios_test"],
    "F": ["wenet_librispeech-1995-1837-0001"],
    "G": ["3dspeaker_00001"],
    "L": ["funasr_long"],
    "P": ["paddlespeech_zh"],
}
JOINED = {"call2-LD": "LD", "call2-FL": "FL", "call2-BC": "BC", "call2-AP": "AP",
          "call3-LFD": "LFD", "call3-ACG": "ACG", "call4-LBDF": "LBDF", "call4-ACGL": "ACGL"}


@dataclass
class Recording:
    name: str
    audio: np.ndarray  # 16 kHz mono float32
    reference: list[tuple[float, float, str]]  # (start, end, speaker), may overlap
    source: str


def real_recordings() -> list[Recording]:
    import soundfile as sf

    out = []
    audio, _ = sf.read(REALSPEECH / "pyannote_ami_tst00.wav", dtype="float32")
    ref = []
    for line in (REALSPEECH / "pyannote_ami_tst00.rttm").read_text().splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            ref.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    out.append(Recording("ami", audio, ref, "AMI meeting excerpt, human RTTM"))
    audio, _ = sf.read(REALSPEECH / "picovoice_falcon_test.wav", dtype="float32")
    ref = []
    for line in (REALSPEECH / "picovoice_falcon_test.segments.txt").read_text().splitlines():
        if line[:1].isdigit():
            span, speaker = line.split()
            a, b = span.split("-")
            ref.append((float(a), float(b), speaker))
    out.append(Recording("falcon", audio, ref, "Picovoice test, segment reference"))
    return out


def _utterances(name: str, longest: float = 3.0, cut: tuple[float, float] = (1.0, 2.5)) -> list[np.ndarray]:
    """A clip's speech cut at its pauses (Silero VAD) and, past `longest` s, at its quietest 50 ms."""
    import soundfile as sf
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio, _ = sf.read(REALSPEECH / f"{name}.wav", dtype="float32")
    pieces = []
    for region in get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=150, speech_pad_ms=30)):
        a, b = region["start"], region["end"]
        while b - a > longest * RATE:
            lo, hi = a + int(cut[0] * RATE), a + int(cut[1] * RATE)
            energy = np.convolve(audio[lo:hi] ** 2, np.ones(800), "same")
            c = lo + int(np.argmin(energy))
            pieces.append(audio[a:c])
            a = c
        pieces.append(audio[a:b])
    merged: list[np.ndarray] = []
    for piece in pieces:
        if merged and len(piece) < 0.8 * RATE:
            merged[-1] = np.concatenate([merged[-1], piece])
        else:
            merged.append(piece)
    return merged


def joined_call(name: str, letters: str, seed: int = 1) -> Recording:
    """Turns of real single-speaker clips alternating between the voices `letters` (deterministic)."""
    rng = np.random.default_rng(seed)
    pools = {v: [u for clip in VOICES[v] for u in _utterances(clip)] for v in letters}
    gains = {v: 10 ** (rng.uniform(-6, 3) / 20) for v in letters}
    pieces, ref, t = [np.zeros(RATE // 2, np.float32)], [], 0.5
    order, k = list(letters), 0
    while any(pools.values()):
        voice = order[k % len(order)]
        k += 1
        if not pools[voice]:
            continue
        n = 1 if rng.random() < 0.6 else 2
        for i in range(n):
            if not pools[voice]:
                break
            u = pools[voice].pop(0) * gains[voice]
            ref.append((t, t + len(u) / RATE, voice))
            pieces.append(u)
            t += len(u) / RATE
            gap = int((rng.uniform(0.05, 0.25) if i == 0 and n == 2 else rng.uniform(0.3, 1.0)) * RATE)
            pieces.append(np.zeros(gap, np.float32))
            t += gap / RATE
        if len(order) > 2 and rng.random() < 0.3:
            rng.shuffle(order)
    audio = np.concatenate(pieces)
    audio += rng.normal(0, 1e-3, len(audio)).astype(np.float32)
    return Recording(name, audio.astype(np.float32), ref, "joined real clips: " + "+".join(letters))


def joined_calls() -> list[Recording]:
    return [joined_call(name, letters) for name, letters in JOINED.items()]


def phone_band(audio: np.ndarray, seed: int = 0) -> np.ndarray:
    from scipy.signal import resample_poly

    narrow = resample_poly(audio, 1, 2)
    narrow = narrow + np.random.default_rng(seed).normal(0, 0.003, len(narrow))
    return resample_poly(narrow, 2, 1).astype(np.float32)


def reference_frames(reference: list[tuple[float, float, str]], n: int) -> tuple[np.ndarray, list[str]]:
    names = sorted({s for _, _, s in reference})
    active = np.zeros((n, len(names)), bool)
    for a, b, s in reference:
        active[int(round(a / FRAME)):int(round(b / FRAME)), names.index(s)] = True
    return active, names


def frame_scores(predicted: np.ndarray, active: np.ndarray) -> dict[str, float]:
    """`predicted`: speaker index per frame (-1: no speaker); `active`: (frames, speakers) reference."""
    from scipy.optimize import linear_sum_assignment

    n = min(len(predicted), len(active))
    predicted, active = predicted[:n], active[:n]
    speech = active.any(axis=1)
    k = max(int(predicted.max()) + 1, 1)
    agree = np.array([(active & (predicted == i)[:, None]).sum(axis=0) for i in range(k)])
    rows, cols = linear_sum_assignment(-agree)
    mapping = np.full(k, -1)
    mapping[rows] = cols
    mapped = np.where(predicted >= 0, mapping[np.maximum(predicted, 0)], -1)
    right = np.zeros(n, bool)
    has = mapped >= 0
    right[has] = active[np.flatnonzero(has), mapped[has]]
    labelled = speech & (predicted >= 0)
    return {"accuracy": float(right[labelled].mean()) if labelled.any() else 0.0,
            "strict": float(right[speech].mean()) if speech.any() else 0.0,
            "coverage": float(labelled.sum() / max(1, speech.sum())),
            "main_speaker": float(active[speech].sum(axis=0).max() / max(1, speech.sum())),
            "overlap": float((active[speech].sum(axis=1) > 1).mean()) if speech.any() else 0.0}


def evaluate(recording: Recording, method: str) -> dict[str, Any]:
    from callscope.asr.diarize import diarize_call, speech_regions

    speech = speech_regions(recording.audio)
    t0 = time.perf_counter()
    result = diarize_call(recording.audio, RATE, speech, method=method)
    seconds = time.perf_counter() - t0
    n = int(len(recording.audio) / RATE / FRAME) + 1
    predicted = np.full(n, -1)
    names = sorted({s.speaker for s in result.spans}, key=lambda s: int(s[1:]))
    for span in result.spans:
        predicted[int(round(span.start / FRAME)):int(round(span.end / FRAME))] = names.index(span.speaker)
    active, truth = reference_frames(recording.reference, n)
    return {"name": recording.name, "source": recording.source, "duration": len(recording.audio) / RATE,
            "method": result.method, "reason": result.reason, "speakers": len(names),
            "true_speakers": len(truth), "seconds": seconds, **frame_scores(predicted, active),
            **result.details}


def speakers_merge_above() -> float:
    from callscope.asr.speakers import MERGE_ABOVE

    return MERGE_ABOVE


def ceiling(recording: Recording) -> dict[str, Any]:
    """What the embedding diarizer could reach with a perfect clustering: each window's d-vector goes to
    the reference speaker who talks most in it, each speaker's centroid is the mean of those, and the
    same Viterbi re-segmentation draws the frames. Also how alike those true centroids are (the merge
    step joins clusters above asr.speakers.MERGE_ABOVE) and how many windows each speaker holds alone
    (80 % of the window's frames or more)."""
    from callscope.asr import speakers
    from callscope.asr.diarize import speech_regions

    windowed = speakers.embed_windows(recording.audio, speech_regions(recording.audio))
    n = int(len(recording.audio) / RATE / FRAME) + 1
    active, names = reference_frames(recording.reference, max(n, windowed.frames))
    held = np.array([active[a:b].sum(axis=0) for a, b in windowed.windows])
    dominant = held.argmax(axis=1)
    alone = [int(sum(((active[a:b].sum(axis=1) == 1) & active[a:b, d]).mean() >= 0.8
                     for (a, b), d in zip(windowed.windows, dominant, strict=True) if d == k))
             for k in range(len(names))]
    present = sorted(set(dominant.tolist()))
    centroids = np.stack([windowed.embeddings[dominant == k].mean(axis=0) for k in present])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -1.0)
    frames = speakers.resegment(windowed, centroids)
    return {"name": recording.name, "true_speakers": len(names),
            "speakers_with_windows": len(present), "windows": len(windowed.windows),
            "windows_alone": dict(zip(names, alone, strict=True)),
            "closest_true_centroids": float(similarity.max()),
            "accuracy": frame_scores(frames[:n], active[:n])["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", default="auto", choices=["auto", "embeddings", "mfcc"])
    parser.add_argument("--phone", action="store_true", help="phone band (8 kHz + noise) first")
    parser.add_argument("--only", default="", help="comma-separated names (ami, falcon, call2-LD, ...)")
    parser.add_argument("--ceiling", action="store_true",
                        help="the embedding diarizer's figures with the reference's own clustering")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    recordings = [r for r in real_recordings() + joined_calls() if not only or r.name in only]
    if args.ceiling:
        rows = [ceiling(r) for r in recordings]
        print_table(["recording", "speakers", "windows", "windows alone per speaker",
                     "closest true centroids", "frame acc, true clusters"],
                    [[r["name"], r["true_speakers"], r["windows"],
                      " ".join(str(v) for v in r["windows_alone"].values()),
                      round(r["closest_true_centroids"], 3), round(r["accuracy"], 3)] for r in rows],
                    title=f"embedding diarizer, perfect clustering (merge above {speakers_merge_above()})")
        write_json(args.out, {"machine": machine_info(), "ceiling": rows})
        return 0
    results = []
    for recording in recordings:
        if args.phone:
            recording.audio = phone_band(recording.audio)
        results.append(evaluate(recording, args.method))
    info = machine_info()
    print(machine_line(info))
    report(results, f"diarization ({args.method}{', phone band' if args.phone else ''})")
    write_json(args.out, {"machine": info, "method": args.method, "phone": args.phone, "results": results})
    return 0


def report(results: list[dict[str, Any]], title: str) -> None:
    """The table of `evaluate` results, each with its reference's source, and the totals."""
    print_table(["recording", "s", "method", "speakers (true)", "frame acc", "strict", "main spk", "overlap",
                 "time s", "reference"],
                [[r["name"], round(r["duration"], 1), r["method"], f"{r['speakers']} ({r['true_speakers']})",
                  round(r["accuracy"], 3), round(r["strict"], 3), round(r["main_speaker"], 2),
                  round(r["overlap"], 2), round(r["seconds"], 1), r["source"]] for r in results],
                title=title)
    right = sum(r["speakers"] == r["true_speakers"] for r in results)
    print(f"speaker count right {right}/{len(results)}; frame accuracy mean "
          f"{np.mean([r['accuracy'] for r in results]):.3f}, min {min(r['accuracy'] for r in results):.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
