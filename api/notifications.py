"""Chat notifications per team (企业微信, 钉钉, 飞书 / Lark, Slack): a call that needs review, a deal whose
risk rose, each rep's weekly coaching digest. What a team gets, in which language and past which
thresholds is its own (TeamNotificationSettings over api/data/notifications.yaml); where it goes are its
ChatChannels (api.chat formats and signs for each platform).

A notification is written into the webhook outbox (WebhookDelivery rows with channel_id) in the
caller's session, with the change it reports, and the webhook delivery loop sends it: the same claims,
retries with backoff and jitter, retry window and delivery log as webhooks. Each notification has an
event id of its own (a call's review, a rep's week), so a channel gets it once however often the
reason to send it comes up (a re-score, the digest check running again, a second server).
With redaction on, everything people said or typed that a message quotes (words of the call, call titles,
deal and rep names) goes through nlp.redaction once more: no personal number reaches a chat.
"""

from __future__ import annotations

import copy
import functools
import logging
import uuid
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callscope.api import chat, webhooks
from callscope.api.chat import Notice, Piece
from callscope.api.errors import FieldError
from callscope.api.services.evaluation import rep_evaluation
from callscope.api.services.rubrics import get_rubric
from callscope.api.services.zones import display_zone
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError
from callscope.models.orm import (
    Call,
    ChatChannel,
    Deal,
    Team,
    TeamNotificationSettings,
    User,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger("callscope.notifications")
LEVELS = ("low", "medium", "high")
DATA_FILE = Path(__file__).resolve().parent / "data" / "notifications.yaml"


@functools.cache
def notification_config() -> dict[str, Any]:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """base with extra over it, nested dicts key by key (a setting left out keeps its value)."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if nested else value
    return out


def team_settings(session: Session, team_id: int) -> dict[str, Any]:
    """The team's notification settings: the stored ones over notifications.yaml's defaults."""
    row = session.get(TeamNotificationSettings, team_id)
    return merged(notification_config()["defaults"], row.settings if row else {})


def channels_for(session: Session, team_id: int, kind: str) -> list[ChatChannel]:
    """The team's enabled channels that get this kind of notification."""
    rows = session.scalars(select(ChatChannel).where(ChatChannel.team_id == team_id,
                                                     ChatChannel.enabled.is_(True)).order_by(ChatChannel.id))
    return [c for c in rows if kind in (c.notifications or [])]


class _Words:
    """The team's language: texts, level, objection and stage words, times in the display time zone."""

    def __init__(self, language: str, settings: Settings) -> None:
        cfg = notification_config()
        self.language = language if language in cfg["text"] else "zh"
        self._text = cfg["text"][self.language]
        self.levels = cfg["levels"][self.language]
        self.objections = cfg["objections"][self.language]
        self.stages = cfg["stages"][self.language]
        self.reasons = cfg["risk_reasons"][self.language]
        self.quote_chars = int(cfg.get("quote_chars", 60))
        self.zone = ZoneInfo(settings.timezone)
        self.base = settings.public_url.rstrip("/")
        self.redact = settings.redact

    def __call__(self, key: str, **values: Any) -> str:
        return self._text[key].format(**values)

    def said(self, text: str) -> str:
        """What a person said or typed, as a message may carry it: with redaction on, its personal
        numbers and addresses replaced (placeholders in the text's own language)."""
        text = " ".join((text or "").split())
        if not self.redact or not any(c.isdigit() or c == "@" for c in text):
            return text
        from callscope.nlp.redaction import redact_text

        return redact_text(text, "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en")

    def quote(self, text: str) -> str:
        text = self.said(text)
        cut = text[:self.quote_chars] + ("…" if len(text) > self.quote_chars else "")
        return f"“{cut}”" if self.language == "zh" else f"\"{cut}\""

    def local(self, when: datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def call_url(self, call_id: int, at: float | None = None) -> str:
        """The call page, or one moment of it (#t=seconds: the page's player seeks there)."""
        return f"{self.base}/calls/{call_id}" + (f"#t={at:.1f}" if at is not None else "")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _in_language(text: str, language: str) -> bool:
    """Whether a coaching text is in the language (Chinese characters or none)."""
    return any("\u4e00" <= c <= "\u9fff" for c in text) == (language == "zh")


def _rep_name(user: User | None) -> str:
    if user is None:
        return "?"
    return user.name or user.email.split("@")[0]


def _enqueue(session: Session, settings: Settings, channels: list[ChatChannel], kind: str, event_id: str,
             notice: Notice, data: dict[str, Any]) -> int:
    """One outbox row per channel that does not hold this event yet (not committed: the caller's
    transaction carries it). Returns how many were added."""
    added = 0
    for channel in channels:
        held = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.channel_id == channel.id,
                                                               WebhookDelivery.event_id == event_id))
        if held is not None:
            continue
        row = WebhookDelivery(webhook_id=None, channel_id=channel.id, event_id=event_id,
                              event_type=f"chat.{kind}", status="pending", next_attempt_at=utcnow(),
                              payload={"type": f"chat.{kind}", "data": data,
                                       "message": chat.render(channel.platform, notice)})
        try:
            with session.begin_nested():  # another server wrote it first: it is held, not an error
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        added += 1
    if added:
        webhooks.wake()
    return added


# --- a call that needs review ----------------------------------------------------------------------------


def review_reasons(doc: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    """Why a call needs review (codes): score, compliance, unhandled_objection."""
    card = doc.get("scorecard") or {}
    reasons = []
    threshold, score = cfg.get("min_score"), card.get("score")
    if threshold is not None and score is not None and float(score) < float(threshold):
        reasons.append("score")
    compliance = next((i for i in card.get("items", []) if i.get("id") == "compliance"), None)
    if cfg.get("compliance") and compliance is not None and compliance.get("passed") is False:
        reasons.append("compliance")
    if cfg.get("unhandled_objection") and any(not o.get("handled") for o in doc.get("objections", [])):
        reasons.append("unhandled_objection")
    return reasons


def call_review(session: Session, settings: Settings, call: Call, doc: dict[str, Any]) -> int:
    """A call that needs review, to its team's channels (once per call): the reasons, each with a link
    to its moment, and a link to the call page. Returns the rows added."""
    team_id = call.rep.team_id if call.rep else None
    channels = channels_for(session, team_id, "call_review") if team_id else []
    if not channels:
        return 0
    cfg = team_settings(session, team_id)
    reasons = review_reasons(doc, cfg["review"])
    if not reasons:
        return 0
    w = _Words(cfg["language"], settings)
    card = doc.get("scorecard") or {}
    rep = w.said(_rep_name(call.rep))
    stage = w.stages.get(doc.get("stage") or "", doc.get("stage") or "")
    facts = w("review_facts", rep=rep, started=w.local(call.started_at), stage=stage)
    lines: list[list[Piece]] = [[Piece(facts)]]
    if "score" in reasons:
        lines.append([Piece(w("review_score", score=f"{float(card['score']):.0f}",
                              threshold=f"{float(cfg['review']['min_score']):g}"), bold=True)])
    if "compliance" in reasons:
        found = doc.get("compliance", [])
        by_turn: dict[int, list[dict[str, Any]]] = {}
        for hit in [h for h in found if h.get("role", "rep") == "rep"] or found:
            by_turn.setdefault(int(hit.get("turn", -1)), []).append(hit)
        if not by_turn:
            lines.append([Piece(w("review_compliance_none"), bold=True)])
        for hits in list(by_turn.values())[:3]:  # a turn's phrases on one line, linked to the turn
            said = dict.fromkeys(w.quote(h.get("term") or h.get("text", "")) for h in hits)
            terms = w("separator").join(said)
            at = hits[0].get("start", 0)
            lines.append([Piece(w("review_compliance", term=terms), bold=True), Piece(w("gap")),
                          Piece(_clock(at), w.call_url(call.id, at))])
    if "unhandled_objection" in reasons:
        for objection in [o for o in doc.get("objections", []) if not o.get("handled")][:3]:
            word = w.objections.get(objection.get("type", ""), objection.get("type", ""))
            at = objection.get("start", 0)
            lines.append([Piece(w("review_objection", type=word), bold=True), Piece(w("gap")),
                          Piece(w.quote(objection.get("text", ""))), Piece(" "),
                          Piece(_clock(at), w.call_url(call.id, at))])
    lines.append([Piece(w("review_open"), w.call_url(call.id))])
    title = w.said(call.title) or w("untitled")
    notice = Notice(w("review_title", rep=rep, title=title), lines, w.language)
    return _enqueue(session, settings, channels, "call_review", f"chat.review.{call.id}", notice,
                    {"call_id": call.id, "reasons": reasons})


# --- a deal whose risk rose ------------------------------------------------------------------------------


def _reason_text(w: _Words, reason: dict[str, Any]) -> str:
    template = w.reasons.get(reason.get("code", ""))
    if template is None:
        return reason.get("text", "")
    fields = {k: v for k, v in reason.items() if isinstance(v, str | int | float)}
    fields["types"] = w("separator").join(w.objections.get(t, t) for t in reason.get("types", []))
    for key in ("from", "to"):
        if key in fields:
            fields[key] = w.stages.get(str(fields[key]), fields[key])
    fields["said"] = w.said(str(fields.get("said", "")))[:30]
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return reason.get("text", "")


def deal_risk_rose(session: Session, settings: Settings, deal: Deal, old: str | None, new: str,
                   reasons: list[dict[str, Any]], team_id: int | None) -> int:
    """A deal whose risk rose to the team's level or past it, to its team's channels: old and new level,
    the reasons in the team's language, links to the deal page (and the call a missed step was promised
    in). Returns the rows added."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    if team_id is None or rank.get(new, 0) <= rank.get(old or "low", 0):
        return 0
    channels = channels_for(session, team_id, "deal_risk")
    if not channels:
        return 0
    cfg = team_settings(session, team_id)
    if rank[new] < rank.get(cfg["deal_risk"].get("min_level", "medium"), 1):
        return 0
    w = _Words(cfg["language"], settings)
    lines: list[list[Piece]] = [[Piece(w("risk_change", old=w.levels.get(old or "low"), new=w.levels[new]),
                                       bold=True)]]
    for reason in reasons:
        line = [Piece("· " + _reason_text(w, reason))]
        if reason.get("call_id"):
            line += [Piece(" "), Piece(w("risk_moment"), w.call_url(int(reason["call_id"])))]
        lines.append(line)
    lines.append([Piece(w("risk_open"), f"{w.base}/deals/{quote(deal.external_id, safe='')}")])
    name = w.said(deal.name or deal.account or deal.external_id)
    notice = Notice(w("risk_title", deal=name), lines, w.language)
    return _enqueue(session, settings, channels, "deal_risk", f"chat.risk.{deal.id}.{uuid.uuid4().hex[:16]}",
                    notice, {"deal": deal.external_id, "old_level": old, "new_level": new})


# --- each rep's weekly coaching digest -------------------------------------------------------------------


class WeekError(FieldError):
    pass


def parse_week(week: str) -> date:
    """The Monday of an ISO week written YYYY-Www (2026-W48)."""
    try:
        year, number = week.strip().upper().split("-W")
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise WeekError(f"week: {week[:20]!r} is not an ISO week like 2026-W48") from None


def week_name(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def _item_names(session: Session, settings: Settings, language: str) -> dict[str, str]:
    """Item id -> name in the team's language, from the service's rubric (both languages are in it)."""
    try:
        found = get_rubric(session, settings.rubric)
    except CallscopeError:
        return {}
    names = {}
    for item in ((found or {}).get("rubric") or {}).get("items", []):
        name = item.get("name")
        names[str(item.get("id"))] = str(name.get(language) or next(iter(name.values()), "")) \
            if isinstance(name, dict) else str(name or "")
    return names


def _digest_notice(session: Session, settings: Settings, w: _Words, cfg: dict[str, Any], rep: User,
                   week: str, evaluation: dict[str, Any]) -> Notice:
    names = _item_names(session, settings, w.language)

    def name(item: dict[str, Any]) -> str:
        return names.get(item["id"]) or item.get("name") or item["id"]

    def rate(value: float) -> str:
        return f"{100 * value:.0f}%"

    average = evaluation.get("average_score")
    lines = [[Piece(w("digest_summary", calls=evaluation["calls"],
                      average="—" if average is None else f"{average:.1f}"))]]
    strengths = evaluation["strengths"][:int(cfg["strengths"])]
    if strengths:
        listed = w("separator").join(f"{name(s)} {rate(s['pass_rate'])}" for s in strengths)
        lines.append([Piece(w("digest_strengths"), bold=True), Piece(w("gap") + listed)])
    else:
        lines.append([Piece(w("digest_no_strengths"))])
    focus = evaluation["improvements"][0] if evaluation["improvements"] else None
    if focus is None:
        lines.append([Piece(w("digest_no_focus"))])
    else:
        lines.append([Piece(w("digest_focus", item=name(focus), rate=rate(focus["pass_rate"])), bold=True)])
        feedback = [f for f in focus.get("feedback", []) if _in_language(f, w.language)]
        if feedback:  # the rubric's words for the call, when written in the team's language
            lines.append([Piece(feedback[0])])
        for example in focus.get("examples", [])[:int(cfg["moments"])]:
            title = w.said(example.get("call_title") or "") or w("untitled")
            if example.get("text"):  # a moment: the player opens there
                at = float(example.get("start") or 0.0)
                lines.append([Piece("▶ "), Piece(f"{title} {_clock(at)}", w.call_url(example["call_id"], at)),
                              Piece(" " + w.quote(example["text"]))])
            else:  # a whole-call item (talk ratio): no moment to pretend at 00:00
                lines.append([Piece("▶ "), Piece(f"{title} · {w('digest_whole_call')}",
                                                 w.call_url(example["call_id"]))])
    lines.append([Piece(w("digest_open"), f"{w.base}/reps/{rep.id}")])
    return Notice(w("digest_title", rep=w.said(_rep_name(rep)), week=week), lines, w.language)


def _week_bounds(monday: date, zone: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), zone)
    return start, datetime.combine(monday + timedelta(days=7), time(0), zone)


def weekly_digests(session: Session, settings: Settings, team: Team, monday: date) -> dict[str, Any]:
    """Each rep of the team with calls that week gets a digest in every channel that takes digests and
    does not hold that rep's week yet. Returns what was queued."""
    week = week_name(monday)
    zone = display_zone(settings, team.name)  # the week the rep's evaluation and pages cut
    start, end = _week_bounds(monday, zone)
    out: dict[str, Any] = {"team": team.name, "week": week, "from": start.isoformat(), "to": end.isoformat(),
                           "queued": 0, "already_queued": 0, "reps": []}
    channels = channels_for(session, team.id, "weekly_digest")
    if not channels:
        return out
    cfg = team_settings(session, team.id)
    w = _Words(cfg["language"], settings)
    held = {(c, e) for c, e in session.execute(
        select(WebhookDelivery.channel_id, WebhookDelivery.event_id).where(
            WebhookDelivery.channel_id.in_([c.id for c in channels]),
            WebhookDelivery.event_id.like(f"chat.digest.%.{week}")))}
    reps = session.scalars(select(User).where(User.team_id == team.id, User.role == "rep").order_by(User.id))
    for rep in reps:
        event_id = f"chat.digest.{rep.id}.{week}"
        wanting = [c for c in channels if (c.id, event_id) not in held]
        if not wanting:
            out["already_queued"] += len(channels)
            continue
        calls = session.scalar(select(func.count(Call.id)).where(
            Call.rep_id == rep.id, Call.status == "done", Call.started_at >= start, Call.started_at < end))
        if not calls:
            continue
        evaluation = rep_evaluation(session, rep, start, end - timedelta(microseconds=1), zone)
        notice = _digest_notice(session, settings, w, cfg["digest"], rep, week, evaluation)
        call_ids = [c["id"] for c in evaluation["call_list"]]
        added = _enqueue(session, settings, wanting, "weekly_digest", event_id, notice,
                         {"rep": rep.id, "week": week, "call_ids": call_ids})
        out["queued"] += added
        out["already_queued"] += len(channels) - added
        out["reps"].append({"id": rep.id, "name": _rep_name(rep), "calls": calls})
    return out


def last_week_monday(zone: tzinfo, now: datetime | None = None) -> date:
    """The Monday of the week before this one, in zone (a team's display time zone)."""
    local = (now or utcnow()).astimezone(zone)
    return local.date() - timedelta(days=local.weekday() + 7)


def send_due_digests(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """The schedule (the delivery loop runs this every CALLSCOPE_DIGEST_CHECK_SECONDS): once the team's
    weekday and hour of this week have come, last week's digests go out (a server that was down at that
    hour catches up when it is back, within the week). Returns the rows added."""
    team_ids = {c.team_id for c in session.scalars(select(ChatChannel).where(ChatChannel.enabled.is_(True)))
                if "weekly_digest" in (c.notifications or [])}
    added = 0
    for team_id in sorted(team_ids):
        team = session.get(Team, team_id)
        if team is None:
            continue
        zone = display_zone(settings, team.name)  # weeks and the hour are the team's
        local = (now or utcnow()).astimezone(zone)
        this_monday = local.date() - timedelta(days=local.weekday())
        digest = team_settings(session, team_id)["digest"]
        due = datetime.combine(this_monday + timedelta(days=int(digest["weekday"]) - 1),
                               time(int(digest["hour"])), zone)
        if local >= due:
            added += weekly_digests(session, settings, team, last_week_monday(zone, local))["queued"]
    return added
