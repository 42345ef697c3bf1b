"""Real Mandarin speech: does the pipeline keep, in a conversation, what the model hears clip by clip?

The real clips of ../shared/realspeech (human voices from public corpora, each with a .txt reference)
are joined with 1 s pauses into one mono "call", in two orders. Reported, for the same bundled model
and the same decoder (callscope.asr.decoding.decode_channel, as `callscope analyze` runs it):

- per-clip CER: each clip decoded alone (the ceiling a conversation should reach);
- joined-call CER: the joined file decoded once, then each clip's words read back by time;
- speech covered by words: the share of VAD speech regions of 1 s or more that got at least one word.

The references are not all human (see the README there): each clip's figure names its kind, and the
totals say that they mix human references with another recognizer's output.

    .venv/bin/python -m bench.realspeech [--dir ../shared/realspeech] [--out bench/results/realspeech.json]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench.common import machine_info, machine_line, print_table, write_json
from bench.metrics import edit_distance, normalize_text

ROOT = Path(__file__).resolve().parent.parent
# ../shared/realspeech beside the checkout (or beside the folder of worktrees); CALLSCOPE_REALSPEECH overrides
_CANDIDATES = [ROOT.parent / "shared" / "realspeech", ROOT.parent.parent / "shared" / "realspeech"]
DEFAULT_DIR = Path(os.environ.get("CALLSCOPE_REALSPEECH")
                   or next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0]))
# the Mandarin clips with a .txt reference, in the order of the directory's MANIFEST.tsv
CLIPS = ("wenet_nst_ID001", "wenet_nst_ID002", "wenet_nst_ID003", "funasr_short_csharp0", "funasr_csharp_1",
         "funasr_csharp_2", "paddlespeech_zh", "baidu_16k")
# a second order: short and long utterances interleaved, the 0.9 s backchannel after the 13 s monologue
INTERLEAVED = ("wenet_nst_ID001", "funasr_short_csharp0", "wenet_nst_ID002", "funasr_csharp_1",
               "wenet_nst_ID003", "paddlespeech_zh", "funasr_csharp_2", "baidu_16k")
ORDERS = {"manifest": CLIPS, "interleaved": INTERLEAVED}
PAUSE = 1.0
SAMPLE_RATE = 16000
MIN_REGION = 1.0  # a VAD region this long (seconds) must produce words
_KIND = {"human": "human", "may be pseudo": "pseudo-label?", "model output": "other ASR",
         "readme asr": "other ASR", "expected api": "other ASR"}


@dataclass
class Clip:
    name: str
    audio: np.ndarray
    reference: str
    kind: str  # human | pseudo-label? | other ASR
    start: float = 0.0  # in the joined file
    end: float = 0.0


def reference_kind(manifest_text: str) -> str:
    text = manifest_text.lower()
    return next((kind for key, kind in _KIND.items() if key in text), "repo .txt")


def load_clips(directory: Path = DEFAULT_DIR, names: tuple[str, ...] = CLIPS) -> list[Clip]:
    kinds: dict[str, str] = {}
    manifest = directory / "MANIFEST.tsv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                kinds[row["file"].removesuffix(".wav")] = reference_kind(row.get("reference") or "")
    clips = []
    for name in names:
        audio, rate = sf.read(directory / f"{name}.wav", dtype="float32", always_2d=False)
        if rate != SAMPLE_RATE or audio.ndim != 1:
            raise ValueError(f"{name}: expected 16 kHz mono")
        reference = (directory / f"{name}.txt").read_text(encoding="utf-8").strip()
        clips.append(Clip(name, audio, reference, kinds.get(name, "repo .txt")))
    return clips


def join(clips: list[Clip], pause: float = PAUSE) -> np.ndarray:
    """The clips one after another with `pause` seconds of silence between; sets each clip's start/end."""
    parts, cursor = [], 0.0
    silence = np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32)
    for i, clip in enumerate(clips):
        if i:
            parts.append(silence)
            cursor += pause
        clip.start, clip.end = cursor, cursor + len(clip.audio) / SAMPLE_RATE
        parts.append(clip.audio)
        cursor = clip.end
    return np.concatenate(parts)


def errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters), punctuation and spacing ignored."""
    ref, hyp = normalize_text(reference, "zh"), normalize_text(hypothesis, "zh")
    return edit_distance(ref, hyp), len(ref)


def words_text(words: list[Any], start: float = float("-inf"), end: float = float("inf")) -> str:
    from callscope.asr.text import join_words

    return join_words([w.text for w in words if start <= (w.start + w.end) / 2 < end])


def covered(speech: list[tuple[float, float]], words: list[Any]) -> tuple[int, int]:
    """(regions of MIN_REGION seconds or more with a word in them, all such regions)."""
    regions = [(a, b) for a, b in speech if b - a >= MIN_REGION]
    hit = sum(any(a <= (w.start + w.end) / 2 < b for w in words) for a, b in regions)
    return hit, len(regions)


def decode(audio: np.ndarray, settings: Any) -> Any:
    from callscope.asr.decoding import decode_channel
    from callscope.asr.model import load_model

    return decode_channel(load_model(settings), audio, settings, language=None, progress=lambda _: None,
                          label="realspeech")


def run(directory: Path = DEFAULT_DIR, orders: tuple[str, ...] = tuple(ORDERS)) -> dict[str, Any]:
    from callscope.core.config import Settings

    settings = Settings.from_env()
    names = tuple(dict.fromkeys(n for o in orders for n in ORDERS[o]))
    clips = {c.name: c for c in load_clips(directory, names)}
    per_clip: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for name, clip in clips.items():
        result = decode(clip.audio, settings)
        e, n = errors(clip.reference, words_text(result.words))
        per_clip[name] = {"edits": e, "chars": n, "cer": e / max(1, n), "kind": clip.kind,
                          "text": words_text(result.words)}
    clip_seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"machine": machine_info(), "per_clip": per_clip, "per_clip_seconds": clip_seconds,
                           "joined": {}}
    for order in orders:
        ordered = [clips[n] for n in ORDERS[order]]
        audio = join(ordered)
        t0 = time.perf_counter()
        result = decode(audio, settings)
        seconds = time.perf_counter() - t0
        rows, e_all, n_all, e_alone = {}, 0, 0, 0
        for clip in ordered:
            text = words_text(result.words, clip.start - 0.3, clip.end + 0.3)
            e, n = errors(clip.reference, text)
            rows[clip.name] = {"cer": e / max(1, n), "edits": e, "chars": n, "text": text}
            e_all, n_all, e_alone = e_all + e, n_all + n, e_alone + per_clip[clip.name]["edits"]
        hit, regions = covered(result.speech, result.words)
        speech_seconds = sum(b - a for a, b in result.speech)
        out["joined"][order] = {"cer": e_all / max(1, n_all), "per_clip_cer": e_alone / max(1, n_all),
                                "by_reference": by_reference(ordered, rows, per_clip),
                                "speech_seconds": speech_seconds,
                                "chars_per_speech_second": {
                                    "joined": _chars(words_text(result.words)) / max(speech_seconds, 1e-9),
                                    "per_clip": sum(_chars(per_clip[c.name]["text"]) for c in ordered)
                                    / max(speech_seconds, 1e-9),
                                    "reference": n_all / max(speech_seconds, 1e-9)},
                                "covered": hit, "regions": regions, "unheard": result.unheard,
                                "seconds": seconds,
                                "audio_seconds": len(audio) / SAMPLE_RATE, "clips": rows,
                                "guards": dict(result.guards)}
    return out


def _chars(text: str) -> int:
    return len(normalize_text(text, "zh"))


def by_reference(ordered: list[Clip], rows: dict[str, dict[str, Any]],
                 per_clip: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Joined-call and per-clip CER over the clips of each kind of reference (human, pseudo-label?,
    other ASR): a figure against another recognizer's output is agreement with it, not accuracy."""
    out: dict[str, dict[str, float]] = {}
    for kind in dict.fromkeys(c.kind for c in ordered):
        names = [c.name for c in ordered if c.kind == kind]
        chars = sum(rows[n]["chars"] for n in names)
        out[kind] = {"clips": len(names), "chars": chars,
                     "joined_cer": sum(rows[n]["edits"] for n in names) / max(1, chars),
                     "per_clip_cer": sum(per_clip[n]["edits"] for n in names) / max(1, chars)}
    return out


def report(out: dict[str, Any]) -> None:
    print(machine_line(out["machine"]))
    per_clip = out["per_clip"]
    for order, joined in out["joined"].items():
        rows = [[name, per_clip[name]["kind"], f"{per_clip[name]['cer']:.2f}", f"{row['cer']:.2f}",
                 row["text"]] for name, row in joined["clips"].items()]
        print_table(["clip", "reference", "CER alone", "CER joined", "joined text"], rows,
                    title=f"joined call, {order} order ({joined['audio_seconds']:.0f} s)")
        print(f"{order}: joined-call CER {joined['cer']:.3f} | per-clip CER {joined['per_clip_cer']:.3f} "
              f"(references: human, pseudo-label and other-ASR output mixed) | speech covered by words "
              f"{joined['covered']}/{joined['regions']} regions of >= {MIN_REGION:.0f} s "
              f"(reported unheard: {len(joined['unheard'])}) | "
              f"decode {joined['seconds']:.1f} s | guards {joined['guards']}")
        for kind, row in joined["by_reference"].items():
            print(f"  references {kind:<14} ({row['clips']} clips, {row['chars']} chars): joined-call CER "
                  f"{row['joined_cer']:.3f} | per-clip CER {row['per_clip_cer']:.3f}")
        rate = joined["chars_per_speech_second"]
        print(f"  characters per second of speech ({joined['speech_seconds']:.1f} s): joined call "
              f"{rate['joined']:.2f} | clips decoded alone {rate['per_clip']:.2f} | "
              f"references {rate['reference']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the realspeech directory")
    parser.add_argument("--order", choices=[*ORDERS, "all"], default="all")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        print(f"no realspeech directory at {args.dir}", file=sys.stderr)
        return 2
    orders = tuple(ORDERS) if args.order == "all" else (args.order,)
    out = run(args.dir, orders)
    report(out)
    write_json(args.out, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
