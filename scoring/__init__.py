"""scoring: Conversation + rubric -> Scorecard, every item with evidence and coaching feedback."""

from callscope.scoring.rubric import Rubric, RubricValidationError, builtin_names, load_rubric, validate
from callscope.scoring.score import score

__all__ = ["Rubric", "RubricValidationError", "builtin_names", "load_rubric", "score", "validate"]
