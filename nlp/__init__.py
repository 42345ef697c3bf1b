"""nlp: Transcript -> Conversation (tokens, stage, objections, next steps, compliance, trackers, metrics)."""

from nlp.annotate import annotate
from nlp.hits import load_trackers

__all__ = ["annotate", "load_trackers"]
