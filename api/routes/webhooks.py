"""Webhook subscriptions and their delivery logs (contract: Webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from callscope.api import webhooks
from callscope.api.deps import Principal, PrincipalDep, RowId, SessionDep
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.responses import DeliveryList, DeliveryOut, Out, Timestamp
from callscope.models.orm import Webhook, WebhookDelivery

router = APIRouter(tags=["webhooks"])
EventType = Literal["call.analyzed", "call.failed", "deal.risk_changed", "evaluation.updated"]


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="http(s) URL the events are POSTed to")
    events: list[EventType] = Field(min_length=1)
    secret: str | None = Field(default=None, max_length=200,
                               description="whsec_ + base64; generated (and shown once) when left out")
    description: str = Field(default="", max_length=500)


class WebhookOut(Out):
    id: int
    url: str
    events: list[str]
    description: str
    team_id: int | None
    created_by: str
    created_at: Timestamp
    deliveries: dict[str, int] | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret: shown only in this answer")


class WebhookList(Out):
    items: list[WebhookOut]


def _manager_of_webhooks(principal: Principal) -> None:
    if principal.role not in ("admin", "integration", "manager"):
        raise Forbidden("only admin, integration and manager tokens manage webhooks")


def _visible(session: SessionDep, principal: Principal, webhook_id: int) -> Webhook:
    _manager_of_webhooks(principal)
    hook = session.get(Webhook, webhook_id)
    if hook is None or (principal.role == "manager" and hook.team_id != principal.team_id):
        raise NotFound(f"no webhook {webhook_id}")
    return hook


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
def create_webhook(
    session: SessionDep, principal: PrincipalDep,
    body: Annotated[WebhookIn, Body(examples=[{"url": "https://crm.example.com/hooks/callscope",
                                               "events": ["call.analyzed", "deal.risk_changed"]}])],
) -> dict:
    """Subscribe a URL to events. The answer holds the signing secret, the only time it is shown.
    A manager's subscription gets only their team's events."""
    _manager_of_webhooks(principal)
    parts = urlsplit(body.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FieldError("url: must be an http or https URL")
    try:
        secret = webhooks.check_secret(body.secret) if body.secret else webhooks.new_secret()
    except webhooks.SecretError as err:
        raise FieldError(str(err)) from None
    hook = Webhook(url=body.url, events=sorted(set(body.events)), secret=secret,
                   description=body.description, created_by=principal.label,
                   team_id=principal.team_id if principal.role == "manager" else None)
    session.add(hook)
    session.commit()
    return {**webhooks.webhook_to_dict(hook), "secret": secret}


@router.get("/webhooks", response_model=WebhookList)
def list_webhooks(session: SessionDep, principal: PrincipalDep) -> dict:
    _manager_of_webhooks(principal)
    stmt = select(Webhook).order_by(Webhook.id)
    if principal.role == "manager":
        stmt = stmt.where(Webhook.team_id == principal.team_id)
    return {"items": [webhooks.webhook_to_dict(h, session) for h in session.scalars(stmt)]}


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    return webhooks.webhook_to_dict(_visible(session, principal, webhook_id), session)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: RowId, session: SessionDep, principal: PrincipalDep) -> Response:
    """Unsubscribe; its pending deliveries are dropped with it."""
    hook = _visible(session, principal, webhook_id)
    session.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == hook.id).delete()
    session.delete(hook)
    session.commit()
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    webhook_id: RowId, session: SessionDep, principal: PrincipalDep,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """The delivery log, newest first: event, attempts, last status code, next attempt, delivered at."""
    hook = _visible(session, principal, webhook_id)
    return {"items": [webhooks.delivery_to_dict(d)
                      for d in webhooks.deliveries_of(session, hook, limit, status)]}


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", status_code=202,
             response_model=DeliveryOut)
def resend_delivery(webhook_id: RowId, delivery_id: RowId, session: SessionDep,
                    principal: PrincipalDep) -> dict:
    """Send one event again (same webhook-id, so a receiver that has it already can drop it)."""
    hook = _visible(session, principal, webhook_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != hook.id:
        raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}")
    webhooks.resend(session, delivery)
    session.commit()
    return webhooks.delivery_to_dict(delivery)
