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


def _feedback(item: Item, outcome: Outcome, points: float, lang: str) -> str:
    if outcome.passed is None:
        key = "not_applicable"
    elif outcome.passed:
        key = "pass"
    elif outcome.fraction > 0 and "partial" in item.feedback:
        key = "partial"
    else:
        key = "fail"
    values: dict[str, Any] = {"score": round(points, 1), "max": item.weight, **outcome.values}
    # whole numbers read as "30", not "30.0", in a plain {placeholder}
    values = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}
    return item.feedback[key][lang].format(**values)


def score_item(item: Item, conv: Conversation, lang: str) -> ItemResult:
    outcome = CHECKS[item.check].run(conv, item.params, lang) if _applies(item, conv) else NOT_APPLICABLE
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
    )


def score(conversation: Conversation, rubric: Rubric, lang: str | None = None) -> Scorecard:
    """The scorecard of one call; feedback in `lang`, by default the call's language."""
    lang = rubric.language_for(lang or conversation.transcript.language)
    results = [score_item(item, conversation, lang) for item in rubric.items]
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
