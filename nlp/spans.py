"""Times of a piece of a turn: from word timestamps when ASR gave them, else by position."""

from __future__ import annotations

from callscope.models.document import Turn


def span_times(turn: Turn, begin: int, end: int) -> tuple[float, float]:
    """Start and end seconds of turn.text[begin:end]."""
    n = max(1, len(turn.text))
    lo, hi = max(0, begin) / n, min(n, end) / n
    words = [w for w in turn.words if w.text.strip()]
    if words:
        # word texts concatenated stand in for the turn text; positions are compared as fractions
        lengths = [len(w.text.strip()) for w in words]
        total = float(sum(lengths))
        pos, first, last = 0.0, None, None
        for w, length in zip(words, lengths, strict=True):
            a, b = pos / total, (pos + length) / total
            if b > lo and a < hi:
                first = w if first is None else first
                last = w
            pos += length
        if first is not None and last is not None:
            return first.start, max(first.start, last.end)
    dur = turn.duration
    return turn.start + lo * dur, turn.start + hi * dur
