"""The speech stages of the pipeline, each a function of its own with typed input and output
(whisperX's shape): decode -> diarize (find_speakers) -> turns -> roles, then `transcript` puts them together.
callscope.pipeline.transcribe runs them in that order.

- `decode` (Recording -> Decoded): Whisper on each channel (stereo: one speaker per channel, VAD skips
  the time the other party speaks) or on the mono mix.
- `find_speakers` (Decoded -> Speakers), the diarize stage: who speaks when. Stereo: the channel
  says it (S0 is the rep's channel, S1 the customer's). Mono: speaker embeddings where they tell the
  voices apart, else the MFCC labels where they follow the turn-taking, else each pause-separated
  utterance's role from turn-taking and its words (asr.diarize, asr.roles);
  Transcript.asr["diarization"] says which ran.
- `speaker_turns` (Decoded, Speakers -> list[Turn]): each word to its channel's speaker, or to the
  diarization speaker it overlaps most; turns cut at speaker changes and pauses.
- `assign_roles` (turns, Speakers -> Roles): rep or customer per speaker, known from the channel or the
  turn-taking, else asr.roles' cues (exactly one rep).
- `transcript`: turn edges move out to the VAD region edges (word times clip the voice), and the
  Transcript carries the model, the per-channel figures and the diarization summary.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

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

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Decoded:
    """The decode stage's output: the words and speech regions of each decoded channel."""

    recording: Recording
    channels: dict[int, ChannelResult]  # stereo: by channel; mono: {0: the mix}
    audio: np.ndarray | None  # mono: the mix that was decoded (diarization listens to it); stereo: None
    model: str
    device: str
    compute_type: str
    hotwords: list[str]
    seconds: float

    @property
    def mono(self) -> ChannelResult:
        return self.channels[0]


@dataclass
class Speakers:
    """The diarize stage's output: who speaks when."""

    by_channel: dict[int, str]  # stereo: channel -> speaker id; mono: empty
    diarization: Diarization | None  # mono: the spans, the method and why; stereo: None
    roles: dict[str, Role]  # known already (the rep's channel, or turn-taking), else empty


@dataclass
class Roles:
    """The roles stage's output: rep or customer for each speaker id."""

    by_speaker: dict[str, Role]


def decode(recording: Recording, settings: Settings, *, language: str | None = None,
           vocabulary: Vocabulary = NO_VOCABULARY, progress: Progress = _quiet) -> Decoded:
    """Whisper on each channel (stereo) or on the mono mix. `language` (zh | en) overrides detection;
    `vocabulary` (from the pipeline) holds the sales words that misheard homophones are spelled as."""
    if language not in (None, "zh", "en"):
        raise InputError(f"language must be auto, zh or en, not {language!r}")
    model = load_model(settings)
    t0 = time.perf_counter()
    channels: dict[int, ChannelResult] = {}
    audio = None
    if recording.layout == "stereo":
        rep = recording.rep_channel or 0
        for ch, channel_audio in enumerate(recording.channels):
            label = f"channel {ch} ({'rep' if ch == rep else 'customer'})"
            progress(f"{label}: transcribing")
            with model.decoding():  # one channel decode at a time per shared model (asr.model)
                channels[ch] = decode_channel(model, channel_audio, settings, language=language,
                                              progress=progress, label=label, vocabulary=vocabulary)
    else:
        audio = recording.mixed()
        progress("mono: transcribing")
        with model.decoding():
            channels[0] = decode_channel(model, audio, settings, language=language, progress=progress,
                                         label="mono", vocabulary=vocabulary)
    return Decoded(recording, channels, audio, model.name, model.device, model.compute_type,
                   settings.hotword_list, time.perf_counter() - t0)


def find_speakers(decoded: Decoded, settings: Settings, progress: Progress = _quiet) -> Speakers:
    """Who speaks when: the channels (stereo), or the mono diarization of `diarize_mono`."""
    recording = decoded.recording
    if recording.layout == "stereo":
        rep = recording.rep_channel or 0
        by_channel = {ch: ("S0" if ch == rep else "S1") for ch in decoded.channels}
        return Speakers(by_channel, None, {"S0": "rep", "S1": "customer"})
    progress("mono: telling speakers apart")
    diarization = diarize_mono(decoded.audio, recording.sample_rate, decoded.mono, method=settings.diarizer)
    progress(f"mono: {diarization.speakers} speakers ({diarization.method})")
    return Speakers({}, diarization, dict(diarization.roles))


def diarize_mono(audio, sample_rate: int, result: ChannelResult, *, method: str = "auto") -> Diarization:
    """Mono diarization: speaker embeddings where they separate the voices; else the MFCC labels, kept
    where asr.roles finds they follow the turn-taking; else one speaker per role by turn-taking."""
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


def speaker_turns(decoded: Decoded, speakers: Speakers) -> list[Turn]:
    """Each word to its speaker (its channel's, or the diarization span it overlaps most), in turns cut
    at speaker changes and pauses. Roles are the next stage's: every turn here is a customer's."""
    if speakers.diarization is None:
        words = [SpeakerWord(w, speakers.by_channel[ch], ch)
                 for ch, result in decoded.channels.items() for w in result.words]
        default = _majority(r.language for r in decoded.channels.values())
        return build_turns(words, {}, default_language=default)
    diarization, result = speakers.diarization, decoded.mono
    words = assign_speakers(result.words, [Span(s.start, s.end, s.speaker) for s in diarization.spans])
    if diarization.method == "mfcc":
        smooth_within_regions(words, result.speech)
    elif diarization.method == "embeddings":  # their re-segmentation smooths already; a real 1 s reply stays
        smooth_within_regions(words, result.speech, min_run=EMBEDDING_MIN_RUN)
    return build_turns(words, {}, default_language=result.language)


def assign_roles(turns: list[Turn], speakers: Speakers) -> Roles:
    """Rep or customer per speaker: known from the channel or the turn-taking, else asr.roles' cues
    (exactly one rep). Each turn's role is set to its speaker's."""
    from callscope.asr.roles import assign_roles as roles_from_cues

    roles: dict[str, Role] = dict(speakers.roles) if speakers.roles else \
        (dict(roles_from_cues(turns)) if turns else {})
    for turn in turns:
        turn.role = roles.get(turn.speaker, "customer")
    return Roles(roles)


def transcript(decoded: Decoded, speakers: Speakers, turns: list[Turn], roles: Roles) -> Transcript:
    """The Transcript: turn edges out to the speech region edges around them, and what ran."""
    if speakers.diarization is None:
        turns = snap_to_speech(turns, {ch: r.speech for ch, r in decoded.channels.items()})
    else:
        turns = snap_to_regions(turns, decoded.mono.speech)
    guards: Counter[str] = Counter()
    for result in decoded.channels.values():
        guards.update(result.guards)
    diarization = speakers.diarization
    return Transcript(
        duration=decoded.recording.duration,
        language=_dominant_language(turns, decoded.channels),
        layout=decoded.recording.layout,
        turns=turns,
        speakers=roles.by_speaker,
        asr={
            "model": decoded.model,
            "device": decoded.device,
            "compute_type": decoded.compute_type,
            "decoder": "batched",
            "hotwords": decoded.hotwords,
            "decode_seconds": round(decoded.seconds, 2),
            "channels": [
                {"channel": ch, "language": r.language,
                 "language_probability": round(r.language_probability, 3),
                 "decode_seconds": round(r.seconds, 2), "words": len(r.words),
                 "unheard_speech": [[round(a, 2), round(b, 2)] for a, b in r.unheard]}
                for ch, r in decoded.channels.items()
            ],
            "guards": dict(guards),
            **({"diarization": diarization.summary()} if diarization else {}),
        },
    )


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
