"""Decode one audio channel into timed words, with guards against Whisper's known failures.

- Language: detected per channel from its speech, restricted to the product's languages (zh, en);
  decoding then runs multilingual, so English sentences inside a Mandarin call stay English.
- Mandarin: a simplified-Chinese initial prompt (gives simplified text with punctuation);
  whatever traditional characters still leak through are converted offline.
- Repetition loops (one unit said five or more times, or a high compression ratio): the segment
  is decoded again alone with a repetition penalty; a loop that survives is collapsed.
- Dropped speech (a stretch of VAD speech that got no words, typically a sentence skipped inside
  a long turn): that stretch is decoded again on its own.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from asr.model import LoadedModel
from asr.text import collapse_loops, has_loop, to_simplified
from callscope.config import Settings
from models.document import Word

SAMPLE_RATE = 16000
LANGUAGES = ("zh", "en")
PROMPTS = {"zh": "以下是普通话的句子。"}
# VAD tuned for telephone turn-taking: short pauses stay inside one region. A dict, not VadOptions:
# the batched pipeline then adds its own 30 s cap on a region (it trusts a VadOptions as given)
VAD = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}
# Whisper's own threshold: text this compressible is usually a loop
LOOP_COMPRESSION_RATIO = 2.4
# speech (seconds) left without words after decoding that is worth a second pass
MIN_GAP = 1.5
# how far (seconds) a word's time may reach to cover neighbouring speech
WORD_REACH = 0.4
# re-decoded text this unlikely is treated as a hallucination on noise and dropped
MIN_REDECODE_LOGPROB = -1.0
MAX_REDECODE_NO_SPEECH = 0.6
# tokens a re-decoded stretch may produce per second of audio (fast Mandarin is ~6 characters/s)
REDECODE_TOKENS_PER_SECOND = 15
MAX_REDECODE_TOKENS = 200
# a region whose words average below this probability gets its language checked alone
SWITCH_CHECK_PROBABILITY = 0.6
# ... and is decoded again when the other language wins with at least this probability
SWITCH_MIN_PROBABILITY = 0.6
PROGRESS_EVERY = 20
_SENTENCE_END = ("。", "？", "！", "，", ".", "?", "!", ",")  # segments between progress messages


@dataclass
class ChannelResult:
    words: list[Word]
    language: str
    language_probability: float
    speech: list[tuple[float, float]]  # VAD speech regions, seconds
    seconds: float  # wall time spent decoding
    guards: Counter[str] = field(default_factory=Counter)


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    regions = get_speech_timestamps(audio, VadOptions(**VAD))
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in regions]


def detect_language(model: LoadedModel, audio: np.ndarray,
                    speech: list[tuple[float, float]]) -> tuple[str, float]:
    """The channel's language among LANGUAGES, with its probability, from its first 30 s of speech
    (the VAD regions already found: running VAD over the whole channel again cost a second per channel)."""
    pieces, total = [], 0
    for start, end in speech:
        piece = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        pieces.append(piece[: 30 * SAMPLE_RATE - total])
        total += len(pieces[-1])
        if total >= 30 * SAMPLE_RATE:
            break
    _, _, probs = model.whisper.detect_language(np.concatenate(pieces), vad_filter=False,
                                                language_detection_segments=1)
    ranked = {lang: p for lang, p in probs if lang in LANGUAGES}
    # Whisper often hears Mandarin as Cantonese or Japanese: those votes count for zh
    ranked["zh"] = ranked.get("zh", 0.0) + sum(p for lang, p in probs if lang in ("yue", "ja"))
    best = max(LANGUAGES, key=lambda lang: ranked.get(lang, 0.0))
    return best, float(ranked.get(best, 0.0))


def decode_channel(model: LoadedModel, audio: np.ndarray, settings: Settings, *, language: str | None,
                   batched: bool, progress: Callable[[str], None], label: str) -> ChannelResult:
    """All words of one channel, in time order, with absolute times."""
    t0 = time.perf_counter()
    speech = speech_regions(audio)
    if not speech:
        return ChannelResult([], language or "zh", 0.0, [], time.perf_counter() - t0)
    forced = language is not None
    probability = 1.0
    if language is None:
        language, probability = detect_language(model, audio, speech)
    options = _options(settings, language, multilingual=not forced)
    if batched:
        segments, _ = model.batched.transcribe(audio, batch_size=settings.batch_size,
                                               vad_parameters=dict(VAD), **options)
    else:
        segments, _ = model.whisper.transcribe(audio, vad_filter=True, vad_parameters=dict(VAD), **options)

    guards: Counter[str] = Counter()
    words: list[Word] = []
    duration = len(audio) / SAMPLE_RATE
    for i, segment in enumerate(segments, 1):
        seg_words = _words(segment)
        if has_loop(segment.text) or segment.compression_ratio > LOOP_COMPRESSION_RATIO:
            guards["repetition_redecoded"] += 1
            seg_words = _redecode(model, audio, segment.start, segment.end, settings, language,
                                  repetition_penalty=1.3, no_repeat_ngram_size=3) or seg_words
        words.extend(seg_words)
        if i % PROGRESS_EVERY == 0:
            progress(f"{label}: transcribed {segment.end:.0f}s of {duration:.0f}s")

    if not forced:
        words = _recheck_language(model, audio, speech, words, settings, language, guards)
    for start, end in uncovered_speech(speech, words):
        extra = _redecode(model, audio, start, end, settings, language)
        if extra:
            guards["dropped_speech_redecoded"] += 1
            words.extend(extra)
    words.sort(key=lambda w: w.start)
    moved = realign_boundary_words(words, speech)
    if moved:
        guards["boundary_words_moved"] += moved
    words, collapsed = _collapse(words)
    if collapsed:
        guards["repetition_collapsed"] += collapsed
    return ChannelResult(words, language, probability, speech, time.perf_counter() - t0, guards)


def _recheck_language(model: LoadedModel, audio: np.ndarray, speech: list[tuple[float, float]],
                      words: list[Word], settings: Settings, language: str,
                      guards: Counter[str]) -> list[Word]:
    """Code-switching: a region decoded with low confidence may be in the other language.

    The batched decoder detects language per 30 s chunk, so one English sentence among Mandarin
    ones comes out as Chinese nonsense with low word probabilities. Such a region's language is
    detected alone; when it differs, the region is decoded again in that language.
    """
    for start, end in speech:
        inside = [w for w in words if start <= (w.start + w.end) / 2 < end]
        if inside and float(np.mean([w.probability for w in inside])) >= SWITCH_CHECK_PROBABILITY:
            continue
        a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        other, probability = _region_language(model, audio[a:b])
        if other == language or probability < SWITCH_MIN_PROBABILITY:
            continue
        redone = _redecode(model, audio, start, end, settings, other)
        if redone:
            guards["language_switch_redecoded"] += 1
            words = [w for w in words if w not in inside] + redone
    return words


def _region_language(model: LoadedModel, audio: np.ndarray) -> tuple[str, float]:
    _, _, probs = model.whisper.detect_language(audio)
    ranked = dict(probs)
    best = max(LANGUAGES, key=lambda lang: ranked.get(lang, 0.0))
    return best, float(ranked.get(best, 0.0))


def _options(settings: Settings, language: str, *, multilingual: bool) -> dict[str, Any]:
    hotwords = ", ".join(settings.hotword_list) or None
    return {
        "language": language,
        "multilingual": multilingual,
        "initial_prompt": PROMPTS.get(language),
        "hotwords": hotwords,
        "beam_size": settings.beam_size,
        "word_timestamps": True,
        # a wrong sentence must not poison the next one (a main cause of loops)
        "condition_on_previous_text": False,
        "compression_ratio_threshold": LOOP_COMPRESSION_RATIO,
    }


def _words(segment: Any, offset: float = 0.0) -> list[Word]:
    return [
        Word(start=w.start + offset, end=w.end + offset, text=to_simplified(w.word),
             probability=w.probability)
        for w in segment.words or []
        if w.word.strip()
    ]


def _redecode(model: LoadedModel, audio: np.ndarray, start: float, end: float, settings: Settings,
              language: str, **extra: Any) -> list[Word]:
    """Decode [start, end] alone (no VAD: it is known speech); drop output that looks like noise.

    One pass at temperature 0 with a token budget fitting the stretch's length: a loop on hard audio
    would otherwise run through every fallback temperature to the model's token limit (measured: 20 s
    spent on one 2 s stretch, for output then dropped as noise). Packing several stretches into one
    window to share an encoder pass was tried and lost: the decoder skipped most of them again.
    """
    a, b = max(0, int((start - 0.2) * SAMPLE_RATE)), min(len(audio), int((end + 0.2) * SAMPLE_RATE))
    offset = a / SAMPLE_RATE
    budget = min(MAX_REDECODE_TOKENS, int(REDECODE_TOKENS_PER_SECOND * (b - a) / SAMPLE_RATE) + 8)
    options = {**_options(settings, language, multilingual=False), "temperature": 0.0,
               "max_new_tokens": budget, **extra}
    segments, _ = model.whisper.transcribe(audio[a:b], vad_filter=False, **options)
    words: list[Word] = []
    for segment in segments:
        if segment.avg_logprob < MIN_REDECODE_LOGPROB or segment.no_speech_prob > MAX_REDECODE_NO_SPEECH:
            continue
        words.extend(_words(segment, offset))
    return words


def realign_boundary_words(words: list[Word], speech: list[tuple[float, float]]) -> int:
    """Move words glued to the end of one speech region back to the start of the next one.

    Decoding joins VAD regions with the silence cut out, so the first word of an utterance can be
    timed at the end of the previous one. Such a word is the last of its region and runs past the
    region's end into silence (a true last word ends inside the region's padding). Returns the count.
    """
    moved = 0
    for i, word in enumerate(words):
        region = next((k for k, (a, b) in enumerate(speech) if a <= word.start < b), None)
        if region is None or region + 1 >= len(speech) or word.end <= speech[region][1]:
            continue
        if word.text.rstrip().endswith(_SENTENCE_END):
            continue  # it closes a sentence: truly the last word
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt is not None and nxt.start < speech[region][1]:
            continue  # not the last word of its region
        length = min(word.end - word.start, 1.0)
        word.start = speech[region + 1][0]
        word.end = word.start + length
        moved += 1
    words.sort(key=lambda w: w.start)
    return moved


def uncovered_speech(speech: list[tuple[float, float]], words: list[Word]) -> list[tuple[float, float]]:
    """Stretches of VAD speech of at least MIN_GAP seconds that no word reaches."""
    covered = sorted((w.start - WORD_REACH, w.end + WORD_REACH) for w in words)
    gaps: list[tuple[float, float]] = []
    for start, end in speech:
        cursor = start
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a - cursor >= MIN_GAP:
                gaps.append((cursor, a))
            cursor = max(cursor, b)
        if end - cursor >= MIN_GAP:
            gaps.append((cursor, end))
    return gaps


def _collapse(words: list[Word]) -> tuple[list[Word], int]:
    """Last line of defence against loops: collapse repeats inside words and runs of repeated words."""
    count = 0
    for w in words:
        w.text, n = collapse_loops(w.text)
        count += n
    kept: list[Word] = []
    for w in words:
        # a word that is the fifth copy in a row of the same text is a loop
        run = kept[-4:]
        if len(run) == 4 and all(k.text.strip() == w.text.strip() for k in run):
            count += 1
            continue
        kept.append(w)
    return kept, count
