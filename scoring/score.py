"""Score an annotated conversation against a rubric: every item with points, evidence and coaching."""

from __future__ import annotations

from typing import Any

from callscope.models.document import Conversation, ItemResult, Scorecard
from callscope.nlp.buyer import is_consumer_call
from callscope.scoring.checks import CHECKS, NOT_APPLICABLE, Outcome
from callscope.scoring.rubric import Item, Rubric


def _applies(item: Item, conv: Conversation) -> bool:
    cond = item.applies_when
    if cond.get("objection_raised") and not conv.objections:
        return False
    if cond.get("customer_spoke") and not any(t.role == "customer" and t.text.strip()
                                              for t in conv.transcript.turns):
        return False
    if cond.get("business_buyer") and is_consumer_call(conv.transcript):
        return False
    if "stages" in cond and conv.stage not in cond["stages"]:
        return False
    return conv.transcript.duration >= cond.get("min_duration", 0.0)


def outcome_key(item: Item, passed: bool | None, fraction: float) -> str:
    """Which of the item's feedback texts a verdict reads: pass, partial, fail or not_applicable."""
    if passed is None:
        return "not_applicable"
    if passed:
        return "pass"
    return "partial" if fraction > 0 and "partial" in item.feedback else "fail"


def _text(item: Item, key: str, lang: str, points: float, values: dict[str, Any]) -> str:
    values = {"score": round(points, 1), "max": item.weight, **values}
    # whole numbers read as "30", not "30.0", in a plain {placeholder}
    values = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}
    return item.feedback[key][lang].format(**values)


def _feedback(item: Item, outcome: Outcome, points: float, lang: str) -> str:
    return _text(item, outcome_key(item, outcome.passed, outcome.fraction), lang, points, outcome.values)


def _coaching(item: Item, outcomes: dict[str, Outcome], points: float) -> dict[str, dict[str, str]]:
    """Every feedback text of the item in every language its values fill in (outcomes: the check run
    in each language, so the words it quotes, 开场 parts or objection names, are that language's): the
    call's own outcome always; another outcome where it needs nothing this outcome lacks (a pass text
    that quotes the talk ratio does; a fail text that names the forbidden phrase said does not)."""
    out: dict[str, dict[str, str]] = {}
    for lang, outcome in outcomes.items():
        actual = outcome_key(item, outcome.passed, outcome.fraction)
        for key, texts in item.feedback.items():
            if lang not in texts:
                continue
            other_points = points if key == actual else item.weight if key == "pass" else 0.0
            try:
                out.setdefault(key, {})[lang] = _text(item, key, lang, other_points, outcome.values)
            except (KeyError, IndexError, ValueError, TypeError):
                continue
    return {key: texts for key, texts in out.items() if texts}


def score_item(item: Item, conv: Conversation, lang: str, languages: list[str] | None = None) -> ItemResult:
    """The item's result, its feedback in lang; coaching in every one of `languages` (lang alone by
    default)."""
    applies = _applies(item, conv)
    outcomes = {lang: CHECKS[item.check].run(conv, item.params, lang) if applies else NOT_APPLICABLE}
    for other in languages or []:
        if other not in outcomes:
            outcomes[other] = CHECKS[item.check].run(conv, item.params, other) if applies else NOT_APPLICABLE
    outcome = outcomes[lang]
    points = 0.0 if outcome.passed is None else item.weight * outcome.fraction
    return ItemResult(
        id=item.id,
        name=item.name[lang],
        # checks compare numpy numbers (times, ratios): a numpy bool is not JSON
        passed=None if outcome.passed is None else bool(outcome.passed),
        score=float(points),
        max=item.weight,
        evidence=outcome.evidence,
        feedback=_feedback(item, outcome, points, lang),
        coaching=_coaching(item, outcomes, points),
    )


def score(conversation: Conversation, rubric: Rubric, lang: str | None = None) -> Scorecard:
    """The scorecard of one call; feedback in `lang`, by default the call's language."""
    lang = rubric.language_for(lang or conversation.transcript.language)
    results = [score_item(item, conversation, lang, rubric.languages) for item in rubric.items]
    applicable = [r for r in results if r.passed is not None]
    possible = sum(r.max for r in applicable)
    total = 100.0 * sum(r.score for r in applicable) / possible if possible else 0.0
    grade = rubric.grade_for(total)
    # a failed veto item (一票否决, e.g. a forbidden claim in 质检) fails the call whatever the points
    if any(item.veto and r.passed is False for item, r in zip(rubric.items, results, strict=True)):
        grade = rubric.grades[-1]
    return Scorecard(
        rubric=rubric.name,
        score=round(total, 1),
        grade=grade.id,
        items=results,
        rubric_version=rubric.version,
        grade_label=grade.label[lang],
        language=lang,
        targets=rubric.targets(),
    )
