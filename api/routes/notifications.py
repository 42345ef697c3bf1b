"""A team's chat notifications: its settings, its chat robots (WeCom, DingTalk, Feishu, Slack) and their
delivery logs, and the weekly coaching digest on demand. Admins, and managers for their own team.
A robot's URL (it holds the robot's key or token) and signing secret are never shown back whole."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from callscope.api import chat, notifications, privacy, webhooks
from callscope.api.deps import Principal, PrincipalDep, RowId, SessionDep, SettingsDep
from callscope.api.errors import FieldError, NotFound
from callscope.api.responses import DeliveryList, DeliveryOut
from callscope.api.schemas import (
    ChannelIn,
    ChannelPatch,
    ChatPlatform,
    DigestIn,
    NotificationKind,
    NotificationSettingsIn,
)
from callscope.api.services.zones import display_zone
from callscope.models.orm import (
    ChatChannel,
    Team,
    TeamNotificationSettings,
    WebhookDelivery,
    parse_id,
    utcnow,
)

router = APIRouter(tags=["chat notifications"])


class SettingsOut(BaseModel):
    language: Literal["zh", "en"]
    review: dict[str, float | bool | None]
    deal_risk: dict[str, str]
    digest: dict[str, int]


class ChannelOut(BaseModel):
    id: int
    team_id: int
    platform: ChatPlatform
    name: str
    url: str = Field(description="host and path with the key or token cut to its last 4 characters")
    signed: bool = Field(description="a signing secret is set (the secret itself is never shown)")
    notifications: list[NotificationKind]
    enabled: bool
    created_by: str
    created_at: str
    deliveries: dict[str, int]


class TeamNotifications(BaseModel):
    team: dict[str, int | str]
    settings: SettingsOut
    channels: list[ChannelOut]


class ChannelList(BaseModel):
    items: list[ChannelOut]


class DigestRep(BaseModel):
    id: int
    name: str
    calls: int


class DigestQueued(BaseModel):
    team: str
    week: str
    from_: str = Field(alias="from")
    to: str
    queued: int = Field(description="messages put in the outbox now")
    already_queued: int = Field(description="messages of that week the channels already had (sent once)")
    reps: list[DigestRep]


def _team(session: SessionDep, principal: Principal, ref: str) -> Team:
    team_id = parse_id(ref)
    team = session.get(Team, team_id) if team_id is not None else None
    team = team or session.scalar(select(Team).where(Team.name == ref))
    own = team is not None and principal.role == "manager" and principal.team_id == team.id
    if team is None or not (principal.is_admin or own):
        raise NotFound(f"no team {ref}")
    return team


def _channel(session: SessionDep, team: Team, channel_id: int) -> ChatChannel:
    channel = session.get(ChatChannel, channel_id)
    if channel is None or channel.team_id != team.id:
        raise NotFound(f"no channel {channel_id} in team {team.name}")
    return channel


def _channel_out(session: SessionDep, c: ChatChannel) -> dict:
    counts = dict(session.execute(
        select(WebhookDelivery.status, func.count()).where(WebhookDelivery.channel_id == c.id)
        .group_by(WebhookDelivery.status)).all())
    return {"id": c.id, "team_id": c.team_id, "platform": c.platform, "name": c.name,
            "url": chat.masked_url(c.platform, c.url), "signed": bool(c.secret),
            "notifications": list(c.notifications or []), "enabled": c.enabled, "created_by": c.created_by,
            "created_at": c.created_at.isoformat(),
            "deliveries": {s: counts.get(s, 0) for s in ("pending", "delivered", "failed")}}


def _check(platform: str, url: str, secret: str | None) -> None:
    try:
        chat.check_channel(platform, url, secret)
    except chat.ChannelError as err:
        raise FieldError(str(err)) from None


def _overview(session: SessionDep, team: Team) -> dict:
    channels = session.scalars(select(ChatChannel).where(ChatChannel.team_id == team.id)
                               .order_by(ChatChannel.id))
    return {"team": {"id": team.id, "name": team.name},
            "settings": notifications.team_settings(session, team.id),
            "channels": [_channel_out(session, c) for c in channels]}


@router.get("/teams/{team}/notifications", response_model=TeamNotifications)
def get_notifications(team: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """The team's chat notification settings (its own over the defaults) and its chat robots."""
    return _overview(session, _team(session, principal, team))


@router.put("/teams/{team}/notifications", response_model=TeamNotifications)
def put_notifications(team: str, session: SessionDep, principal: PrincipalDep,
                      body: NotificationSettingsIn) -> dict:
    """Change the team's settings: what is sent is kept, what is left out stays as it was."""
    row_team = _team(session, principal, team)
    row = session.get(TeamNotificationSettings, row_team.id) or TeamNotificationSettings(team_id=row_team.id)
    change = body.model_dump(exclude_unset=True)
    stored = notifications.merged(row.settings or {}, change)
    row.settings, row.updated_by, row.updated_at = stored, principal.label, utcnow()
    session.add(row)
    session.flush()
    privacy.audit_principal(session, principal, "notifications.update", "team", row_team.id, row_team.id,
                            detail={"change": change})
    session.commit()
    return _overview(session, row_team)


@router.post("/teams/{team}/notifications/channels", status_code=201, response_model=ChannelOut)
def create_channel(
    team: str, session: SessionDep, principal: PrincipalDep,
    body: Annotated[ChannelIn, Body(examples=[{
        "platform": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=…",
        "secret": "SEC…", "name": "华东一组",
        "notifications": ["call_review", "deal_risk", "weekly_digest"]}])],
) -> dict:
    """Add a chat robot to the team. The answer shows its URL cut short and whether it signs, never the
    key, token or secret."""
    row_team = _team(session, principal, team)
    _check(body.platform, body.url, body.secret)
    channel = ChatChannel(team_id=row_team.id, platform=body.platform, url=body.url, secret=body.secret,
                          name=body.name, notifications=sorted(set(body.notifications)), enabled=body.enabled,
                          created_by=principal.label)
    session.add(channel)
    session.flush()
    privacy.audit_principal(session, principal, "channel.create", "chat_channel", channel.id, row_team.id,
                            detail={"platform": body.platform, "notifications": channel.notifications})
    session.commit()
    return _channel_out(session, channel)


@router.get("/teams/{team}/notifications/channels", response_model=ChannelList)
def list_channels(team: str, session: SessionDep, principal: PrincipalDep) -> dict:
    return {"items": _overview(session, _team(session, principal, team))["channels"]}


@router.get("/teams/{team}/notifications/channels/{channel_id}", response_model=ChannelOut)
def get_channel(team: str, channel_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    return _channel_out(session, _channel(session, _team(session, principal, team), channel_id))


@router.patch("/teams/{team}/notifications/channels/{channel_id}", response_model=ChannelOut)
def patch_channel(team: str, channel_id: RowId, session: SessionDep, principal: PrincipalDep,
                  body: ChannelPatch) -> dict:
    """Change a robot: its URL, secret (null removes it), name, notifications, or turn it off."""
    row_team = _team(session, principal, team)
    channel = _channel(session, row_team, channel_id)
    given = body.model_fields_set
    url = body.url if "url" in given and body.url is not None else channel.url
    secret = body.secret if "secret" in given else channel.secret
    _check(channel.platform, url, secret)
    channel.url, channel.secret = url, secret
    if body.name is not None:
        channel.name = body.name
    if body.notifications is not None:
        channel.notifications = sorted(set(body.notifications))
    if body.enabled is not None:
        channel.enabled = body.enabled
    session.flush()
    privacy.audit_principal(session, principal, "channel.update", "chat_channel", channel.id, row_team.id,
                            detail={"changed": sorted(given)})
    session.commit()
    return _channel_out(session, channel)


@router.delete("/teams/{team}/notifications/channels/{channel_id}", status_code=204)
def delete_channel(team: str, channel_id: RowId, session: SessionDep, principal: PrincipalDep) -> Response:
    """Remove a robot; its undelivered messages go with it."""
    row_team = _team(session, principal, team)
    channel = _channel(session, row_team, channel_id)
    session.query(WebhookDelivery).filter(WebhookDelivery.channel_id == channel.id).delete()
    session.delete(channel)
    privacy.audit_principal(session, principal, "channel.delete", "chat_channel", channel_id, row_team.id)
    session.commit()
    return Response(status_code=204)


@router.get("/teams/{team}/notifications/channels/{channel_id}/deliveries", response_model=DeliveryList)
def list_chat_deliveries(
    team: str, channel_id: RowId, session: SessionDep, principal: PrincipalDep,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """The robot's delivery log, newest first: notification, attempts, last answer, next attempt."""
    channel = _channel(session, _team(session, principal, team), channel_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.channel_id == channel.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows = session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit))
    return {"items": [webhooks.delivery_to_dict(d) for d in rows]}


@router.post("/teams/{team}/notifications/channels/{channel_id}/deliveries/{delivery_id}/resend",
             status_code=202, response_model=DeliveryOut)
def resend_chat_delivery(team: str, channel_id: RowId, delivery_id: RowId, session: SessionDep,
                         principal: PrincipalDep) -> dict:
    """Send one message again (a failed one after its retry window, or one the group lost)."""
    channel = _channel(session, _team(session, principal, team), channel_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.channel_id != channel.id:
        raise NotFound(f"no delivery {delivery_id} of channel {channel_id}")
    webhooks.resend(session, delivery)
    session.commit()
    return webhooks.delivery_to_dict(delivery)


@router.post("/teams/{team}/notifications/digest", status_code=202, response_model=DigestQueued)
def send_digest(team: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                body: DigestIn | None = None) -> dict:
    """The weekly coaching digest of a given week (default: last week) now, for each rep of the team with
    calls that week, to the robots that take digests. A rep's week already sent to a robot is not sent
    again (re-send it from the delivery log)."""
    row_team = _team(session, principal, team)
    if body is not None and body.week:
        monday = notifications.parse_week(body.week)
    else:
        monday = notifications.last_week_monday(display_zone(settings, row_team.name))
    result = notifications.weekly_digests(session, settings, row_team, monday)
    session.commit()
    return result
