"""What every benchmark shares: the machine it ran on, tables, JSON output, medians, CER, test calls.

Benchmarks are scripts (`.venv/bin/python -m bench.<name> --help`), not tests: they print a table
and, with --out, write the same figures as JSON so docs/performance.md can cite them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DEVSET_AUDIO = ROOT / "bench" / "devset" / "audio"
PHONEBAND_AUDIO = ROOT / "bench" / "phoneband" / "audio"
SAMPLE_RATE = 16000


# --- the machine ----------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """Where and when the figures were taken (cores, CPU model, memory, GPU, versions, commit)."""
    info: dict[str, Any] = {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": os.cpu_count(),
        "cpu": _lscpu_model(),
        "memory_gib": _mem_total_gib(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "gpu": _cuda_devices(),
        "commit": _git_commit(),
    }
    for package in ("faster_whisper", "ctranslate2"):
        try:
            info[package] = __import__(package).__version__
        except (ImportError, AttributeError):
            info[package] = None
    return info


def _lscpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _cuda_devices() -> int:
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # no CUDA runtime at all reads the same as no GPU
        return 0


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_line(info: dict[str, Any]) -> str:
    gpu = f"{info['gpu']} CUDA device(s)" if info.get("gpu") else "no GPU"
    return (f"{info['date_utc']} | {info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB, {gpu} | "
            f"load {info['load_average_1m']} | faster-whisper {info.get('faster_whisper')}, "
            f"ctranslate2 {info.get('ctranslate2')} | commit {info.get('commit')}")


# --- output ---------------------------------------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    """A plain-text table (numbers right-aligned) on stdout."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(_pad(h, w, False) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row, raw in zip(cells, rows, strict=True):
        cols = zip(row, widths, raw, strict=True)
        print("  ".join(_pad(c, w, isinstance(v, int | float)) for c, w, v in cols))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - _width(text))
    return space + text if right else text + space


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n",
                      encoding="utf-8")
    print(f"\nwrote {target}", file=sys.stderr)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear interpolation."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


# --- accuracy -------------------------------------------------------------------------------------

_NOT_SPOKEN = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize_for_cer(text: str) -> str:
    """Simplified characters, lower case, no punctuation or spaces: CER compares what was recognised,
    not the script (plain Whisper often writes traditional characters) or the punctuation."""
    from callscope.asr.text import to_simplified

    return _NOT_SPOKEN.sub("", to_simplified(unicodedata.normalize("NFKC", text)).lower())


def edit_distance(ref: str, hyp: str) -> int:
    """Levenshtein distance over characters (numpy row by row: fine for a few thousand characters)."""
    if not ref:
        return len(hyp)
    if not hyp:
        return len(ref)
    hyp_codes = np.frombuffer(hyp.encode("utf-32-le"), dtype=np.uint32)
    previous = np.arange(len(hyp) + 1, dtype=np.int32)
    for i, ch in enumerate(ref, 1):
        substitution = previous[:-1] + (hyp_codes != ord(ch))
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, substitution)
        # insertions run left to right: a cumulative minimum of (cost - position) does them in one pass
        offsets = np.arange(len(current), dtype=np.int32)
        current = np.minimum.accumulate(current - offsets) + offsets
        previous = current
    return int(previous[-1])


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of hypothesis against reference, both normalised by normalize_for_cer."""
    ref, hyp = normalize_for_cer(reference), normalize_for_cer(hypothesis)
    return edit_distance(ref, hyp) / max(1, len(ref))


# --- test calls -----------------------------------------------------------------------------------


@dataclass
class Clip:
    audio: Path
    truth: Path


@dataclass
class LongCall:
    path: Path
    duration: float
    truth_text: str
    sources: list[str]


def truth_of(clip: Clip) -> dict[str, Any]:
    return json.loads(clip.truth.read_text(encoding="utf-8"))


def default_clips() -> list[Clip]:
    """Two-party Mandarin stereo recordings with truth: the samples first, then the dev set's
    full-band ones (phone-band clips left out so the long call is one kind of recording)."""
    clips = [Clip(SAMPLES / f"{name}.stereo.flac", SAMPLES / f"{name}.truth.json")
             for name in ("zh-demo", "mixed-demo")]
    for truth_path in sorted(DEVSET_AUDIO.glob("*.truth.json")):
        audio = truth_path.with_name(truth_path.name.replace(".truth.json", ".stereo.ogg"))
        try:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a file the data helper is still writing
        if audio.is_file() and truth.get("language") == "zh" and not truth.get("render", {}).get("phone"):
            clips.append(Clip(audio, truth_path))
    # without the dev set, the other samples make up the length
    clips += [Clip(SAMPLES / f"{name}.stereo.flac", SAMPLES / f"{name}.truth.json")
              for name in ("en-demo", "zh-phone")]
    return [c for c in clips if c.audio.is_file() and c.truth.is_file()]


def phoneband_clips() -> list[Clip]:
    """Ordinary sales calls on a phone line: the dev set's full-band Mandarin scripts rendered at 8 kHz
    with 25 dB noise (bench/phoneband/README.md), the kind of call outside testers time (issue 13)."""
    clips = [Clip(truth.with_name(truth.name.replace(".truth.json", ".stereo.ogg")), truth)
             for truth in sorted(PHONEBAND_AUDIO.glob("*.truth.json"))]
    return [c for c in clips if c.audio.is_file()]


def chosen_clips(paths: Sequence[str] | None, phone: bool) -> list[Clip]:
    """The benchmarks' clips: those named on the command line, else the phone-band renders (--phone),
    else default_clips()."""
    return clips_from_paths(paths) if paths else phoneband_clips() if phone else default_clips()


def clips_from_paths(paths: Sequence[str]) -> list[Clip]:
    """Clips named on the command line: AUDIO files with their ID.truth.json beside them."""
    clips = []
    for p in paths:
        audio = Path(p)
        stem = audio.name.split(".")[0]
        clips.append(Clip(audio, audio.with_name(f"{stem}.truth.json")))
    return clips


def build_long_call(clips: Sequence[Clip], target_seconds: float, out_path: Path,
                    gap: float = 1.5) -> LongCall:
    """Concatenate stereo clips (silence between) into a 16 kHz stereo WAV of at least target_seconds
    (or all clips); the truth text is every truth turn in time order."""
    import soundfile as sf
    from faster_whisper.audio import decode_audio

    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    turns: list[tuple[float, str]] = []
    used: list[str] = []
    offset = 0.0
    silence = np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)
    for clip in clips:
        if offset >= target_seconds:
            break
        ch0, ch1 = decode_audio(str(clip.audio), sampling_rate=SAMPLE_RATE, split_stereo=True)
        turns += [(offset + float(t["start"]), t["text"]) for t in truth_of(clip)["turns"]]
        left += [ch0, silence]
        right += [ch1, silence]
        offset += len(ch0) / SAMPLE_RATE + gap
        used.append(clip.audio.name)
    if not used:
        raise SystemExit("no stereo clips with truth found (samples/ or bench/devset/audio/)")
    stereo = np.stack([np.concatenate(left), np.concatenate(right)], axis=1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out_path), stereo, SAMPLE_RATE, subtype="PCM_16")
    text = "".join(t for _, t in sorted(turns, key=lambda x: x[0]))
    return LongCall(out_path, len(stereo) / SAMPLE_RATE, text, used)


def truth_text(truth_path: Path) -> str:
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    return "".join(t["text"] for t in sorted(truth["turns"], key=lambda t: t["start"]))


def rss_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/PID/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out
