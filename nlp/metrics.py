"""Conversation metrics exactly as the contract defines them.

talk_ratio: rep's share of all speech time; longest_monologue: rep's longest uninterrupted speech
(consecutive rep turns with no customer turn between and a short gap are one monologue);
interactivity: speaker switches per minute; patience: rep's mean pause before answering the
customer (overlap counts as 0); questions / question_rate: rep's questions, count and per minute.
"""

from __future__ import annotations

from itertools import pairwise

from callscope.models.document import Metrics, Transcript, Turn

# rep turns separated by a silence up to this long (and no customer turn) are one monologue
MONOLOGUE_GAP = 2.5
# a pause between words shorter than this is part of speaking (VAD's min_silence_duration_ms)
SPEECH_PAUSE = 0.5


def speech_time(turn: Turn) -> float:
    """Seconds of speech in a turn: the union of its word spans when ASR gave words, else its span.
    A pause between words shorter than SPEECH_PAUSE is talking, as it is to VAD (word timestamps leave
    gaps at every comma, which undercounted long turns)."""
    words = sorted((w.start, w.end) for w in turn.words if w.end > w.start)
    if not words:
        return turn.duration
    total, cur_start, cur_end = 0.0, words[0][0], words[0][1]
    for start, end in words[1:]:
        if start > cur_end + SPEECH_PAUSE:
            total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    return total + (cur_end - cur_start)


def _longest_monologue(turns: list[Turn]) -> float:
    longest, run_start, run_end = 0.0, None, None
    for turn in turns:
        if turn.role != "rep":
            run_start = run_end = None
            continue
        if run_start is None or run_end is None or turn.start - run_end > MONOLOGUE_GAP:
            run_start, run_end = turn.start, turn.end
        else:
            run_end = max(run_end, turn.end)
        longest = max(longest, run_end - run_start)
    return longest


def _patience(turns: list[Turn]) -> float:
    pauses = [max(0.0, cur.start - prev.end) for prev, cur in pairwise(turns)
              if prev.role == "customer" and cur.role == "rep"]
    return sum(pauses) / len(pauses) if pauses else 0.0


def compute_metrics(transcript: Transcript, rep_questions: int, customer_questions: int,
                    open_questions: int = 0) -> Metrics:
    """The metrics; the question counts come from nlp.questions.count_questions over the turns."""
    turns = sorted(transcript.turns, key=lambda t: (t.start, t.end))
    rep = sum(speech_time(t) for t in turns if t.role == "rep")
    customer = sum(speech_time(t) for t in turns if t.role != "rep")
    duration = transcript.duration or max((t.end for t in turns), default=0.0)
    minutes = duration / 60.0
    switches = sum(1 for a, b in pairwise(turns) if a.speaker != b.speaker)
    return Metrics(
        talk_ratio=rep / (rep + customer) if rep + customer > 0 else 0.0,
        longest_monologue=_longest_monologue(turns),
        interactivity=switches / minutes if minutes > 0 else 0.0,
        patience=_patience(turns),
        questions=rep_questions,
        question_rate=rep_questions / minutes if minutes > 0 else 0.0,
        customer_questions=customer_questions,
        open_questions=open_questions,
        rep_speech=rep,
        customer_speech=customer,
    )
