"""Phrase ("cue") matching and display labels shared by the checks and the report."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

LABELS_FILE = Path(__file__).with_name("labels.yaml")


@functools.lru_cache(maxsize=4096)
def _pattern(cue: str) -> re.Pattern[str]:
    # Latin-script cues match whole words in any case ("budget" must not match "budgetary" halfway
    # through a word); Chinese cues match anywhere, as Chinese has no spaces between words.
    if cue.isascii():
        return re.compile(r"(?<![a-z0-9])" + re.escape(cue.lower()) + r"(?![a-z0-9])")
    return re.compile(re.escape(cue))


def find_cue(text: str, cues: dict[str, list[str]]) -> str | None:
    """The first cue (of any language) found in text, or None. Mixed-language calls match both."""
    lowered = text.lower().replace("\u2019", "'")  # ASR writes I’m as often as I'm
    for phrases in cues.values():
        for cue in phrases:
            if _pattern(cue).search(lowered if cue.isascii() else text):
                return cue
    return None


@functools.lru_cache(maxsize=1)
def labels() -> dict[str, Any]:
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))


def label(group: str, key: str, lang: str) -> str:
    """Display name of a contract label (stage, objection type, role, language); the id if unknown."""
    names = labels().get(group, {}).get(key)
    if not names:
        return key
    return names.get(lang) or names.get("en") or key


def join(words: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(words)
