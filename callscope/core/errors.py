"""Errors a user can act on. Each carries a one-line reason; shells print it, never a traceback."""

from __future__ import annotations


class CallscopeError(Exception):
    """Base class: `str(err)` is a one-line reason fit for stderr or an HTTP error body."""

    exit_code = 2
    http_status = 400


class InputError(CallscopeError):
    """The recording cannot be analysed (empty, not audio, corrupt, silent, too short or too long)."""

    http_status = 415


class RubricError(CallscopeError):
    """A rubric file is missing or malformed; the message names the bad field."""

    http_status = 422


class ModelError(CallscopeError):
    """The speech model cannot be found, assembled or loaded."""

    exit_code = 3
    http_status = 503
