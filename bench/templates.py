"""Real analysis documents to seed benchmark databases from.

"pipeline": the full pipeline on each sample recording (transcripts with word timings, as a worker
stores them), cached in a directory so later runs skip the ASR. "truth": the samples' and dev set's
truth turns scored by nlp + scoring only (no ASR, no word timings: quick, smaller documents).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import SAMPLES, _json_default

Template = tuple[dict[str, Any], dict[str, Any]]  # (analysis document, transcript)
DEFAULT_CACHE = Path.home() / ".cache" / "callscope" / "bench-templates"


def _plain_json(data: dict[str, Any]) -> dict[str, Any]:
    """What the database's JSON column will hold (numpy scalars as plain numbers)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=_json_default))


def pipeline_templates(cache_dir: Path = DEFAULT_CACHE, log=print) -> list[Template]:  # noqa: ANN001
    from callscope.core.config import Settings
    from callscope.pipeline import AnalyzeOptions, analyze

    cache_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for audio in sorted(SAMPLES.glob("*.flac")):
        stat = audio.stat()
        cached = cache_dir / f"{audio.name}.{stat.st_size}-{int(stat.st_mtime)}.json"
        if not cached.is_file():
            log(f"analysing {audio.name} for the templates (cached in {cache_dir})")
            analysis = analyze(audio, AnalyzeOptions(), Settings.from_env())
            data = {"document": analysis.to_dict(), "transcript": analysis.transcript.to_dict()}
            cached.write_text(json.dumps(data, ensure_ascii=False, default=_json_default), encoding="utf-8")
        data = json.loads(cached.read_text(encoding="utf-8"))
        out.append((data["document"], data["transcript"]))
    return out


def truth_templates() -> list[Template]:
    from bench.nlp_speed import default_truths, transcript_from_truth
    from callscope.core.config import Settings
    from callscope.pipeline import rescore

    settings = Settings.from_env()
    out = []
    for path in default_truths():
        analysis = rescore(transcript_from_truth(path), settings.rubric, settings)
        out.append((_plain_json(analysis.to_dict()), _plain_json(analysis.transcript.to_dict())))
    return out


def load_templates(kind: str, cache_dir: Path = DEFAULT_CACHE) -> list[Template]:
    return pipeline_templates(cache_dir) if kind == "pipeline" else truth_templates()
