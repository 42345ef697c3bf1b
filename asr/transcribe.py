"""Recording -> Transcript: speaker turns with roles, in simplified Chinese or English.

Stereo calls (one speaker per channel): each channel is decoded alone (VAD skips the silence,
including the time the other party speaks); the channel's words become its speaker's turns
and the two sides are merged by time. S0 is the rep's channel, S1 the customer's.
Mono calls: the mix is decoded, diarization says who spoke when, each word goes to the
speaker it overlaps most, and asr.roles decides which speaker is the rep. Where the voices are too
alike for diarization, each pause-separated utterance gets its role from turn-taking and its words.
Either way turn edges then move out to the VAD region edges, as word times clip the voice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from callscope.asr.decoding import ChannelResult, decode_channel
from callscope.asr.homophones import NO_VOCABULARY, Vocabulary
from callscope.asr.model import load_model
from callscope.asr.turns import (
    Span,
    SpeakerWord,
    assign_speakers,
    build_turns,
    smooth_within_regions,
    snap_to_regions,
    snap_to_speech,
)
from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.document import Recording, Role, Transcript, Turn


def _quiet(_: str) -> None:
    pass


def transcribe(recording: Recording, settings: Settings, *, language: str | None = None,
               vocabulary: Vocabulary = NO_VOCABULARY,
               progress: Callable[[str], None] = _quiet) -> Transcript:
    """Transcribe a recording. `language` (zh | en) overrides detection; `vocabulary` (from the
    pipeline) holds the sales words that misheard homophones are spelled as."""
    if language not in (None, "zh", "en"):
        raise InputError(f"language must be auto, zh or en, not {language!r}")
    model = load_model(settings)
    t0 = time.perf_counter()
    if recording.layout == "stereo":
        turns, speakers, channels = _stereo(recording, settings, model, language, vocabulary, progress)
    else:
        turns, speakers, channels = _mono(recording, settings, model, language, vocabulary, progress)
    guards: Counter[str] = Counter()
    for result in channels.values():
        guards.update(result.guards)
    return Transcript(
        duration=recording.duration,
        language=_dominant_language(turns, channels),
        layout=recording.layout,
        turns=turns,
        speakers=speakers,
        asr={
            "model": model.name,
            "device": model.device,
            "compute_type": model.compute_type,
            "decoder": "batched",
            "hotwords": settings.hotword_list,
            "decode_seconds": round(time.perf_counter() - t0, 2),
            "channels": [
                {"channel": ch, "language": r.language,
                 "language_probability": round(r.language_probability, 3),
                 "decode_seconds": round(r.seconds, 2), "words": len(r.words),
                 "unheard_speech": [[round(a, 2), round(b, 2)] for a, b in r.unheard]}
                for ch, r in channels.items()
            ],
            "guards": dict(guards),
        },
    )


def _stereo(recording: Recording, settings: Settings, model, language: str | None, vocabulary: Vocabulary,
            progress: Callable[[str], None]) -> tuple[list[Turn], dict[str, Role], dict[int, ChannelResult]]:
    rep = recording.rep_channel or 0
    speaker_of = {ch: ("S0" if ch == rep else "S1") for ch in range(len(recording.channels))}
    roles: dict[str, Role] = {"S0": "rep", "S1": "customer"}
    results: dict[int, ChannelResult] = {}
    words: list[SpeakerWord] = []
    for ch, audio in enumerate(recording.channels):
        label = f"channel {ch} ({roles[speaker_of[ch]]})"
        progress(f"{label}: transcribing")
        results[ch] = decode_channel(model, audio, settings, language=language, progress=progress,
                                     label=label, vocabulary=vocabulary)
        words.extend(SpeakerWord(w, speaker_of[ch], ch) for w in results[ch].words)
    default = _majority(r.language for r in results.values())
    turns = build_turns(words, roles, default_language=default)
    snap_to_speech(turns, {ch: r.speech for ch, r in results.items()})
    return turns, roles, results


def _mono(recording: Recording, settings: Settings, model, language: str | None, vocabulary: Vocabulary,
          progress: Callable[[str], None]) -> tuple[list[Turn], dict[str, Role], dict[int, ChannelResult]]:
    from callscope.asr.diarize import diarize
    from callscope.asr.roles import assign_roles, voices_take_turns

    audio = recording.mixed()
    progress("mono: transcribing")
    result = decode_channel(model, audio, settings, language=language, progress=progress, label="mono",
                            vocabulary=vocabulary)
    progress("mono: telling speakers apart")
    spans = [Span(s.start, s.end, s.speaker)
             for s in diarize(audio, recording.sample_rate, result.speech or None)]
    utterances = _utterances(result)
    if voices_take_turns(utterances, [_main_speaker(spans, u.start, u.end) for u in utterances]):
        words = assign_speakers(result.words, spans)
        smooth_within_regions(words, result.speech)
        turns = build_turns(words, {}, default_language=result.language)
        roles: dict[str, Role] = dict(assign_roles(turns)) if turns else {}
        for turn in turns:
            turn.role = roles.get(turn.speaker, "customer")
    else:
        turns, roles = _by_turn_taking(utterances, result.language)
    snap_to_regions(turns, result.speech)
    return turns, roles, {0: result}


def _utterances(result: ChannelResult) -> list[Turn]:
    """The words of each stretch of speech (VAD region), cut further at long pauses, in time order."""
    regions = [Span(a, b, f"U{i}") for i, (a, b) in enumerate(result.speech)]
    return build_turns(assign_speakers(result.words, regions), {}, default_language=result.language)


def _main_speaker(spans: list[Span], start: float, end: float) -> str | None:
    """The diarization speaker with the most time in [start, end] (None: no span overlaps it)."""
    held: Counter[str] = Counter()
    for span in spans:
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > 0:
            held[span.speaker] += overlap
    return held.most_common(1)[0][0] if held else None


def _by_turn_taking(utterances: list[Turn], language: str) -> tuple[list[Turn], dict[str, Role]]:
    """Mono turns when the voices cannot be told apart: asr.roles reads each utterance's role from
    turn-taking and its words; one speaker per role (S0 speaks first)."""
    from callscope.asr.roles import roles_by_turn_taking

    speaker_of: dict[Role, str] = {}
    words: list[SpeakerWord] = []
    for utterance, role in zip(utterances, roles_by_turn_taking(utterances), strict=True):
        speaker = speaker_of.setdefault(role, f"S{len(speaker_of)}")
        words.extend(SpeakerWord(w, speaker) for w in utterance.words)
    roles: dict[str, Role] = {s: r for r, s in speaker_of.items()}
    return build_turns(words, roles, default_language=language), roles


def _majority(languages) -> str:
    counts = Counter(languages)
    return counts.most_common(1)[0][0] if counts else "zh"


def _dominant_language(turns: list[Turn], channels: dict[int, ChannelResult]) -> str:
    """The language most of the speech time is in (zh when undecided)."""
    time_by_language: Counter[str] = Counter()
    for turn in turns:
        time_by_language[turn.language] += turn.duration
    if not time_by_language:
        return _majority(r.language for r in channels.values())
    return "en" if time_by_language["en"] > time_by_language["zh"] else "zh"
