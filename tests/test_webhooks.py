"""Webhooks as a CRM sees them, on loopback: real HTTP receivers (one failing its first attempts, one
down for a while), real SQLite, the real NLP and scoring on crafted transcripts (no ASR), a server
stopped and one killed with SIGKILL in between. Every event arrives, once per webhook-id, signed so
that the standardwebhooks library verifies it; a deal with a crafted timeline turns high risk."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook as Verifier

from callscope.api import webhooks
from callscope.api.app import create_app
from callscope.api.tokens import create_token
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.document import Transcript
from callscope.models.orm import Call, Webhook, WebhookDelivery
from callscope.pipeline import rescore
from tests.service_support import LoopbackServer, Server, free_port
from tests.test_api_access import short_audio

NOW = datetime.now(timezone.utc)
# a deal's crafted timeline: a closing call 45 days ago (the contract stamped), then a call 40 days
# ago back at negotiation in which the customer's price objection and a competitor go unanswered, and
# a next step (下周二下午) after which no call came
CLOSING = [("rep", "王总您好，合同我们这边已经盖章了，今天给您快递过去。"),
           ("customer", "好的，我们签完字就安排首付款，百分之三十对吧？"),
           ("rep", "对，首付百分之三十，到货验收后付尾款，发票我们开好一起寄。"),
           ("customer", "行，那交付和上线培训的时间你们排一下。")]
SLIPPING = [("rep", "您好，王总，我是云帆科技的李明，今天想跟您聊聊仓储系统的方案。"),
            ("customer", "你们这个价格太贵了。"),
            ("rep", "我们的系统功能很多。"),
            ("customer", "我们现在用的是金蝶，他们比你们便宜百分之十五。"),
            ("rep", "嗯嗯，这样啊。"),  # the competitor brushed off
            ("customer", "对。"),
            ("rep", "那我下周二下午给您发一份详细方案，再约时间给您演示。"),
            ("customer", "好的，下周二下午。")]


def transcript(lines: list[tuple[str, str]]) -> Transcript:
    turns = [{"start": 6.0 * i, "end": 6.0 * i + 5, "speaker": "S0" if role == "rep" else "S1", "role": role,
              "text": text, "language": "zh"} for i, (role, text) in enumerate(lines)]
    return Transcript.from_dict({"duration": 6.0 * len(lines), "language": "zh", "layout": "stereo",
                                 "speakers": {"S0": "rep", "S1": "customer"}, "turns": turns})


class Receiver(LoopbackServer):
    """A CRM's webhook endpoint: ThreadingHTTPServer on loopback, recording every request; answers 500
    to the first fail_first attempts of each webhook-id, then 200."""

    def __init__(self, port: int | None = None, fail_first: int = 0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.fail_first = fail_first
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    tries = sum(1 for r in receiver.requests if r["id"] == headers.get("webhook-id"))
                    status = 500 if tries < receiver.fail_first else 200
                    receiver.requests.append({"id": headers.get("webhook-id"), "status": status,
                                              "headers": headers, "body": body})
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.serve(Handler)
        return self

    def accepted(self) -> dict[str, int]:
        """webhook-id -> how many times it was answered 2xx."""
        with self._lock:
            counts: dict[str, int] = {}
            for r in self.requests:
                if r["status"] == 200:
                    counts[r["id"]] = counts.get(r["id"], 0) + 1
            return counts

    def wait_for(self, ids: set[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ids <= self.accepted().keys():
                return
            time.sleep(0.1)
        raise AssertionError(f"not delivered within {timeout}s: {ids - self.accepted().keys()}")


def _verify_all(receiver: Receiver, secret: str) -> list[dict]:
    """Every request the receiver got verifies with the standardwebhooks library; the payloads."""
    payloads = []
    for r in receiver.requests:
        payload = Verifier(secret).verify(r["body"], r["headers"])
        assert payload == json.loads(r["body"])
        assert set(payload) == {"type", "timestamp", "data"}
        payloads.append(payload)
    return payloads


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", max_upload_bytes=3_000_000, webhook_backoff_base=0.2,
                    webhook_backoff_max=1.0)


def _client(settings: Settings) -> TestClient:
    client = TestClient(create_app(settings, start_workers=False))
    client.__enter__()
    return client


@pytest.fixture
def receivers():
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


def test_crm_receives_every_event_once_signed_through_failures_and_a_restart(tmp_path, receivers):
    settings = _settings(tmp_path)
    api = _client(settings)
    with api.app.state.sessions() as s:
        token = create_token(s, "integration")[0]
        s.commit()
    h = {"Authorization": f"Bearer {token}"}
    flaky = Receiver(fail_first=2).start()
    down = Receiver()  # not listening yet
    receivers += [flaky, down]
    r = api.post("/api/v1/webhooks", headers=h, json={"url": flaky.url, "events": list(webhooks.EVENT_TYPES)})
    assert r.status_code == 201, r.text
    flaky_hook = r.json()
    assert flaky_hook["secret"].startswith("whsec_")
    given = webhooks.new_secret()
    r = api.post("/api/v1/webhooks", headers=h,
                 json={"url": down.url, "events": list(webhooks.EVENT_TYPES), "secret": given})
    assert r.status_code == 201 and r.json()["secret"] == given
    down_hook = r.json()
    assert api.post("/api/v1/webhooks", headers=h, json={"url": down.url, "events": ["call.analyzed"],
                                                         "secret": "not-a-secret"}).status_code == 422
    assert api.post("/api/v1/webhooks", headers=h, json={"url": "ftp://x/y",
                                                         "events": ["call.analyzed"]}).status_code == 422
    listed = api.get("/api/v1/webhooks", headers=h).json()["items"]
    assert [w["id"] for w in listed] == [flaky_hook["id"], down_hook["id"]]
    assert all("secret" not in w for w in listed)  # shown once, at creation

    # three calls: the closing call and the slipping one after it on deal CRM-R, and one that fails
    def upload(offset: float, started: datetime, deal: str | None) -> int:
        fields = {"rep": "li.ming@example.com", "started_at": started.isoformat()}
        if deal:
            fields["deal"] = deal
        r = api.post("/api/v1/calls", headers=h, data=fields,
                     files={"file": ("c.flac", short_audio(2.0, offset), "audio/flac")})
        assert r.status_code == 202, r.text
        return r.json()["id"]

    closing = upload(0.0, NOW - timedelta(days=45), "CRM-R")
    slipping = upload(3.0, NOW - timedelta(days=40), "CRM-R")
    broken = upload(6.0, NOW - timedelta(days=1), None)
    with api.app.state.sessions() as s:
        by_path = {s.get(Call, i).audio_path: i for i in (closing, slipping, broken)}

    def analyze(path, options, _settings):  # noqa: ANN001, ANN202 - the pipeline's signature
        call_id = by_path[str(Path(path).relative_to(settings.data_dir))]
        if call_id == broken:
            raise InputError("the recording is unreadable")
        return rescore(transcript(CLOSING if call_id == closing else SLIPPING), options.rubric)

    pool = WorkerPool(api.app.state.sessions, settings, analyze_fn=analyze)
    assert [pool.run_once("t:0:0") for _ in range(3)] == ["done", "done", "failed"]

    with api.app.state.sessions() as s:
        events = {d.event_id: d.event_type for d in s.scalars(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == flaky_hook["id"]))}
    kinds = sorted(events.values())
    assert kinds.count("call.analyzed") == 2 and kinds.count("evaluation.updated") == 2
    assert kinds.count("call.failed") == 1 and kinds.count("deal.risk_changed") == 1
    flaky.wait_for(set(events))
    assert flaky.accepted() == dict.fromkeys(events, 1)  # once per webhook-id
    assert all(sum(1 for r in flaky.requests if r["id"] == i) == 3 for i in events)  # 2 failures, 1 ok
    payloads = _verify_all(flaky, flaky_hook["secret"])
    analyzed = [p["data"] for p in payloads if p["type"] == "call.analyzed"]
    slipped = next(d for d in analyzed if d["call_id"] == slipping)
    assert slipped["deal"] == "CRM-R" and slipped["rep"]["email"] == "li.ming@example.com"
    assert slipped["stage"] and isinstance(slipped["score"], float)
    unanswered = {("competitor", False), ("price", False)}
    assert {(o["type"], o["handled"]) for o in slipped["objections"]} >= unanswered
    step = slipped["next_steps"][0]
    assert step["when"] == "下周二下午" and step["due"]["said"] == "下周二下午"
    said_on = (NOW - timedelta(days=40)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    next_tuesday = said_on + timedelta(days=7 - said_on.weekday() + 1)  # 下周二: Tuesday of next week
    assert step["due"]["date"] == next_tuesday.isoformat() and step["due"]["time"] == "14:00"
    failed = next(p["data"] for p in payloads if p["type"] == "call.failed")
    assert failed["call_id"] == broken and "unreadable" in failed["error"]
    risk_event = next(p["data"] for p in payloads if p["type"] == "deal.risk_changed")
    assert risk_event["deal"] == "CRM-R" and risk_event["new_level"] == "high"

    # the deal's crafted timeline: high risk, with the reasons a manager accepts
    insights = api.get("/api/v1/deals/CRM-R/insights", headers=h).json()
    codes = {reason["code"] for reason in insights["risk"]["reasons"]}
    assert insights["risk"]["level"] == "high"
    assert codes == {"no_contact_15d", "no_progress_30d", "open_objection", "competitor_unanswered",
                     "missed_next_step", "stage_backwards"}, insights["risk"]
    assert all(reason["text"] for reason in insights["risk"]["reasons"])
    promised = next(step for step in insights["next_steps"] if step["call_id"] == slipping)
    assert promised["overdue"] is True and promised["due"] == step["due"]["date"]
    # a step promised in the closing call was followed by the next call: not overdue
    assert not any(step["overdue"] for step in insights["next_steps"] if step["call_id"] == closing)

    # the other receiver is still down: its deliveries wait, logged, with their next attempt
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = api.get(f"/api/v1/webhooks/{down_hook['id']}/deliveries", headers=h).json()["items"]
        if log and all(d["attempts"] >= 1 for d in log):
            break
        time.sleep(0.2)
    assert len(log) == len(events) and all(d["status"] == "pending" and d["attempts"] >= 1 for d in log)
    assert all(d["last_status_code"] is None and "Connect" in d["last_error"] and d["next_attempt_at"]
               for d in log)
    api.__exit__(None, None, None)  # the server stops with deliveries still owed

    down.start()  # the receiver comes back; so does the server, on the same database
    api = _client(settings)
    down.wait_for(set(events))
    assert down.accepted() == dict.fromkeys(events, 1)
    assert {p["type"] for p in _verify_all(down, given)} == set(webhooks.EVENT_TYPES)
    log = api.get(f"/api/v1/webhooks/{down_hook['id']}/deliveries", headers=h).json()["items"]
    assert all(d["status"] == "delivered" and d["delivered_at"] for d in log)

    # a manual re-send: the same event, the same webhook-id
    first = log[-1]
    r = api.post(f"/api/v1/webhooks/{down_hook['id']}/deliveries/{first['id']}/resend", headers=h)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    deadline = time.monotonic() + 20
    while down.accepted()[first["event_id"]] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert down.accepted()[first["event_id"]] == 2
    assert api.delete(f"/api/v1/webhooks/{down_hook['id']}", headers=h).status_code == 204
    assert api.get(f"/api/v1/webhooks/{down_hook['id']}", headers=h).status_code == 404
    api.__exit__(None, None, None)


def test_outbox_survives_a_killed_server(tmp_path, receivers):
    """Events committed to the outbox are delivered after `callscope serve` is killed with SIGKILL
    while the receiver is down: once each, signed."""
    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'callscope.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    receiver = Receiver()
    receivers.append(receiver)
    secret = webhooks.new_secret()
    with sessions() as s:
        s.add(Webhook(url=receiver.url, events=["evaluation.updated"], secret=secret))
        s.flush()
        ids = {webhooks.emit(s, "evaluation.updated", {"n": n}) for n in range(5)}
        s.commit()
    env = {"CALLSCOPE_WORKERS": "0", "CALLSCOPE_WEBHOOK_BACKOFF_BASE": "0.2",
           "CALLSCOPE_WEBHOOK_BACKOFF_MAX": "1"}
    server = Server(data, env).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as s:
                tried = list(s.scalars(select(WebhookDelivery.attempts)))
            if all(t >= 1 for t in tried):
                break
            time.sleep(0.2)
        assert all(t >= 1 for t in tried)
        server.kill()
        receiver.start()
        server = Server(data, env).start()
        receiver.wait_for(ids, timeout=30)
        assert receiver.accepted() == dict.fromkeys(ids, 1)
        assert sorted(p["data"]["n"] for p in _verify_all(receiver, secret)) == list(range(5))
    finally:
        server.stop()
        engine.dispose()


def test_retries_back_off_with_jitter_and_end_after_the_window(tmp_path):
    import random

    settings = Settings(data_dir=tmp_path, webhook_backoff_base=5.0, webhook_backoff_max=3600.0)
    rng = random.Random(7)
    waits = [webhooks.backoff(n, settings, rng).total_seconds() for n in range(1, 16)]
    assert 2.5 <= waits[0] <= 5 and 5 <= waits[1] <= 10 and all(1800 <= w <= 3600 for w in waits[11:])
    # hourly at most: the retries of a 26 h window number well over 24
    assert sum(min(3600, 5 * 2 ** n) for n in range(40)) > 24 * 3600
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    sessions = session_factory(engine)
    dead = Receiver()  # never listening
    with sessions() as s:
        s.add(Webhook(url=dead.url, events=["call.failed"], secret=webhooks.new_secret()))
        s.flush()
        webhooks.emit(s, "call.failed", {"call_id": 1})
        s.commit()
    short = Settings(data_dir=tmp_path, webhook_backoff_base=0.05, webhook_retry_hours=1 / 3600,
                     webhook_timeout=2)
    with httpx.Client() as client, sessions() as s:
        statuses = []
        for _ in range(50):
            for delivery_id in webhooks.claim_due(s):
                statuses.append(webhooks.attempt(sessions, short, delivery_id, client))
            if statuses and statuses[-1] == "failed":
                break
            time.sleep(0.05)
        delivery = s.scalars(select(WebhookDelivery)).one()
        s.refresh(delivery)
    assert statuses[-1] == "failed" and delivery.attempts == len(statuses) >= 2
    assert delivery.next_attempt_at is None
    with contextlib.suppress(Exception):
        engine.dispose()
