"""The service's tables (SQLAlchemy 2, typed Mapped[] style). Runs on SQLite and PostgreSQL.

Schema changes go through Alembic (models/migrations); `models.db.migrate` upgrades to head on start.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

CALL_STATUSES = ("queued", "processing", "done", "failed")
USER_ROLES = ("admin", "manager", "rep")
TOKEN_ROLES = ("admin", "manager", "rep", "integration")
JOB_KINDS = ("analyze", "rescore")


MAX_ID = 2**63 - 1  # the largest integer key SQLite and PostgreSQL store


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_id(ref: str) -> int | None:
    """A reference that is a row id (ASCII digits within the key range), else None: "²" or a 30-digit
    number is a name or an unknown id, never an error from the database driver."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit() and int(ref) <= MAX_ID:
        return int(ref)
    return None


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rubric: Mapped[str | None] = mapped_column(String(200))  # the rubric the team's calls are scored on
    trackers: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # keyword group -> words, over the defaults
    hotwords: Mapped[list[Any] | None] = mapped_column(JSON)  # words the recogniser is told to expect

    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    """A person: a rep (whose calls are analysed), a manager or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="rep")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team | None] = relationship(back_populates="members")


class ApiToken(Base):
    """An API token: only its sha256 is stored; scope is a rep (role rep) or a team (role manager)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # privacy issue (migration 0005): expiry, rotation and per-token upload limits (None: no limit)
    expires_at: Mapped[datetime | None]
    rotated_to_id: Mapped[int | None] = mapped_column(Integer)  # the token that replaced this one
    uploads_per_minute: Mapped[int | None] = mapped_column(Integer)
    bytes_per_day: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()


class Deal(Base):
    """A CRM deal (opportunity); calls point at it by the CRM's external id."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    account: Mapped[str] = mapped_column(String(300), default="")
    stage: Mapped[str] = mapped_column(String(40), default="")
    amount: Mapped[float | None] = mapped_column(Float)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()


class Call(Base):
    """One uploaded recording and its processing state (the analyze job's status mirrors here)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration: Mapped[float | None] = mapped_column(Float)
    channels: Mapped[str] = mapped_column(String(10), default="auto")
    rep_channel: Mapped[int] = mapped_column(Integer, default=0)
    audio_path: Mapped[str] = mapped_column(String(500))  # relative to the data dir
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    original_filename: Mapped[str] = mapped_column(String(500), default="")  # metadata only
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # results copied from the latest analysis so list filters hit indexed columns
    stage: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(10))
    objection_types: Mapped[str] = mapped_column(String(200), default="")  # " price budget "
    tracker_names: Mapped[str] = mapped_column(Text, default="")  # " competitors pricing ": the trackers hit
    # the nlp.redaction RULES_VERSION its stored text went through; None: stored with redaction off or
    # before it existed (migration 0009; `callscope privacy backfill` brings it up to date)
    redaction_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    rep: Mapped[User] = relationship()
    deal: Mapped[Deal | None] = relationship()

    __table_args__ = (
        Index("ix_calls_rep_started", "rep_id", "started_at"),
        Index("ix_calls_deal", "deal_id"),
        Index("ix_calls_stage", "stage"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_score", "score"),
        Index("ix_calls_status", "status"),
    )


class Job(Base):
    """The durable work queue: analyze (ASR and all) or rescore (stored transcript, new rubric)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    rubric: Mapped[str | None] = mapped_column(String(200))
    rubric_version: Mapped[int | None] = mapped_column(Integer)  # rescore: this stored version (None: newest)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]  # last published to the broker (Celery engine only)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_jobs_claim", "status", "next_attempt_at"),)


class Turn(Base):
    """One speaker turn of a call's transcript, with its search tokens (jieba, space-joined)."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text, default="")


class AnalysisRecord(Base):
    """One analysis of a call (the contract's document); the newest one is current."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    document: Mapped[dict[str, Any]]
    transcript: Mapped[dict[str, Any]]
    stage: Mapped[str] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)
    model: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallDigest(Base):
    """The digest and facts (models.document) of a call's current analysis: what rep evaluations and
    deal insights read. A narrow table of its own, so reading hundreds never pages through transcripts."""

    __tablename__ = "call_digests"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    digest: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any]]


class ScorecardRecord(Base):
    __tablename__ = "scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    rubric: Mapped[str] = mapped_column(String(200))
    rubric_version: Mapped[str] = mapped_column(String(50), default="")
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ScorecardItemRecord]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan", order_by="ScorecardItemRecord.id")


class ScorecardItemRecord(Base):
    __tablename__ = "scorecard_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    feedback: Mapped[str] = mapped_column(Text, default="")

    scorecard: Mapped[ScorecardRecord] = relationship(back_populates="items")


class Override(Base):
    """A manager's correction of one scorecard item: who, when, before and after (an audit log)."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(320))  # user email or token label
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    before: Mapped[dict[str, Any]]
    after: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[float | None] = mapped_column(Float)  # seconds into the call, when about a moment
    actor: Mapped[str] = mapped_column(String(320))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Acknowledgement(Base):
    """A rep's acknowledgement of the feedback on their call (once per rep and call; a later one
    replaces the note), shown to their manager."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("call_id", "user_id", name="uq_acknowledgements_call_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RubricRecord(Base):
    """A stored coaching rubric (overrides a built-in one of the same name)."""

    __tablename__ = "rubrics"
    __table_args__ = (UniqueConstraint("name", name="uq_rubrics_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # YAML or JSON as sent
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RubricVersion(Base):
    """Every version of a stored rubric as it was saved: who, when, the text, the diff from the one before
    (version 0 is the built-in text, never stored)."""

    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_rubric_versions_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(20), default="")  # the scorecards' rubric_version
    diff: Mapped[str] = mapped_column(Text, default="")  # unified diff from the version before
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RescoreBatch(Base):
    """Re-scoring a period's calls on one rubric version (no ASR): a job per call, progress from them."""

    __tablename__ = "rescore_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    job_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the CRM and coaching loop (issue 15): webhooks, deal risk, KPI targets, rep-day roll-ups ----------


class Webhook(Base):
    """A webhook subscription: where to POST which events, signed with its Standard Webhooks secret."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(200))  # whsec_<base64>: needed to sign, so kept as is
    description: Mapped[str] = mapped_column(String(500), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))  # a manager's: their team's events
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """The outbox: one event for one subscription, written in the transaction that made the event.
    event_id is the webhook-id header, the same on every attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # a Standard Webhooks subscription's delivery, or (migration 0006) a chat robot's: exactly one is set
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("chat_channels.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]  # the body: {"type", "timestamp", "data"}
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        UniqueConstraint("channel_id", "event_id", name="uq_webhook_deliveries_channel_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
        Index("ix_webhook_deliveries_channel", "channel_id", "id"),
    )


class DealRisk(Base):
    """A deal's last judged risk level: a change of level is a deal.risk_changed event."""

    __tablename__ = "deal_risks"

    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Target(Base):
    """A KPI target of one rep for one period [period_start, period_end) (local dates, ISO strings),
    set directly or broken down from a team goal (parent_id: the team goal it came from)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[str] = mapped_column(String(10))
    period_end: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20), default="direct")  # direct | team_goal | breakdown
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepDayStat(Base):
    """What one rep's done calls of one local day add up to (sums and counts: facts of
    models.document), so team comparisons read a row per rep and day, not every call."""

    __tablename__ = "rep_day_stats"

    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD in `zone`
    # the display time zone the day was cut in (api.services.zones): a row of another zone is rebuilt
    zone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    team_id: Mapped[int | None] = mapped_column(Integer, index=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)  # a team figure's cache key (services.team)

    __table_args__ = (Index("ix_rep_day_stats_team_day", "team_id", "day"),)


# --- privacy and governance (issue 17, migration 0005) ---------------------------------------------


class RedactionDigest(Base):
    """A keyed hash (HMAC-SHA256, api.privacy) of one value redaction took out of a call: never the value.
    An erasure request hashes the phone or e-mail it names the same way and finds the calls."""

    __tablename__ = "redaction_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # phone | id | card | email
    role: Mapped[str] = mapped_column(String(20))  # who said it: rep | customer
    digest: Mapped[str] = mapped_column(String(64), index=True)


class AuditEvent(Base):
    """Who read, exported, overrode, deleted or erased what, and when. No foreign keys: the record
    outlives the token, the call and the person it names."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # token label (a person's email, or role@team)
    token_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)  # read | export | override | delete | ...
    object_type: Mapped[str] = mapped_column(String(40), default="")  # call | analysis | audio | erasure ...
    object_id: Mapped[str] = mapped_column(String(100), default="")
    team_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the team the object belongs to
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ErasureJob(Base):
    """POST /privacy/erase: find every call whose customer said (or was tagged with) a phone, e-mail or
    name, and delete it. The phone and e-mail are kept as keyed hashes only; the name until the job ends."""

    __tablename__ = "erasure_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | done | failed
    requested_by: Mapped[str] = mapped_column(String(320), default="")
    token_id: Mapped[int | None] = mapped_column(Integer)
    criteria: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"digests": [...], "name": ...}
    call_ids: Mapped[list[Any]] = mapped_column(default=list)  # the calls found (ids only)
    calls_found: Mapped[int] = mapped_column(Integer, default=0)
    calls_deleted: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class FileDeletion(Base):
    """A file to remove once the transaction that forgot it has committed; retried until it is gone."""

    __tablename__ = "file_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500))  # relative to the data dir
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenUpload(Base):
    """One upload accepted for a token: what the per-token limits (uploads a minute, bytes a day) count."""

    __tablename__ = "token_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    bytes: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_token_uploads_token_at", "token_id", "at"),)


class TeamPolicy(Base):
    """A team's retention and audio policy: audio deleted after audio_days (scores and redacted transcripts
    kept), everything after delete_days (None: never); bleep the stored audio over redacted spans."""

    __tablename__ = "team_policies"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    audio_days: Mapped[int | None] = mapped_column(Integer, default=180)
    delete_days: Mapped[int | None] = mapped_column(Integer)
    bleep_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- chat notifications (issue 15, migration 0006) -------------------------------------------------------


class ChatChannel(Base):
    """A team's chat robot: a 企业微信 (WeCom) group robot, a 钉钉 (DingTalk) or 飞书 (Feishu / Lark) custom
    robot, or a Slack incoming webhook, and which notifications it gets. Its deliveries go through the
    webhook outbox (WebhookDelivery.channel_id)."""

    __tablename__ = "chat_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))  # wecom | dingtalk | feishu | slack
    url: Mapped[str] = mapped_column(String(2000))  # holds the robot's key or token: never shown back whole
    secret: Mapped[str | None] = mapped_column(String(200))  # DingTalk / Feishu signing secret: never shown
    name: Mapped[str] = mapped_column(String(200), default="")
    notifications: Mapped[list[Any]] = mapped_column(default=list)  # call_review, deal_risk, weekly_digest
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TeamNotificationSettings(Base):
    """A team's chat notification settings (language, review thresholds, deal risk level, digest schedule)
    as JSON over the defaults of api/data/notifications.yaml."""

    __tablename__ = "team_notification_settings"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
