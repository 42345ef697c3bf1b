"""The web pages' thresholds and targets (api/web/data/web.yaml) and score-to-grade banding."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DATA_FILE = Path(__file__).resolve().parent / "data" / "web.yaml"


@functools.cache
def web_config() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def score_band(score: float | None) -> str:
    """The band a 0-100 score falls in (excellent / good / pass / fail), or "none" without a score."""
    if score is None:
        return "none"
    for band in web_config()["score_bands"]:
        if score >= band["min"]:
            return band["grade"]
    return "fail"
