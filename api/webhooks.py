"""Webhooks (Standard Webhooks): subscriptions, an outbox of deliveries, and the loop that sends them.

An event is written as one WebhookDelivery row per subscription that wants it, in the session (the
transaction) that made the event: committed together or not at all, so a killed server loses nothing.
The delivery loop (a thread of `callscope serve`) claims due rows by moving their next attempt past a
lease with a conditional UPDATE (two servers never send one row at once), POSTs the body signed with
the subscription's secret (`standardwebhooks`), and records the answer: a 2xx is delivered; anything
else, or no answer within the timeout, is retried with exponential backoff and full jitter for the
retry window (26 h by default), after which the delivery is failed (and can be re-sent by hand).
Every attempt of one event carries the same webhook-id; webhook-timestamp is the attempt's time.

The same outbox carries the chat notifications of api.notifications: a row with channel_id instead of
webhook_id holds a chat robot's message, signed at each attempt the way its platform signs (api.chat),
and delivered when the platform's answer says the robot took it.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook as Signer

from callscope.api import chat
from callscope.core.config import Settings
from callscope.models.orm import ChatChannel, Webhook, WebhookDelivery, utcnow

log = logging.getLogger("callscope.webhooks")

EVENT_TYPES = ("call.analyzed", "call.failed", "deal.risk_changed", "evaluation.updated")
SECRET_PREFIX = "whsec_"
LEASE_MARGIN = timedelta(seconds=15)  # a claim lasts the attempt's timeout and this; then it is tried again
BATCH = 20
_wake = threading.Event()  # set when an event is committed in this process: look now


class SecretError(ValueError):
    pass


def new_secret() -> str:
    """whsec_ + base64 of 32 random bytes, as Standard Webhooks has it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """A given secret as Standard Webhooks reads it (whsec_ + base64 of 24 to 64 bytes), else SecretError."""
    if not secret.startswith(SECRET_PREFIX):
        raise SecretError("secret: must start with whsec_ (base64 after it)")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise SecretError("secret: not base64 after whsec_") from None
    if not 24 <= len(raw) <= 64:
        raise SecretError("secret: must be 24 to 64 bytes (base64 after whsec_)")
    return secret


def event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def wake() -> None:
    """Something was put in the outbox in this process: the delivery loop looks now, not at its next poll."""
    _wake.set()


def _subscribers(session: Session, event_type: str, team_id: int | None) -> list[Webhook]:
    hooks = session.scalars(select(Webhook).order_by(Webhook.id))
    return [h for h in hooks if event_type in (h.events or [])
            and (h.team_id is None or team_id is None or h.team_id == team_id)]


def emit(session: Session, event_type: str, data: dict[str, Any], team_id: int | None = None,
         at: datetime | None = None) -> str | None:
    """Write the event into the outbox of every subscription that wants it (not committed: the caller's
    transaction carries it). team_id: the team the event is about (a manager's subscription only gets
    its own team's). Returns the event's id (the webhook-id), or None when nobody subscribed."""
    hooks = _subscribers(session, event_type, team_id)
    if not hooks:
        return None
    msg_id = event_id()
    stamp = (at or utcnow()).astimezone(timezone.utc)
    body = {"type": event_type, "timestamp": stamp.isoformat().replace("+00:00", "Z"),
            "data": json.loads(json.dumps(data, ensure_ascii=False, default=str))}
    session.add_all([WebhookDelivery(webhook_id=h.id, event_id=msg_id, event_type=event_type, payload=body,
                                     status="pending", next_attempt_at=utcnow()) for h in hooks])
    session.flush()
    _wake.set()
    return msg_id


def backoff(attempts: int, settings: Settings, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter: a random wait up to base * 2^(attempts-1), capped."""
    ceiling = min(settings.webhook_backoff_max, settings.webhook_backoff_base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def signed_request(hook: Webhook, delivery: WebhookDelivery, now: datetime | None = None
                   ) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers of one attempt."""
    now = (now or utcnow()).astimezone(timezone.utc)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    signature = Signer(hook.secret).sign(delivery.event_id, now, body)
    return body.encode(), {
        "content-type": "application/json",
        "user-agent": "callscope-webhooks",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def release_claims(session: Session) -> int:
    """A single-server start (SQLite): deliveries a killed process had claimed are due now, not at the
    end of their lease (a waiting retry is tried now too: harmless, its webhook-id is the same). Commits."""
    count = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at > utcnow())
        .values(next_attempt_at=utcnow())).rowcount
    session.commit()
    return count


def claim_due(session: Session, limit: int = BATCH, lease: timedelta = timedelta(seconds=30)) -> list[int]:
    """Take up to limit due deliveries: each claimed by moving its next attempt a lease ahead, on the
    condition that nobody moved it first. Commits."""
    now = utcnow()
    due = select(WebhookDelivery.id).where(WebhookDelivery.status == "pending",
                                           WebhookDelivery.next_attempt_at <= now)
    due = due.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    ids = list(session.scalars(due))
    won = []
    for delivery_id in ids:
        got = session.execute(update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now).values(next_attempt_at=now + lease)).rowcount
        if got:
            won.append(delivery_id)
    session.commit()
    return won


Prepared = tuple[str, bytes, dict[str, str], str | None]


def _prepared(session: Session, delivery: WebhookDelivery) -> Prepared | None:
    """(url, body, headers, chat platform or None) of one attempt of a delivery, None when its
    subscription or channel is gone."""
    if delivery.channel_id is not None:
        channel = session.get(ChatChannel, delivery.channel_id)
        if channel is None:
            return None
        url, body, headers = chat.outgoing(channel.platform, channel.url, channel.secret,
                                           delivery.payload["message"], utcnow())
        return url, body, headers, channel.platform
    hook = session.get(Webhook, delivery.webhook_id)
    if hook is None:
        return None
    body, headers = signed_request(hook, delivery)
    return hook.url, body, headers, None


def attempt(sessions: sessionmaker[Session], settings: Settings, delivery_id: int,
            client: httpx.Client) -> str:
    """One attempt of one claimed delivery; records the outcome. Returns the delivery's status."""
    with sessions() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        prepared = _prepared(session, delivery) if delivery and delivery.status == "pending" else None
        if prepared is None:
            return "gone"
        url, body, headers, platform = prepared
    code, error = None, None
    try:
        response = client.post(url, content=body, headers=headers, timeout=settings.webhook_timeout)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:200]}"
        elif platform is not None:
            error = chat.refusal(platform, response)
    except httpx.HTTPError as err:  # its words, never the URL (a chat robot's URL holds its key)
        error = f"{type(err).__name__}: {str(err).replace(url, '…')[:200]}"
    now = utcnow()
    with sessions() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return "gone"
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = code
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        else:
            upcoming = now + backoff(delivery.attempts, settings)
            if upcoming > delivery.created_at + timedelta(hours=settings.webhook_retry_hours):
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delivery.next_attempt_at = upcoming
        session.commit()
        return delivery.status


def resend(session: Session, delivery: WebhookDelivery) -> None:
    """A manual re-send: the same event (same webhook-id) back in the queue now, its retry window anew."""
    delivery.status, delivery.next_attempt_at, delivery.delivered_at = "pending", utcnow(), None
    delivery.created_at = utcnow()
    session.flush()
    _wake.set()


class Dispatcher:
    """The delivery loop: a thread claiming due deliveries and sending them from a small pool."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, poll_seconds: float = 1.0,
                 senders: int = 4) -> None:
        self.sessions, self.settings, self.poll_seconds = sessions, settings, poll_seconds
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="callscope-webhook")
        self._thread = threading.Thread(target=self._loop, name="callscope-webhooks", daemon=True)
        self._client = httpx.Client(follow_redirects=False)
        self.periodic: list[tuple[float, Any]] = []  # (every seconds, fn(session)) run by the loop

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        _wake.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def run_once(self) -> int:
        """Send what is due now (waits for the answers). Returns how many were tried."""
        with self.sessions() as session:
            ids = claim_due(session, lease=timedelta(seconds=self.settings.webhook_timeout) + LEASE_MARGIN)
        futures = [self._pool.submit(attempt, self.sessions, self.settings, i, self._client) for i in ids]
        for future in futures:
            try:
                future.result()
            except Exception:  # noqa: BLE001 - one delivery's failure must not stop the others
                log.exception("webhook delivery failed")
        return len(ids)

    def _loop(self) -> None:
        # periodic tasks first run one period after start, not in the busy minute a server starts in
        started = time.monotonic()
        last_run: dict[int, float] = {i: started for i in range(len(self.periodic))}
        while not self._stop.is_set():
            try:
                tried = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the loop
                log.exception("webhook loop error")
                tried = 0
            for index, (every, fn) in enumerate(self.periodic):
                if time.monotonic() - last_run.get(index, -every) >= every:
                    last_run[index] = time.monotonic()
                    try:
                        with self.sessions() as session:
                            fn(session)
                            session.commit()
                    except Exception:  # noqa: BLE001
                        log.exception("periodic webhook task failed")
            if not tried:
                _wake.wait(self.poll_seconds)
                _wake.clear()


def deliveries_of(session: Session, hook: Webhook, limit: int = 100,
                  status: str | None = None) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return list(session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)))


def delivery_to_dict(d: WebhookDelivery) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": d.id, "webhook_id": d.webhook_id, "channel_id": d.channel_id, "event_id": d.event_id,
            "event": d.event_type,
            "status": d.status, "attempts": d.attempts, "last_status_code": d.last_status_code,
            "last_error": d.last_error, "next_attempt_at": iso(d.next_attempt_at),
            "last_attempt_at": iso(d.last_attempt_at), "delivered_at": iso(d.delivered_at),
            "created_at": iso(d.created_at)}


def webhook_to_dict(h: Webhook, session: Session | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": h.id, "url": h.url, "events": list(h.events or []),
                           "description": h.description, "team_id": h.team_id,
                           "created_by": h.created_by, "created_at": h.created_at.isoformat()}
    if session is not None:
        counts = dict(session.execute(
            select(WebhookDelivery.status, func.count()).where(WebhookDelivery.webhook_id == h.id)
            .group_by(WebhookDelivery.status)).all())
        out["deliveries"] = {s: counts.get(s, 0) for s in ("pending", "delivered", "failed")}
    return out
