"""The CRM loop's background work inside `callscope serve`: the webhook delivery loop (chat notifications
too), the hourly re-judging of deal risks (the clocks run without calls), and the check whether a team's
weekly coaching digest is due."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from callscope.api.services import rollups
from callscope.api.webhooks import Dispatcher
from callscope.core.config import Settings

log = logging.getLogger("callscope.crm")
RISK_SWEEP_SECONDS = 3600.0


def install_hooks() -> None:
    """call.failed into the outbox wherever the queue fails a call for good."""
    from callscope.api import queue
    from callscope.api.events import call_failed

    queue.on_call_failed(call_failed)


def start_crm(sessions: sessionmaker[Session], settings: Settings) -> Dispatcher | None:
    """At start: roll-ups brought up to date, then the delivery loop (unless turned off)."""
    from callscope.api.webhooks import release_claims

    with sessions() as session:
        rollups.rebuild_if_stale(session, settings)
        if session.get_bind().dialect.name == "sqlite":  # one server per SQLite file: its claims are ours
            release_claims(session)
    if not settings.webhook_delivery:
        return None
    from callscope.api.events import sweep_deal_risks
    from callscope.api.notifications import send_due_digests

    dispatcher = Dispatcher(sessions, settings, poll_seconds=1.0)
    dispatcher.periodic.append((RISK_SWEEP_SECONDS, lambda session: sweep_deal_risks(session, settings)))
    dispatcher.periodic.append((settings.digest_check_seconds,
                                lambda session: send_due_digests(session, settings)))
    dispatcher.start()
    return dispatcher
