"""JSON request bodies: a wrong type or an over-long value is a 422 naming the field, before any query."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from callscope.models.document import STAGES

Stage = Literal[STAGES]  # type: ignore[valid-type]




def _number_as_text(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


TeamRef = Annotated[str, BeforeValidator(_number_as_text)]  # a team's name, or its numeric id


class _Body(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)


class RepIn(_Body):
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    team: TeamRef | None = Field(default=None, max_length=200, description="name or id (new name: created)")
    role: Literal["rep", "manager"] = "rep"


class DealIn(_Body):
    name: str | None = Field(default=None, max_length=300)
    account: str | None = Field(default=None, max_length=300)
    stage: Stage | None = None
    amount: float | None = None
    owner: str | None = Field(default=None, max_length=320, description="rep id or email")


class OverrideIn(_Body):
    passed: bool | None = None  # sent as null: the item no longer applies
    score: float | None = None
    reason: str = Field(default="", max_length=2000)


class CommentIn(_Body):
    text: str = Field(default="", max_length=5000)
    item_id: str | None = Field(default=None, max_length=100)
    at: float | None = Field(default=None, ge=0, description="seconds into the call")


# --- chat notifications (api.routes.notifications) ---

ChatPlatform = Literal["wecom", "dingtalk", "feishu", "slack"]
NotificationKind = Literal["call_review", "deal_risk", "weekly_digest"]


class ReviewSettings(_Body):
    min_score: float | None = Field(default=None, ge=0, le=100,
                                    description="a call scoring below this needs review (null: never for "
                                                "the score alone)")
    compliance: bool | None = Field(default=None, description="a compliance breach needs review")
    unhandled_objection: bool | None = Field(default=None, description="an unanswered objection needs review")


class RiskSettings(_Body):
    min_level: Literal["medium", "high"] | None = Field(default=None,
                                                        description="notify when a deal's risk rises to this")


class DigestSettings(_Body):
    weekday: int | None = Field(default=None, ge=1, le=7, description="ISO weekday it goes out (1 Monday)")
    hour: int | None = Field(default=None, ge=0, le=23, description="from this hour, in CALLSCOPE_TIMEZONE")
    strengths: int | None = Field(default=None, ge=0, le=10)
    moments: int | None = Field(default=None, ge=0, le=10)


class NotificationSettingsIn(_Body):
    language: Literal["zh", "en"] | None = None
    review: ReviewSettings | None = None
    deal_risk: RiskSettings | None = None
    digest: DigestSettings | None = None


class ChannelIn(_Body):
    platform: ChatPlatform
    url: str = Field(min_length=8, max_length=2000,
                     description="the robot's webhook URL, as its settings show it")
    secret: str | None = Field(default=None, max_length=200,
                               description="DingTalk 加签 (SEC…) or Feishu 签名校验 secret; never shown back")
    name: str = Field(default="", max_length=200)
    notifications: list[NotificationKind] = Field(
        default_factory=lambda: ["call_review", "deal_risk", "weekly_digest"], min_length=1)
    enabled: bool = True


class ChannelPatch(_Body):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    secret: str | None = Field(default=None, max_length=200, description="null removes the secret")
    name: str | None = Field(default=None, max_length=200)
    notifications: list[NotificationKind] | None = Field(default=None, min_length=1)
    enabled: bool | None = None


class DigestIn(_Body):
    week: str | None = Field(default=None, max_length=10, description="ISO week, 2026-W48; default last week")


class TeamRubricIn(_Body):
    rubric: str = Field(min_length=1, max_length=200, description="a stored or built-in rubric's name")


class RescoreIn(_Body):
    rubric: str | None = Field(default=None, max_length=200,
                               description="default: the team's rubric (or the service's)")
    version: int | None = Field(default=None, ge=0, description="default: the newest (0: the built-in text)")
    team: TeamRef | None = Field(default=None, max_length=200, description="name or id; default: every "
                                 "team you may see")
    from_: str | None = Field(default=None, alias="from", description="ISO 8601 date/time; a bare date "
                              "is a day of the team's display time zone")
    to: str | None = Field(default=None, description="ISO 8601; a date includes that day")


class TrackersIn(_Body):
    trackers: dict[str, list[str]] = Field(default_factory=dict, description="group name -> words (a "
                                           "group named like one of the service's replaces it)")
    hotwords: list[str] = Field(default_factory=list, description="words the recogniser should expect")
