"""scoring: Conversation + rubric -> Scorecard, every item with evidence and coaching feedback."""

from scoring.rubric import Rubric, RubricValidationError, builtin_names, load_rubric, validate
from scoring.score import score

__all__ = ["Rubric", "RubricValidationError", "builtin_names", "load_rubric", "score", "validate"]
