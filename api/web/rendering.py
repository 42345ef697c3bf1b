"""The Jinja2 environment of the pages: filters for times, scores and dates, the translator, and the
one render() every page goes through (it also remembers a ?lang= choice in a cookie)."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from callscope.api.services.evaluation import metric_status
from callscope.api.services.zones import display_zone
from callscope.api.web.config import score_band
from callscope.api.web.i18n import LANG_COOKIE, Translator, requested_language
from callscope.api.web.labels import coaching_for, labelers

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static/web"


def mmss(seconds: float | None) -> str:
    """75.3 -> 01:15; an hour or more -> 1:02:03."""
    if seconds is None:
        return "--:--"
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def number(value: float | None, digits: int = 1) -> str:
    """12.50 -> 12.5, 80.0 -> 80; None -> a dash."""
    if value is None:
        return "–"
    text = f"{float(value):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def display_tz(request: Request) -> tzinfo:
    """The display time zone (api.services.zones) of the signed-in person's team."""
    return display_zone(request.app.state.settings, getattr(request.state, "team_name", None))


@functools.cache
def static_version(name: str) -> str:
    """A content hash for cache-busting static URLs."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


def _environment() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    env = templates.env
    env.filters["mmss"] = mmss
    env.filters["band"] = score_band
    env.filters["pct"] = lambda v: "–" if v is None else f"{round(100 * float(v))}%"
    env.filters["num"] = number
    env.globals["metric_status"] = metric_status
    env.globals["static_url"] = lambda name: f"{STATIC_PREFIX}/{name}?v={static_version(name)}"
    return templates


TEMPLATES = _environment()


def query_with(request: Request, **changes: Any) -> str:
    """The current URL's query string with some parameters replaced (None removes one)."""
    params = {k: v for k, v in request.query_params.multi_items() if k not in changes}
    params.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode(params) if params else request.url.path


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200,
           session: Session | None = None, rubric: str | None = None, tz: tzinfo | None = None
           ) -> HTMLResponse:
    """The page; with a session, rubric item and grade names come from `rubric` (default: the configured
    one) in the page's language. Times in tz (default: the signed-in person's display zone)."""
    lang, remember = requested_language(request)
    tz = tz or display_tz(request)
    t = Translator(lang)
    if session is not None:
        names = labelers(session, rubric or request.app.state.settings.rubric, t)
    else:
        names = {"item_label": lambda item_id, stored="": stored or t.label("item", item_id),
                 "grade_label": lambda grade: t.label("grade", grade), "coaching": coaching_for(t),
                 "rubric_title": lambda name="": name}

    def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(tz).strftime(fmt)

    response = TEMPLATES.TemplateResponse(
        request, template,
        {"t": t, "lang": lang, "localtime": localtime, "query_with": lambda **kw: query_with(request, **kw),
         "person_name": getattr(request.state, "person_name", ""),
         **names, **context},
        status_code=status_code)
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    response.headers["Cache-Control"] = "no-store"
    return response
