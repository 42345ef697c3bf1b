"""The shapes of the API's answers (Pydantic), published in OpenAPI so a CRM can generate a client.

Two kinds of model:
- `Out`: every field the service sends is declared. At run time an undeclared key still passes through
  (nothing a client reads is dropped by a forgotten field), and tests/test_api_schema.py fails on it, so
  the published schema is the whole answer.
- `Open`: the analysis document and what is copied from it, where the contract welcomes more keys than
  it requires: the required ones are declared and typed, more may come (`additionalProperties`). It is
  sent as stored (a key the document lacks is not made up as null).

Every error (4xx, 5xx, validation errors included) is `ErrorOut`: `{"detail": "one line"}`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callscope.api.exports import XLSX_TYPE

Stage = Literal["prospecting", "discovery", "presentation", "negotiation", "closing", "after_sales"]
CrmStage = Annotated[Stage | Literal[""], Field(description="the CRM's stage ('' where the CRM sent none)")]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]


def _closed(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class Out(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra=_closed, populate_by_name=True)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- errors ------------------------------------------------------------------------------------------

class ErrorOut(Out):
    detail: str = Field(description="one line: what is wrong (a bad field's name first, as in "
                                    "'to: before from')")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "the request's fault: 401 no or bad token, 403 not yours "
            "to do, 404 not found or outside your scope, 409 not ready, 413/415 upload refused, "
            "422 a bad field (named first), 429 over the token's limits (Retry-After)"},
    "5XX": {"model": ErrorOut, "description": "the server's fault (never bad input)"},
}


def sheets(also_json: bool) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of an export: CSV and XLSX (beside the JSON model where also_json)."""
    content = {"text/csv": {"schema": {"type": "string"}},
               XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}
    return {200: {"content": content, "description": "JSON, or ?format=csv|xlsx" if also_json
                  else "?format=csv (default) or xlsx"}}


# --- shared pieces -----------------------------------------------------------------------------------

class RepRef(Out):
    id: int
    email: str
    name: str


class TeamRef(Out):
    id: int | None
    name: str | None


# what the `from` and `to` query parameters of periods mean
FROM_DOC = ("ISO 8601 date or date/time; a bare date is its midnight in the display time zone "
            "(the answer's `timezone`); a date/time without an offset is UTC")
TO_DOC = "ISO 8601, inclusive; a bare date is all of that day in the display time zone"


class Period(Out):
    from_: Timestamp | None = Field(alias="from", description="the first instant, in `timezone`")
    to: Timestamp | None = Field(description="the last instant, in `timezone`")
    timezone: str = Field(description="the display time zone the period's days and weeks are cut in")


# --- health ------------------------------------------------------------------------------------------

class QueueDepth(Out):
    queued: int
    processing: int
    broker: int | None = Field(default=None, description="the broker's count (Celery engine)")


class Check(Out):
    status: Literal["ok", "down", "none"]
    dialect: str | None = None
    engine: Literal["embedded", "celery"] | None = None
    transport: str | None = None
    error: str | None = None


class Health(Out):
    status: Literal["ok", "degraded"]
    version: str
    jobs: dict[str, int] = Field(description="jobs by status")
    queues: dict[str, QueueDepth]
    database: Check
    broker: Check


# --- the analysis document (contract: required keys; more are welcome) -------------------------------

class RedactionOut(Out):
    kind: Literal["phone", "id", "card", "email"]
    start: float
    end: float
    placeholder: str


class Segment(Open):
    start: float
    end: float
    speaker: str
    role: Literal["rep", "customer"]
    text: str
    language: str | None = None
    stage: str | None = None
    question: bool | None = None
    index: int | None = None
    redactions: list[RedactionOut] = []


class EvidenceOut(Open):
    start: float | None
    end: float | None
    text: str
    turn: int | None = None


class ObjectionOut(Open):
    type: str
    start: float
    end: float
    text: str
    handled: bool
    turn: int | None = None
    confidence: float | None = None
    response: EvidenceOut | None = None


class DueOut(Open):
    said: str = Field(description="the words the date was read from")
    date: Day
    time: str | None = None
    by: bool = Field(description="a deadline (之前, by)")


class NextStepOut(Open):
    start: float
    text: str
    end: float | None = None
    when: str | None = Field(default=None, description="the time expression as said")
    turn: int | None = None
    role: str | None = None
    due: DueOut | None = None


class MetricsOut(Open):
    talk_ratio: float
    longest_monologue: float
    interactivity: float
    patience: float
    questions: int
    question_rate: float


class OverrideMark(Out):
    by: str
    at: Timestamp
    before: dict[str, Any]
    reason: str


class ScorecardItem(Open):
    id: str
    passed: bool | None = Field(description="null: the item does not apply to this call")
    score: float
    max: float
    evidence: list[EvidenceOut]
    feedback: str
    name: str | None = None
    override: OverrideMark | None = Field(default=None, description="a manager's override, applied")


class ScorecardOut(Open):
    rubric: str
    score: float
    items: list[ScorecardItem]
    grade: str | None = None
    rubric_version: str | None = Field(default=None, description="the rubric version that scored it")
    grade_label: str | None = None
    language: str | None = None
    model_score: float | None = Field(default=None, description="the score before overrides")
    overridden: bool | None = None


class HitOut(Open):
    name: str
    term: str
    turn: int
    start: float
    end: float
    text: str
    role: str | None = None


class AnalysisDocument(Open):
    """The contract's analysis document (what `callscope analyze --format json` prints)."""

    duration: float
    language: str
    segments: list[Segment]
    stage: Stage | None
    objections: list[ObjectionOut]
    next_steps: list[NextStepOut]
    metrics: MetricsOut
    scorecard: ScorecardOut
    layout: Literal["stereo", "mono"] | None = None
    speakers: dict[str, str] | None = None
    stage_scores: dict[str, float] | None = None
    questions: list[EvidenceOut] | None = None
    compliance: list[HitOut] | None = None
    trackers: list[HitOut] | None = None
    asr: dict[str, Any] | None = None
    timings: dict[str, float] | None = None


# --- calls -------------------------------------------------------------------------------------------

class DealRef(Out):
    id: int
    external_id: str
    name: str | None


class CallLinks(Out):
    self_: str = Field(alias="self")
    analysis: str
    audio: str


class CallOut(Out):
    id: int
    title: str
    status: Literal["queued", "processing", "done", "failed"]
    error: str | None
    attempts: int
    rep: RepRef | None
    deal: DealRef | None
    started_at: Timestamp
    duration: float | None
    channels: str
    rep_channel: int | None
    stage: Stage | None
    score: float | None
    language: str | None
    objections: list[str]
    trackers: list[str] = Field(description="the keyword trackers that fired in the call (?tracker= filters)")
    original_filename: str | None
    size: int | None
    sha256: str
    created_at: Timestamp
    updated_at: Timestamp
    links: CallLinks


class CallList(Out):
    items: list[CallOut]
    pagination: Literal["cursor"]
    limit: int
    next_cursor: str | None = Field(description="pass back as `cursor`; null on the last page")
    timezone: str = Field(description="the display time zone bare dates in `from` and `to` are days of")


class CallAccepted(Out):
    id: int
    status: str
    duplicate: bool = Field(description="the same audio was uploaded before: this is that call")


class RescoreQueued(Out):
    id: int
    job: int
    status: str
    rubric: str


class OverrideOut(Out):
    id: int
    item_id: str
    by: str
    at: Timestamp
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str


class CommentOut(Out):
    id: int
    item_id: str | None
    at: float | None = Field(description="seconds into the call")
    by: str
    text: str
    created_at: Timestamp


class AcknowledgementOut(Out):
    rep_id: int = Field(description="the rep (user id) who acknowledged the feedback")
    note: str
    at: Timestamp


class Reviews(Out):
    overrides: list[OverrideOut]
    comments: list[CommentOut]
    acknowledgements: list[AcknowledgementOut]


class ItemOverridden(Out):
    call_id: int
    score: float | None = Field(description="the call's score now")
    item: ScorecardItem


# --- reps and deals ----------------------------------------------------------------------------------

class RepOut(Out):
    id: int
    email: str
    name: str
    role: str
    team_id: int | None
    team: str | None


class RepList(Out):
    items: list[RepOut]


class DealOut(Out):
    id: int
    external_id: str
    name: str | None
    account: str | None
    stage: CrmStage | None
    amount: float | None
    owner_id: int | None
    updated_at: Timestamp


class DealList(Out):
    items: list[DealOut]


class DealCall(Out):
    id: int
    title: str
    started_at: Timestamp
    rep: str
    rep_name: str = Field(description="the rep's name (their e-mail when they have none)")
    status: str
    stage: Stage | None
    score: float | None


class StageStep(Out):
    call_id: int
    started_at: Timestamp
    stage: Stage | None


class DealStage(Out):
    current: Stage | None
    furthest: Stage | None
    moved: bool
    progression: list[StageStep]


class DealObjection(Out):
    call_id: int
    type: str
    text: str
    handled: bool
    start: float | None
    started_at: Timestamp


class DealObjections(Out):
    open: list[str] = Field(description="types whose latest mention went unanswered")
    handled: list[str]
    all: list[DealObjection]


class DealNextStep(Out):
    call_id: int
    text: str
    when: str
    promised_on: Day
    promised_at: Timestamp
    due: Day | None
    due_time: str | None
    deadline: bool | None
    start: float | None
    overdue: bool


class FollowUp(Out):
    due_by: Day | None
    days_left: int | None
    overdue: bool


class IntentClock(Out):
    days_since_first_call: int | None
    judge_at_days: int
    judgement: str


class Clocks(Out):
    first_call_at: Timestamp | None
    last_call_at: Timestamp | None
    days_since_last_call: int | None
    calls_this_week: int
    follow_up: FollowUp
    intent: IntentClock


class RiskReason(Open):
    code: str = Field(description="no_contact_15d, no_progress_30d, open_objection, competitor_unanswered, "
                                  "missed_next_step, stage_backwards")
    text: str = Field(description="a sentence a sales manager accepts")
    severity: Literal["low", "medium", "high"]


class Risk(Out):
    level: Literal["low", "medium", "high"]
    reasons: list[RiskReason]


class DealHeader(Out):
    id: int
    external_id: str
    name: str | None
    account: str | None
    crm_stage: CrmStage | None
    amount: float | None


class DealInsights(Out):
    deal: DealHeader
    calls: list[DealCall]
    stage: DealStage
    objections: DealObjections
    next_steps: list[DealNextStep]
    clocks: Clocks
    risk: Risk


# --- evaluations -------------------------------------------------------------------------------------

class ExampleLink(Out):
    call_id: int
    call_title: str
    start: float | None
    end: float | None
    text: str
    link: str = Field(description="the moment in the call's audio (no #t= for a whole-call finding)")
    feedback: str | None = None
    coaching: dict[str, str] = Field(default_factory=dict,
                                     description="language -> the rubric's text for this verdict")


class EvaluatedItem(Out):
    id: str
    name: str
    applicable: int
    passed: int
    pass_rate: float | None
    average_score: float | None
    passing_examples: list[ExampleLink]
    failing_examples: list[ExampleLink]
    feedback: list[str]
    coaching: dict[str, str] = Field(default_factory=dict,
                                     description="language -> the rubric's text for a failing verdict")


class MetricSummary(Out):
    average: float | None
    target: dict[str, float] | None
    status: Literal["low", "high", "ok"] | None


class ObjectionType(Out):
    type: str
    raised: int
    handled: int
    handled_rate: float
    unhandled_examples: list[ExampleLink]


class ObjectionSummary(Out):
    raised: int
    handled: int
    handled_rate: float | None
    by_type: list[ObjectionType]


class Strength(Out):
    id: str
    name: str
    pass_rate: float
    examples: list[ExampleLink]


class Improvement(Strength):
    feedback: list[str]
    coaching: dict[str, str] = Field(default_factory=dict,
                                     description="language -> the rubric's text for a failing verdict")


class WeekScore(Out):
    week: str = Field(description="ISO week, 2026-W48")
    from_: date = Field(alias="from", description="its Monday, in the display time zone")
    calls: int
    average: float


class Trend(Out):
    by_week: list[WeekScore]
    timezone: str = Field(description="the display time zone the weeks are cut in")
    slope_per_call: float
    direction: Literal["up", "down", "flat", "n/a"]


class EvaluatedCall(Out):
    id: int
    title: str
    started_at: Timestamp
    score: float | None
    stage: Stage | None


class Compared(Out):
    average: float | None = Field(description="over all the team's calls in the period")
    top_quartile: float | None = Field(description="75th percentile of the reps' values (25th where less "
                                                   "is better)")
    rep: float | None
    reps: int
    lower_is_better: bool


class ComparedItem(Compared):
    name: str


class CallsPerRep(Out):
    average: float | None
    top_quartile: float | None
    rep: int


class TeamComparison(Out):
    team: TeamRef
    reps: int
    calls: int
    average_score: Compared
    calls_per_rep: CallsPerRep
    metrics: dict[str, Compared]
    items: dict[str, ComparedItem]


class TargetOut(Out):
    id: int
    metric: str
    rep_id: int | None
    team_id: int | None
    from_: Day = Field(alias="from", description="first day")
    to: Day = Field(description="the day after the last (exclusive)")
    value: float
    source: Literal["direct", "team_goal", "breakdown"]
    parent_id: int | None


class TargetAttained(TargetOut):
    actual: float | None = Field(description="counted over the target's own period")
    attainment: float | None = Field(description="actual / value (value / actual where less is better)")


class TargetList(Out):
    items: list[TargetAttained]
    timezone: str = Field(description="the display time zone the targets' days are days of")


class GoalOut(Out):
    goal: TargetOut
    targets: list[TargetOut]


class LeaderboardRow(Out):
    rep: RepRef
    value: float | None
    calls: int
    rank: int | None


class Leaderboard(Out):
    team: TeamRef
    by: Literal["score", "improvement", "attainment"]
    period: Period
    items: list[LeaderboardRow]


class RepEvaluation(Out):
    rep: TeamlessRep
    period: Period
    calls: int
    call_list: list[EvaluatedCall]
    average_score: float | None
    trend: Trend
    stages: dict[str, int]
    items: list[EvaluatedItem]
    metrics: dict[str, MetricSummary]
    objections: ObjectionSummary
    strengths: list[Strength]
    improvements: list[Improvement]
    team: TeamComparison | None = Field(description="null for a rep without a team")
    targets: list[TargetAttained] | None = Field(default=None, description="present when targets are set")


class TeamlessRep(RepRef):
    team: str | None


class ItemPassRate(Out):
    name: str
    applicable: int
    pass_rate: float | None


class Figures(Out):
    calls: int
    talk_time: float = Field(description="minutes of recorded calls")
    average_score: float | None
    objection_handled_rate: float | None
    metrics: dict[str, float | None]
    items: dict[str, ItemPassRate]


class RepFigures(Figures):
    rep: RepRef
    targets: list[TargetAttained]
    attainment: float | None = Field(description="the mean attainment of the rep's targets")


class TopQuartiles(Out):
    average_score: float | None
    calls: float | None
    metrics: dict[str, float | None]


class TeamEvaluation(Out):
    team: TeamRef
    period: Period
    summary: Figures
    top_quartile: TopQuartiles
    reps: list[RepFigures]


RepEvaluation.model_rebuild()


# --- deliveries (webhooks and chat robots share one outbox) -----------------------------------------

class DeliveryOut(Out):
    """One outbox row: a webhook's delivery (webhook_id set) or a chat robot's message (channel_id set)."""

    id: int
    webhook_id: int | None = Field(description="the webhook subscription; null for a chat robot's message")
    channel_id: int | None = Field(description="the chat robot; null for a webhook's delivery (the "
                                   "outbox's chat messages are listed under their team's channels)")
    event_id: str = Field(description="a webhook's webhook-id header, the same on every attempt; a chat "
                          "notification's id: one per call review, risk rise, rep's week")
    event: str = Field(description="the event type (call.analyzed, ...); for a chat robot "
                       "chat.call_review, chat.deal_risk or chat.weekly_digest")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    created_at: str | None


class DeliveryList(Out):
    items: list[DeliveryOut]


# --- rubrics -----------------------------------------------------------------------------------------

class RubricSummary(Out):
    name: str
    version: int
    updated_by: str
    updated_at: Timestamp | None


class RubricList(Out):
    items: list[RubricSummary]


class RubricOut(RubricSummary):
    source: Literal["stored", "builtin"]
    body: str = Field(description="the rubric as YAML, as a manager reads it")
    rubric: dict[str, Any] = Field(description="the same, parsed")


class RubricStored(RubricSummary):
    rescoring: int = Field(description="calls queued for re-scoring on the new version")


class RubricVersionOut(Out):
    name: str
    version: int
    content_hash: str = Field(description="what a scorecard made with it has as rubric_version")
    created_by: str
    created_at: Timestamp
    diff: str = Field(description="unified diff from the version before (v0: the built-in text)")
    body: str | None = Field(default=None, description="the version's YAML (one version's answer only)")


class RubricVersionList(Out):
    items: list[RubricVersionOut] = Field(description="newest first")


class TeamRubric(Out):
    team: TeamRef
    rubric: str = Field(description="the rubric the team's calls are scored on")
    assigned: bool = Field(description="false: the service's default rubric, none assigned")
    version: int = Field(description="its newest version (0: the built-in text)")


class RescoreBatchOut(Out):
    id: int
    rubric: str
    version: int
    team_id: int | None
    from_: Timestamp | None = Field(alias="from")
    to: Timestamp | None
    status: Literal["running", "done"]
    total: int
    queued: int
    processing: int
    done: int
    failed: int
    gone: int = Field(description="calls deleted before their re-scoring")
    progress: float = Field(description="share of the calls finished, 0-1")
    created_by: str
    created_at: Timestamp


class EffectiveTrackers(Out):
    trackers: dict[str, list[str]] = Field(description="the service's groups with the team's over them")
    hotwords: list[str] = Field(description="the service's and the team's")


class TeamTrackers(Out):
    team: TeamRef
    trackers: dict[str, list[str]] = Field(description="the team's own keyword groups")
    hotwords: list[str] = Field(description="the team's own hotwords")
    effective: EffectiveTrackers = Field(description="what the team's calls are analysed with")


# --- privacy, audit, tokens --------------------------------------------------------------------------

class JobQueued(Out):
    id: int
    status: str


class ErasureOut(Out):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    calls_found: int | None
    calls_deleted: int | None
    call_ids: list[int]
    requested_by: str
    created_at: Timestamp
    finished_at: Timestamp | None
    error: str | None
    criteria: list[Literal["phone", "email", "name"]]


class AuditEventOut(Out):
    id: int
    at: Timestamp
    actor: str
    token_id: int | None
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    team_id: int | None
    detail: dict[str, Any] | None


class AuditList(Out):
    items: list[AuditEventOut]
    next_before: int | None = Field(description="pass as `before` for the next page; null on the last")


class PolicyOut(Out):
    team_id: int
    audio_days: int | None
    delete_days: int | None
    bleep_audio: bool
    updated_by: str | None
    updated_at: Timestamp | None


class RetentionRun(Out):
    audio_deleted: int
    calls_deleted: int


class TokenOut(Out):
    id: int
    name: str
    role: Literal["admin", "manager", "rep", "integration"]
    user_id: int | None
    team_id: int | None
    state: Literal["active", "expired", "revoked"]
    created_at: Timestamp | None
    last_used_at: Timestamp | None
    expires_at: Timestamp | None
    revoked_at: Timestamp | None
    rotated_to: int | None
    uploads_per_minute: int | None
    bytes_per_day: int | None


class TokenList(Out):
    items: list[TokenOut]


class TokenCreated(TokenOut):
    token: str = Field(description="the secret: shown only in this answer")
