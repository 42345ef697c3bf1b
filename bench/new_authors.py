"""Calls of new corpus authors, scored by the classifiers of a commit that had never seen them.

A new author's file (nlp/data/corpus/calls_authors_X.yaml, written from the contract and domain notes
only) is material nobody here wrote; before it joins the training corpus it is one more blind test.
This takes the artifact committed at REV, checks that none of the authors' files existed at REV (so the
artifact was trained without them), and prints the held-out figures of `python -m callscope.nlp.train
--leave-one-author-out` for each author (with the rubric's agreement, as `python -m callscope.scoring
agreement` counts it) and their mean.

    .venv/bin/python -m bench.new_authors --commit 5d6020f authors_r authors_s authors_t authors_u authors_v

`--objection-thresholds 0.6 0.7 ...` also prints, per author and as the mean over authors, the call
objection figures had nlp/data/objections.yaml's `threshold` been each value (at or above the shipped
one: an objection counts when its confidence reaches the value). New authors are material the artifact
never saw, so the threshold can be chosen on them without touching the blind set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from callscope.models.document import Objection
from callscope.nlp.corpus import CORPUS_DIR, Call, load_corpus
from callscope.nlp.model import ARTIFACT, Classifiers, read_artifact, read_meta
from callscope.nlp.objections import find_objections
from callscope.nlp.train import (
    _call_objection_figures,
    _held_out_figures,
    _mean_figures,
    call_transcript,
    objection_counts,
)
from callscope.scoring.agreement import rubric_agreement

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.new_authors", description=__doc__.splitlines()[0])
    parser.add_argument("--commit", required=True, help="the commit whose artifact scores the authors")
    parser.add_argument("authors", nargs="+", help="authors as the corpus names them (authors_r ...)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--objection-thresholds", type=float, nargs="+", default=[],
                        help="also the call objection figures at each of these thresholds")
    args = parser.parse_args(argv)
    corpus_rel = CORPUS_DIR.relative_to(ROOT).as_posix()
    artifact_rel = ARTIFACT.relative_to(ROOT).as_posix()
    existing = set(_git("ls-tree", "--name-only", args.commit, corpus_rel + "/").decode().split())
    seen = [a for a in args.authors if f"{corpus_rel}/calls_{a}.yaml" in existing]
    if seen:
        print(f"bench.new_authors: {', '.join(seen)} already in the corpus at {args.commit}: not new",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT.name
        path.write_bytes(_git("show", f"{args.commit}:{artifact_rel}"))
        meta_rel = Path(artifact_rel).with_suffix(".json").as_posix()
        path.with_suffix(".json").write_bytes(_git("show", f"{args.commit}:{meta_rel}"))
        classifiers = read_artifact(path, read_meta(path))
    if classifiers is None:
        print(f"bench.new_authors: the artifact of {args.commit} does not load here", file=sys.stderr)
        return 2
    corpus = load_corpus()
    examples = corpus.all_examples()
    figures: dict[str, dict] = {}
    for author in args.authors:
        calls = [c for c in corpus.calls if c.author == author]
        if not calls:
            print(f"bench.new_authors: no calls of {author} in {corpus_rel}", file=sys.stderr)
            return 2
        figures[author] = _held_out_figures(classifiers, [e for e in examples if e.author == author], calls)
        figures[author].update(rubric_agreement(classifiers, calls))
        if args.objection_thresholds:
            figures[author]["objection_thresholds"] = threshold_figures(classifiers, calls,
                                                                        args.objection_thresholds)
        print(author, json.dumps(figures[author], ensure_ascii=False))
    figures["mean"] = _mean_figures([{k: v for k, v in figures[a].items() if not isinstance(v, dict)}
                                     for a in args.authors])
    print("mean", json.dumps(figures["mean"], ensure_ascii=False))
    for threshold in args.objection_thresholds:
        key = f"{threshold:g}"
        mean = _mean_figures([figures[a]["objection_thresholds"][key] for a in args.authors])
        figures["mean"].setdefault("objection_thresholds", {})[key] = mean
        print(f"threshold {key}", json.dumps(mean, ensure_ascii=False))
    if args.out:
        result = {"commit": args.commit, **figures}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return 0


def _keep_confident(objections: list[Objection], threshold: float) -> list[Objection]:
    return [o for o in objections if o.confidence >= threshold]


def threshold_figures(classifiers: Classifiers, calls: list[Call],
                      thresholds: list[float]) -> dict[str, dict[str, float]]:
    """Call objection figures per threshold: each call's objections found once, then those whose
    confidence reaches the threshold kept (a repeated objection keeps its highest confidence)."""
    found = [(call, find_objections(call_transcript(call), classifiers)) for call in calls]
    out = {}
    for threshold in thresholds:
        counts = [0, 0, 0, 0]
        for call, objections in found:
            kept = objection_counts(call, _keep_confident(objections, threshold))
            counts = [a + b for a, b in zip(counts, kept, strict=True)]
        out[f"{threshold:g}"] = _call_objection_figures(*counts)
    return out


if __name__ == "__main__":
    sys.exit(main())
