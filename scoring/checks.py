"""The check kinds a rubric item can use: measurements in code, thresholds and phrases from the rubric.

Each kind declares its parameters (validated when a rubric is loaded), the placeholders its
feedback texts may use (with a sample value, so a bad placeholder fails at load time, not while
scoring), and, where it measures a metric, the target it sets for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callscope.models.document import Conversation, Evidence, Turn
from callscope.nlp.metrics import MONOLOGUE_GAP
from callscope.nlp.opening import opening_parts
from callscope.nlp.questions import QuestionCount, count_questions
from callscope.scoring.cues import find_cue, join, label

MAX_EVIDENCE = 5  # moments shown per item: enough to point at, few enough to read


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind. kind: number | int | bool | cues | parts | strings | roles."""

    kind: str
    default: Any = None  # None: required
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True


@dataclass
class Outcome:
    passed: bool | None  # None: the item does not apply to this call
    fraction: float = 0.0  # share of the item's points earned, 0-1
    evidence: list[Evidence] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # feedback placeholders


NOT_APPLICABLE = Outcome(passed=None)

Run = Callable[[Conversation, dict[str, Any], str], Outcome]


@dataclass(frozen=True)
class CheckKind:
    run: Run
    params: dict[str, Param]
    placeholders: dict[str, Any]
    consistency: Callable[[dict[str, Any]], tuple[str, str] | None] = lambda _: None
    targets: Callable[[dict[str, Any]], dict[str, Any]] = lambda _: {}


# --- helpers over the conversation --------------------------------------------------------------


def _evidence(turns: list[Turn], index: int) -> Evidence:
    t = turns[index]
    return Evidence(start=t.start, end=t.end, text=t.text, turn=index)


def _rep_indices(conv: Conversation) -> list[int]:
    return [i for i, t in enumerate(conv.transcript.turns) if t.role == "rep" and t.text.strip()]


def _customer_indices(conv: Conversation) -> list[int]:
    return [i for i, t in enumerate(conv.transcript.turns) if t.role == "customer" and t.text.strip()]


def _questions(conv: Conversation, index: int) -> QuestionCount:
    """The questions of a turn as nlp counted them (nlp.questions.count_questions, the one
    definition the metrics and the report use too); counted afresh where no insight is given."""
    if index < len(conv.insights):
        ins = conv.insights[index]
        return QuestionCount(ins.questions, ins.open_questions)
    turn = conv.transcript.turns[index]
    return count_questions(turn.text, turn.language or None)


def _is_question(conv: Conversation, index: int) -> bool:
    return _questions(conv, index).asked > 0


def _longest_turns(conv: Conversation, indices: list[int], n: int) -> list[Evidence]:
    turns = conv.transcript.turns
    ranked = sorted(indices, key=lambda i: turns[i].duration, reverse=True)[:n]
    return [_evidence(turns, i) for i in sorted(ranked)]


def _customer_spoke(conv: Conversation) -> bool:
    return bool(_customer_indices(conv)) or conv.metrics.customer_speech > 0


def _share(count: float, needed: float) -> float:
    return 1.0 if needed <= 0 else max(0.0, min(1.0, count / needed))


# --- the check kinds ----------------------------------------------------------------------------


def _opening(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    turns = conv.transcript.turns
    reps = _rep_indices(conv)
    if not reps:
        return NOT_APPLICABLE
    early = [i for i in reps if turns[i].start < p["within_seconds"]]
    shapes = {i: opening_parts(turns[i].text, turns[i].language or None) for i in early}
    found: dict[str, int] = {}
    for part, spec in p["parts"].items():
        for i in early:
            # the rubric's cues, or the part's general shape (我是X的Y, "this is NAME from COMPANY")
            if find_cue(turns[i].text, spec["cues"]) or spec.get("detect") in shapes[i]:
                found[part] = i
                break
    names = {part: spec["label"].get(lang) or next(iter(spec["label"].values()))
             for part, spec in p["parts"].items()}
    decisive = sorted(set(found.values())) or [reps[0]]
    return Outcome(
        passed=len(found) >= p["min_parts"],
        fraction=_share(len(found), p["min_parts"]),
        evidence=[_evidence(turns, i) for i in decisive[:MAX_EVIDENCE]],
        values={"within_seconds": p["within_seconds"], "found_count": len(found),
                "min_parts": p["min_parts"],
                "found": join([names[k] for k in p["parts"] if k in found], lang),
                "missing": join([names[k] for k in p["parts"] if k not in found], lang)},
    )


def _open_questions(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    turns = conv.transcript.turns
    reps = _rep_indices(conv)
    if not reps:
        return NOT_APPLICABLE
    counts = {i: _questions(conv, i) for i in reps}
    open_q = [i for i in reps if counts[i].open]
    closed = [i for i in reps if counts[i].closed]
    # questions, not turns, count: "你们现在怎么做的？一年大概多少单？" asks two things
    count = sum(counts[i].open for i in open_q)
    if p["count_closed"]:  # "现在有没有出过宕机？" asks about the customer's situation too
        count += sum(counts[i].closed for i in closed)
        open_q = sorted(set(open_q) | set(closed))
    if open_q:
        evidence = [_evidence(turns, i) for i in open_q[:MAX_EVIDENCE]]
    else:  # show the closed questions asked instead, or where the rep talked instead of asking
        evidence = [_evidence(turns, i) for i in closed[:MAX_EVIDENCE]] or _longest_turns(conv, reps, 1)
    return Outcome(
        passed=count >= p["min_count"],
        fraction=_share(count, p["min_count"]),
        evidence=evidence,
        values={"count": count, "min_count": p["min_count"],
                "closed_count": sum(counts[i].closed for i in reps)},
    )


def _rep_asks(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    turns = conv.transcript.turns
    if not _rep_indices(conv):
        return NOT_APPLICABLE
    asked = [i for i in _rep_indices(conv) if find_cue(turns[i].text, p["cues"])
             and (not p["require_question"] or _is_question(conv, i))]
    if asked:
        return Outcome(True, 1.0, [_evidence(turns, i) for i in asked[:MAX_EVIDENCE]], {"count": len(asked)})
    mentioned = [i for i in _customer_indices(conv) if find_cue(turns[i].text, p["cues"])]
    if mentioned and p["customer_mention_credit"] > 0:
        return Outcome(False, p["customer_mention_credit"],
                       [_evidence(turns, i) for i in mentioned[:MAX_EVIDENCE]], {"count": 0})
    return Outcome(False, 0.0, [], {"count": 0})


def _window(conv: Conversation, p: dict[str, Any]) -> list[int]:
    turns, duration = conv.transcript.turns, conv.transcript.duration
    first, last = p["within_first_seconds"], p["within_last_seconds"]
    return [i for i in _rep_indices(conv)
            if (not first or turns[i].start < first) and (not last or turns[i].end > duration - last)]


def _rep_says(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    turns = conv.transcript.turns
    window = _window(conv, p)
    if not _rep_indices(conv):
        return NOT_APPLICABLE
    said = [i for i in window if find_cue(turns[i].text, p["cues"])]
    values = {"count": len(said),
              "seconds": p["within_first_seconds"] or p["within_last_seconds"]}
    if said:
        return Outcome(True, 1.0, [_evidence(turns, i) for i in said[:MAX_EVIDENCE]], values)
    # the moment where it should have been said: the window's first (or, at the end, last) rep turn
    moment = window[-1:] if p["within_last_seconds"] and not p["within_first_seconds"] else window[:1]
    return Outcome(False, 0.0, [_evidence(turns, i) for i in moment], values)


def _nothing_flagged(conv: Conversation, checked: int, lang: str) -> list[Evidence]:
    """A passing "never says X" item still shows what it rests on: the whole call, read turn by turn."""
    text = label("evidence", "nothing_flagged", lang).format(count=checked)
    return [Evidence(0.0, conv.transcript.duration, text, whole_call=True)]


def _rep_avoids(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    turns = conv.transcript.turns
    if not _rep_indices(conv):  # silence is not good conduct: nothing to judge
        return NOT_APPLICABLE
    said = [(i, cue) for i in _rep_indices(conv) if (cue := find_cue(turns[i].text, p["cues"]))]
    values = {"count": len(said), "term": said[0][1] if said else ""}
    evidence = [_evidence(turns, i) for i, _ in said[:MAX_EVIDENCE]] or \
        _nothing_flagged(conv, len(_rep_indices(conv)), lang)
    return Outcome(not said, 0.0 if said else 1.0, evidence, values)


def _talk_ratio_band(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    if not _customer_spoke(conv) or not _rep_indices(conv):
        return NOT_APPLICABLE
    ratio = conv.metrics.talk_ratio
    miss = max(p["min"] - ratio, ratio - p["max"], 0.0)
    fraction = 1.0 if miss == 0 else max(0.0, 1.0 - miss / p["tolerance"]) if p["tolerance"] else 0.0
    if ratio > p["max"]:  # the rep's longest turns are where they talked too much
        evidence = _longest_turns(conv, _rep_indices(conv), 2)
    elif ratio < p["min"]:  # the customer's longest turns are where the rep could have engaged
        evidence = _longest_turns(conv, _customer_indices(conv), 2)
    else:
        rep_word, customer_word = label("roles", "rep", lang), label("roles", "customer", lang)
        summary = f"{rep_word} {ratio:.0%} · {customer_word} {1 - ratio:.0%}"
        evidence = [Evidence(0.0, conv.transcript.duration, summary, whole_call=True)]
    return Outcome(miss == 0, fraction, evidence,
                   {"talk_ratio": ratio, "customer_ratio": 1 - ratio, "min": p["min"], "max": p["max"]})


def _longest_rep_stretch(conv: Conversation) -> tuple[list[int], float]:
    """The rep's turns forming the longest monologue, by the same rule as the metric."""
    turns = conv.transcript.turns
    best: list[int] = []
    best_span, run = 0.0, []
    for i, t in enumerate(turns):
        if t.role != "rep":
            run = []
            continue
        if run and t.start - turns[run[-1]].end > MONOLOGUE_GAP:
            run = []
        run = [*run, i]
        span = turns[run[-1]].end - turns[run[0]].start
        if span > best_span:
            best, best_span = run, span
    return best, best_span


def _monologue_limit(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    if not _rep_indices(conv):
        return NOT_APPLICABLE
    stretch, span = _longest_rep_stretch(conv)
    # the contract's metric decides; the stretch found here only locates it
    longest = conv.metrics.longest_monologue or span
    limit, zero_at = p["max_seconds"], p["zero_at_seconds"]
    if p["max_share_of_call"]:  # in a short call, half the call is already a monologue
        limit = min(limit, p["max_share_of_call"] * conv.transcript.duration)
    fraction = 1.0 if longest <= limit else max(0.0, (zero_at - longest) / (zero_at - limit))
    turns = conv.transcript.turns
    evidence = []
    if stretch:
        text = " ".join(turns[i].text for i in stretch)
        evidence = [Evidence(turns[stretch[0]].start, turns[stretch[-1]].end, text, stretch[0])]
    return Outcome(longest <= limit, fraction, evidence, {"longest": longest, "limit": limit})


def _objections_handled(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    objections = conv.objections
    if not objections:
        return NOT_APPLICABLE
    handled = [o for o in objections if o.handled]
    unhandled = [o for o in objections if not o.handled]
    evidence = [Evidence(o.start, o.end, o.text, o.turn) for o in unhandled]
    for o in handled:  # the objection and the answer that addressed it
        evidence.append(Evidence(o.start, o.end, o.text, o.turn))
        if o.response:
            evidence.append(o.response)
    ratio = len(handled) / len(objections)
    unhandled_names = list(dict.fromkeys(label("objections", o.type, lang) for o in unhandled))
    return Outcome(ratio >= p["min_handled_ratio"], ratio, evidence[:MAX_EVIDENCE],
                   {"handled": len(handled), "total": len(objections),
                    "unhandled": join(unhandled_names, lang)})


def _next_step_with_time(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    steps = conv.next_steps
    if not steps and not _rep_indices(conv):
        return NOT_APPLICABLE
    timed = [s for s in steps if s.when.strip()]
    chosen = timed or steps
    values = {"count": len(steps), "when": timed[0].when if timed else "",
              "text": chosen[0].text if chosen else ""}
    evidence = [Evidence(s.start, s.end, s.text, s.turn) for s in chosen[:MAX_EVIDENCE]]
    if timed:
        return Outcome(True, 1.0, evidence, values)
    if steps:
        return Outcome(False, p["without_time_credit"], evidence, values)
    reps = _rep_indices(conv)  # how the call ended, where a next step belonged
    return Outcome(False, 0.0, [_evidence(conv.transcript.turns, reps[-1])] if reps else [], values)


def _no_compliance_hits(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    checked = sum(1 for t in conv.transcript.turns if t.role in p["roles"] and t.text.strip())
    if not checked:
        return NOT_APPLICABLE  # nobody whose speech is checked said anything
    hits = [h for h in conv.compliance
            if h.role in p["roles"] and (not p["rules"] or h.name in p["rules"])]
    values = {"count": len(hits), "term": hits[0].term if hits else "", "rule": hits[0].name if hits else ""}
    evidence = [Evidence(h.start, h.end, h.text, h.turn) for h in hits[:MAX_EVIDENCE]] or \
        _nothing_flagged(conv, checked, lang)
    return Outcome(not hits, 0.0 if hits else 1.0, evidence, values)


def _interruptions(conv: Conversation, min_overlap: float) -> list[int]:
    """Rep turns that start while the customer is still speaking."""
    turns = conv.transcript.turns
    found, last_customer = [], None
    for i, t in enumerate(turns):
        if t.role == "customer" and t.text.strip():
            last_customer = t
        elif t.role == "rep" and last_customer is not None and \
                last_customer.start < t.start < last_customer.end - min_overlap:
            found.append(i)
    return found


def _no_interruptions(conv: Conversation, p: dict[str, Any], lang: str) -> Outcome:
    if not _customer_spoke(conv) or not _rep_indices(conv):
        return NOT_APPLICABLE
    found = _interruptions(conv, p["min_overlap_seconds"])
    extra = max(0, len(found) - p["max_count"])
    evidence = [_evidence(conv.transcript.turns, i) for i in found[:MAX_EVIDENCE]] or \
        _nothing_flagged(conv, len(_rep_indices(conv)), lang)
    return Outcome(extra == 0, max(0.0, 1.0 - p["penalty"] * extra), evidence,
                   {"count": len(found), "max_count": p["max_count"]})


# --- the registry -------------------------------------------------------------------------------

_CUES = Param("cues")
_SECONDS = Param("number", low=0, high=4 * 3600, low_inclusive=False)
_SHARE = Param("number", low=0, high=1)


def _band_consistency(p: dict[str, Any]) -> tuple[str, str] | None:
    if p["min"] >= p["max"]:
        return "max", f"must be greater than min ({p['min']}), got {p['max']}"
    return None


def _monologue_consistency(p: dict[str, Any]) -> tuple[str, str] | None:
    if p["zero_at_seconds"] <= p["max_seconds"]:
        return "zero_at_seconds", f"must be greater than max_seconds ({p['max_seconds']})"
    return None


def _opening_consistency(p: dict[str, Any]) -> tuple[str, str] | None:
    if p["min_parts"] > len(p["parts"]):
        return "min_parts", f"cannot exceed the number of parts ({len(p['parts'])}), got {p['min_parts']}"
    return None


def _window_consistency(p: dict[str, Any]) -> tuple[str, str] | None:
    if p["within_first_seconds"] and p["within_last_seconds"]:
        return "within_last_seconds", "give within_first_seconds or within_last_seconds, not both"
    return None


CHECKS: dict[str, CheckKind] = {
    "opening": CheckKind(
        _opening,
        {"within_seconds": _SECONDS, "min_parts": Param("int", low=1, high=10), "parts": Param("parts")},
        {"within_seconds": 30.0, "found_count": 2, "min_parts": 2, "found": "a、b", "missing": "c"},
        _opening_consistency),
    "open_questions": CheckKind(
        _open_questions,
        {"min_count": Param("int", low=1, high=100), "count_closed": Param("bool", default=False)},
        {"count": 1, "min_count": 2, "closed_count": 3},
        targets=lambda p: {"questions" if p["count_closed"] else "open_questions": {"min": p["min_count"]}}),
    "rep_asks": CheckKind(
        _rep_asks,
        {"cues": _CUES, "require_question": Param("bool", default=True),
         "customer_mention_credit": Param("number", default=0.0, low=0, high=1)},
        {"count": 1}),
    "rep_says": CheckKind(
        _rep_says,
        {"cues": _CUES, "within_first_seconds": Param("number", default=0.0, low=0, high=4 * 3600),
         "within_last_seconds": Param("number", default=0.0, low=0, high=4 * 3600)},
        {"count": 1, "seconds": 30.0}, _window_consistency),
    "rep_avoids": CheckKind(_rep_avoids, {"cues": _CUES}, {"count": 1, "term": "x"}),
    "talk_ratio_band": CheckKind(
        _talk_ratio_band,
        {"min": _SHARE, "max": _SHARE, "tolerance": Param("number", default=0.15, low=0, high=1)},
        {"talk_ratio": 0.5, "customer_ratio": 0.5, "min": 0.35, "max": 0.65}, _band_consistency,
        targets=lambda p: {"talk_ratio": {"min": p["min"], "max": p["max"]}}),
    "monologue_limit": CheckKind(
        _monologue_limit,
        {"max_seconds": _SECONDS, "zero_at_seconds": _SECONDS,
         "max_share_of_call": Param("number", default=0.0, low=0, high=1)},
        {"longest": 61.0, "limit": 60.0}, _monologue_consistency,
        targets=lambda p: {"longest_monologue": {"max": p["max_seconds"]}}),
    "objections_handled": CheckKind(
        _objections_handled,
        {"min_handled_ratio": Param("number", default=1.0, low=0, high=1, low_inclusive=False)},
        {"handled": 1, "total": 2, "unhandled": "price"}),
    "next_step_with_time": CheckKind(
        _next_step_with_time, {"without_time_credit": Param("number", default=0.0, low=0, high=1)},
        {"count": 1, "when": "next Tuesday", "text": "x"}),
    "no_compliance_hits": CheckKind(
        _no_compliance_hits,
        {"rules": Param("strings", default=[]), "roles": Param("roles", default=["rep"])},
        {"count": 1, "term": "x", "rule": "y"}),
    "no_interruptions": CheckKind(
        _no_interruptions,
        {"max_count": Param("int", default=0, low=0, high=1000),
         "min_overlap_seconds": Param("number", default=0.5, low=0, high=60),
         "penalty": Param("number", default=0.5, low=0, high=1, low_inclusive=False)},
        {"count": 1, "max_count": 0}),
}
