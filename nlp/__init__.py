"""nlp: Transcript -> Conversation (tokens, stage, objections, next steps, compliance, trackers, metrics)."""

from callscope.nlp.annotate import annotate
from callscope.nlp.hits import load_trackers

__all__ = ["annotate", "load_trackers"]
