"""`python -m callscope.scoring check FILE_OR_NAME...`: validate rubrics the way callscope will load them."""

from __future__ import annotations

import sys

from callscope.core.errors import RubricError
from callscope.scoring.rubric import load_rubric


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "check":
        print("usage: python -m callscope.scoring check RUBRIC_FILE_OR_NAME...", file=sys.stderr)
        return 2
    status = 0
    for spec in argv[1:]:
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
