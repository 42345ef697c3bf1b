"""Redaction figures: recall on utterances with personal numbers and addresses, and how often a look-alike
(a price, a date, an order number, a quantity) is redacted, on the true text and on the real ASR transcripts
of the synthcall renders (clean full band, and phone band: --rate 8000 --noise 25).

    .venv/bin/python -m bench.redaction              # true text + cached ASR transcripts (ASR when missing)
    .venv/bin/python -m bench.redaction --asr        # transcribe the renders again
    .venv/bin/python -m bench.redaction --asr --variant phone  # only the phone-band renders
    .venv/bin/python -m bench.redaction --text-only  # true text alone (no model)
    .venv/bin/python -m bench.redaction --set heldout  # only one set (default: tuning and heldout)
    .venv/bin/python -m bench.redaction --set third    # the third set (an outside author's, scored apart)
    .venv/bin/python -m bench.redaction --set blind    # the blind set: figures only, never --show
    .venv/bin/python -m bench.redaction --corpus     # also: redactions in the corpus calls (no numbers)

The sets: "tuning" (bench/redaction/scripts, make_scripts.py), on which the rules were written, and
"heldout" (bench/redaction/heldout/scripts, make_heldout.py), new phrasings written before the tuning set's
misses were looked at; held out for rules 2, tuned on for rules 3 (so no longer held out). "third"
(bench/redaction/third) was written by another outside author and scored with rules 6 and with rules 7
as first written before its misses were read (bench/redaction/README.md); rules 7 were then tuned on it.
The last, "blind" (bench/blindset/redaction), was written by an outside author who saw only the contract and
domain notes; nobody who tunes the rules reads it, and it is scored only on its own (--set blind).

An utterance with a personal number counts as found when a redaction covers it (on ASR transcripts: a
redaction's time span overlaps the utterance's span in the truth file), and as leaked when four or more
of its digits in a row are still in the text after redaction; one ASR wrote nothing for (an English turn
of a Mandarin call, say) is counted apart ("lost"), not in recall: nothing of it is stored. A look-alike
counts as redacted when any redaction touches it. Each miss says how many of the number's digits the
transcript still holds in order ("heard 4/10"): few means the recogniser misheard the digits, most means
the detector missed a form it could have read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callscope.core.config import Settings
from callscope.models.document import Transcript, Turn, Word
from callscope.nlp.redaction import _runs, redact_transcript

HERE = Path(__file__).resolve().parent
SETS = {"tuning": HERE, "heldout": HERE / "heldout", "third": HERE / "third",
        "blind": HERE.parent / "blindset" / "redaction"}
BOTH = ("tuning", "heldout")  # --set both; the blind set is scored on its own (bench/blindset/README.md)
VARIANTS = ("clean", "phone")


@dataclass
class Tally:
    personal: int = 0
    found: int = 0
    right_kind: int = 0
    leaked: int = 0
    lookalikes: int = 0
    false_positives: int = 0
    prompt_false_positives: int = 0  # the rep's questions hold no personal number either
    lost: int = 0  # personal utterances ASR wrote nothing for (not counted in recall)
    misses: list[str] = field(default_factory=list)
    fps: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("personal", "found", "right_kind", "leaked", "lookalikes", "false_positives",
                     "prompt_false_positives", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.misses += other.misses
        self.fps += other.fps

    def row(self) -> dict[str, Any]:
        return {"personal": self.personal, "recall": round(self.found / max(1, self.personal), 3),
                "kind_accuracy": round(self.right_kind / max(1, self.found), 3),
                "leaked": self.leaked, "lookalikes": self.lookalikes,
                "lookalike_fp_rate": round(self.false_positives / max(1, self.lookalikes), 3),
                "prompt_fp": self.prompt_false_positives, "not_transcribed": self.lost}


def load_scripts(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "scripts").glob("*.json"))]


def _utterances(script: dict[str, Any], timed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """utterance id -> its truth (None for a look-alike), customer turn indices and time span."""
    out: dict[str, dict[str, Any]] = {}
    for i, (turn, t) in enumerate(zip(script["turns"], timed, strict=True)):
        if turn["role"] != "customer":
            continue
        u = out.setdefault(turn["utterance"], {"truth": turn.get("truth"), "turns": [], "span": [1e9, 0.0]})
        u["turns"].append(i)
        u["span"] = [min(u["span"][0], t["start"]), max(u["span"][1], t["end"])]
    return out


def _leaked(text: str, value: str) -> bool:
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits:
        return value.split("@")[0].replace(".", " ").split()[0] in text.lower().replace(" ", "") \
            if "@" in value else False
    for run in _runs(0, text):
        for k in range(len(run.digits) - 3):
            if run.digits[k:k + 4] in digits:
                return True
    return False


def _heard(text: str, value: str) -> str:
    """How many of the number's digits the text holds in order (longest common subsequence), 'k/n'."""
    if "@" in value:
        return "address"
    want = "".join(ch for ch in value if ch.isdigit())
    have = "".join(run.digits for run in _runs(0, text))
    row = [0] * (len(have) + 1)
    for w in want:
        diagonal = 0
        for j, h in enumerate(have, 1):
            diagonal, row[j] = row[j], diagonal + 1 if w == h else max(row[j], row[j - 1])
    return f"heard {row[-1]}/{len(want)}"


def _timed(root: Path, script: dict[str, Any], variant: str | None) -> list[dict[str, Any]]:
    truth = root / "audio" / (variant or "clean") / f"{script['id']}.truth.json"
    if truth.exists():
        return json.loads(truth.read_text())["turns"]
    t, out = 0.0, []
    for turn in script["turns"]:
        length = max(1.0, len(turn["text"]) * (0.25 if script["language"] == "zh" else 0.07))
        out.append({"start": t, "end": t + length})
        t += length + 0.6
    return out


def true_text(root: Path, script: dict[str, Any]) -> Tally:
    """The script's own text as a transcript (rep S0, customer S1), one word per character."""
    timed = _timed(root, script, None)
    turns = []
    for turn, t in zip(script["turns"], timed, strict=True):
        text = turn["text"]
        step = (t["end"] - t["start"]) / max(1, len(text))
        words = [Word(t["start"] + k * step, t["start"] + (k + 1) * step, ch) for k, ch in enumerate(text)]
        role = "rep" if turn["role"] == "rep" else "customer"
        turns.append(Turn(t["start"], t["end"], "S0" if role == "rep" else "S1", role, text,
                          language=turn.get("lang", script["language"]), words=words))
    transcript = Transcript(duration=timed[-1]["end"], language=script["language"], layout="stereo",
                            turns=turns)
    redact_transcript(transcript)
    tally = Tally()
    for uid, u in _utterances(script, timed).items():
        reds = [r for i in u["turns"] for r in transcript.turns[i].redactions]
        text = " ".join(transcript.turns[i].text for i in u["turns"])
        _count(tally, uid, u["truth"], reds, text)
    tally.prompt_false_positives += sum(len(t.redactions) for t in transcript.turns if t.role == "rep")
    return tally


def _count(tally: Tally, uid: str, truth: dict[str, Any] | None, reds: list, text: str) -> None:
    if truth is None:
        tally.lookalikes += 1
        if reds:
            tally.false_positives += 1
            tally.fps.append(f"{uid}: {text}")
        return
    if not text.strip() and not reds:
        tally.lost += 1  # ASR wrote nothing there: nothing to redact, nothing stored
        tally.misses.append(f"{uid} ({truth['kind']}): not transcribed")
        return
    tally.personal += 1
    if reds:
        tally.found += 1
        tally.right_kind += any(r.kind == truth["kind"] for r in reds)
    else:
        tally.misses.append(f"{uid} ({truth['kind']}, {_heard(text, truth['value'])}): {text}")
    if _leaked(text, truth["value"]):
        tally.leaked += 1
        if reds:
            tally.misses.append(f"{uid} ({truth['kind']}, partly): {text}")


def asr_transcript(root: Path, script: dict[str, Any], variant: str, again: bool) -> Transcript | None:
    cache = root / "results" / "asr" / variant / f"{script['id']}.json"
    if cache.exists() and not again:
        return Transcript.from_dict(json.loads(cache.read_text()))
    audio = root / "audio" / variant / f"{script['id']}.stereo.ogg"
    if not audio.exists():
        return None
    from callscope.ingest import load_recording
    from callscope.pipeline import recognizer_vocabulary, transcribe

    settings = Settings.from_env()
    recording = load_recording(audio, channels="stereo", settings=settings)
    transcript = transcribe(recording, settings, vocabulary=recognizer_vocabulary())
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n")  # before redaction
    return transcript


def on_asr(root: Path, script: dict[str, Any], variant: str, again: bool) -> Tally | None:
    transcript = asr_transcript(root, script, variant, again)
    if transcript is None:
        return None
    timed = _timed(root, script, variant)
    redact_transcript(transcript)
    tally = Tally()
    for uid, u in _utterances(script, timed).items():
        lo, hi = u["span"][0] - 0.3, u["span"][1] + 0.3
        turns = [t for t in transcript.turns if t.role == "customer" and t.end > lo and t.start < hi]
        reds = [r for t in transcript.turns for r in t.redactions if r.end > lo and r.start < hi]
        _count(tally, uid, u["truth"], reds, " ".join(t.text for t in turns))
    rep_spans = [(t["start"], t["end"]) for turn, t in zip(script["turns"], timed, strict=True)
                 if turn["role"] == "rep"]
    tally.prompt_false_positives += sum(
        1 for t in transcript.turns if t.role == "rep" for r in t.redactions
        if any(r.end > a and r.start < b for a, b in rep_spans))
    return tally


def corpus_scan() -> tuple[dict[str, int], list[str]]:
    """Redactions in the calls of the NLP corpus (nlp/data/corpus: sales talk full of prices, dates and
    quantities, written by nine authors, not for redaction): look-alikes in the wild, each one listed."""
    from callscope.nlp.corpus import call_files, load_calls

    counts = {"calls": 0, "turns": 0, "turns_redacted": 0}
    shown: list[str] = []
    for path in call_files():
        for call in load_calls(path):
            turns, t = [], 0.0
            for example in call.turns:
                turns.append(Turn(t, t + 3.0, "S0" if example.role == "rep" else "S1", example.role,
                                  example.text, language=example.lang))
                t += 3.5
            transcript = Transcript(duration=t, language="en" if call.lang == "en" else "zh", layout="stereo",
                                    turns=turns)
            redact_transcript(transcript)
            counts["calls"] += 1
            counts["turns"] += len(turns)
            for turn in transcript.turns:
                if turn.redactions:
                    counts["turns_redacted"] += 1
                    shown.append(f"[corpus] {call.id}: {turn.text}")
    return counts, shown


def score(name: str, sources: list[str], again: bool) -> tuple[dict[str, dict[str, Any]], dict[str, Tally]]:
    """The rows (source -> language -> figures) of one set, and its tallies over both languages."""
    root = SETS[name]
    results: dict[str, dict[str, Any]] = {}
    overall: dict[str, Tally] = {}
    for source in sources:
        tallies = {language: Tally() for language in ("zh", "en", "all")}
        for script in load_scripts(root):
            got = true_text(root, script) if source == "text" else on_asr(root, script, source, again)
            if got is None:
                print(f"{name} {source}: no render of {script['id']} (see bench/redaction/README.md)",
                      file=sys.stderr)
                continue
            tallies[script["language"]].add(got)
            tallies["all"].add(got)
        results[source] = {lang: t.row() for lang, t in tallies.items()}
        overall[source] = tallies["all"]
    return results, overall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__.splitlines()[0])
    parser.add_argument("--asr", action="store_true", help="transcribe the renders again (else cached)")
    parser.add_argument("--text-only", action="store_true", help="the true text only (no ASR)")
    parser.add_argument("--set", choices=[*SETS, "both"], default="both", help="which set (default both)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--show", action="store_true", help="list the misses and false positives")
    parser.add_argument("--variant", choices=VARIANTS, action="append",
                        help="only this render (repeatable; default both): --asr on one takes half the time")
    parser.add_argument("--corpus", action="store_true",
                        help="also count the redactions in the NLP corpus's calls (sales talk, few numbers)")
    args = parser.parse_args(argv)
    sources = ["text"] + ([] if args.text_only else list(args.variant or VARIANTS))
    names = list(BOTH) if args.set == "both" else [args.set]
    figures: dict[str, Any] = {}
    print(f"{'set':8} {'source':8} {'lang':4} {'personal':>8} {'recall':>7} {'kind':>6} {'leaked':>6} "
          f"{'look-alikes':>11} {'FP rate':>7} {'prompt FP':>9} {'lost':>4}")
    shown: list[str] = []
    for name in names:
        results, overall = score(name, sources, args.asr)
        figures[name] = results
        for source, rows in results.items():
            for lang, row in rows.items():
                print(f"{name:8} {source:8} {lang:4} {row['personal']:8d} {row['recall']:7.3f} "
                      f"{row['kind_accuracy']:6.3f} {row['leaked']:6d} {row['lookalikes']:11d} "
                      f"{row['lookalike_fp_rate']:7.3f} {row['prompt_fp']:9d} {row['not_transcribed']:4d}")
        for source, tally in overall.items():
            shown += [f"[{name} {source}] miss  {line}" for line in tally.misses]
            shown += [f"[{name} {source}] FP    {line}" for line in tally.fps]
    if args.corpus:
        counts, listed = corpus_scan()
        figures["corpus"] = counts
        print(f"corpus: {counts['calls']} calls, {counts['turns']} turns, "
              f"{counts['turns_redacted']} turns redacted")
        shown += listed
    if args.show:
        print("\n".join(shown))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
