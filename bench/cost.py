"""What one call costs: seconds of compute per minute of audio and the real-time factor, per stage.

Three kinds of recording: a two-party stereo call, the same call mixed to mono (speakers told apart by
diarization) and a phone-band (8 kHz, noisy) stereo call. Stages come from Analysis.timings (ingest,
the speech stages decode, diarize, turns and roles, nlp, scoring).
The model is loaded once, first, and its load time reported on its own (a worker
loads it once per process, not per call).

    .venv/bin/python -m bench.cost --repeat 3 --out bench/results/cost.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import SAMPLES, machine_info, machine_line, median, print_table, write_json

DEFAULT_FILES = {
    "stereo": SAMPLES / "zh-demo.stereo.flac",
    "mono (diarization)": SAMPLES / "zh-demo.mono.flac",
    "phone-band stereo": SAMPLES / "zh-phone.stereo.flac",
}
STAGES = ("ingest", "decode", "diarize", "turns", "roles", "nlp", "scoring")


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """Median stage times over repeat analyses of one file (model already loaded)."""
    from callscope.core.config import Settings
    from callscope.pipeline import AnalyzeOptions, analyze

    settings = Settings.from_env()
    runs = []
    duration = layout = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        analysis = analyze(path, AnalyzeOptions(), settings)
        wall = time.perf_counter() - t0
        transcript = analysis.transcript
        duration, layout = transcript.duration, transcript.layout
        stages = dict(analysis.timings)
        stages["total"] = wall
        runs.append(stages)
    medians = {k: median([r.get(k, 0.0) for r in runs]) for k in (*STAGES, "total")}
    return {"file": str(path), "duration": duration, "layout": layout, "runs": runs, "median": medians,
            "seconds_per_audio_minute": {k: v * 60 / duration for k, v in medians.items()},
            "rtf": medians["total"] / duration}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cost",
        description="Seconds per audio minute and real-time factor of `callscope analyze`, per stage, for "
                    "stereo, mono (diarization) and phone-band recordings.")
    parser.add_argument("--repeat", type=int, default=3,
                        help="analyses per file; medians reported (default 3)")
    parser.add_argument("--file", action="append", default=None, metavar="KIND=PATH",
                        help="a recording to measure, e.g. 'stereo=samples/en-demo.stereo.flac' "
                             "(repeatable; default: the three kinds from samples/)")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    files = DEFAULT_FILES
    if args.file:
        files = {}
        for spec in args.file:
            kind, sep, path = spec.partition("=")
            if not sep:
                kind, path = Path(spec).name, spec
            files[kind] = Path(path)
    for path in files.values():
        if not path.is_file():
            parser.error(f"no such file: {path}")

    from callscope.asr.model import load_model
    from callscope.core.config import Settings

    info = machine_info()
    print(f"machine: {machine_line(info)}")
    t0 = time.perf_counter()
    model = load_model(Settings.from_env())
    load_seconds = time.perf_counter() - t0
    print(f"model {model.name} loaded in {load_seconds:.2f}s on {model.device}/{model.compute_type} "
          "(once per process; not in the per-call figures)")

    results = {}
    for kind, path in files.items():
        print(f"measuring {kind}: {path} x{args.repeat}", file=sys.stderr, flush=True)
        results[kind] = measure(path, args.repeat)

    headers = ["recording", "audio s", "layout", *STAGES, "total", "RTF"]
    rows = []
    for kind, r in results.items():
        per_min = r["seconds_per_audio_minute"]
        rows.append([kind, r["duration"], r["layout"], *[per_min[k] for k in STAGES], per_min["total"],
                     r["rtf"]])
    print_table(headers, rows, title=f"seconds of compute per audio minute (median of {args.repeat})")
    write_json(args.out, {"benchmark": "cost", "machine": info, "repeat": args.repeat,
                          "model": {"name": model.name, "device": model.device,
                                    "compute_type": model.compute_type, "load_seconds": load_seconds},
                          "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
