"""nlp: Transcript -> Conversation (tokens, stage, objections, next steps, compliance, trackers, metrics)."""

from nlp.annotate import annotate

__all__ = ["annotate"]
