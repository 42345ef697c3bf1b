"""Recording -> Transcript: speaker turns with roles, in simplified Chinese or English.

Stereo calls (one speaker per channel): each channel is decoded alone (VAD skips the silence,
including the time the other party speaks); the channel's words become its speaker's turns
and the two sides are merged by time. S0 is the rep's channel, S1 the customer's.
Mono calls go through four steps, each a function of its own (whisperX's shape): decode the mix;
diarize (`diarize_mono`: speaker embeddings where they tell the voices apart, else the MFCC labels
where they follow the turn-taking, else each pause-separated utterance's role from turn-taking and
its words); turns (`mono_turns`: each word to the speaker it overlaps most); roles (`mono_roles`:
asr.roles decides which speaker is the rep). Transcript.asr["diarization"] says which method ran.
Either way turn edges then move out to the VAD region edges, as word times clip the voice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from callscope.asr.decoding import ChannelResult, decode_channel
from callscope.asr.diarize import Diarization, SpeakerSpan
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

# mono, speaker embeddings: a speaker change inside one stretch of speech must last this long (seconds);
# asr.turns' MIN_SPEAKER_RUN (1.5 s, for the MFCC labels) merged real 1.1-1.2 s replies of a joined
# two-voice call into the other speaker's turn
EMBEDDING_MIN_RUN = 0.4


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
    diarization: Diarization | None = None
    if recording.layout == "stereo":
        turns, speakers, channels = _stereo(recording, settings, model, language, vocabulary, progress)
    else:
        turns, speakers, channels, diarization = _mono(recording, settings, model, language, vocabulary,
                                                       progress)
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
            **({"diarization": diarization.summary()} if diarization else {}),
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
        with model.decoding():  # one channel decode at a time per shared model (asr.model)
            results[ch] = decode_channel(model, audio, settings, language=language, progress=progress,
                                         label=label, vocabulary=vocabulary)
        words.extend(SpeakerWord(w, speaker_of[ch], ch) for w in results[ch].words)
    default = _majority(r.language for r in results.values())
    turns = build_turns(words, roles, default_language=default)
    turns = snap_to_speech(turns, {ch: r.speech for ch, r in results.items()})
    return turns, roles, results


def _mono(recording: Recording, settings: Settings, model, language: str | None, vocabulary: Vocabulary,
          progress: Callable[[str], None]) -> tuple[list[Turn], dict[str, Role], dict[int, ChannelResult],
                                                     Diarization]:
    """decode -> diarize -> turns -> roles (whisperX's shape), each step a function of its own."""
    audio = recording.mixed()
    progress("mono: transcribing")
    with model.decoding():
        result = decode_channel(model, audio, settings, language=language, progress=progress, label="mono",
                                vocabulary=vocabulary)
    progress("mono: telling speakers apart")
    diarization = diarize_mono(audio, recording.sample_rate, result, method=settings.diarizer)
    progress(f"mono: {diarization.speakers} speakers ({diarization.method})")
    turns = mono_turns(result, diarization)
    roles = mono_roles(turns, diarization)
    turns = snap_to_regions(turns, result.speech)
    return turns, roles, {0: result}, diarization


def diarize_mono(audio, sample_rate: int, result: ChannelResult, *, method: str = "auto") -> Diarization:
    """The diarization step: speaker embeddings where they separate the voices; else the MFCC labels,
    kept where asr.roles finds they follow the turn-taking; else one speaker per role by turn-taking."""
    from callscope.asr.diarize import diarize_call
    from callscope.asr.roles import roles_by_turn_taking, voices_take_turns

    diarization = diarize_call(audio, sample_rate, result.speech or None, method=method)
    if diarization.method == "embeddings" or method == "mfcc":
        return diarization
    spans = [Span(s.start, s.end, s.speaker) for s in diarization.spans]
    utterances = _utterances(result)
    if voices_take_turns(utterances, [_main_speaker(spans, u.start, u.end) for u in utterances]):
        return diarization
    speaker_of: dict[Role, str] = {}
    by_role: list[SpeakerSpan] = []
    for utterance, role in zip(utterances, roles_by_turn_taking(utterances), strict=True):
        speaker = speaker_of.setdefault(role, f"S{len(speaker_of)}")
        by_role.append(SpeakerSpan(utterance.start, utterance.end, speaker))
    return replace(diarization, spans=by_role, method="turn-taking", speakers=len(speaker_of),
                   roles={s: r for r, s in speaker_of.items()},
                   reason=f"{diarization.reason}; the MFCC labels do not follow the turn-taking")


def mono_turns(result: ChannelResult, diarization: Diarization) -> list[Turn]:
    """The turns step: each word to the speaker whose span it overlaps most, cut at changes and pauses."""
    words = assign_speakers(result.words, [Span(s.start, s.end, s.speaker) for s in diarization.spans])
    if diarization.method == "mfcc":
        smooth_within_regions(words, result.speech)
    elif diarization.method == "embeddings":  # their re-segmentation smooths already; a real 1 s reply stays
        smooth_within_regions(words, result.speech, min_run=EMBEDDING_MIN_RUN)
    return build_turns(words, diarization.roles, default_language=result.language)


def mono_roles(turns: list[Turn], diarization: Diarization) -> dict[str, Role]:
    """The roles step: known from the turn-taking, or asr.roles' cues (exactly one rep)."""
    from callscope.asr.roles import assign_roles

    roles: dict[str, Role] = dict(diarization.roles) if diarization.roles else \
        (dict(assign_roles(turns)) if turns else {})
    for turn in turns:
        turn.role = roles.get(turn.speaker, "customer")
    return roles


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
