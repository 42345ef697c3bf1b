"""Metric functions for the evaluation: plain, dependency-light and unit-tested.

Text error rates use one tokenizer for every language: each CJK character is a token and each run of
Latin letters/digits is a token. On Mandarin that is CER, on English WER, and on code-switched calls
the usual mixed error rate (MER).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import zhconv

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[a-z0-9]+(?:'[a-z]+)?")
_DIGITS_ZH = "零一二三四五六七八九"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")
_ONES_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS_EN = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _zh_under_10000(n: int) -> str:
    if n == 0:
        return "零"
    out, zero_pending = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero_pending and out:
                out += "零"
            out += _DIGITS_ZH[digit] + unit
            zero_pending = False
        elif out:
            zero_pending = True
    return out[1:] if out.startswith("一十") else out  # 十五, not 一十五


def number_to_chinese(number: str) -> str:
    """'200' -> 二百, '15000' -> 一万五千, '1.5' -> 一点五: how the digits Whisper writes are read."""
    whole, _, frac = number.partition(".")
    n = int(whole)
    if n >= 10**8:
        text = "".join(_DIGITS_ZH[int(d)] for d in whole)
    elif n >= 10**4:
        high, low = divmod(n, 10**4)
        text = _zh_under_10000(high) + "万"
        if low:
            text += ("零" if low < 1000 else "") + _zh_under_10000(low)
    else:
        text = _zh_under_10000(n)
    if frac:
        text += "点" + "".join(_DIGITS_ZH[int(d)] for d in frac)
    return text


def number_to_english(number: str) -> str:
    """'300' -> three hundred, '60000' -> sixty thousand (integers below a million; others digit by digit)."""
    whole, _, frac = number.partition(".")
    n = int(whole)

    def below_1000(k: int) -> list[str]:
        words: list[str] = []
        hundreds, rest = divmod(k, 100)
        if hundreds:
            words += [_ONES_EN[hundreds], "hundred"]
        if rest >= 20:
            words.append(_TENS_EN[rest // 10])
            if rest % 10:
                words.append(_ONES_EN[rest % 10])
        elif rest or not words:
            words.append(_ONES_EN[rest])
        return words

    if n >= 10**6:
        words = [_ONES_EN[int(d)] for d in whole]
    elif n >= 1000:
        high, low = divmod(n, 1000)
        words = below_1000(high) + ["thousand"] + (below_1000(low) if low else [])
    else:
        words = below_1000(n)
    if frac:
        words += ["point"] + [_ONES_EN[int(d)] for d in frac]
    return " ".join(words)


def normalize_text(text: str, language: str) -> list[str]:
    """Scoring tokens: simplified Chinese, lower case, no punctuation, digits read out as words."""
    text = zhconv.convert(text, "zh-cn").lower()
    text = _THOUSANDS.sub("", text)
    if language == "en":
        text = re.sub(r"\$\s*(\d+(?:\.\d+)?)", r"\1 dollars", text)
        text = re.sub(r"(\d)\s*%", r"\1 percent", text)
        text = re.sub(r"\b([ap])\.?m\.?(?=\W|$)", r"\1m", text)  # 3 p.m. / 3pm -> 3 pm
        text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)
        text = _NUMBER.sub(lambda m: number_to_english(m.group()), text)
    else:
        text = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"百分之\1", text)
        text = _NUMBER.sub(lambda m: number_to_chinese(m.group()), text)
        text = text.replace("两", "二")  # 两百 / 二百 are the same words
    return _TOKEN.findall(text)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance over tokens (substitutions, insertions, deletions all cost 1)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


@dataclass
class ErrorRate:
    errors: int
    reference_tokens: int

    @property
    def rate(self) -> float:
        return self.errors / self.reference_tokens if self.reference_tokens else 0.0


def error_rate(reference: str, hypothesis: str, language: str) -> ErrorRate:
    """CER (zh), WER (en) or MER (code-switched: CJK characters plus English words)."""
    ref, hyp = normalize_text(reference, language), normalize_text(hypothesis, language)
    return ErrorRate(edit_distance(ref, hyp), len(ref))


Interval = tuple[float, float, str]  # start, end, role


def role_accuracy(truth: Iterable[Interval], predicted: Iterable[Interval], step: float = 0.01) -> float:
    """Share of truth speech time where a predicted segment covering that instant has the truth role.

    Sampled every `step` seconds. Where truth turns overlap, any of their roles counts; where no
    predicted segment covers the instant, it counts as wrong (speech missed).
    """
    truth, predicted = list(truth), sorted(predicted)
    if not truth:
        return 0.0
    end = max(e for _, e, _ in truth)
    ticks = int(end / step) + 1
    truth_roles: list[set[str]] = [set() for _ in range(ticks)]
    pred_roles: list[set[str]] = [set() for _ in range(ticks)]
    for spans, grid in ((truth, truth_roles), (predicted, pred_roles)):
        for start, stop, role in spans:
            for k in range(max(0, round(start / step)), min(ticks, round(stop / step))):
                grid[k].add(role)
    speech = [k for k in range(ticks) if truth_roles[k]]
    if not speech:
        return 0.0
    return sum(1 for k in speech if truth_roles[k] & pred_roles[k]) / len(speech)


def talk_ratio(intervals: Iterable[Interval]) -> float:
    """The rep's share of speech time (turn durations summed, as the contract defines it)."""
    rep = total = 0.0
    for start, end, role in intervals:
        total += end - start
        rep += (end - start) if role == "rep" else 0.0
    return rep / total if total else 0.0


@dataclass
class ObjectionMatch:
    true_positives: int
    false_positives: int
    false_negatives: int
    handled_correct: int  # among matched objections, predicted `handled` equals the label
    wrong_type: int = 0  # false positives at a missed truth objection of another type (one FP, one FN)


@dataclass
class LabeledObjection:
    type: str
    start: float
    end: float
    handled: bool | None = None


def match_objections(truth: Sequence[LabeledObjection], predicted: Sequence[LabeledObjection],
                     tolerance: float = 3.0) -> ObjectionMatch:
    """Type-level matching: a prediction is a hit when an unmatched truth objection has its type and
    overlaps it in time, allowing `tolerance` seconds either side. Each truth objection matches once.
    Of the misses, those where an objection was found at the time of a missed one of another type are
    counted apart (wrong_type): the customer's pushback was heard, its kind was not."""

    def near(p: LabeledObjection, t: LabeledObjection) -> bool:
        return p.start - tolerance <= t.end and t.start <= p.end + tolerance

    unmatched = list(range(len(truth)))
    spare = []
    tp = handled = 0
    for p in sorted(predicted, key=lambda o: o.start):
        hit = next((i for i in unmatched if truth[i].type == p.type and near(p, truth[i])), None)
        if hit is None:
            spare.append(p)
            continue
        unmatched.remove(hit)
        tp += 1
        handled += int(truth[hit].handled == p.handled)
    missed = list(unmatched)
    wrong_type = 0
    for p in spare:
        other = next((i for i in missed if near(p, truth[i])), None)
        if other is not None:
            missed.remove(other)
            wrong_type += 1
    return ObjectionMatch(tp, len(predicted) - tp, len(unmatched), handled, wrong_type)


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def rubric_agreement(truth: dict[str, bool | None], predicted: dict[str, bool | None]) -> tuple[int, int]:
    """(agreeing items, labeled items): `passed` equal to the truth label, null included; an item
    missing from the prediction counts as disagreement."""
    agree = sum(1 for item, label in truth.items() if item in predicted and predicted[item] == label)
    return agree, len(truth)


def summary_stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, median and count of the values that exist."""
    if not values:
        return {"mean": None, "median": None, "n": 0}
    return {"mean": statistics.fmean(values), "median": statistics.median(values), "n": len(values)}
