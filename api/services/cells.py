"""Spreadsheet cells: a text that begins with = + - @ (or a tab or carriage return) would run as a
formula in Excel or LibreOffice (formula injection); it is written with a leading apostrophe."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
