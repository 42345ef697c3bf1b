"""HTTP error bodies: always JSON {"detail": "one line"}, never a 500 for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from callscope.core.errors import CallscopeError, InputError

log = logging.getLogger("callscope.api")


class FieldError(InputError):
    """A bad request field; the message starts with the field's name."""

    http_status = 422


class NotFound(CallscopeError):
    http_status = 404


class Forbidden(CallscopeError):
    http_status = 403


class Conflict(CallscopeError):
    http_status = 409


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CallscopeError)
    async def _callscope_error(_: Request, err: CallscopeError) -> JSONResponse:
        return JSONResponse({"detail": _one_line(str(err))}, status_code=err.http_status)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, err: HTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, str) else str(err.detail)
        return JSONResponse({"detail": _one_line(detail)}, status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        detail = f"{where or 'request'}: {first.get('msg', 'invalid')}"
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": f"internal error: {type(err).__name__}"}, status_code=500)
