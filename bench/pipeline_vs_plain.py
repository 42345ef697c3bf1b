"""The real pipeline against plain faster-whisper, in one run, on the same several-minute stereo call.

A: `callscope analyze` as the CLI runs it (callscope.pipeline.analyze: ingest, per-channel ASR with
   word timestamps and guards, nlp, scoring).
B: plain faster-whisper with the same bundled model (path from asr.model, int8 on CPU), beam_size=5,
   vad_filter=True, everything else default, on the mixed-down mono of the same file, all segments
   consumed.

Each repetition of each side runs in a fresh subprocess, so interpreter start, imports and the model
load are counted (load is also reported on its own). Runs are interleaved A B A B so machine noise hits
both sides alike; the headline is the median over repetitions of the ratio A/B within each pair. The
accuracy (CER against the concatenated truth turns) is printed beside the speed.

    .venv/bin/python -m bench.pipeline_vs_plain --repeat 3 --out bench/results/pipeline_vs_plain.json
    .venv/bin/python -m bench.pipeline_vs_plain --repeat 3 --minutes 6.8 --phone    # phone band
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    build_long_call,
    cer,
    chosen_clips,
    machine_info,
    machine_line,
    median,
    print_table,
    write_json,
)

TARGET_RATIO = 0.6
_RESULT_MARK = "BENCH-RESULT "


# --- the two sides, each in its own process -------------------------------------------------------


def _child_pipeline(audio: str) -> dict[str, Any]:
    from callscope.asr.model import load_model
    from callscope.core.config import Settings
    from callscope.pipeline import AnalyzeOptions, analyze

    settings = Settings.from_env()
    t0 = time.perf_counter()
    model = load_model(settings)  # cached per process: analyze() below reuses it
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    analysis = analyze(audio, AnalyzeOptions(), settings)
    work = time.perf_counter() - t0
    transcript = analysis.transcript
    return {
        "load_seconds": load,
        "work_seconds": work,
        "timings": analysis.timings,
        "text": "".join(t.text for t in transcript.turns),
        "turns": len(transcript.turns),
        "layout": transcript.layout,
        "language": transcript.language,
        "device": model.device,
        "compute_type": model.compute_type,
        "guards": transcript.asr.get("guards", {}),
    }


def _child_plain(audio: str) -> dict[str, Any]:
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    from callscope.asr.model import bundled_model_dir, resolve_device
    from callscope.core.config import Settings

    settings = Settings.from_env()
    device, compute_type = resolve_device(settings)
    path = str(bundled_model_dir(settings.cache_dir)) if settings.model == "bundled" else settings.model
    t0 = time.perf_counter()
    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=settings.cpu_threads)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    mono = decode_audio(audio)  # faster-whisper's own decoding: resampled to 16 kHz, channels mixed down
    segments, info = model.transcribe(mono, beam_size=5, vad_filter=True)
    texts = [s.text for s in segments]  # the generator does the decoding: consume it all
    work = time.perf_counter() - t0
    return {
        "load_seconds": load,
        "work_seconds": work,
        "timings": {"decode_audio+transcribe": work},
        "text": "".join(texts),
        "turns": len(texts),
        "layout": "mono-mix",
        "language": info.language,
        "device": device,
        "compute_type": compute_type,
    }


def _run_child(side: str, audio: Path) -> dict[str, Any]:
    """One repetition of one side in a fresh interpreter; wall time measured from out here."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.pipeline_vs_plain", "--child", side, str(audio)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{side} run failed (exit {proc.returncode}): {tail}")
    result = json.loads(lines[-1][len(_RESULT_MARK):])
    result["wall_seconds"] = wall
    return result


# --- the comparison -------------------------------------------------------------------------------


def compare(audio: Path, truth: str, repeat: int, log=print) -> dict[str, Any]:  # noqa: ANN001
    runs: dict[str, list[dict[str, Any]]] = {"pipeline": [], "plain": []}
    for i in range(repeat):
        for side in ("pipeline", "plain"):
            result = _run_child(side, audio)
            result["cer"] = cer(truth, result["text"])
            runs[side].append(result)
            log(f"  run {i + 1}/{repeat} {side:8s}: {result['wall_seconds']:.1f}s wall "
                f"(load {result['load_seconds']:.1f}s, work {result['work_seconds']:.1f}s), "
                f"CER {result['cer']:.3f}")
    pairs = list(zip(runs["pipeline"], runs["plain"], strict=True))
    summary = {}
    for side, results in runs.items():
        summary[side] = {
            "wall_seconds": median([r["wall_seconds"] for r in results]),
            "load_seconds": median([r["load_seconds"] for r in results]),
            "work_seconds": median([r["work_seconds"] for r in results]),
            "cer": median([r["cer"] for r in results]),
            "turns": results[0]["turns"],
            "language": results[0]["language"],
            "device": f"{results[0]['device']}/{results[0]['compute_type']}",
        }
        stages = sorted({k for r in results for k in r["timings"]})
        summary[side]["stages"] = {k: median([r["timings"].get(k, 0.0) for r in results]) for k in stages}
    summary["ratio_wall"] = median([a["wall_seconds"] / b["wall_seconds"] for a, b in pairs])
    summary["ratio_work"] = median([a["work_seconds"] / b["work_seconds"] for a, b in pairs])
    return {"runs": runs, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline_vs_plain",
        description="Speed and accuracy of the callscope pipeline against plain faster-whisper on the same "
                    "several-minute two-party stereo call (fresh process per run, interleaved A B A B).")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each side (default 3)")
    parser.add_argument("--minutes", type=float, default=5.5,
                        help="length of the concatenated test call, at least (default 5.5)")
    parser.add_argument("--clips", nargs="+", metavar="AUDIO",
                        help="stereo files (each with ID.truth.json beside it) to concatenate; default: "
                             "samples/zh-demo, samples/mixed-demo, then bench/devset full-band Mandarin")
    parser.add_argument("--phone", action="store_true",
                        help="concatenate bench/phoneband's renders instead: ordinary Mandarin sales calls "
                             "at 8 kHz with 25 dB noise (the outside testers' kind of call, issue 13)")
    parser.add_argument("--audio-out", default=None,
                        help="keep the concatenated call here (default: a temp file, removed)")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "AUDIO"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        side, audio = args.child
        result = (_child_pipeline if side == "pipeline" else _child_plain)(audio)
        print(_RESULT_MARK + json.dumps(result, ensure_ascii=False, default=float), flush=True)
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    info = machine_info()
    clips = chosen_clips(args.clips, args.phone)
    with tempfile.TemporaryDirectory(prefix="callscope-bench-") as tmp:
        target = Path(args.audio_out) if args.audio_out else Path(tmp) / "long-call.stereo.wav"
        call = build_long_call(clips, args.minutes * 60, target)
        print(f"machine: {machine_line(info)}")
        print(f"test call: {call.duration:.1f}s stereo 16 kHz from {', '.join(call.sources)}")
        result = compare(call.path, call.truth_text, args.repeat)

    s = result["summary"]
    rows = []
    for side, label in (("pipeline", "callscope analyze (pipeline)"), ("plain", "plain faster-whisper")):
        x = s[side]
        rows.append([label, x["wall_seconds"], x["load_seconds"], x["work_seconds"],
                     x["wall_seconds"] / call.duration, x["cer"], x["turns"], x["device"]])
    print_table(["side", "wall s", "load s", "work s", "RTF (wall)", "CER", "turns/segs", "device"], rows,
                title=f"median of {args.repeat} fresh-process runs, {call.duration / 60:.1f} min call")
    print_table(["stage", "median s"], [[k, v] for k, v in s["pipeline"]["stages"].items()],
                title="pipeline stages (Analysis.timings)")
    verdict = "meets" if s["ratio_wall"] <= TARGET_RATIO else "misses"
    print(f"\nratio pipeline/plain, wall incl. start-up and model load: {s['ratio_wall']:.2f} "
          f"({verdict} the target <= {TARGET_RATIO})")
    print(f"ratio pipeline/plain, work only (model loaded):          {s['ratio_work']:.2f}")
    write_json(args.out, {"benchmark": "pipeline_vs_plain", "machine": info, "repeat": args.repeat,
                          "call": {"duration": call.duration, "sources": call.sources},
                          "target_ratio": TARGET_RATIO, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
