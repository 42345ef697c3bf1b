"""UI strings of the web pages, per language, from api/web/i18n/<lang>.yaml (Chinese first).

The language comes from ?lang= (then remembered in a cookie), else the cookie, else Chinese.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from fastapi import Request

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "callscope_lang"


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """The flat key -> text table of one language (nested YAML keys are joined with dots)."""
    data = yaml.safe_load((I18N_DIR / f"{lang}.yaml").read_text(encoding="utf-8")) or {}
    flat: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = str(node)

    walk("", data)
    return flat


class Translator:
    """t("key", name=...) -> the text in this language; a missing key falls back to Chinese, then the key."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._table = strings(self.lang)
        self._fallback = strings(DEFAULT_LANGUAGE)

    def has(self, key: str) -> bool:
        return key in self._table

    def __call__(self, key: str, **values: object) -> str:
        text = self._table.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def label(self, group: str, value: str | None, default: str = "") -> str:
        """A label for a domain id (stage, objection, role, item...), or default, or the id itself."""
        if not value:
            return default
        key = f"{group}.{value}"
        return self(key) if key in self._table or key in self._fallback else (default or value)


def requested_language(request: Request) -> tuple[str, bool]:
    """(language, whether ?lang= asked for it and the cookie should remember it)."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE, "")
    return (cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE), False
