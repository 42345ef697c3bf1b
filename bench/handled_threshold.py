"""The handled classifier's threshold, chosen by leave-one-author-out over the outside authors.

For each outside author of the corpus, the handled classifier (nlp.train's) is fitted on every other
author's !handled / !unhandled answers and scores the held-out author's. Per threshold it prints the
mean over authors of accuracy, balanced accuracy (the mean of handled and unhandled recall: authors
differ in how many answers fail, so plain accuracy would favour the corpus's share) and each recall.
The threshold with the best balanced accuracy is marked; nlp/data/objections.yaml's
handling.model_probability is meant to hold it.

    .venv/bin/python -m bench.handled_threshold
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from callscope.nlp.corpus import TEAM, load_corpus
from callscope.nlp.objections import handling_input
from callscope.nlp.train import SEED, _fit_handled

THRESHOLDS = tuple(round(0.4 + 0.05 * k, 2) for k in range(10))


def held_out_scores() -> list[tuple[np.ndarray, np.ndarray]]:
    """(labels, P(handled)) per outside author, each scored by a classifier trained without them."""
    answers = [e for e in load_corpus().all_examples() if e.handled is not None and e.answers]
    authors = np.array([e.author for e in answers])
    labels = np.array([bool(e.handled) for e in answers])
    out = []
    for author in sorted(set(authors) - {TEAM}):
        held = authors == author
        model = _fit_handled([e for e, h in zip(answers, held, strict=True) if not h], SEED)
        texts = [handling_input(e.answers, e.text) for e, h in zip(answers, held, strict=True) if h]
        out.append((labels[held], model.predict_proba(texts)[:, list(model.classes_).index(True)]))
    return out


def threshold_figures(scores: list[tuple[np.ndarray, np.ndarray]], threshold: float) -> dict[str, float]:
    """Mean over authors of accuracy, balanced accuracy and the recall of each class."""
    acc, handled, unhandled = [], [], []
    for labels, proba in scores:
        predicted = proba >= threshold
        acc.append(float(np.mean(predicted == labels)))
        handled.append(float(np.mean(predicted[labels])) if labels.any() else np.nan)
        unhandled.append(float(np.mean(~predicted[~labels])) if (~labels).any() else np.nan)
    balanced = [np.nanmean([h, u]) for h, u in zip(handled, unhandled, strict=True)]
    return {"accuracy": float(np.mean(acc)), "balanced": float(np.mean(balanced)),
            "handled_recall": float(np.nanmean(handled)), "unhandled_recall": float(np.nanmean(unhandled))}


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.handled_threshold",
                            description=__doc__.splitlines()[0]).parse_args(argv)
    scores = held_out_scores()
    rows = {t: threshold_figures(scores, t) for t in THRESHOLDS}
    # best balanced accuracy (to 3 places); among ties, the two recalls closest to each other
    best = max(rows, key=lambda t: (round(rows[t]["balanced"], 3),
                                    -abs(rows[t]["handled_recall"] - rows[t]["unhandled_recall"])))
    print(f"{len(scores)} outside authors, {sum(len(s[0]) for s in scores)} labeled answers")
    print(f"{'threshold':>9} {'accuracy':>8} {'balanced':>8} {'handled recall':>14} {'unhandled recall':>16}")
    for t, r in rows.items():
        print(f"{t:9.2f} {r['accuracy']:8.3f} {r['balanced']:8.3f} {r['handled_recall']:14.3f} "
              f"{r['unhandled_recall']:16.3f}{'  <- best' if t == best else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
