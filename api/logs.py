"""Structured logs: every line of a job's processing carries its call id and job id.

The ids live in context variables set around the job (job_context), so lines logged anywhere below it
(the pipeline's progress, the queue, a failure's traceback) carry them without being handed them;
each worker thread has its own. CALLSCOPE_LOG_FORMAT=json writes one JSON object a line (for a log
shipper), text writes `... [call 12 job 40] message`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from callscope.core.config import Settings

_call_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("callscope_call_id", default=None)
_job_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("callscope_job_id", default=None)


@contextlib.contextmanager
def job_context(call_id: int | None, job_id: int | None = None) -> Iterator[None]:
    call_token, job_token = _call_id.set(call_id), _job_id.set(job_id)
    try:
        yield
    finally:
        _call_id.reset(call_token)
        _job_id.reset(job_token)


class ContextFilter(logging.Filter):
    """Puts call_id and job_id (None outside a job) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = _call_id.get()
        record.job_id = _job_id.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        call_id, job_id = getattr(record, "call_id", None), getattr(record, "job_id", None)
        record.where = f" [call {call_id} job {job_id}]" if call_id is not None else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        entry = {"time": when.isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "call_id": getattr(record, "call_id", None), "job_id": getattr(record, "job_id", None),
                 "process": record.process, "thread": record.threadName}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class QueryValueFilter(logging.Filter):
    """Blanks the query values of uvicorn's access-log lines: `GET /api/v1/calls?q=13812345678` is logged
    as `GET /api/v1/calls?q=…` (a search term, an erasure's phone or e-mail, a token in a link could sit
    there). Installed on the `uvicorn.access` logger by create_app, so it holds however the app is run."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], without_query_values(args[2]), *args[3:])
        return True


def without_query_values(target: str) -> str:
    """A request target with each query value replaced by …, the names kept."""
    parts = urlsplit(target)
    names = [quote(name) + "=…" for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query="&".join(names)))


def install_access_log_filter() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryValueFilter) for f in access.filters):
        access.addFilter(QueryValueFilter())


def setup_logging(settings: Settings, level: int = logging.INFO) -> None:
    """callscope's loggers to stderr with the job context (once per process)."""
    logger = logging.getLogger("callscope")
    logger.setLevel(level)
    if any(getattr(h, "_callscope", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._callscope = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.propagate = False
