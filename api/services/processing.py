"""What a job does: analyze (the full pipeline on the stored audio) or rescore (the stored transcript
against a rubric, no ASR). Results are stored in the job's session; the queue marks the job done."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from callscope.api import metrics
from callscope.api.privacy import bleep_audio, store_digests, team_bleeps
from callscope.api.services import trackers
from callscope.api.services.results import current_analysis, store_analysis
from callscope.api.services.rubrics import rubric_ref, team_rubric
from callscope.api.storage import audio_store
from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.document import Analysis, Transcript
from callscope.models.orm import Call, Job
from callscope.nlp.dates import resolve_next_steps
from callscope.nlp.redaction import RULES_VERSION

if TYPE_CHECKING:  # the pipeline (the model, scikit-learn: seconds) is imported by the first job
    from callscope.pipeline import AnalyzeOptions

log = logging.getLogger("callscope.pipeline")
AnalyzeFn = Callable[[Path, "AnalyzeOptions", Settings], Analysis]


def _analyze(path: Path, options: AnalyzeOptions, settings: Settings) -> Analysis:
    from callscope.pipeline import analyze

    # progress lines into the log, where api.logs puts the call id on each
    return analyze(path, options, settings, progress=log.info)


def run_job(session: Session, settings: Settings, job: Job, analyze_fn: AnalyzeFn | None = None) -> None:
    """Do job's work and store the results in session (not committed)."""
    from callscope.pipeline import AnalyzeOptions, rescore

    call = session.get(Call, job.call_id)
    if call is None:
        raise InputError(f"call {job.call_id} no longer exists")
    settings = trackers.settings_for(session, settings, call.rep_id)  # the team's trackers and hotwords
    rubric_name = job.rubric or team_rubric(session, settings, call.rep_id)
    rubric, version = rubric_ref(session, settings, rubric_name, job.rubric_version)
    if job.kind == "rescore":
        previous = current_analysis(session, call.id)
        if previous is None:
            raise InputError(f"call {call.id} has no transcript to re-score yet")
        analysis = rescore(Transcript.from_dict(previous.transcript), rubric, settings)
    else:
        options = AnalyzeOptions(channels=call.channels, rep_channel=call.rep_channel, rubric=rubric)
        analysis = (analyze_fn or _analyze)(audio_store(settings).local_path(call.audio_path), options,
                                            settings)
    if job.kind != "rescore":
        metrics.analysis_measured(analysis.timings, analysis.transcript.duration)
        # keyed hashes of what redaction took out (for erasure requests); the values go no further
        store_digests(session, settings, call, analysis.transcript)
        call.redaction_version = RULES_VERSION if settings.redact else None
    document = analysis.to_dict()
    document["scorecard"]["rubric_revision"] = version  # the stored version (0: the built-in text)
    # next steps' dates from the words said, against the call's start in the local time zone
    resolve_next_steps(document.get("next_steps", []), call.started_at, settings.timezone)
    store_analysis(session, call, document, analysis.transcript.to_dict(), rubric_name)
    if job.kind != "rescore" and team_bleeps(session, call):
        bleep_audio(settings, call, document)
