"""The rubric's agreement with corpus authors' verdicts, on authors the classifiers never saw.

`python -m callscope.scoring agreement [AUTHOR ...]`: for each corpus author (each calls*.yaml), the
stage and objection classifiers are trained on every other author (callscope.nlp.train's
leave-one-author-out), each of this author's calls is annotated and scored with the default rubric
from its text alone, and every item the author gave a verdict on (`rubric:` in the corpus, null
meaning "does not apply") is compared with the scorecard's. Prints, per author, the nlp figures of
leave-one-author-out plus rubric agreement overall and per item.
"""

from __future__ import annotations

from collections import Counter

from callscope.core.config import Settings
from callscope.nlp.annotate import annotate
from callscope.nlp.corpus import Call
from callscope.nlp.model import Classifiers
from callscope.nlp.train import call_transcript
from callscope.scoring.rubric import Rubric, load_rubric
from callscope.scoring.score import score


def rubric_verdicts(call: Call, classifiers: Classifiers, rubric: Rubric,
                    settings: Settings | None = None) -> dict[str, bool | None]:
    """The scorecard's verdict per item on a corpus call's text (None: the item did not apply)."""
    card = score(annotate(call_transcript(call), settings, classifiers), rubric)
    return {item.id: item.passed for item in card.items}


def rubric_agreement(classifiers: Classifiers, calls: list[Call], rubric: Rubric | None = None,
                     settings: Settings | None = None) -> dict:
    """Agreement of the scorecard with the calls' `rubric:` labels, overall and per item, as
    bench.evaluate counts it (null equal to null agrees; an item the scorecard lacks disagrees).
    Calls without labels are skipped."""
    rubric = rubric or load_rubric("default")
    settings = settings or Settings.from_env()
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    labeled = 0
    for call in calls:
        if not call.rubric:
            continue
        labeled += 1
        predicted = rubric_verdicts(call, classifiers, rubric, settings)
        for item, verdict in call.rubric.items():
            total[item] += 1
            agree[item] += item in predicted and predicted[item] == verdict
    if not labeled:
        return {}
    return {
        "rubric_calls": labeled,
        "rubric_agreement": round(sum(agree.values()) / sum(total.values()), 3),
        "rubric_items": {item: round(agree[item] / total[item], 3) for item in total},
    }
