"""`python -m callscope.scoring check FILE_OR_NAME...`: validate rubrics the way callscope will load them.

`python -m callscope.scoring agreement [AUTHOR...]`: the rubric's leave-one-author-out agreement with
the corpus authors' verdicts (callscope.scoring.agreement), beside the nlp's leave-one-author-out figures.
"""

from __future__ import annotations

import json
import sys

from callscope.core.errors import RubricError
from callscope.nlp.corpus import load_corpus
from callscope.nlp.train import SEED, leave_one_author_out
from callscope.scoring.agreement import rubric_agreement
from callscope.scoring.rubric import load_rubric

USAGE = ("usage: python -m callscope.scoring check RUBRIC_FILE_OR_NAME...\n"
         "       python -m callscope.scoring agreement [AUTHOR...]")


def _check(specs: list[str]) -> int:
    status = 0
    for spec in specs:
        try:
            rubric = load_rubric(spec)
        except RubricError as err:
            print(f"{spec}: {err}", file=sys.stderr)
            status = 1
            continue
        weights = sum(item.weight for item in rubric.items)
        print(f"{spec}: ok — rubric {rubric.name!r} version {rubric.version}, {len(rubric.items)} items, "
              f"{weights:g} points, languages {', '.join(rubric.languages)}")
    return status


def _agreement(authors: list[str]) -> int:
    known = load_corpus().authors()
    unknown = [a for a in authors if a not in known]
    if unknown:
        print(f"unknown author(s) {', '.join(unknown)}; the corpus has {', '.join(known)}", file=sys.stderr)
        return 2
    rubric = load_rubric("default")
    figures = leave_one_author_out(
        SEED, authors or None, extra=lambda classifiers, calls: rubric_agreement(classifiers, calls, rubric))
    for author, values in figures.items():
        print(author, json.dumps(values, ensure_ascii=False))
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "agreement":
        return _agreement(argv[1:])
    if len(argv) < 2 or argv[0] != "check":
        print(USAGE, file=sys.stderr)
        return 2
    return _check(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
