"""Objections in customer turns, and whether the rep's answer handled them.

Detection: the objection classifier (trained on the corpus: a type or "none") combined with cue
phrases per type (nlp/data/objections.yaml) as independent evidence: strong cues flag by themselves,
weak ones ("担心", "next year") only tip a sentence the model already leans towards. Rep turns are never
objections. The same type raised again in the next customer turns is one objection.
Handling: the rep's following turn(s), judged by the handled classifier (trained on the corpus's
!handled / !unhandled answers: on authors it never saw it agrees with them 94-97 % of the time, the
lexicon 58-86 %); without one, scored with a weighted cue lexicon per response move (acknowledge,
ask, evidence, alternative, next step, type-specific answer; arguing, discounting at once and giving
up count against). Acknowledging alone is not handling.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from callscope.models.document import OBJECTION_TYPES, Evidence, Objection, Transcript
from callscope.nlp.model import Classifiers
from callscope.nlp.phrases import PhraseLexicon
from callscope.nlp.questions import is_question, question_kind
from callscope.nlp.resources import load_yaml
from callscope.nlp.spans import span_times
from callscope.nlp.text import normalize, split_sentences

# a later customer turn within this many customer turns raising the same type repeats the objection
# (counted in the customer's turns: the rep's pitch in between does not make it a new objection)
_REPEAT_WINDOW = 2
# the rep's answer: rep turns after the objection, up to this many turns ahead
_RESPONSE_WINDOW = 3
# customer turns this short ("嗯", "对") do not end the rep's answer
_BACKCHANNEL_CHARS = 4


@dataclass(frozen=True)
class _Lexicons:
    threshold: float
    cue_weight: float
    weak_cue_weight: float
    second_type_confidence: float
    model_mass_share: float
    cues: PhraseLexicon
    weak_cues: PhraseLexicon
    asked: PhraseLexicon
    masks: re.Pattern[str] | None
    moves: PhraseLexicon
    specific: dict[str, PhraseLexicon]
    weights: dict[str, float]
    substantive: frozenset[str]
    handled_threshold: float
    handled_probability: float


@functools.lru_cache(maxsize=1)
def _lexicons() -> _Lexicons:
    data = load_yaml("objections.yaml")
    types = data["types"]
    masks = [normalize(p) for t in OBJECTION_TYPES for p in types[t].get("not", [])]
    masks.sort(key=len, reverse=True)
    handling = data["handling"]
    return _Lexicons(
        threshold=float(data["threshold"]),
        cue_weight=float(data["cue_weight"]),
        weak_cue_weight=float(data["weak_cue_weight"]),
        second_type_confidence=float(data["second_type_confidence"]),
        model_mass_share=float(data["model_mass_share"]),
        cues=PhraseLexicon({t: types[t]["cues"] for t in OBJECTION_TYPES}),
        weak_cues=PhraseLexicon({t: types[t].get("weak", []) for t in OBJECTION_TYPES}),
        asked=PhraseLexicon({t: data["asked"].get(t, []) for t in OBJECTION_TYPES}),
        masks=re.compile("|".join(re.escape(m) for m in masks)) if masks else None,
        moves=PhraseLexicon(handling["cues"]),
        specific={t: PhraseLexicon({"specific": handling["specific"].get(t, [])}) for t in OBJECTION_TYPES},
        weights={k: float(v) for k, v in handling["weights"].items()},
        substantive=frozenset(handling["substantive"]),
        handled_threshold=float(handling["threshold"]),
        handled_probability=float(handling["model_probability"]),
    )


def _masked(text: str) -> str:
    """The text with look-alikes of cues (不贵, 不用担心) blanked out."""
    lex = _lexicons()
    norm = normalize(text)
    if lex.masks is not None:
        norm = lex.masks.sub(lambda m: "　" * len(m.group(0)), norm)
    return norm


def cue_types(text: str) -> set[str]:
    """Objection types whose strong cue phrases occur in the text (after masking look-alikes: 不贵)."""
    return _lexicons().cues.names(_masked(text))


def weak_cue_types(text: str) -> set[str]:
    """Objection types whose weak cue phrases occur in the text (after masking look-alikes)."""
    return _lexicons().weak_cues.names(_masked(text))


def objection_probabilities(classifiers: Classifiers, texts: list[str]) -> np.ndarray:
    """(n, 7) model probabilities in OBJECTION_TYPES order ("none" is the rest)."""
    if not texts:
        return np.zeros((0, len(OBJECTION_TYPES)))
    model = classifiers.objection
    proba = model.predict_proba(texts)
    classes = list(model.classes_)
    head = classifiers.encoder
    if head is not None:
        # the encoder knows phrasings the corpus never wrote; the lexical model its exact words
        encoded = head.predict_proba(head.embed(texts))[:, [head.classes.index(c) for c in classes]]
        proba = (1.0 - head.weight) * proba + head.weight * encoded
    return np.stack([proba[:, classes.index(t)] if t in classes else np.zeros(len(texts))
                     for t in OBJECTION_TYPES], axis=1)


def objection_confidences(model_probs: np.ndarray, text: str,
                          answered: frozenset[str] = frozenset()) -> dict[str, float]:
    """Confidence per type: the model's probability and the cue phrases as independent evidence.

    `answered`: types the rep has just asked about ("谁来拍板？"); for those the cue words are the
    answer's topic ("老板拍板"), not evidence of pushing back, so only the model decides.
    """
    lex = _lexicons()
    strong, weak = cue_types(text) - answered, weak_cue_types(text) - answered

    def combined(model: np.ndarray) -> dict[str, float]:
        return {kind: 1.0 - (1.0 - float(model[k])) * (1.0 - (lex.cue_weight if kind in strong else 0.0))
                * (1.0 - (lex.weak_cue_weight if kind in weak else 0.0))
                for k, kind in enumerate(OBJECTION_TYPES)}

    first = combined(np.asarray(model_probs, dtype=float))
    # the type the model and the cues agree on most carries the model's objection mass
    best = max(first, key=first.__getitem__) if first else None
    out = combined(model_type_probabilities(model_probs, best))
    if strong:
        # a strong cue is the high-precision backstop: where one names a type, another type the model
        # leans to ("我听说你们的价格挺贵的": trust by 听说) ranks below it unless the model is sure
        cued = max(out[k] for k in strong)
        for kind in out:
            if kind not in strong and lex.second_type_confidence > out[kind] >= cued:
                out[kind] = cued * 0.99
    return out


def model_type_probabilities(model_probs: np.ndarray, top: str | None = None) -> np.ndarray:
    """The model's evidence per type: one type (`top`, by default the model's most likely) carries
    its own probability plus model_mass_share of the other types' (1.0: the whole objection mass,
    1 - P(none)), the others their own probability.

    A sentence said in an unfamiliar way ("今年的钱都已经分出去了") often reads as an objection to the
    model while its probability is shared between two or three types; judged type by type it
    would fall under the threshold although the model is sure it is an objection. Which type it is
    is best told by the model and the cues together ("我听说你们的价格挺贵的": the cue says price
    where the model leans to trust), so objection_confidences hands the mass to that type."""
    out = np.array(model_probs, dtype=float)
    if out.size and out.sum() > 0:
        k = OBJECTION_TYPES.index(top) if top is not None else int(out.argmax())
        out[k] = min(1.0, out[k] + _lexicons().model_mass_share * float(out.sum() - out[k]))
    return out


def detect_objection(model_probs: np.ndarray, text: str) -> str | None:
    """The most likely objection type in a customer sentence, or None below the threshold."""
    confidences = objection_confidences(model_probs, text)
    kind = max(confidences, key=confidences.__getitem__)
    return kind if confidences[kind] >= _lexicons().threshold else None


def handling_score(objection_type: str, response: str) -> tuple[float, set[str]]:
    """Score of the rep's answer and the moves found in it."""
    lex = _lexicons()
    moves = lex.moves.names(response)
    if lex.specific[objection_type].find(response):
        moves.add("specific")
    if any(question_kind(s.text) == "open" for s in split_sentences(response)):
        moves.add("ask")
    return sum(lex.weights.get(m, 0.0) for m in moves), moves


def handling_input(objection_type: str, response: str) -> str:
    """What the handled classifier reads: the objection's type, then the rep's answer."""
    return f"{objection_type} {response}"


def is_handled(objection_type: str, response: str, classifiers: Classifiers | None = None) -> bool:
    """Whether the rep's answer addresses the objection: the handled classifier (trained on the
    corpus's !handled / !unhandled answers) where there is one, else the handling lexicon."""
    if not response.strip():
        return False
    lex = _lexicons()
    if classifiers is not None and classifiers.handled is not None:
        model = classifiers.handled
        proba = model.predict_proba([handling_input(objection_type, response)])[0]
        return bool(proba[list(model.classes_).index(True)] >= lex.handled_probability)
    score, moves = handling_score(objection_type, response)
    return score >= lex.handled_threshold and bool(moves & lex.substantive)


def _response_turns(transcript: Transcript, index: int) -> list[int]:
    turns = transcript.turns
    out = []
    for j in range(index + 1, min(len(turns), index + 1 + _RESPONSE_WINDOW)):
        if turns[j].role == "rep":
            out.append(j)
        elif out or len(turns[j].text.strip()) > _BACKCHANNEL_CHARS:
            break
    return out


def _main_types(found: dict[tuple[int, str], tuple[float, int, int, str]],
                second: float) -> dict[tuple[int, str], tuple[float, int, int, str]]:
    """Per turn, its most confident type, and others only at `second` confidence or more.

    A customer turn pushes back in one way as a rule; the runner-up type in the same turn is mostly
    the same worry in other words ("太贵了，别家便宜" is one price objection with a comparison).
    """
    best: dict[int, float] = {}
    for (index, _), (confidence, *_rest) in found.items():
        best[index] = max(best.get(index, 0.0), confidence)
    return {key: value for key, value in found.items() if value[0] >= best[key[0]] or value[0] >= second}


def _asked_about(transcript: Transcript, index: int) -> frozenset[str]:
    """Objection types the rep's question right before this customer turn asks about."""
    previous = next((t for t in reversed(transcript.turns[:index]) if t.text.strip()), None)
    if previous is None or previous.role != "rep" or not is_question(previous.text):
        return frozenset()
    return frozenset(_lexicons().asked.names(previous.text))


def find_objections(transcript: Transcript, classifiers: Classifiers) -> list[Objection]:
    lex = _lexicons()
    candidates: list[tuple[int, int, str, str]] = []  # (turn, sentence begin, sentence end, text)
    for index, turn in enumerate(transcript.turns):
        if turn.role != "customer":
            continue
        for s in split_sentences(turn.text):
            candidates.append((index, s.begin, s.end, s.text))
    probs = objection_probabilities(classifiers, [c[3] for c in candidates])

    found: dict[tuple[int, str], tuple[float, int, int, str]] = {}  # best sentence per (turn, type)
    for (index, begin, end, text), p in zip(candidates, probs, strict=True):
        answered = _asked_about(transcript, index)
        for kind, confidence in objection_confidences(p, text, answered).items():
            if confidence >= lex.threshold and confidence > found.get((index, kind), (0.0,))[0]:
                found[(index, kind)] = (confidence, begin, end, text)
    found = _main_types(found, lex.second_type_confidence)

    objections: list[Objection] = []
    last_seen: dict[str, int] = {}
    customer_turns = (i for i, t in enumerate(transcript.turns) if t.role == "customer")
    customer_rank = {i: k for k, i in enumerate(customer_turns)}
    for (index, kind), (confidence, begin, end, text) in sorted(found.items()):
        turn = transcript.turns[index]
        start, stop = span_times(turn, begin, end)
        reply = _response_turns(transcript, index)
        reply_text = " ".join(transcript.turns[j].text for j in reply)
        response = Evidence(transcript.turns[reply[0]].start, transcript.turns[reply[-1]].end, reply_text,
                            turn=reply[0]) if reply else None
        current = Objection(type=kind, turn=index, start=start, end=stop, text=text,
                            handled=is_handled(kind, reply_text, classifiers), confidence=confidence,
                            response=response)
        previous = next((o for o in reversed(objections) if o.type == kind), None)
        rank = customer_rank.get(index, index)
        repeated = previous is not None and 0 < rank - last_seen[kind] <= _REPEAT_WINDOW
        last_seen[kind] = rank
        if previous is not None and repeated:
            # the same objection said again: one objection, judged by the rep's last answer
            previous.end, previous.handled, previous.response = stop, current.handled, current.response
            previous.confidence = max(previous.confidence, confidence)
            continue
        objections.append(current)
    return objections
