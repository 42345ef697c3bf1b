"""NLP and scoring alone, on stored transcripts (callscope.pipeline.rescore: no audio, no ASR).

The transcripts are the truth turns of the samples and the dev set (what a perfect ASR would store),
or --analyses: analysis JSON documents (their segments become the turns). Reports calls per second,
seconds per audio minute, the first (cold) call apart, and the share of the whole pipeline's time
that nlp + scoring take (target <= 3 %): from a bench.cost JSON (--cost-json) when given, else from one
pipeline run on samples/zh-demo.stereo.flac (model load not counted).

    .venv/bin/python -m bench.nlp_speed --rounds 5 --cost-json bench/results/cost.json \
        --out bench/results/nlp_speed.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import DEVSET_AUDIO, SAMPLES, machine_info, machine_line, median, print_table, write_json

TARGET_SHARE = 0.03
# Analysis.timings of one call: ingest, the speech stages, nlp, scoring ("asr": cost files written
# before the speech stages were timed one by one)
PIPELINE_STAGES = ("ingest", "asr", "decode", "diarize", "turns", "roles", "nlp", "scoring")


def transcript_from_truth(path: Path):  # noqa: ANN201 - models.document.Transcript
    """The truth turns as a stored transcript: rep on S0, each other party its own speaker."""
    from callscope.models.document import Transcript, Turn

    truth = json.loads(path.read_text(encoding="utf-8"))
    speakers: dict[str, str] = {}
    turns = []
    for t in sorted(truth["turns"], key=lambda t: t["start"]):
        party = t["role"]
        speaker = speakers.setdefault(party, "S0" if party == "rep" else f"S{len(speakers) + 1}")
        role = "rep" if party == "rep" else "customer"
        turns.append(Turn(start=float(t["start"]), end=float(t["end"]), speaker=speaker, role=role,
                          text=t["text"], language=t.get("lang", truth.get("language", "zh")),
                          channel=t.get("channel")))
    roles = {s: ("rep" if party == "rep" else "customer") for party, s in speakers.items()}
    if "S0" not in roles:
        roles["S0"] = "rep"
    layout = "mono" if len({t.channel for t in turns}) == 1 else "stereo"
    return Transcript(duration=float(truth["duration"]), language=truth.get("language", "zh"),
                      layout=layout, turns=turns, speakers=roles)


def transcript_from_analysis(path: Path):  # noqa: ANN201 - models.document.Transcript
    from callscope.models.document import Transcript, Turn

    doc = json.loads(path.read_text(encoding="utf-8"))
    turns = [Turn(start=s["start"], end=s["end"], speaker=s["speaker"], role=s["role"], text=s["text"],
                  language=s.get("language", "")) for s in doc["segments"]]
    return Transcript(duration=doc["duration"], language=doc["language"], layout=doc.get("layout", "stereo"),
                      turns=turns, speakers=doc.get("speakers") or {t.speaker: t.role for t in turns})


def default_truths() -> list[Path]:
    return sorted(SAMPLES.glob("*.truth.json")) + sorted(DEVSET_AUDIO.glob("*.truth.json"))


def pipeline_share(cost_json: str | None) -> dict[str, Any]:
    """nlp + scoring as a share of the pipeline's per-call time (ingest + speech stages + nlp + scoring)."""
    if cost_json:
        data = json.loads(Path(cost_json).read_text(encoding="utf-8"))
        out = {}
        for kind, r in data["results"].items():
            m = r["median"]
            total = sum(m.get(k, 0.0) for k in PIPELINE_STAGES)
            out[kind] = {"nlp_scoring_seconds": m["nlp"] + m["scoring"], "pipeline_seconds": total,
                         "share": (m["nlp"] + m["scoring"]) / total, "source": cost_json}
        return out
    from callscope.core.config import Settings
    from callscope.pipeline import AnalyzeOptions, analyze

    path = SAMPLES / "zh-demo.stereo.flac"
    timings = analyze(path, AnalyzeOptions(), Settings.from_env()).timings
    total = sum(timings.get(k, 0.0) for k in PIPELINE_STAGES)
    nlp = timings.get("nlp", 0.0) + timings.get("scoring", 0.0)
    return {"stereo": {"nlp_scoring_seconds": nlp, "pipeline_seconds": total, "share": nlp / total,
                       "source": f"one analyze of {path.name}"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nlp_speed",
        description="NLP + scoring speed on stored transcripts (calls per second) and its share of the "
                    "pipeline's time (target <= 3 %).")
    parser.add_argument("--rounds", type=int, default=5, help="passes over all transcripts (default 5)")
    parser.add_argument("--truth", nargs="+", default=None, metavar="TRUTH_JSON",
                        help="truth files to use as stored transcripts (default: samples/ and bench/devset/)")
    parser.add_argument("--analyses", nargs="+", default=None, metavar="ANALYSIS_JSON",
                        help="analysis documents whose segments are the stored transcripts")
    parser.add_argument("--rubric", default=None, help="rubric name or path (default: settings.rubric)")
    parser.add_argument("--cost-json", default=None,
                        help="a bench.cost --out file to take the pipeline's stage times from")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    from callscope.core.config import Settings
    from callscope.pipeline import rescore

    settings = Settings.from_env()
    rubric = args.rubric or settings.rubric
    if args.analyses:
        transcripts = [transcript_from_analysis(Path(p)) for p in args.analyses]
    else:
        transcripts = [transcript_from_truth(Path(p)) for p in (args.truth or default_truths())]
    if not transcripts:
        parser.error("no transcripts found")
    audio_minutes = sum(t.duration for t in transcripts) / 60

    info = machine_info()
    print(f"machine: {machine_line(info)}")
    t0 = time.perf_counter()
    rescore(transcripts[0], rubric, settings)
    cold = time.perf_counter() - t0  # loads the classifiers, dictionaries and rubric

    per_call: list[float] = []
    nlp_times: list[float] = []
    scoring_times: list[float] = []
    round_times: list[float] = []
    for _ in range(args.rounds):
        r0 = time.perf_counter()
        for transcript in transcripts:
            t0 = time.perf_counter()
            analysis = rescore(transcript, rubric, settings)
            per_call.append(time.perf_counter() - t0)
            nlp_times.append(analysis.timings["nlp"])
            scoring_times.append(analysis.timings["scoring"])
        round_times.append(time.perf_counter() - r0)
    round_median = median(round_times)
    calls_per_second = len(transcripts) / round_median
    seconds_per_audio_minute = round_median / audio_minutes

    share = pipeline_share(args.cost_json)
    print_table(["transcripts", "audio min", "cold first call s", "median call s", "nlp s", "scoring s",
                 "calls/s", "s per audio min"],
                [[len(transcripts), audio_minutes, cold, median(per_call), median(nlp_times),
                  median(scoring_times), calls_per_second, seconds_per_audio_minute]],
                title=f"nlp + scoring on stored transcripts (median of {args.rounds} rounds)")
    print_table(["recording", "nlp+scoring s", "pipeline s", "share", "target"],
                [[k, v["nlp_scoring_seconds"], v["pipeline_seconds"], f"{100 * v['share']:.2f} %",
                  "ok" if v["share"] <= TARGET_SHARE else "MISS"] for k, v in share.items()],
                title="share of the pipeline's time (per call, model load excluded)")
    write_json(args.out, {"benchmark": "nlp_speed", "machine": info, "rounds": args.rounds,
                          "transcripts": len(transcripts), "audio_minutes": audio_minutes,
                          "cold_first_call_seconds": cold, "median_call_seconds": median(per_call),
                          "median_nlp_seconds": median(nlp_times),
                          "median_scoring_seconds": median(scoring_times),
                          "calls_per_second": calls_per_second,
                          "seconds_per_audio_minute": seconds_per_audio_minute,
                          "target_share": TARGET_SHARE, "pipeline_share": share})
    return 0


if __name__ == "__main__":
    sys.exit(main())
