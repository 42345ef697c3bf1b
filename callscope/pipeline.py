"""The pipeline: recording -> transcript -> annotated conversation -> scorecard -> analysis.

The speech side is four stages of callscope.asr, each with typed input and output (whisperX's shape):
decode (Recording -> Decoded) -> diarize (-> Speakers) -> turns (-> list[Turn]) -> roles (-> Roles),
put together as a Transcript; `transcribe` runs them and times each. The CLI, the API workers and the
benchmarks call `analyze` and `rescore`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callscope import asr
from callscope.asr.homophones import NO_VOCABULARY, Vocabulary
from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.ingest import load_recording
from callscope.models.document import Analysis, Recording, Transcript
from callscope.nlp.annotate import annotate
from callscope.nlp.hits import load_trackers
from callscope.nlp.redaction import redact_transcript
from callscope.nlp.vocabulary import sales_vocabulary
from callscope.scoring import Rubric, load_rubric, score

Progress = Callable[[str], None]
# Analysis.timings' keys for the speech stages (seconds each; their sum is the transcription time)
SPEECH_STAGES = ("decode", "diarize", "turns", "roles")


def _quiet(_: str) -> None:
    pass


@dataclass
class AnalyzeOptions:
    channels: str = "auto"  # auto | stereo | mono
    rep_channel: int = 0
    language: str | None = None  # None: settings.language
    rubric: str | None = None  # name or path; None: settings.rubric


def analyze(path: str | Path, options: AnalyzeOptions | None = None, settings: Settings | None = None,
            progress: Progress = _quiet) -> Analysis:
    """Analyse one recording file end to end. Raises CallscopeError subclasses for bad input."""
    options = options or AnalyzeOptions()
    settings = settings or Settings.from_env()
    rubric = checked_rubric(options, settings)
    t0 = time.perf_counter()
    recording = load_recording(path, channels=options.channels, rep_channel=options.rep_channel,
                               settings=settings)
    return analyze_recording(recording, rubric, options, settings, {"ingest": time.perf_counter() - t0},
                             progress)


def checked_rubric(options: AnalyzeOptions, settings: Settings) -> Rubric:
    """The rubric to score with, the trackers file read too: a bad one fails before minutes of
    transcription, not after."""
    rubric = load_rubric(options.rubric or settings.rubric)
    load_trackers(settings.trackers)
    return rubric


def analyze_recording(recording: Recording, rubric: Rubric, options: AnalyzeOptions, settings: Settings,
                      timings: dict[str, float], progress: Progress = _quiet) -> Analysis:
    """analyze() from the loaded recording on (timings: ingest's seconds so far)."""
    progress(f"loaded {recording.duration:.1f}s of {recording.layout} audio")
    language = options.language or settings.language
    transcript = transcribe(recording, settings, language=None if language == "auto" else language,
                            vocabulary=recognizer_vocabulary(), progress=progress, timings=timings)
    return analyze_transcript(transcript, rubric, settings, timings, progress)


def analyze_transcript(transcript: Transcript, rubric: Rubric, settings: Settings,
                       timings: dict[str, float], progress: Progress = _quiet) -> Analysis:
    """The stages after speech on a recognised transcript (redacted in place when redaction is on):
    what analyze() runs once transcribe() has given it `transcript` and the speech stages' `timings`."""
    if not transcript.turns:
        # hiss, hum or music passes the level check but holds no words: nothing to analyse or score
        raise InputError("no speech found in the recording")
    asr_seconds = sum(timings[stage] for stage in SPEECH_STAGES)
    progress(f"transcribed {len(transcript.turns)} turns in {asr_seconds:.1f}s")
    if settings.redact:
        # before anything reads the text: annotations, scores, storage and logs see placeholders only
        t0 = time.perf_counter()
        found = redact_transcript(transcript)
        timings["redaction"] = time.perf_counter() - t0
        if found:
            progress(f"redacted {len(found)} personal number(s) or address(es)")

    analysis = rescore(transcript, rubric, settings)
    analysis.timings = {**timings, **analysis.timings}
    return analysis


def transcribe(recording: Recording, settings: Settings, *, language: str | None = None,
               vocabulary: Vocabulary = NO_VOCABULARY, progress: Progress = _quiet,
               timings: dict[str, float] | None = None) -> Transcript:
    """The speech stages in order: decode -> diarize -> turns -> roles. `language` (zh | en) overrides
    detection; `timings`, where given, gets each stage's seconds (SPEECH_STAGES)."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    decoded = asr.decode(recording, settings, language=language, vocabulary=vocabulary, progress=progress)
    t1 = time.perf_counter()
    speakers = asr.find_speakers(decoded, settings, progress)
    t2 = time.perf_counter()
    turns = asr.speaker_turns(decoded, speakers)
    t3 = time.perf_counter()
    roles = asr.assign_roles(turns, speakers)
    transcript = asr.transcript(decoded, speakers, turns, roles)
    t4 = time.perf_counter()
    timings.update(zip(SPEECH_STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True))
    return transcript


def rescore(transcript: Transcript, rubric: str | Rubric, settings: Settings | None = None) -> Analysis:
    """Annotate and score a stored transcript: no audio, no ASR (re-scoring against a changed rubric).
    `rubric`: a loaded Rubric, or a name or path for scoring.load_rubric."""
    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    rubric_obj = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    conversation = annotate(transcript, settings)
    t1 = time.perf_counter()
    scorecard = score(conversation, rubric_obj)
    t2 = time.perf_counter()
    return Analysis(conversation, scorecard, timings={"nlp": t1 - t0, "scoring": t2 - t1})


def recognizer_vocabulary() -> Vocabulary:
    """nlp's sales words, handed to the recognizer for its homophone correction."""
    words, terms = sales_vocabulary()
    return Vocabulary(words, terms)
