"""The CRM loop's background work inside `callscope serve`: the webhook delivery loop, and the hourly
re-judging of deal risks (the clocks run without calls)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from callscope.api.webhooks import Dispatcher
from callscope.core.config import Settings

log = logging.getLogger("callscope.crm")
RISK_SWEEP_SECONDS = 3600.0


def start_dispatcher(sessions: sessionmaker[Session], settings: Settings) -> Dispatcher | None:
    if not settings.webhook_delivery:
        return None
    from callscope.api.events import sweep_deal_risks

    dispatcher = Dispatcher(sessions, settings, poll_seconds=1.0)
    dispatcher.periodic.append((RISK_SWEEP_SECONDS, lambda session: sweep_deal_risks(session, settings)))
    dispatcher.start()
    return dispatcher
