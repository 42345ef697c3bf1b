"""Train the stage and objection classifiers from the corpus: `python -m callscope.nlp.train`.

Writes nlp/data/models/classifiers-v3.joblib and its JSON metadata (corpus sha256, scikit-learn
version, cross-validated figures) and prints the figures. Fixed seeds: the same corpus and
library versions give the same artifact. With the understanding extra also the sentence encoder's
objection head, objection-e5-v1.json (nlp.encoder; embeddings cached in the cache folder, the first
run embeds the corpus's customer turns: about 10 minutes); `--encoder-only` writes the head alone.

Cross-validation keeps each call, and each utterance with its noisy variants, in one fold; the
held-out examples are the corpus as written (it has its own noisy examples), plus a noisy copy of
them to show robustness to ASR errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from callscope.core.config import Settings
from callscope.models.document import STAGES, Objection, Transcript, Turn
from callscope.nlp import encoder
from callscope.nlp.corpus import MIXED, NO_OBJECTION, TEAM, Call, Example, augment, corpus_sha256, load_corpus
from callscope.nlp.features import build_classifier
from callscope.nlp.model import ARTIFACT, ARTIFACT_VERSION, SEED, Classifiers, write_artifact
from callscope.nlp.objections import (
    detect_objection,
    find_objections,
    handling_input,
    is_handled,
    objection_probabilities,
)
from callscope.nlp.stage import classify_stages
from callscope.nlp.tokens import tokenize

FOLDS = 5
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9']+")
# a predicted objection matches a labeled one of its type this many turns away (the evaluation's ±3 s)
_OBJECTION_TURN_TOLERANCE = 1
# same-type objections this many turns apart are one, as find_objections merges them
_OBJECTION_REPEAT_TURNS = 2
# the encoder head's regularisation and its share of the objection probability, by leave-one-author-out
# (--leave-one-author-out --encoder-grid): over all 18 authors at C=4, mean call objection F1 0.663
# with w=0, 0.693 with 0.35, 0.694 with 0.5 (precision 0.659 -> 0.670, recall 0.675 -> 0.727); other
# C not measured yet
ENCODER_C = 4.0
ENCODER_WEIGHT = 0.5
ENCODER_GRID_C = (4.0, 16.0, 64.0)
ENCODER_GRID_WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65)


def embedding_cache() -> encoder.EmbeddingCache:
    """The corpus's embeddings, kept in the cache folder (CALLSCOPE_CACHE_DIR), not in the repository."""
    return encoder.EmbeddingCache(Settings.from_env().cache_dir / "nlp" / "embeddings.sqlite")


def _fit(examples: list[Example], label: str, seed: int):  # -> Pipeline
    data = augment(examples, seed)
    model = build_classifier(seed)
    # one BLAS thread: on a busy 2-core machine threaded lbfgs is ~8x slower, not faster
    with threadpool_limits(limits=1):
        model.fit([e.text for e in data], [getattr(e, label) for e in data])
    # float32 weights halve the shipped artifact; probabilities move by less than 1e-6
    classifier = model.named_steps["classifier"]
    classifier.coef_ = classifier.coef_.astype(np.float32)
    return model


def _fit_handled(examples: list[Example], seed: int):  # -> Pipeline
    """The handled classifier: the rep's answers the corpus labels !handled / !unhandled, each with
    the type of the objection it answers."""
    answers = [e for e in examples if e.handled is not None and e.answers]
    data = augment(answers, seed)
    model = build_classifier(seed)
    with threadpool_limits(limits=1):
        model.fit([handling_input(e.answers, e.text) for e in data], [bool(e.handled) for e in data])
    classifier = model.named_steps["classifier"]
    classifier.coef_ = classifier.coef_.astype(np.float32)
    return model


def fit_encoder_head(examples: list[Example], seed: int, cache: encoder.EmbeddingCache, c: float = ENCODER_C,
                     weight: float = ENCODER_WEIGHT) -> encoder.EncoderHead:
    """The objection head on sentence embeddings of the customer's turns as written: only those are
    ever asked (rep turns are never objections), and their noisy variants would triple the corpus's
    embedding time (the lexical model learns those)."""
    data = [e for e in examples if e.role == "customer"]
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
    with threadpool_limits(limits=1):
        model.fit(cache.embed([e.text for e in data]), [e.objection for e in data])
    head = encoder.head_from_model(model, weight, {"C": c})
    head.embed = cache.embed
    return head


def _fit_all(examples: list[Example], seed: int, meta: dict) -> Classifiers:
    return Classifiers(
        stage=_fit(examples, "stage", seed),
        # rep turns stay in: they teach the model what is not an objection ("价格您放心")
        objection=_fit(examples, "objection", seed),
        meta=meta,
        handled=_fit_handled(examples, seed),
    )


def fit_classifiers(seed: int = SEED, meta: dict | None = None) -> Classifiers:
    return _fit_all(load_corpus().all_examples(), seed, meta or _meta({}))


def _meta(figures: dict) -> dict:
    corpus = load_corpus()
    return {
        "artifact_version": ARTIFACT_VERSION,
        "sklearn": sklearn.__version__,
        "corpus_sha256": corpus_sha256(),
        "seed": SEED,
        "utterances": len(corpus.utterances),
        "calls": len(corpus.calls),
        "turn_examples": len(corpus.all_examples()),
        "trained_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "cross_validation": figures,
    }


# speaking rates for a corpus call's placeholder times, so the rubric's time windows (an opening in the
# first 30 s) see a call of about its spoken length
_CJK_CHARS_PER_SECOND = 4.5
_EN_WORDS_PER_SECOND = 2.7
_TURN_GAP_SECONDS = 0.4
_SPEAKERS = {"R": "S0", "C": "S1", "C2": "S2"}  # corpus speaker -> transcript speaker


def call_transcript(call: Call) -> Transcript:
    """A corpus call as the pipeline sees it, each turn as long as it takes to say."""
    turns, clock = [], 0.0
    for t in call.turns:
        seconds = max(0.8, len(_CJK.findall(t.text)) / _CJK_CHARS_PER_SECOND
                      + len(_WORD.findall(t.text)) / _EN_WORDS_PER_SECOND)
        turns.append(Turn(start=round(clock, 2), end=round(clock + seconds, 2),
                          speaker=_SPEAKERS.get(t.speaker, "S0" if t.role == "rep" else "S1"), role=t.role,
                          text=t.text))
        clock += seconds + _TURN_GAP_SECONDS
    language = "zh" if call.lang == MIXED else call.lang
    return Transcript(duration=round(clock, 2), language=language, layout="stereo", turns=turns)


def _labeled_objections(call: Call) -> list[tuple[int, str, bool | None]]:
    """(turn, type, handled) per objection the corpus labels, repeats merged."""
    out: list[tuple[int, str, bool | None]] = []
    for i, turn in enumerate(call.turns):
        if turn.objection == NO_OBJECTION or any(t == turn.objection and i - k <= _OBJECTION_REPEAT_TURNS
                                                 for k, t, _ in out):
            continue
        answer = next((t.handled for t in call.turns[i + 1:] if t.handled is not None), None)
        out.append((i, turn.objection, answer))
    return out


def _call_objection_counts(classifiers: Classifiers, call: Call) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, handled right) of find_objections on a call."""
    return objection_counts(call, find_objections(call_transcript(call), classifiers))


def objection_counts(call: Call, found: list[Objection]) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, handled right) of objections found in a call."""
    truth = _labeled_objections(call)
    unmatched = list(range(len(truth)))
    tp = handled = 0
    for o in found:
        hit = next((k for k in unmatched if truth[k][1] == o.type
                    and abs(truth[k][0] - o.turn) <= _OBJECTION_TURN_TOLERANCE), None)
        if hit is not None:
            unmatched.remove(hit)
            tp += 1
            handled += truth[hit][2] == o.handled
    return tp, len(found) - tp, len(unmatched), handled


def _call_stage(classifiers: Classifiers, call: Call) -> str:
    """The call's stage exactly as annotate() decides it."""
    texts = [t.text for t in call.turns]
    return classify_stages(classifiers, texts, [t.role for t in call.turns],
                           [len(tokenize(t)) for t in texts]).call_stage


def cross_validate(seed: int = SEED) -> dict:
    """Grouped k-fold figures for turns, calls and objections."""
    corpus = load_corpus()
    examples = corpus.all_examples()
    groups = np.array([e.group for e in examples])
    call_ids = [c.id for c in corpus.calls]
    stage_true, stage_pred, noisy_true, noisy_pred = [], [], [], []
    obj_true, obj_pred, call_true, call_pred, combined_pred = [], [], [], [], []
    objection_counts = np.zeros(4, dtype=int)  # tp, fp, fn, handled right over the held-out calls
    splitter = GroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(examples, groups=groups):
        train = [examples[i] for i in train_idx]
        test = [examples[i] for i in test_idx]
        classifiers = _fit_all(train, seed, {})
        stage_true += [e.stage for e in test]
        stage_pred += list(classifiers.stage.predict([e.text for e in test]))
        noisy = [v for v in augment(test, seed + 1) if v not in test]
        noisy_true += [e.stage for e in noisy]
        noisy_pred += list(classifiers.stage.predict([e.text for e in noisy]))
        customer = [e for e in test if e.role == "customer"]
        obj_true += [e.objection for e in customer]
        obj_pred += list(classifiers.objection.predict([e.text for e in customer]))
        probs = objection_probabilities(classifiers, [e.text for e in customer])
        combined_pred += [detect_objection(p, e.text) or NO_OBJECTION
                          for p, e in zip(probs, customer, strict=True)]
        held_out = {e.group for e in test}
        for call in corpus.calls:
            if call.id in held_out:
                call_true.append(call.stage)
                call_pred.append(_call_stage(classifiers, call))
                objection_counts += _call_objection_counts(classifiers, call)
    assert len(call_true) == len(call_ids)
    handled_pairs = _handled_agreement(corpus.calls)
    return {
        "folds": FOLDS,
        "turn_stage_accuracy": round(accuracy_score(stage_true, stage_pred), 3),
        "turn_stage_macro_f1": round(f1_score(stage_true, stage_pred, average="macro"), 3),
        "turn_stage_accuracy_noisy": round(accuracy_score(noisy_true, noisy_pred), 3),
        "call_stage_accuracy": round(accuracy_score(call_true, call_pred), 3),
        "calls": len(call_true),
        "objection_accuracy": round(accuracy_score(obj_true, obj_pred), 3),
        "objection_macro_f1": round(f1_score(obj_true, obj_pred, average="macro"), 3),
        "objection_detection_f1": round(f1_score([t != NO_OBJECTION for t in obj_true],
                                                 [p != NO_OBJECTION for p in obj_pred]), 3),
        "objection_with_cues_accuracy": round(accuracy_score(obj_true, combined_pred), 3),
        "objection_with_cues_macro_f1": round(f1_score(obj_true, combined_pred, average="macro"), 3),
        "objection_with_cues_detection_f1": round(f1_score([t != NO_OBJECTION for t in obj_true],
                                                           [p != NO_OBJECTION for p in combined_pred]), 3),
        "customer_turns": len(obj_true),
        **_call_objection_figures(*objection_counts),
        "handled_agreement": handled_pairs[0],
        "handled_labels": handled_pairs[1],
        "call_confusion": _confusion(call_true, call_pred),
    }


def leave_one_author_out(seed: int = SEED, authors: list[str] | None = None,
                         extra: Callable[[Classifiers, list[Call]], dict] | None = None,
                         encoder_grid: bool = False) -> dict[str, dict]:
    """Per author: train on every other author's calls (and utterances), test on this author's.

    The figures that matter for calls written by people who never saw the corpus: the held-out
    author's phrasings were never trained on. Per author: call stage accuracy, the evaluation's
    objection precision / recall / F1 on whole calls (type must match), customer-turn objection
    detection F1 (an objection or not, model and cues together) and type accuracy on the labeled
    objection turns that were detected. `encoder_grid`: instead, only the objection figures, of the
    lexical model blended with an encoder head for each C in ENCODER_GRID_C and weight in
    ENCODER_GRID_WEIGHTS, under "encoder" as {"C=4 w=0.5": figures} (weight 0: the lexical model alone).
    """
    corpus = load_corpus()
    examples = corpus.all_examples()
    out: dict[str, dict] = {}
    held_out = []
    for author in authors or corpus.authors():
        train = [e for e in examples if e.author != author]
        test = [e for e in examples if e.author == author]
        calls = [c for c in corpus.calls if c.author == author]
        if encoder_grid:
            # the encoder changes objections alone: no stage model (half of the fitting time)
            lexical = Classifiers(stage=None, objection=_fit(train, "objection", seed), meta={},
                                  handled=_fit_handled(train, seed))
            held_out.append((author, lexical, train, test, calls))
            print(f"fitted without {author}", file=sys.stderr, flush=True)
            continue
        classifiers = _fit_all(train, seed, {})
        out[author] = _held_out_figures(classifiers, test, calls)
        if extra is not None:  # figures a layer above nlp measures with the same held-out classifiers
            out[author].update(extra(classifiers, calls))
    # the encoder's part after every lexical fit: the corpus's embeddings can still be filling the cache
    cache = embedding_cache() if held_out else None
    for author, classifiers, train, test, calls in held_out:
        out[author] = {"calls": len(calls), "encoder": _encoder_figures(classifiers, train, test, calls, seed,
                                                                        cache)}
        print(f"measured {author}:", json.dumps(out[author], ensure_ascii=False), file=sys.stderr, flush=True)
    return out


def _encoder_figures(classifiers: Classifiers, train: list[Example], test: list[Example], calls: list[Call],
                     seed: int, cache: encoder.EmbeddingCache) -> dict[str, dict]:
    lexical = dataclasses.replace(classifiers, objection=_MemoProba(classifiers.objection))
    out = {}
    for c in ENCODER_GRID_C:
        head = fit_encoder_head(train, seed, cache, c)
        for weight in ENCODER_GRID_WEIGHTS:
            blended = dataclasses.replace(lexical, encoder=dataclasses.replace(head, weight=weight))
            out[f"C={c:g} w={weight:g}"] = _objection_figures(blended, test, calls)
    return out


class _MemoProba:
    """A classifier's predict_proba remembered per text: the grid asks the same sentences again."""

    def __init__(self, model: Pipeline) -> None:
        self.model, self.classes_ = model, model.classes_
        self._seen: dict[str, np.ndarray] = {}

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if missing:
            self._seen.update(zip(missing, self.model.predict_proba(missing), strict=True))
        return np.stack([self._seen[t] for t in texts])


def _held_out_figures(classifiers: Classifiers, test: list[Example], calls: list[Call]) -> dict:
    stage_right = sum(_call_stage(classifiers, call) == call.stage for call in calls)
    return {
        "calls": len(calls),
        "call_stage_accuracy": round(stage_right / len(calls), 3) if calls else 0.0,
        **_objection_figures(classifiers, test, calls),
        **_answer_figures(classifiers, test),
    }


def _objection_figures(classifiers: Classifiers, test: list[Example], calls: list[Call]) -> dict:
    customer = [e for e in test if e.role == "customer"]
    probs = objection_probabilities(classifiers, [e.text for e in customer])
    predicted = [detect_objection(p, e.text) or NO_OBJECTION for p, e in zip(probs, customer, strict=True)]
    truth = [e.objection for e in customer]
    detected = [(t, p) for t, p in zip(truth, predicted, strict=True)
                if t != NO_OBJECTION and p != NO_OBJECTION]
    counts = np.zeros(4, dtype=int)
    for call in calls:
        counts += _call_objection_counts(classifiers, call)
    return {
        **_call_objection_figures(*counts),
        "turn_objection_detection_f1": round(f1_score([t != NO_OBJECTION for t in truth],
                                                      [p != NO_OBJECTION for p in predicted]), 3),
        "turn_objection_type_accuracy": round(sum(t == p for t, p in detected) / len(detected), 3)
        if detected else 0.0,
        "objection_turns": sum(t != NO_OBJECTION for t in truth),
    }


def _answer_figures(classifiers: Classifiers, test: list[Example]) -> dict[str, float | int]:
    """Agreement with the held-out !handled / !unhandled labels: the handled classifier, the lexicon."""
    answers = [e for e in test if e.handled is not None and e.answers]
    if not answers:
        return {}
    model = [is_handled(e.answers, e.text, classifiers) == e.handled for e in answers]
    lexicon = [is_handled(e.answers, e.text) == e.handled for e in answers]
    return {"handled_model_agreement": round(float(np.mean(model)), 3),
            "handled_lexicon_agreement": round(float(np.mean(lexicon)), 3), "handled_answers": len(answers)}


def _mean_figures(per_author: list[dict]) -> dict[str, float]:
    """Each figure's unweighted mean over authors: every outside author counts as one new phrasing style."""
    keys = [k for k in per_author[0] if all(k in f for f in per_author)] if per_author else []
    return {k: round(float(np.mean([f[k] for f in per_author])), 3) for k in keys}


def _call_objection_figures(tp: int, fp: int, fn: int, handled: int) -> dict[str, float]:
    """The evaluation's objection figures (type match, time tolerance as turns), on held-out calls."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"call_objection_precision": round(precision, 3), "call_objection_recall": round(recall, 3),
            "call_objection_f1": round(f1, 3),
            "call_objection_handled": round(handled / tp, 3) if tp else 0.0}


def _handled_agreement(calls: list[Call]) -> tuple[float, int]:
    """How often the handling lexicon agrees with the corpus's #handled/#unhandled labels."""
    agree = total = 0
    for call in calls:
        for i, turn in enumerate(call.turns):
            if turn.handled is None:
                continue
            earlier = reversed(call.turns[:i])
            raised = next((t.objection for t in earlier if t.objection != NO_OBJECTION), None)
            if raised is None:
                continue
            total += 1
            agree += is_handled(raised, turn.text) == turn.handled
    return (round(agree / total, 3) if total else 0.0), total


def _confusion(truth: list[str], predicted: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, predicted, strict=True):
        if t != p:
            out.setdefault(t, {}).setdefault(p, 0)
            out[t][p] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m callscope.nlp.train",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ARTIFACT, help="artifact path (default: %(default)s)")
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    parser.add_argument("--leave-one-author-out", action="store_true",
                        help="only print leave-one-author-out figures (train without each author's file, "
                             "test on it); writes nothing. With the rubric's agreement per item: "
                             "python -m callscope.scoring agreement")
    parser.add_argument("--authors", nargs="+", metavar="AUTHOR",
                        help="with --leave-one-author-out: only these held-out authors (team, authors_a ...)")
    parser.add_argument("--encoder-grid", action="store_true",
                        help="with --leave-one-author-out: also the objection figures blended with the "
                             "sentence encoder's head, per C and weight (needs the understanding extra; "
                             "embeddings are cached in the cache folder)")
    parser.add_argument("--encoder-only", action="store_true",
                        help="only fit and write the sentence encoder's objection head (beside --out); "
                             "the lexical artifact is left as it is")
    args = parser.parse_args(argv)
    if args.encoder_only:
        return _write_encoder_head(args.out.parent)
    if args.leave_one_author_out:
        per_author = leave_one_author_out(SEED, args.authors, encoder_grid=args.encoder_grid)
        for author, figures in per_author.items():
            print(author, json.dumps(figures, ensure_ascii=False))
        if args.encoder_grid:
            _print_encoder_grid(per_author)
            return 0
        outside = [f for a, f in per_author.items() if a != TEAM]
        print("mean_outside_authors", json.dumps(_mean_figures(outside), ensure_ascii=False))
        return 0
    figures = {} if args.no_cv else cross_validate(SEED)
    for key, value in figures.items():
        print(f"{key:28s} {value}")
    classifiers = fit_classifiers(SEED, meta=_meta(figures))
    write_artifact(classifiers, args.out)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.2f} MB), stages {list(STAGES)}")
    return _write_encoder_head(args.out.parent)


def _write_encoder_head(folder: Path) -> int:
    if not encoder.available():
        encoder.warn_unavailable()
        return 0
    head = fit_encoder_head(load_corpus().all_examples(), SEED, embedding_cache())
    head.meta.update({"corpus_sha256": corpus_sha256(), "seed": SEED})
    path = folder / encoder.HEAD_PATH.name
    encoder.write_head(head, path)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, C={ENCODER_C:g}, weight {ENCODER_WEIGHT:g})")
    return 0


def _print_encoder_grid(per_author: dict[str, dict]) -> None:
    """Per setting: the mean over the outside authors and over all, and per author call objection F1."""
    keys = ("call_objection_precision", "call_objection_recall", "call_objection_f1",
            "turn_objection_detection_f1")
    settings = list(next(iter(per_author.values()))["encoder"])
    print("setting", *keys, "call_objection_f1_all_authors", *per_author, sep="\t")
    for setting in settings:
        figures = {a: f["encoder"][setting] for a, f in per_author.items()}
        means = [_mean_figures([f for a, f in figures.items() if a != TEAM])[k] for k in keys]
        overall = round(float(np.mean([f["call_objection_f1"] for f in figures.values()])), 3)
        print(setting, *means, overall, *(f["call_objection_f1"] for f in figures.values()), sep="\t")


if __name__ == "__main__":
    sys.exit(main())
