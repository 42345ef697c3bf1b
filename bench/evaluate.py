"""Evaluate the real pipeline against the labeled calls (dev set, samples or the ASR tuning set).

    .venv/bin/python -m bench.evaluate [--set dev|samples|tune] [--only ID,...] [--mono | --stereo]
        [--text-only | --both] [--jobs 1] [--out FILE.json] [--transcripts DIR]
    .venv/bin/python -m bench.evaluate --set real [--out FILE.json]

For each call it analyses the stereo file and, where there is one, the mono file (reported
separately), then compares with the truth: CER (zh) / WER (en) / MER (code-switched), speaker-role
accuracy over time, talk-ratio error, stage, objections, next steps, rubric items and the real-time
factor. --text-only skips audio: the truth turns go straight to `callscope.pipeline.rescore`, which
isolates nlp + scoring from ASR errors; --both runs the audio and the text-only passes side by side.

--set real measures the human recordings of ../shared/realspeech instead (no labeled calls there):
joined-call CER against per-clip CER with each reference's provenance (some are another recognizer's
output, not human), characters per second of speech, and diarization frame accuracy and speaker
count on the multi-speaker files. It reuses bench.realspeech and bench.diarization.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from bench.metrics import (
    LabeledObjection,
    error_rate,
    f1,
    match_objections,
    role_accuracy,
    rubric_agreement,
    summary_stats,
    talk_ratio,
)
from bench.truth import TruthCall, load_set

TEXT = "text"  # the pseudo-layout of a text-only run
TEXT_METRIC = {"zh": "CER", "en": "WER", "mixed": "MER"}


def compare(call: TruthCall, analysis: dict[str, Any], layout: str, seconds: float) -> dict[str, Any]:
    """One run's figures: the analysis document measured against the call's truth."""
    labels = call.labels
    segments = analysis.get("segments", [])
    result: dict[str, Any] = {"id": call.id, "layout": layout, "kind": call.kind, "duration": call.duration,
                              "seconds": seconds, "rtf": seconds / call.duration if call.duration else None}
    if layout != TEXT:
        hypothesis = "\n".join(s["text"] for s in sorted(segments, key=lambda s: s["start"]))
        rate = error_rate(call.text(), hypothesis, "en" if call.kind == "en" else "zh")
        result["text"] = {"metric": TEXT_METRIC[call.kind], "errors": rate.errors,
                          "tokens": rate.reference_tokens, "rate": rate.rate, "hypothesis": hypothesis}
        predicted = [(s["start"], s["end"], s["role"]) for s in segments]
        result["role_accuracy"] = role_accuracy(call.intervals(), predicted)
        result["language"] = {"truth": call.language, "predicted": analysis.get("language")}
    truth_ratio = talk_ratio(call.intervals())
    predicted_ratio = analysis.get("metrics", {}).get("talk_ratio")
    ratio_error = abs(predicted_ratio - truth_ratio) if predicted_ratio is not None else None
    result["talk_ratio"] = {"truth": truth_ratio, "predicted": predicted_ratio, "abs_error": ratio_error}
    result["stage"] = {"truth": labels.get("stage"), "predicted": analysis.get("stage")}
    predicted_objections = [LabeledObjection(o["type"], o["start"], o["end"], bool(o.get("handled")))
                            for o in analysis.get("objections", [])]
    match = match_objections(call.objections(), predicted_objections)
    result["objections"] = {
        "tp": match.true_positives, "fp": match.false_positives, "fn": match.false_negatives,
        "handled_correct": match.handled_correct, "wrong_type": match.wrong_type,
        "truth": [f"{o.type}{'' if o.handled else '!'}" for o in call.objections()],
        "predicted": [f"{o.type}{'' if o.handled else '!'}" for o in predicted_objections],
    }
    result["next_step"] = {"truth": bool(labels.get("next_step")),
                           "predicted": bool(analysis.get("next_steps"))}
    truth_rubric = labels.get("rubric", {})
    predicted_rubric = {i["id"]: None if i.get("passed") is None else bool(i["passed"])
                        for i in analysis.get("scorecard", {}).get("items", [])}
    agree, items = rubric_agreement(truth_rubric, predicted_rubric)
    result["rubric"] = {
        "agree": agree, "items": items, "score": analysis.get("scorecard", {}).get("score"),
        "per_item": {k: [v, predicted_rubric.get(k, "missing")] for k, v in truth_rubric.items()},
    }
    return result


def run_one(call: TruthCall, layout: str, transcripts: Path | None = None) -> dict[str, Any]:
    """Analyse one call in one layout; a failure becomes an `error` entry, not an aborted evaluation.

    With `transcripts`, an audio run's transcript is kept there, and a transcript already there is
    rescored instead of transcribing again (its run has no real-time factor)."""
    from callscope.core.config import Settings
    from callscope.models.document import Transcript
    from callscope.pipeline import AnalyzeOptions, analyze, rescore

    settings = Settings.from_env()
    kept = transcripts / f"{call.id}.{layout}.json" if transcripts and layout != TEXT else None
    started = time.perf_counter()
    try:
        if layout == TEXT:
            analysis = rescore(call.transcript(), "default", settings)
        elif kept and kept.exists():
            transcript = Transcript.from_dict(json.loads(kept.read_text(encoding="utf-8")))
            analysis = rescore(transcript, "default", settings)
        else:
            analysis = analyze(call.audio[layout], AnalyzeOptions(channels=layout), settings)
            if kept:
                text = json.dumps(analysis.transcript.to_dict(), ensure_ascii=False)
                kept.write_text(text, encoding="utf-8")
        document = analysis.to_dict()
    except Exception as exc:  # an unfinished or broken stage must not stop the other calls
        return {"id": call.id, "layout": layout, "kind": call.kind, "error": f"{type(exc).__name__}: {exc}"}
    result = compare(call, document, layout, time.perf_counter() - started)
    if kept and "decode" not in document.get("timings", {}):
        result["rtf"] = None  # rescored from a kept transcript: no transcription was timed
    result["timings"] = document.get("timings", {})
    return result


def _micro_rate(runs: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    chosen = [r["text"] for r in runs if r["kind"] == kind and "text" in r]
    if not chosen:
        return None
    tokens = sum(t["tokens"] for t in chosen)
    micro = sum(t["errors"] for t in chosen) / tokens if tokens else None
    return {"metric": TEXT_METRIC[kind], "micro": micro, **summary_stats([t["rate"] for t in chosen])}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate figures of one layout's runs (failed runs are only counted)."""
    ok = [r for r in runs if "error" not in r]
    summary: dict[str, Any] = {"runs": len(runs), "failed": len(runs) - len(ok)}
    if not ok:
        return summary
    summary["text_error"] = {k: rate for k in TEXT_METRIC if (rate := _micro_rate(ok, k))}
    if any("role_accuracy" in r for r in ok):
        summary["role_accuracy"] = summary_stats([r["role_accuracy"] for r in ok if "role_accuracy" in r])
        summary["language_accuracy"] = sum(r["language"]["truth"] == r["language"]["predicted"]
                                           for r in ok if "language" in r) / len(ok)
    summary["talk_ratio_abs_error"] = summary_stats(
        [r["talk_ratio"]["abs_error"] for r in ok if r["talk_ratio"]["abs_error"] is not None])
    summary["stage_accuracy"] = sum(r["stage"]["truth"] == r["stage"]["predicted"] for r in ok) / len(ok)
    tp, fp, fn = (sum(r["objections"][k] for r in ok) for k in ("tp", "fp", "fn"))
    precision, recall, score = f1(tp, fp, fn)
    handled = sum(r["objections"]["handled_correct"] for r in ok)
    wrong_type = sum(r["objections"]["wrong_type"] for r in ok)
    summary["objections"] = {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
                             "f1": score, "handled_accuracy": handled / tp if tp else None,
                             "wrong_type": wrong_type,
                             # an objection found where one was raised, whatever its type
                             "detection_f1": f1(tp + wrong_type, fp - wrong_type, fn - wrong_type)[2]}
    next_right = sum(r["next_step"]["truth"] == r["next_step"]["predicted"] for r in ok)
    summary["next_step_accuracy"] = next_right / len(ok)
    agree, items = sum(r["rubric"]["agree"] for r in ok), sum(r["rubric"]["items"] for r in ok)
    per_item: dict[str, list[int]] = {}
    for r in ok:
        for item, (label, predicted) in r["rubric"]["per_item"].items():
            counts = per_item.setdefault(item, [0, 0])
            counts[0] += int(label == predicted)
            counts[1] += 1
    summary["rubric_agreement"] = agree / items if items else None
    summary["rubric_items"] = {item: a / n for item, (a, n) in per_item.items()}
    summary["rtf"] = summary_stats([r["rtf"] for r in ok if r.get("rtf") is not None])
    return summary


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def print_table(runs: Iterable[dict[str, Any]], out: TextIO = sys.stdout) -> None:
    header = (f"{'call':<12}{'layout':<8}{'err%':>7}{'role%':>7}{'TR t/p':>11} {'stage truth>pred':<27}"
              f"{'obj tp/fp/fn':>13}{'next t/p':>9}{'rubric':>8}{'RTF':>6}")
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in runs:
        if "error" in r:
            print(f"{r['id']:<12}{r['layout']:<8}  ERROR {r['error'][:150]}", file=out)
            continue
        text = r.get("text")
        err = f"{TEXT_METRIC[r['kind']][0]}{_pct(text['rate'])}" if text else "-"
        tr = r["talk_ratio"]
        ratio = f"{tr['truth']:.2f}/{tr['predicted']:.2f}" if tr["predicted"] is not None else "-"
        stage = f"{r['stage']['truth']}>{r['stage']['predicted']}"
        o, n, rb = r["objections"], r["next_step"], r["rubric"]
        rtf = f"{r['rtf']:.2f}" if r.get("rtf") is not None and r["layout"] != TEXT else "-"
        print(f"{r['id']:<12}{r['layout']:<8}{err:>7}{_pct(r.get('role_accuracy')):>7}{ratio:>11} {stage:<27}"
              f"{o['tp']:>5}/{o['fp']}/{o['fn']:<5}{int(n['truth'])}/{int(n['predicted']):<6}"
              f"{rb['agree']:>4}/{rb['items']:<3}{rtf:>6}", file=out)


def _stat(s: dict[str, Any] | None, key: str = "mean", pct: bool = True) -> str:
    if not s or s.get(key) is None:
        return "-"
    return _pct(s[key]) if pct else f"{s[key]:.3f}"


def print_summary(summaries: dict[str, dict[str, Any]], out: TextIO = sys.stdout) -> None:
    """The layouts (stereo / mono / text-only) side by side."""
    layouts = list(summaries)
    rows: list[tuple[str, list[str]]] = [
        ("runs (failed)", [f"{s['runs']} ({s['failed']})" for s in summaries.values()])]

    def row(name: str, value: Callable[[dict[str, Any]], str]) -> None:
        # a layout whose runs all failed has no figures, only its counts
        rows.append((name, [value(s) if "stage_accuracy" in s else "-" for s in summaries.values()]))

    def text_error(s: dict[str, Any], kind: str) -> str:
        rate = s["text_error"].get(kind)
        return f"{_stat(rate, 'micro')} / {_stat(rate, 'median')}" if rate else "-"

    for kind, metric in TEXT_METRIC.items():
        row(f"{metric} % micro / median ({kind})", lambda s, k=kind: text_error(s, k))
    row("role accuracy % mean / median",
        lambda s: f"{_stat(s.get('role_accuracy'))} / {_stat(s.get('role_accuracy'), 'median')}")
    row("language detected %", lambda s: _pct(s.get("language_accuracy")))
    row("talk-ratio abs error mean / median",
        lambda s: f"{_stat(s['talk_ratio_abs_error'], pct=False)} / "
                  f"{_stat(s['talk_ratio_abs_error'], 'median', pct=False)}")
    row("stage accuracy %", lambda s: _pct(s["stage_accuracy"]))
    row("objection P / R / F1 %",
        lambda s: " / ".join(_pct(s["objections"][k]) for k in ("precision", "recall", "f1")))
    row("objection found, type wrong / detection F1 %",
        lambda s: f"{s['objections']['wrong_type']} / {_pct(s['objections']['detection_f1'])}")
    row("objection handled acc. % (matched)", lambda s: _pct(s["objections"]["handled_accuracy"]))
    row("next-step accuracy %", lambda s: _pct(s["next_step_accuracy"]))
    row("rubric agreement %", lambda s: _pct(s["rubric_agreement"]))
    items = sorted({i for s in summaries.values() for i in s.get("rubric_items", {})})
    for item in items:
        row(f"  {item} %", lambda s, i=item: _pct(s["rubric_items"].get(i)))
    row("RTF mean / median",
        lambda s: f"{_stat(s['rtf'], pct=False)} / {_stat(s['rtf'], 'median', pct=False)}"
        if s["rtf"]["n"] and "role_accuracy" in s else "-")
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{k:>22}" for k in layouts), file=out)
    for name, values in rows:
        print(f"{name:<{width}}" + "".join(f"{v:>22}" for v in values), file=out)


def evaluate_real(out: Path | None) -> int:
    """The real human recordings of ../shared/realspeech: joined-call CER against per-clip CER and
    characters per second of speech (bench.realspeech), diarization frame accuracy and speaker count
    on the multi-speaker recordings (bench.diarization). Each figure names its reference's source."""
    from bench import diarization, realspeech
    from bench.common import write_json

    if not realspeech.DEFAULT_DIR.is_dir():
        print(f"evaluate: no realspeech directory at {realspeech.DEFAULT_DIR}", file=sys.stderr)
        return 2
    print("evaluate: real speech, ASR (bench.realspeech)", file=sys.stderr)
    asr = realspeech.run()
    realspeech.report(asr)
    print("evaluate: real speech, diarization (bench.diarization)", file=sys.stderr)
    recordings = diarization.real_recordings() + diarization.joined_calls()
    speakers = [diarization.evaluate(recording, "auto") for recording in recordings]
    print()
    diarization.report(speakers, "diarization of the multi-speaker recordings (auto)")
    write_json(str(out) if out else None, {"set": "real", "asr": asr, "diarization": speakers})
    return 0


def plan(calls: list[TruthCall], layouts: list[str]) -> list[tuple[TruthCall, str]]:
    return [(c, layout) for layout in layouts for c in calls if layout == TEXT or layout in c.audio]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["dev", "blind", "samples", "tune", "real"], default="dev",
                        help="real: the human recordings of ../shared/realspeech (bench.realspeech and "
                             "bench.diarization; the other options do not apply)")
    parser.add_argument("--only", default="", help="comma-separated call ids or id prefixes")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--mono", action="store_true", help="only the mono files")
    layout.add_argument("--stereo", action="store_true", help="only the stereo files")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--text-only", action="store_true", help="no audio: truth turns -> rescore()")
    mode.add_argument("--both", action="store_true", help="audio runs and text-only runs side by side")
    parser.add_argument("--jobs", type=int, default=1,
                        help="calls analysed in parallel (each process loads the model)")
    parser.add_argument("--out", type=Path, help="write all per-call results and the summary as JSON")
    parser.add_argument("--transcripts", type=Path,
                        help="keep audio runs' transcripts in this folder and rescore those already there "
                             "(nlp + scoring changes in seconds; empty it after changing asr/ or the audio)")
    args = parser.parse_args(argv)

    if args.set == "real":
        return evaluate_real(args.out)
    calls = load_set(args.set, [p for p in args.only.split(",") if p] or None)
    if not calls:
        print(f"evaluate: no labeled calls in set {args.set!r} match {args.only!r}", file=sys.stderr)
        return 2
    audio_layouts = ["mono"] if args.mono else ["stereo"] if args.stereo else ["stereo", "mono"]
    layouts = [TEXT] if args.text_only else audio_layouts + ([TEXT] if args.both else [])
    tasks = plan(calls, layouts)
    print(f"evaluate: {len(calls)} calls, {len(tasks)} runs ({', '.join(layouts)})", file=sys.stderr)

    if args.transcripts:
        args.transcripts.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            calls_, layouts_ = zip(*tasks, strict=True)
            for result in pool.map(run_one, calls_, layouts_, [args.transcripts] * len(tasks)):
                runs.append(result)
                print(f"  {result['id']} {result['layout']} done", file=sys.stderr)
    else:
        for call, lay in tasks:
            runs.append(run_one(call, lay, args.transcripts))
            print(f"  {call.id} {lay} done", file=sys.stderr)

    summaries = {lay: summarize([r for r in runs if r["layout"] == lay]) for lay in layouts}
    summaries = {lay: s for lay, s in summaries.items() if s["runs"]}
    print_table(runs)
    print()
    print_summary(summaries)
    if args.out:
        document = {"set": args.set, "layouts": layouts, "summary": summaries, "runs": runs}
        args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"evaluate: results written to {args.out}", file=sys.stderr)
    return 1 if any("error" in r for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
