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


class TeamRubricIn(_Body):
    rubric: str = Field(min_length=1, max_length=200, description="a stored or built-in rubric's name")


class RescoreIn(_Body):
    rubric: str | None = Field(default=None, max_length=200,
                               description="default: the team's rubric (or the service's)")
    version: int | None = Field(default=None, ge=0, description="default: the newest (0: the built-in text)")
    team: TeamRef | None = Field(default=None, max_length=200, description="name or id; default: every "
                                 "team you may see")
    from_: str | None = Field(default=None, alias="from", description="ISO 8601 date/time")
    to: str | None = Field(default=None, description="ISO 8601; a date includes that day")


class TrackersIn(_Body):
    trackers: dict[str, list[str]] = Field(default_factory=dict, description="group name -> words (a "
                                           "group named like one of the service's replaces it)")
    hotwords: list[str] = Field(default_factory=list, description="words the recogniser should expect")
