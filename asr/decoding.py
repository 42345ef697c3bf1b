"""Decode one audio channel into timed words, with guards against Whisper's known failures.

- Language: detected per channel from its speech, restricted to the product's languages (zh, en);
  decoding then runs multilingual, so English sentences inside a Mandarin call stay English.
- Mandarin: a simplified-Chinese initial prompt (gives simplified text with punctuation);
  whatever traditional characters still leak through are converted offline.
- Repetition loops (one unit said five or more times, or a high compression ratio): the segment
  is decoded again alone with a repetition penalty; a loop that survives is collapsed.
- Second look, batched: dropped speech (VAD speech that got no heard words: a whole region of 1 s or
  more, or 1.5 s inside one; typically an utterance the packed main pass skipped, or a sentence
  skipped inside a long turn) are decoded again; doubtful regions (words of low probability:
  perhaps the other language) get a language check on their own audio, and only those heard in the
  other language are decoded again.
- Mandarin homophones of sales words are corrected last (asr.homophones: 和同 -> 合同).
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper.transcribe import restore_speech_timestamps
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from callscope.asr.homophones import NO_VOCABULARY, Vocabulary, correct_words
from callscope.asr.model import LoadedModel
from callscope.asr.text import collapse_loops, has_loop, join_words, text_language, to_simplified
from callscope.core.config import Settings
from callscope.models.document import Word

SAMPLE_RATE = 16000
LANGUAGES = ("zh", "en")
PROMPTS = {"zh": "以下是普通话的句子。"}
# VAD tuned for telephone turn-taking: short pauses stay inside one region
VAD = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}
WINDOW_SECONDS = 30  # Whisper's window: the main pass's VAD cuts a longer region there
# speech a channel's language is detected from: 15 s and 30 s agreed on the first 16 channels of the dev
# set (zh and en); each second costs encoder time
LANGUAGE_SECONDS = 15
# Whisper's own threshold: text this compressible is usually a loop
LOOP_COMPRESSION_RATIO = 2.4
# speech (seconds) left without words after decoding that is worth a second pass
MIN_GAP = 1.5
# a whole VAD region this long (seconds) with no heard word is dropped speech, whatever MIN_GAP says:
# every utterance of 1 s or more must yield words (a 1.5 s "北京科技馆" at the end of a call vanished)
MIN_REGION = 1.0
# how far (seconds) a word's time may reach to cover neighbouring speech
WORD_REACH = 0.4
# a word the decoder gives less than this probability does not count as hearing the speech around it:
# a sentence can decode as one stray character ("It is the industry standard." as 数, p 0.24)
HEARD_PROBABILITY = 0.3
# re-decoded text this unlikely is treated as a hallucination on noise and dropped
MIN_REDECODE_LOGPROB = -1.0
MAX_REDECODE_NO_SPEECH = 0.6
# ...unless the model is sure of its text (Whisper's own rule needs both: silence likely AND text unsure).
# The Chinese prompt lifts the no-speech probability of an English sentence: a real 8.7 s English
# utterance in a Mandarin call, decoded alone word-perfect at log-probability -0.08, read 0.64 and was
# dropped whole
SURE_LOGPROB = -0.5
# tokens a re-decoded stretch may produce per second of audio (fast Mandarin is ~6 characters/s);
# from MAX_REDECODE_TOKENS on, the model's own limit applies
REDECODE_TOKENS_PER_SECOND = 15
MAX_REDECODE_TOKENS = 200
CLIP_SECONDS = 28.0  # longest clip of the second-look pass
PACK_GAP = 0.3  # silence between stretches packed into one clip
# a unit of up to this many words said LOOP_REPEATS times in a row is a decoder loop
LOOP_UNIT_WORDS = 4
LOOP_REPEATS = 5
# a region whose words average below this probability gets a language check (perhaps the other
# language). 0.6 missed "It is the industry standard." in mixed-demo on one machine kind (written 数据,
# p .24/.98, mean 0.61; 0.55 on another); the check is an encoder pass over the region alone, so
# checking more costs little
SWITCH_CHECK_PROBABILITY = 0.7
# a drifting stretch: DRIFT_MIN_WORDS words or more under DRIFT_WORD_PROBABILITY (one surer word, or any
# number under DRIFT_MIDDLING_PROBABILITY, may sit between two), averaging under DRIFT_MEAN_PROBABILITY,
# or under DRIFT_UNSURE_MEAN_PROBABILITY where no word of it reaches DRIFT_MIDDLING_PROBABILITY (a sure
# word inside says the decoder is still on track: dev-15's half-right "freight one extra. Not now is",
# mean 0.42); decoded again alone, kept only if then surer. Chosen on the drift check's raw words (the
# check off) of the tuning set, the phone-band dev renders, the samples, the joined real-speech clips and
# the English dev calls: the old rule (0.4, no middling words) caught nothing there, not even zh-demo's
# invented tail (案 .25 坚 .24 持 .64 好 .67 朋友 .54 爱 .13 文 .40: mean 0.41, no sure word); this one
# catches that tail alone
DRIFT_WORD_PROBABILITY = 0.5
DRIFT_MIDDLING_PROBABILITY = 0.7
DRIFT_MIN_WORDS = 4  # 3 dropped a half-right 上而英 (少儿英) on phone-band dev-04
DRIFT_MEAN_PROBABILITY = 0.4
DRIFT_UNSURE_MEAN_PROBABILITY = 0.45
PROGRESS_EVERY = 20
# Whisper's temperature fallback samples at random; a fixed seed per channel makes the same audio
# transcribe the same way on every run and in every worker (dev CER of one call varied 0.43-0.51)
RANDOM_SEED = 20261125
_SENTENCE_END = ("。", "？", "！", "，", ".", "?", "!", ",")  # segments between progress messages


@dataclass
class ChannelResult:
    words: list[Word]
    language: str
    language_probability: float
    speech: list[tuple[float, float]]  # VAD speech regions, seconds
    seconds: float  # wall time spent decoding
    guards: Counter[str] = field(default_factory=Counter)
    # speech the model could not transcribe, reported instead of shown or silently lost: VAD regions of
    # MIN_REGION seconds or more with no heard word after the second look (decoded only as noise: a 0.9 s
    # 哦嗯 between two speakers), and drifting stretches dropped (see drifting_stretches)
    unheard: list[tuple[float, float]] = field(default_factory=list)


def speech_chunks(audio: np.ndarray) -> list[dict[str, int]]:
    """VAD speech (samples), a region longer than Whisper's window cut in pieces as faster-whisper's
    batched pipeline cuts it: the main pass decodes these."""
    return get_speech_timestamps(audio, VadOptions(**VAD, max_speech_duration_s=WINDOW_SECONDS))


def speech_regions(chunks: list[dict[str, int]]) -> list[tuple[float, float]]:
    """The VAD regions (seconds) of speech_chunks' pieces, the 30 s cut undone: the pieces of one cut
    region meet or lie under 0.1 s apart (a cut falls in a pause shorter than min_silence_duration_ms,
    minus the padding each side), two regions lie at least that far apart."""
    regions: list[tuple[float, float]] = []
    for chunk in chunks:
        start, end = chunk["start"] / SAMPLE_RATE, chunk["end"] / SAMPLE_RATE
        if regions and start - regions[-1][1] < 0.1:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def _main_pass(model: LoadedModel, audio: np.ndarray, chunks: list[dict[str, int]], settings: Settings,
               options: dict[str, Any]) -> Any:
    """faster-whisper's batched pass over the VAD speech already found: left to itself it runs VAD over
    the channel again (a few per cent of a channel's decode, issue 13). The pieces are glued into clips
    of at most 30 s as its own VAD path glues them, and the times mapped back as it maps them."""
    glued, clips = glued_speech(audio, chunks)
    segments, _ = model.batched.transcribe(glued, clip_timestamps=clips, batch_size=settings.batch_size,
                                           **options)
    return restore_speech_timestamps(segments, chunks, SAMPLE_RATE)


def glued_speech(audio: np.ndarray,
                 chunks: list[dict[str, int]]) -> tuple[np.ndarray, list[dict[str, float]]]:
    """The VAD pieces glued into clips of at most WINDOW_SECONDS, as faster-whisper's own VAD path glues
    them, and each clip's start and end (seconds) in the glued audio."""
    glued, _ = collect_chunks(audio, chunks, max_duration=WINDOW_SECONDS)
    clips, cursor = [], 0
    for piece in glued:
        # +0.5 sample: faster-whisper turns the seconds back into samples by truncating
        start, cursor = cursor, cursor + len(piece)
        clips.append({"start": (start + 0.5) / SAMPLE_RATE, "end": (cursor + 0.5) / SAMPLE_RATE})
    return np.concatenate(glued), clips


def detect_language(model: LoadedModel, audio: np.ndarray,
                    speech: list[tuple[float, float]]) -> tuple[str, float]:
    """The channel's language among LANGUAGES, with its probability, from its first LANGUAGE_SECONDS of
    speech (the VAD regions already found: running VAD over the whole channel again cost a second per
    channel), not padded to a 30 s window: the encoder's cost grows with its input."""
    pieces, total = [], 0
    for start, end in speech:
        piece = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        pieces.append(piece[: LANGUAGE_SECONDS * SAMPLE_RATE - total])
        total += len(pieces[-1])
        if total >= LANGUAGE_SECONDS * SAMPLE_RATE:
            break
    return _language_of(model, np.concatenate(pieces))


def spoken_language(model: LoadedModel, audio: np.ndarray, start: float, end: float) -> str:
    """The language among LANGUAGES of the stretch [start, end) seconds (its first 30 s), from an encoder
    pass over the stretch alone. On the truth turns of the code-switched and phone-band calls (samples,
    dev set, redaction renders) it named 273 of 275 right; the two misses were one-line turns (How many
    licenses?, 四四二零) with both languages near 0."""
    return _language_of(model, audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)])[0]


def _language_of(model: LoadedModel, audio: np.ndarray) -> tuple[str, float]:
    """Whisper's language detection on the audio (its first 30 s) as it is, not padded to the 30 s window
    (the encoder's cost grows with its input: a 3 s stretch costs about a tenth of a window)."""
    features = model.whisper.feature_extractor(audio)
    features = features[:, : min(3000, features.shape[1] - 1)]  # the extractor's padding frame off
    encoded = model.whisper.encode(features)
    return _ranked([(token[2:-2], p) for token, p in model.whisper.model.detect_language(encoded)[0]])


def _ranked(probs: list[tuple[str, float]]) -> tuple[str, float]:
    """The likeliest of LANGUAGES, with its probability, from Whisper's (language, probability) list."""
    ranked = {lang: p for lang, p in probs if lang in LANGUAGES}
    # Whisper often hears Mandarin as Cantonese or Japanese: those votes count for zh
    ranked["zh"] = ranked.get("zh", 0.0) + sum(p for lang, p in probs if lang in ("yue", "ja"))
    best = max(LANGUAGES, key=lambda lang: ranked.get(lang, 0.0))
    return best, float(ranked.get(best, 0.0))


def decode_channel(model: LoadedModel, audio: np.ndarray, settings: Settings, *, language: str | None,
                   progress: Callable[[str], None], label: str,
                   vocabulary: Vocabulary = NO_VOCABULARY) -> ChannelResult:
    """All words of one channel, in time order, with absolute times (deterministic: RANDOM_SEED).
    `vocabulary`: the sales words homophones are corrected to."""
    t0 = time.perf_counter()
    ctranslate2.set_random_seed(RANDOM_SEED)
    chunks = speech_chunks(audio)
    speech = speech_regions(chunks)
    if not speech:
        return ChannelResult([], language or "zh", 0.0, [], time.perf_counter() - t0)
    forced = language is not None
    probability = 1.0
    if language is None:
        language, probability = detect_language(model, audio, speech)
    options = _options(settings, language, multilingual=not forced)
    # faster-whisper's batched pipeline, not sequential decoding: on a 5.6 min stereo call (CPU, int8)
    # it reached CER 0.093 against 0.128; on the 6.8 min phone-band bench call it also costs less CPU
    # (bench.main_pass --phone: 74.1 s against 132.8 s, CER 0.167 against 0.178). Beam 5 stays: beam 2 and
    # 3 cut the pass's CPU by 20 and 7 % but lift the tuning set's CER from 9.0 to 10.1 and 9.8 %
    segments = _main_pass(model, audio, chunks, settings, options)

    guards: Counter[str] = Counter()
    words: list[Word] = []
    duration = len(audio) / SAMPLE_RATE
    for i, segment in enumerate(segments, 1):
        seg_words = _words(segment)
        if _loops(segment):
            guards["repetition_redecoded"] += 1
            seg_words = _redecode(model, audio, segment.start, segment.end, settings, language,
                                  repetition_penalty=1.3, no_repeat_ngram_size=3) or seg_words
        words.extend(seg_words)
        if i % PROGRESS_EVERY == 0:
            progress(f"{label}: transcribed {segment.end:.0f}s of {duration:.0f}s")

    dropped: list[tuple[float, float]] = []
    words = _second_look(model, audio, speech, words, settings, language, forced, guards, dropped)
    words.sort(key=lambda w: w.start)
    moved = realign_boundary_words(words, speech)
    if moved:
        guards["boundary_words_moved"] += moved
    words, collapsed = _collapse(words)
    if collapsed:
        guards["repetition_collapsed"] += collapsed
    if settings.correct_homophones:
        corrected = correct_words(words, vocabulary, settings.hotword_list + settings.extra_term_list)
        if corrected:
            guards["homophone_characters_corrected"] += corrected
    unheard = sorted(unheard_regions(speech, words) + dropped)
    if unheard:
        guards["speech_left_unheard"] += len(unheard)
    return ChannelResult(words, language, probability, speech, time.perf_counter() - t0, guards, unheard)


def unheard_regions(speech: list[tuple[float, float]], words: list[Word]) -> list[tuple[float, float]]:
    """VAD regions of MIN_REGION seconds or more in which no heard word (HEARD_PROBABILITY) lies."""
    return [(a, b) for a, b in speech if b - a >= MIN_REGION
            and not any(w.probability >= HEARD_PROBABILITY and _inside(w, a, b) for w in words)]


def _second_look(model: LoadedModel, audio: np.ndarray, speech: list[tuple[float, float]],
                 words: list[Word], settings: Settings, language: str, forced: bool,
                 guards: Counter[str], dropped: list[tuple[float, float]]) -> list[Word]:
    """Dropped speech, drifting stretches and doubtful regions, decoded again in batched passes.

    - Dropped: a VAD region of MIN_REGION seconds or more, or MIN_GAP seconds inside one, that no heard
      word reaches: an utterance the packed main pass skipped, a sentence skipped inside a long turn,
      or one written as a stray unlikely character.
    - Drifting: a run of unlikely words (drifting_stretches), decoded again alone; the run's words go
      and the new ones stay only if the model is surer of them; else the stretch goes to `dropped`.
    - Doubtful (code-switching): a region whose words average below SWITCH_CHECK_PROBABILITY. The
      main pass picks one language per 30 s chunk, so an English sentence among Mandarin ones comes
      out as Chinese nonsense (or not at all). Each is checked by spoken_language (an encoder pass
      over the region alone, no decoding); only a region heard in the other language is decoded
      again, and its words are replaced only when its clip comes back in the other language
      (otherwise the clip only fills what the region's words do not reach). A region heard in the
      channel's language is left to the gap and drift checks like any other: decoding every doubtful
      region again cost a decode of each, where most are the channel's language (issue 13).
    The stretches go through _redecode_clips.
    """
    doubtful: list[tuple[float, float, list[Word]]] = []
    for start, end in speech if not forced else []:
        inside = [w for w in words if _inside(w, start, end)]
        # a region with no heard word is dropped speech (a gap), not a doubtful one: as a check, the
        # stray unheard word it holds would keep the second look's words out (they "reach" it)
        if (any(w.probability >= HEARD_PROBABILITY for w in inside)
                and float(np.mean([w.probability for w in inside])) < SWITCH_CHECK_PROBABILITY):
            doubtful.append((start, end, inside))
    if doubtful:
        guards["language_checked"] += len(doubtful)
    # only a doubtful region heard in the other language is decoded again; the rest are ordinary speech
    switched = [(s, e, inside) for s, e, inside in doubtful
                if spoken_language(model, audio, s, e) != language]
    gaps = [(a, b) for a, b in uncovered_speech(speech, words)
            if not any(s <= a and b <= e for s, e, _ in switched)]
    taken = gaps + [(s, e) for s, e, _ in switched]
    drifts = [(a, b) for a, b in drifting_stretches(words) if not any(s < b and a < e for s, e in taken)]
    if not gaps and not switched and not drifts:
        return words
    stretches = gaps + drifts
    found = _redecode_clips(model, audio, stretches, [(s, e) for s, e, _ in switched], settings, language,
                            multilingual=not forced)
    for (a, b), extra in zip(gaps, found[: len(gaps)], strict=True):
        if extra:
            guards["dropped_speech_redecoded"] += 1
            # the gap's unheard words (under HEARD_PROBABILITY) give way to what the second look heard
            words = [w for w in words if not _inside(w, a, b)] + extra
    for (a, b), redone in zip(drifts, found[len(gaps): len(stretches)], strict=True):
        # a drifting stretch is never shown as speech: what the stretch decoded alone says, if the model
        # is sure of it this time, or nothing
        words = [w for w in words if not _inside(w, a, b)]
        if redone and float(np.mean([w.probability for w in redone])) >= DRIFT_MEAN_PROBABILITY:
            guards["drifting_stretch_redecoded"] += 1
            words += redone
        else:
            guards["drifting_stretch_dropped"] += 1
            dropped.append((a, b))
    for (_, _, inside), redone in zip(switched, found[len(stretches):], strict=True):
        if not redone:
            continue
        if text_language(join_words([w.text for w in redone]), language) != language:
            guards["language_switch_redecoded"] += 1
            words = [w for w in words if w not in inside] + redone
        elif extra := [w for w in redone if not _reached(w, inside)]:
            guards["dropped_speech_redecoded"] += 1
            words = words + extra
    return words


def drifting_stretches(words: list[Word]) -> list[tuple[float, float]]:
    """Stretches where the decoder drifts: DRIFT_MIN_WORDS or more words under DRIFT_WORD_PROBABILITY,
    at most one surer word (or any number of middling ones) between two of them, averaging under
    DRIFT_MEAN_PROBABILITY or, with no sure word, DRIFT_UNSURE_MEAN_PROBABILITY (zh-demo: the spoken
    省下的赔偿就超过了系统费用 came out as 剩下案。坚持好朋友爱，文娃)."""
    out: list[tuple[float, float]] = []
    run: list[Word] = []

    def close() -> None:
        end = next((w.end for w in reversed(run) if w.probability < DRIFT_MIDDLING_PROBABILITY), 0.0)
        while run and run[-1].probability >= DRIFT_WORD_PROBABILITY:
            run.pop()
        low = sum(w.probability < DRIFT_WORD_PROBABILITY for w in run)
        unsure = all(w.probability < DRIFT_MIDDLING_PROBABILITY for w in run)
        limit = DRIFT_UNSURE_MEAN_PROBABILITY if unsure else DRIFT_MEAN_PROBABILITY
        if low >= DRIFT_MIN_WORDS and float(np.mean([w.probability for w in run])) < limit:
            # the middling words trailing the drift go with it (文娃: 娃 .64 left alone after the drop)
            out.append((run[0].start, end))
        run.clear()

    for word in sorted(words, key=lambda w: w.start):
        if word.probability < DRIFT_WORD_PROBABILITY:
            run.append(word)
        elif run and (run[-1].probability < DRIFT_WORD_PROBABILITY
                      or word.probability < DRIFT_MIDDLING_PROBABILITY):
            run.append(word)  # one surer word, or middling ones, inside a drift do not end it
        else:
            close()
    close()
    return out


def _inside(word: Word, start: float, end: float) -> bool:
    """Whether the word's middle lies in [start, end): a word belongs to one stretch only."""
    return start <= (word.start + word.end) / 2 < end


def _reached(word: Word, words: list[Word]) -> bool:
    middle = (word.start + word.end) / 2
    return any(w.start - WORD_REACH <= middle <= w.end + WORD_REACH for w in words)


def _redecode_clips(model: LoadedModel, audio: np.ndarray, gaps: list[tuple[float, float]],
                    checks: list[tuple[float, float]], settings: Settings, language: str, *,
                    multilingual: bool) -> list[list[Word]]:
    """The words of each gap, then of each check (stretches in seconds), from batched passes.
    Noise-like output is dropped.

    Gaps (speech with no heard words) lying within CLIP_SECONDS of each other are first decoded
    together, as one clip of the call's own audio from the first to the last (pauses and the speech
    between them kept, nothing glued): a loop in the main pass loses the rest of its 30 s chunk, and
    each of the utterances it lost, decoded in a clip of its own, cost a whole encoder pass (phone-band
    redaction calls: 8 gap clips on one channel, more encoder passes than its main pass). A gap of such
    a clip that gets no heard word, or whose clip loops, is decoded again in a clip of its own. Packing
    gaps glued a short silence apart instead repeated the main pass's failure: Whisper decoding glued
    utterances without timestamps skips whole ones and times the words it did write over the skipped
    audio (joined real speech, issue 13). A gap piece that loops gets the repetition guard's remedy.
    Checks (regions that have words, decoded again to test their language) stay packed (one encoder
    pass per CLIP_SECONDS) and get no remedy: their words stand.
    """
    duration = len(audio) / SAMPLE_RATE
    results: list[list[Word]] = [[] for _ in gaps]
    groups = gap_groups(gaps)
    shared = [g for g in groups if len(g) > 1]
    alone = [g[0] for g in groups if len(g) == 1]
    if shared:
        spans = [(max(0.0, gaps[g[0]][0] - 0.2), min(duration, gaps[g[-1]][1] + 0.2)) for g in shared]
        for group, (words, looped) in zip(shared, _decode_spans(model, audio, spans, settings, language,
                                                                multilingual=multilingual), strict=True):
            for word in [] if looped else words:
                i = next((i for i in group if _inside(word, gaps[i][0] - 0.2, gaps[i][1] + 0.2)), None)
                if i is not None:
                    a, b = gaps[i]
                    word.start, word.end = max(a - 0.2, word.start), min(b + 0.2, word.end)
                    results[i].append(word)
            alone += [i for i in group if not any(w.probability >= HEARD_PROBABILITY for w in results[i])]
    if alone:
        alone.sort()
        found, _ = _decode_packed(model, audio, _pieces([gaps[i] for i in alone], duration), len(alone),
                                  settings, language, multilingual=multilingual, pack=False,
                                  remedied=len(alone))
        for i, words in zip(alone, found, strict=True):
            results[i] = words
    if checks:
        found, _ = _decode_packed(model, audio, _pieces(checks, duration), len(checks), settings, language,
                                  multilingual=multilingual, pack=True, remedied=0)
        results += found
    return results


def gap_groups(gaps: list[tuple[float, float]]) -> list[list[int]]:
    """Indices of the gaps, in time order, in groups that one clip of at most CLIP_SECONDS covers
    (with 0.2 s of context each side); a gap longer than that stands alone."""
    groups: list[list[int]] = []
    for i in sorted(range(len(gaps)), key=lambda k: gaps[k][0]):
        if groups and gaps[i][1] - gaps[groups[-1][0]][0] + 0.4 <= CLIP_SECONDS:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _decode_spans(model: LoadedModel, audio: np.ndarray, spans: list[tuple[float, float]],
                  settings: Settings, language: str, *, multilingual: bool) -> list[tuple[list[Word], bool]]:
    """Each span of the call's audio (seconds, at most CLIP_SECONDS) decoded as a clip of its own in one
    batched pass: its words (noise-like segments dropped) and whether it looped."""
    longest = max(b - a for a, b in spans)
    options = {**_options(settings, language, multilingual=multilingual), "max_new_tokens": _budget(longest)}
    segments, _ = model.batched.transcribe(audio, clip_timestamps=[{"start": a, "end": b} for a, b in spans],
                                           batch_size=settings.batch_size, **options)
    out: list[tuple[list[Word], bool]] = [([], False) for _ in spans]
    starts = [a for a, _ in spans]
    for segment in segments:
        k = max(0, bisect.bisect_right(starts, (segment.start + segment.end) / 2) - 1)
        if _loops(segment):
            out[k] = (out[k][0], True)
        elif not _noise(segment):
            out[k][0].extend(_words(segment))
    return out


def _decode_packed(model: LoadedModel, audio: np.ndarray, pieces: list[tuple[int, float, float]], count: int,
                   settings: Settings, language: str, *, multilingual: bool, pack: bool,
                   remedied: int) -> tuple[list[list[Word]], set[int]]:
    """Words per stretch (0..count-1) of the pieces, packed into shared clips (pack) or one clip each,
    and the stretches the decoder produced any words for (kept or rejected). A piece of stretches
    0..remedied-1 that loops is decoded again with the repetition guard's remedy."""
    results: list[list[Word]] = [[] for _ in range(count)]
    heard: set[int] = set()
    if not pieces:
        return results, heard
    silence = np.zeros(int(PACK_GAP * SAMPLE_RATE), dtype=audio.dtype)
    packed: list[np.ndarray] = []
    clips: list[dict[str, float]] = []
    places: list[tuple[float, int, float, float]] = []  # packed start, stretch, audio start, audio end
    cursor = 0.0
    for index, a, b in pieces:
        if not clips or not pack or cursor + (b - a) - clips[-1]["start"] > CLIP_SECONDS:
            clips.append({"start": cursor, "end": cursor})
        places.append((cursor, index, a, b))
        packed += [audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)], silence]
        cursor += (int(b * SAMPLE_RATE) - int(a * SAMPLE_RATE) + len(silence)) / SAMPLE_RATE
        clips[-1]["end"] = cursor
    longest = max(c["end"] - c["start"] for c in clips)
    options = {**_options(settings, language, multilingual=multilingual), "max_new_tokens": _budget(longest)}
    segments, _ = model.batched.transcribe(np.concatenate(packed), clip_timestamps=clips,
                                           batch_size=settings.batch_size, **options)
    starts = [p[0] for p in places]
    looped: set[int] = set()
    for segment in segments:
        loops, noise = _loops(segment), _noise(segment)
        for word in _words(segment):
            # back to the piece the word's middle lies in, and to that piece's time in the call
            k = max(0, bisect.bisect_right(starts, (word.start + word.end) / 2) - 1)
            packed_at, index, a, b = places[k]
            heard.add(index)
            if loops:
                looped.add(k)
            elif not noise:
                word.start, word.end = max(a, word.start - packed_at + a), min(b, word.end - packed_at + a)
                results[index].append(word)
    for k in sorted(looped):  # the repetition guard's remedy, only where a gap's piece looped
        _, index, a, b = places[k]
        if index >= remedied:
            continue
        kept = [w for w in results[index] if not _inside(w, a, b)]
        results[index] = kept + _redecode(model, audio, a, b, settings, language,
                                          repetition_penalty=1.3, no_repeat_ngram_size=3)
    return results, heard


def _pieces(stretches: list[tuple[float, float]], duration: float) -> list[tuple[int, float, float]]:
    """(stretch index, start, end) with 0.2 s of context each side, cut to at most CLIP_SECONDS."""
    out = []
    for index, (start, end) in enumerate(stretches):
        a, b = max(0.0, start - 0.2), min(duration, end + 0.2)
        while b - a > 0.1:
            out.append((index, a, min(b, a + CLIP_SECONDS - PACK_GAP)))
            a += CLIP_SECONDS - PACK_GAP
    return out


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


def _loops(segment: Any) -> bool:
    """A decoder loop: a unit said five or more times, or text as compressible as a loop's."""
    return has_loop(segment.text) or segment.compression_ratio > LOOP_COMPRESSION_RATIO


def _noise(segment: Any) -> bool:
    """Re-decoded output this unlikely is a hallucination on noise."""
    if segment.avg_logprob < MIN_REDECODE_LOGPROB:
        return True
    return segment.no_speech_prob > MAX_REDECODE_NO_SPEECH and segment.avg_logprob < SURE_LOGPROB


def _budget(seconds: float) -> int | None:
    """Tokens a re-decode of this much audio may produce: enough for fast speech, so a short stretch
    cannot loop to the model's limit; a long one gets the model's own limit (None), since a cap there
    would cut real speech (and the prompt shares the model's 448 positions)."""
    budget = int(REDECODE_TOKENS_PER_SECOND * seconds) + 8
    return budget if budget < MAX_REDECODE_TOKENS else None


def _redecode(model: LoadedModel, audio: np.ndarray, start: float, end: float, settings: Settings,
              language: str, **extra: Any) -> list[Word]:
    """Decode [start, end] alone (no VAD: it is known speech); drop output that looks like noise.

    The token budget fits the stretch's length: a loop on a short stretch would otherwise run through
    every fallback temperature to the model's token limit (measured: 20 s spent on one 2 s stretch,
    for output then dropped as noise). The fallback itself stays: a long looping segment needs it.
    """
    a, b = max(0, int((start - 0.2) * SAMPLE_RATE)), min(len(audio), int((end + 0.2) * SAMPLE_RATE))
    offset = a / SAMPLE_RATE
    options = {**_options(settings, language, multilingual=False),
               "max_new_tokens": _budget((b - a) / SAMPLE_RATE), **extra}
    segments, _ = model.whisper.transcribe(audio[a:b], vad_filter=False, **options)
    words: list[Word] = []
    for segment in segments:
        if not _noise(segment):
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
    """Stretches of VAD speech of at least MIN_GAP seconds that no heard word reaches (words under
    HEARD_PROBABILITY do not count)."""
    covered = sorted((w.start - WORD_REACH, w.end + WORD_REACH) for w in words
                     if w.probability >= HEARD_PROBABILITY)
    gaps: list[tuple[float, float]] = []
    for start, end in speech:
        if end - start >= MIN_REGION and not any(a < end and b > start for a, b in covered):
            gaps.append((start, end))
            continue
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
    """Last line of defence against loops: collapse repeats inside words, and runs of a repeated unit of
    one to LOOP_UNIT_WORDS words ("女傅子" x 40 is three words looping) to the unit's first copies."""
    count = 0
    for w in words:
        w.text, n = collapse_loops(w.text)
        count += n
    kept: list[Word] = []
    for w in words:
        kept.append(w)
        for size in range(1, LOOP_UNIT_WORDS + 1):
            # the newest word completes the LOOP_REPEATS-th copy of the last `size` words: drop that copy
            span = size * LOOP_REPEATS
            if len(kept) < span:
                continue
            tail = [k.text.strip() for k in kept[-span:]]
            if all(tail[i] == tail[i % size] for i in range(span)):
                del kept[-size:]
                count += 1
                break
    return kept, count
