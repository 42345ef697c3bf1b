"""Next steps: agreed actions with a time (发方案 下周二下午, demo next Tuesday at 3 pm).

Patterns live in nlp/data/next_steps.yaml. A sentence is a next step when it has a future time
expression and an action in the same sentence, a neighbouring one, or the other side's turn just
before (a time agreed to a proposal), and no refusal.
The same time agreed in adjacent turns ("下周二下午来演示" / "好，下周二下午") is one step, and so is
a proposal and the other side's answer ("next Tuesday at 10 am?" / "Tuesday at 10 works").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from callscope.models.document import NextStep, Transcript
from callscope.nlp.phrases import PhraseLexicon
from callscope.nlp.resources import load_yaml
from callscope.nlp.spans import span_times
from callscope.nlp.text import has_cjk, normalize, split_sentences

# adjacent-turn window within which the same time expression is one step
_SAME_STEP_TURNS = 3
# the other side's reply within this many turns to a proposed step is its acceptance, not a new step
_ANSWER_TURNS = 2


@dataclass
class _Patterns:
    time: dict[str, re.Pattern[str]]
    not_time: dict[str, list[str]]
    actions: PhraseLexicon
    refusals: PhraseLexicon
    acceptance: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    data = load_yaml("next_steps.yaml")
    return _Patterns(
        time={lang: re.compile("|".join(f"(?:{p})" for p in data[f"{lang}_time"])) for lang in ("zh", "en")},
        not_time={lang: [normalize(p) for p in data[f"{lang}_not_time"]] for lang in ("zh", "en")},
        actions=PhraseLexicon({"action": data["zh_action"] + data["en_action"]}),
        refusals=PhraseLexicon({"refusal": data["zh_not_step"] + data["en_not_step"]}),
        acceptance=tuple(normalize(a) for a in data["acceptance"]),
    )


_DEADLINE_SUFFIXES = ("之前", "以前")
# a day alone, without a part of it, a clock time or a deadline: in the rep's opening it is this call's day
_THIS_CALL_DAYS = frozenset({"今天", "今日", "today"})


def find_time(text: str) -> tuple[int, int] | None:
    """Offsets of the first future time expression in the text (zh or en), if any."""
    pats = _patterns()
    norm = normalize(text)
    best = None
    for lang in ("zh", "en"):
        for m in pats.time[lang].finditer(norm):
            # the past markers are looked for around the time itself (上周 in 上周五), but a deadline's
            # own 之前 (十五号之前, by the 15th) is the future, not the past
            end = m.end() - len(next((d for d in _DEADLINE_SUFFIXES if m.group(0).endswith(d)), ""))
            context = norm[max(0, m.start() - 4):end]
            if m.group(0).strip() and not any(p in context for p in pats.not_time[lang]):
                if best is None or m.start() < best[0]:
                    best = (m.start(), m.end())
                break
    return best


def _accepted(transcript: Transcript, index: int) -> bool:
    """The customer's next turn agrees to what this rep turn proposed: it opens with a yes ("行",
    "that works") or names a time itself ("周六九点半，行")."""
    turns = transcript.turns
    answer = next((t for t in turns[index + 1:] if t.text.strip()), None)
    if turns[index].role != "rep" or answer is None or answer.role == "rep" or \
            _patterns().refusals.find(answer.text):
        return False
    opening = normalize(answer.text).strip()
    return find_time(answer.text) is not None or any(
        opening.startswith(a) and (len(opening) == len(a) or not opening[len(a)].isalpha() or has_cjk(a))
        for a in _patterns().acceptance)


def find_next_steps(transcript: Transcript) -> list[NextStep]:
    pats = _patterns()
    steps: list[NextStep] = []
    last_turn_of: dict[str, int] = {}
    first_rep_turn = next((i for i, t in enumerate(transcript.turns) if t.role == "rep" and t.text.strip()),
                          -1)
    for index, turn in enumerate(transcript.turns):
        sentences = split_sentences(turn.text)
        for k, sentence in enumerate(sentences):
            span = find_time(sentence.text)
            if span is None:
                continue
            context = " ".join(s.text for s in sentences[max(0, k - 1):k + 2])
            if index and transcript.turns[index - 1].role != turn.role:
                # "下周二下午三点吧" answering "约上您老板一起演示?": the action was proposed just before
                context += " " + transcript.turns[index - 1].text
            if pats.refusals.find(sentence.text) or not (pats.actions.find(context)
                                                         or _accepted(transcript, index)):
                continue
            when = sentence.text[span[0]:span[1]].strip()
            key = normalize(re.sub(r"\s+", "", when))
            if key in _THIS_CALL_DAYS and index == first_rep_turn:
                continue  # "今天带了样品给您看看": the opening's today is this call, not a step after it
            if key in last_turn_of and index - last_turn_of[key] <= _SAME_STEP_TURNS:
                continue
            if steps and steps[-1].role != turn.role and index - steps[-1].turn <= _ANSWER_TURNS:
                continue  # "Okay, Tuesday at 10 works": the other side accepting the step just proposed
            last_turn_of[key] = index
            start, end = span_times(turn, sentence.begin, sentence.end)
            steps.append(NextStep(turn=index, start=start, end=end, text=sentence.text, when=when,
                                  role=turn.role))
            break  # one step per turn: the first agreed time
    return steps
