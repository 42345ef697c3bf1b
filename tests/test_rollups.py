"""The per rep and day roll-ups the evaluations read agree with counting every call from scratch: after
calls are stored (as the worker stores them), after managers' overrides and after deletions (through the
HTTP API), on SQLite and PostgreSQL. The rep evaluation over whole days, over periods that cut days
and over all time is compared, figure by figure and example by example, with a from-scratch count of
every call's facts (the way the evaluation counted before the roll-ups); the stored roll-ups are
compared with a rebuild from nothing."""

from __future__ import annotations

import json
import random
import secrets
from datetime import datetime, timedelta
from math import fsum
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from callscope.api.app import create_app
from callscope.api.services import rollups
from callscope.api.services.config import service_config
from callscope.api.services.evaluation import rep_evaluation
from callscope.api.services.results import effective_facts, store_analysis
from callscope.api.tokens import create_token
from callscope.cli import main
from callscope.core.config import Settings
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import Call, CallDigest, RepDayStat, Team, User
from callscope.pipeline import rescore
from tests.service_support import database_url
from tests.test_webhooks import CLOSING, SLIPPING, transcript

SETTINGS = Settings()  # the reps' team has no zone of its own: CALLSCOPE_TIMEZONE's default
ZONE = ZoneInfo("Asia/Shanghai")  # ...which their roll-up days are cut in
FIRST = datetime(2026, 10, 5, tzinfo=ZONE)  # a local midnight: the periods below are whole local days
DAYS = 9


def _store(session, rep: User, started: datetime, base: tuple[dict, dict], rng: random.Random) -> Call:
    """One analysed call, stored and rolled up the way the worker does (api.execution)."""
    doc, tr = base
    card = {**doc["scorecard"], "score": round(rng.uniform(30, 100), 2)}
    card["items"] = [{**item, "passed": rng.random() < 0.5} if item.get("passed") is not None else item
                     for item in card["items"]]
    doc = {**doc, "scorecard": card, "duration": float(rng.randrange(60, 900)),
           "metrics": {**doc["metrics"], "talk_ratio": round(rng.uniform(0.2, 0.9), 3),
                       "question_rate": rng.uniform(0.1, 3.0)}}  # unrounded: sums must be exact
    call = Call(rep_id=rep.id, title=f"通话 {started:%d %H:%M}", started_at=started, audio_path="x.flac",
                sha256=secrets.token_hex(32), size=1, status="done")
    session.add(call)
    session.flush()
    store_analysis(session, call, doc, tr, "default")
    rollups.refresh_call(session, SETTINGS, call)
    return call


def from_scratch(session, rep_id: int, start: datetime | None, end: datetime | None) -> dict:
    """The evaluation's figures counted over every call's effective facts, one call after another."""
    stmt = select(Call.id, Call.started_at, Call.score, Call.stage).where(Call.rep_id == rep_id,
                                                                          Call.status == "done")
    if start:
        stmt = stmt.where(Call.started_at >= start)
    if end:
        stmt = stmt.where(Call.started_at <= end)
    calls = list(session.execute(stmt.order_by(Call.started_at, Call.id)))
    found = effective_facts(session, [c.id for c in calls])
    pairs = [(c, found[c.id]) for c in calls if c.id in found]
    n = service_config()["evaluation"]["examples"]
    items: dict[str, dict] = {}
    objections: dict[str, dict] = {}
    metrics: dict[str, list[float]] = {}
    for call, fact in pairs:
        for name, value in fact["metrics"].items():
            if value is not None:
                metrics.setdefault(name, []).append(float(value))
        for item_id, _name, passed, score, most in fact["items"]:
            entry = items.setdefault(item_id, {"applicable": 0, "passed": 0, "score": [], "max": [],
                                               "passing": [], "failing": []})
            if passed is None:
                continue
            entry["applicable"] += 1
            entry["passed"] += bool(passed)
            entry["score"].append(float(score))
            entry["max"].append(float(most))
            bucket = entry["passing" if passed else "failing"]
            if len(bucket) < n:
                bucket.append(call.id)
        for kind, handled in fact["objections"]:
            entry = objections.setdefault(kind, {"raised": 0, "handled": 0, "unhandled": []})
            entry["raised"] += 1
            entry["handled"] += bool(handled)
            if not handled and len(entry["unhandled"]) < n:
                entry["unhandled"].append(call.id)
    scores = [f["score"] for _, f in pairs if f["score"] is not None]
    return {
        "calls": len(pairs),
        "call_list": [(c.id, f["score"], f["stage"]) for c, f in pairs],
        "average_score": round(fsum(scores) / len(scores), 1) if scores else None,
        "items": [(i, e["applicable"], e["passed"],
                   round(e["passed"] / e["applicable"], 3) if e["applicable"] else None,
                   round(100 * fsum(e["score"]) / fsum(e["max"]), 1) if fsum(e["max"]) else None,
                   e["passing"], e["failing"]) for i, e in items.items()],
        "metrics": {m: round(fsum(v) / len(v), 2) for m, v in metrics.items() if m in rollups.METRICS},
        "objections": sorted(((k, e["raised"], e["handled"], e["unhandled"]) for k, e in objections.items()),
                             key=lambda t: -t[1]),
    }


def as_counted(evaluation: dict) -> dict:
    """The same figures read off rep_evaluation's answer."""
    return {
        "calls": evaluation["calls"],
        "call_list": [(c["id"], c["score"], c["stage"]) for c in evaluation["call_list"]],
        "average_score": evaluation["average_score"],
        "items": [(i["id"], i["applicable"], i["passed"], i["pass_rate"], i["average_score"],
                   [e["call_id"] for e in i["passing_examples"]],
                   [e["call_id"] for e in i["failing_examples"]]) for i in evaluation["items"]],
        "metrics": {m: v["average"] for m, v in evaluation["metrics"].items() if v["average"] is not None},
        "objections": [(o["type"], o["raised"], o["handled"], [e["call_id"] for e in o["unhandled_examples"]])
                       for o in evaluation["objections"]["by_type"]],
    }


PERIODS = [
    (None, None),  # all time
    (FIRST, FIRST + timedelta(days=DAYS, microseconds=-1)),  # whole days
    (FIRST + timedelta(days=1, hours=9, minutes=30), FIRST + timedelta(days=5, hours=14)),  # cuts two days
    (FIRST + timedelta(days=3, hours=2), FIRST + timedelta(days=3, hours=20)),  # inside one day
    (FIRST + timedelta(days=2), None),
    (None, FIRST + timedelta(days=4, hours=12)),
]


def _check_agreement(session, rep_ids: list[int]) -> None:
    for rep_id in rep_ids:
        rep = session.get(User, rep_id)
        for start, end in PERIODS:
            assert as_counted(rep_evaluation(session, rep, start, end, ZONE)) == from_scratch(
                session, rep_id, start, end), (rep_id, start, end)
    stored = {(r.rep_id, r.day, r.zone): (r.calls, r.stats) for r in session.scalars(select(RepDayStat))}
    rollups.rebuild(session, SETTINGS)
    rebuilt = {(r.rep_id, r.day, r.zone): (r.calls, r.stats) for r in session.scalars(select(RepDayStat))}
    assert stored == rebuilt
    assert {zone for _, _, zone in stored} == {"Asia/Shanghai"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_rollups_agree_with_counting_every_call(kind, tmp_path, monkeypatch, capsys):
    with database_url(kind, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        sessions = session_factory(engine)
        bases = [rescore(transcript(lines), "default") for lines in (CLOSING, SLIPPING)]
        bases = [(a.to_dict(), a.transcript.to_dict()) for a in bases]
        rng = random.Random(7)
        with sessions() as s:
            team = Team(name="East")
            reps = [User(email=f"r{i}@example.com", name=f"销售{i}", team=team) for i in range(2)]
            s.add_all([team, *reps])
            s.flush()
            for n in range(70):  # some calls at the same minute, some days without calls for a rep
                started = FIRST + timedelta(days=rng.randrange(DAYS), hours=rng.randrange(24),
                                            minutes=rng.choice((0, 0, 30)))
                _store(s, reps[n % 2], started, bases[n % 3 % 2], rng)
            s.commit()
            rep_ids = [r.id for r in reps]
            _check_agreement(s, rep_ids)
        engine.dispose()

        settings = Settings(data_dir=tmp_path / "data", database_url=url, webhook_delivery=False)
        settings.data_dir.mkdir()
        with TestClient(create_app(settings, start_workers=False)) as api:
            with api.app.state.sessions() as s:
                manager = {"Authorization": f"Bearer {create_token(s, 'admin')[0]}"}
                s.commit()
                call_ids = list(s.scalars(select(Call.id).order_by(Call.id)))
                item_ids = [i[0] for i in s.get(CallDigest, call_ids[0]).facts["items"] if i[2] is not None]
            for call_id in call_ids[3:12]:  # overrides: verdicts, points, twice on one item
                body = {"passed": call_id % 2 == 0, "reason": "heard it"} if call_id % 3 else {"score": 2.5}
                r = api.put(f"/api/v1/calls/{call_id}/scorecard/items/{item_ids[call_id % len(item_ids)]}",
                            headers=manager, json=body)
                assert r.status_code == 200, r.text
            for call_id in call_ids[20:26]:
                assert api.delete(f"/api/v1/calls/{call_id}", headers=manager).status_code == 204
            with api.app.state.sessions() as s:
                _store(s, s.get(User, rep_ids[0]), FIRST + timedelta(days=1, hours=23, minutes=59),
                       bases[1], rng)  # one more, after the rest
                s.commit()
                _check_agreement(s, rep_ids)
                assert sum(s.scalars(select(RepDayStat.calls))) == 70 - 6 + 1
                kept = {(r.rep_id, r.day): r.stats for r in s.scalars(select(RepDayStat))}
                s.execute(delete(RepDayStat))  # lost: `callscope rollups rebuild` brings them back
                s.commit()
        monkeypatch.setenv("CALLSCOPE_DATABASE_URL", url)
        assert main(["rollups", "rebuild", "--data-dir", str(settings.data_dir)]) == 0
        assert json.loads(capsys.readouterr().out) == {"rep_days": len(kept), "calls": 65}
        engine = make_engine(url)
        with session_factory(engine)() as s:
            assert {(r.rep_id, r.day): r.stats for r in s.scalars(select(RepDayStat))} == kept
        engine.dispose()
