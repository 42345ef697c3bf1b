"""The API under load: 10,000 analysed calls, a real `callscope serve` on loopback, p50/p99 latencies.

1. Seed a throwaway database through the service's own layer (models.orm + api.services.results.
   store_analysis: analyses, turns and their search index, scorecards) from a few real analysis
   documents, varied: reps, teams, deals, dates over six months, item verdicts and scores, stages,
   a few managers' overrides, and KPI targets (a team goal broken down per rep and week, a score
   target per rep); then the roll-ups are built as the server builds them at start.
2. Start `callscope serve --processes N` (a subprocess, 127.0.0.1, a free port) on that database.
3. Several concurrent clients send N requests to each endpoint: the call list with filters, one call's
   analysis, a rep's evaluation over 90 days and over all time, a team's evaluation (90 days, all
   time), the leaderboard (by score, improvement, attainment), a deal's insights, and /healthz (which
   does nothing: the machine's noise floor, measured in the same run). Each request's wall time and
   the server's own time (its Server-Timing header) are kept. The endpoints take turns, and the
   whole round is repeated (--repeats): the figures are the medians over the repeats of each
   round's p50 and p99, so one burst of another process on a shared machine moves one round only.
   Every phase has a time cap; the server is stopped and the database dropped at the end.
   Each server process keeps a rep's evaluation, the team figures and the roll-ups it read while the
   rep's calls are unchanged (api.services.evaluation), so after the warm-up most requests are
   answered from what was kept, as on a real service between two changes to a rep's calls.
4. CPU per request in-process, one at a time: as asked (the first ask of each rep in the process
   counts everything), and right after a change to the calls of the rep asked (or of one rep of the
   team asked): that rep's newest roll-up rewritten in the database before each request.
5. The evaluation is also run in-process once with a statement counter, to say where its time goes.

SQLite (a temp data dir) and PostgreSQL (a database created on the server of --pg-admin and dropped).

    .venv/bin/python -m bench.api_load --calls 10000 --requests 200 --repeats 3 --templates truth \
        --out bench/results/api_load.json
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import hashlib
import json
import os
import pstats
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import machine_info, machine_line, percentile, print_table, write_json
from bench.templates import DEFAULT_CACHE, Template, load_templates

TARGET_EVALUATION_P99_MS = 200.0  # every evaluation, team and list endpoint (issue 15)
NOISE_FLOOR = "GET /healthz (noise floor)"
DEFAULT_PROCESSES = 2  # `callscope serve --processes` of the README's figures: one per core of its machine
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
DAYS = 180
SERVICE_SEEDED = 300  # calls stored one by one through the service; the rest are bulk copies
BULK_BATCH = 500
# list filters a manager's screen sends (rotated); {rep} and {deal} are filled per request
LIST_FILTERS = (
    "",
    "rep={rep}",
    "stage=negotiation",
    "objection=price",
    "min_score=80",
    "from={from90}&to={today}",
    "rep={rep}&from={from90}",
    "deal={deal}",
    "q=预算",
    "stage=discovery&objection=price&min_score=50",
)


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    token: str
    rep_ids: list[int]
    call_ids: list[int]
    deal_ids: list[str]
    team_ids: list[int]
    seconds: float
    document_bytes: int = 0


def _vary(template: Template, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plausible other call: some item verdicts flipped (score recomputed), sometimes another stage."""
    import copy

    from callscope.models.document import STAGES

    doc = copy.deepcopy(template[0])
    card = doc.get("scorecard") or {}
    for item in card.get("items", []):
        if item.get("passed") is not None and rng.random() < 0.25:
            item["passed"] = not item["passed"]
            item["score"] = item["max"] if item["passed"] else 0.0
    applicable = [i for i in card.get("items", []) if i.get("passed") is not None]
    total = sum(float(i["max"]) for i in applicable)
    card["score"] = round(100 * sum(float(i["score"]) for i in applicable) / total, 2) if total else 0.0
    if rng.random() < 0.4:
        doc["stage"] = rng.choice(STAGES)
    metrics = doc.get("metrics") or {}
    if "talk_ratio" in metrics:
        metrics["talk_ratio"] = round(min(0.95, max(0.05, metrics["talk_ratio"] + rng.uniform(-0.2, 0.2))), 2)
    return doc, template[1]


def _call_row(i: int, doc: dict[str, Any], rep_id: int, deal_id: int | None, started_at: datetime) -> dict:
    """The columns of one seeded call (status done; the analysis results copied as store_analysis does)."""
    objections = sorted({o["type"] for o in doc.get("objections", [])})
    return {"title": f"bench call {i}", "rep_id": rep_id, "deal_id": deal_id, "started_at": started_at,
            "duration": doc.get("duration"), "channels": "auto", "rep_channel": 0,
            "audio_path": f"audio/bench/{i}.flac",
            "sha256": hashlib.sha256(f"bench-{i}-{secrets.token_hex(4)}".encode()).hexdigest(),
            "size": 1_000_000, "original_filename": f"bench-{i}.flac", "status": "done",
            "stage": doc.get("stage"), "score": (doc.get("scorecard") or {}).get("score"),
            "language": doc.get("language"), "objection_types": " " + " ".join(objections) + " "}


def seed(url: str, templates: list[Template], n_calls: int, n_reps: int, log=print) -> Seeded:  # noqa: ANN001
    """Fill an empty database. The first SERVICE_SEEDED calls go one by one through the service's
    store_analysis (analysis, turns and their search index, scorecard rows); the rest are bulk copies
    of the rows it wrote (with their own varied document, scores, rep and date), which is far faster."""
    import callscope.api.services.results as results
    from callscope.api.tokens import create_token
    from callscope.models.db import make_engine, migrate, session_factory
    from callscope.models.orm import Call, Deal, Override, Team, User
    from callscope.nlp.dates import DEFAULT_TZ, resolve_next_steps

    # the templates' turns repeat: tokenise each distinct text once (same output, far less jieba time)
    results.index_tokens = functools.lru_cache(maxsize=None)(results.index_tokens)
    rng = random.Random(20261123)
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        migrate(engine)
        now = datetime.now(timezone.utc)
        with session_factory(engine)() as session:
            teams = [Team(name=f"bench-team-{i}") for i in range(max(1, n_reps // 5))]
            reps = [User(email=f"rep{i:03d}@bench.example", name=f"销售{i:03d}", role="rep",
                         team=teams[i % len(teams)]) for i in range(n_reps)]
            session.add_all(teams + reps)
            session.flush()
            deals = [Deal(external_id=f"BENCH-{i:04d}", name=f"商机 {i}", account=f"客户 {i}",
                          owner_id=reps[i % n_reps].id) for i in range(max(1, n_calls // 20))]
            session.add_all(deals)
            secret, _ = create_token(session, "admin", name="bench")
            session.commit()
            rep_ids, deal_rows = [r.id for r in reps], [(d.id, d.external_id) for d in deals]

            def where(doc: dict[str, Any]) -> tuple[int, int | None, datetime]:
                """A call's rep, deal and start; its next steps dated from that start, as the worker
                does before storing an analysis (api.services.processing)."""
                deal = rng.choice(deal_rows) if rng.random() < 0.6 else None
                started = now - timedelta(days=rng.uniform(0, DAYS))
                resolve_next_steps(doc.get("next_steps", []), started, DEFAULT_TZ)
                return rng.choice(rep_ids), deal[0] if deal else None, started

            call_ids: list[int] = []
            for i in range(min(n_calls, SERVICE_SEEDED)):
                doc, transcript = _vary(templates[i % len(templates)], rng)
                call = Call(**_call_row(i, doc, *where(doc)))
                session.add(call)
                session.flush()
                items = (doc.get("scorecard") or {}).get("items") or []
                if items and rng.random() < 0.03:  # a manager corrected one item
                    item = rng.choice(items)
                    session.add(Override(call_id=call.id, item_id=item["id"], actor="manager@bench.example",
                                         before={"passed": item.get("passed"), "score": item.get("score")},
                                         after={"passed": True, "score": item.get("max")}, reason="bench"))
                results.store_analysis(session, call, doc, transcript, "default")
                call_ids.append(call.id)
            session.commit()
            log(f"  {len(call_ids)} calls through store_analysis ({time.perf_counter() - t0:.0f}s)")
            call_ids += _bulk_copies(session, list(call_ids), templates, n_calls, where, rng, log, t0)
            _seed_targets(session, teams, reps, now)
            team_ids = [t.id for t in teams]
            from callscope.api.services import rollups
            from callscope.core.config import Settings

            # what `callscope serve` does at start (its zones from the same environment), timed here
            rollups.rebuild_if_stale(session, Settings.from_env())
            log(f"  roll-ups built ({time.perf_counter() - t0:.0f}s)")
    finally:
        engine.dispose()
    doc_bytes = sum(len(json.dumps(d, ensure_ascii=False)) + len(json.dumps(t, ensure_ascii=False))
                    for d, t in templates) // len(templates)
    return Seeded(secret, rep_ids, call_ids, [ext for _, ext in deal_rows], team_ids,
                  time.perf_counter() - t0, doc_bytes)


def _seed_targets(session, teams: list, reps: list, now: datetime) -> None:  # noqa: ANN001
    """What a manager sets: each team's calls goal for this month and the last, broken down per rep
    and week (目标分解), and an average-score target per rep for the last 90 days."""
    from callscope.api.services import team as team_service

    month = now.date().replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    for team in teams:
        for first, last in ((last_month, month), (month, next_month)):
            team_service.break_down(session, team, "calls", first.isoformat(), last.isoformat(), 120.0,
                                    None, True, "bench")
    for rep in reps:
        team_service.set_target(session, rep, "average_score", (now.date() - timedelta(days=90)).isoformat(),
                                (now.date() + timedelta(days=1)).isoformat(), 80.0, "bench")
    session.commit()


def _bulk_copies(session, stored: list[int], templates: list[Template], n_calls: int, where,  # noqa: ANN001
                 rng: random.Random, log, t0: float) -> list[int]:  # noqa: ANN001
    """Calls len(stored)..n_calls-1 as bulk INSERTs copying the turn rows store_analysis wrote."""
    from sqlalchemy import insert, select

    from callscope.models.document import digest, facts
    from callscope.models.orm import (
        AnalysisRecord,
        Call,
        CallDigest,
        ScorecardItemRecord,
        ScorecardRecord,
        Turn,
    )

    columns = ("idx", "start", "end", "speaker", "role", "text", "tokens")
    turns_of: dict[int, list[dict[str, Any]]] = {cid: [] for cid in stored}
    query = select(Turn).where(Turn.call_id.in_(stored)).order_by(Turn.call_id, Turn.idx)
    for turn in session.scalars(query):
        turns_of[turn.call_id].append({c: getattr(turn, c) for c in columns})
    k = len(stored)
    copies: list[int] = []
    for begin in range(k, n_calls, BULK_BATCH):
        batch = range(begin, min(n_calls, begin + BULK_BATCH))
        sources = [i % k for i in batch]  # the stored call whose turns (same template) are copied
        varied = [_vary(templates[src % len(templates)], rng) for src in sources]
        ids = session.scalars(insert(Call).returning(Call.id, sort_by_parameter_order=True),
                              [_call_row(i, doc, *where(doc))
                               for i, (doc, _) in zip(batch, varied, strict=True)]).all()
        analysis_ids = session.scalars(
            insert(AnalysisRecord).returning(AnalysisRecord.id, sort_by_parameter_order=True),
            [{"call_id": cid, "document": doc, "transcript": tr, "stage": doc.get("stage", ""),
              "score": doc["scorecard"].get("score"), "model": dict(doc.get("asr") or {})}
             for cid, (doc, tr) in zip(ids, varied, strict=True)]).all()
        digests = [digest(doc) for doc, _ in varied]
        session.execute(insert(CallDigest), [
            {"call_id": cid, "analysis_id": aid, "digest": brief, "facts": facts(brief)}
            for cid, aid, brief in zip(ids, analysis_ids, digests, strict=True)])
        session.execute(insert(Turn), [{**row, "call_id": cid} for cid, src in zip(ids, sources, strict=True)
                                       for row in turns_of[stored[src]]])
        card_ids = session.scalars(
            insert(ScorecardRecord).returning(ScorecardRecord.id, sort_by_parameter_order=True),
            [{"call_id": cid, "analysis_id": aid, "rubric": "default",
              "rubric_version": str(doc["scorecard"].get("rubric_version", "")),
              "score": doc["scorecard"].get("score") or 0.0, "grade": doc["scorecard"].get("grade", "")}
             for cid, aid, (doc, _) in zip(ids, analysis_ids, varied, strict=True)]).all()
        session.execute(insert(ScorecardItemRecord), [
            {"scorecard_id": sid, "call_id": cid, "item_id": item["id"], "name": item.get("name", ""),
             "passed": item.get("passed"), "score": item.get("score", 0.0), "max": item.get("max", 0.0),
             "evidence": item.get("evidence", []), "feedback": item.get("feedback", "")}
            for cid, sid, (doc, _) in zip(ids, card_ids, varied, strict=True)
            for item in doc["scorecard"]["items"]])
        session.commit()
        if batch.stop % 2000 < BULK_BATCH:
            log(f"  seeded {batch.stop}/{n_calls} calls ({time.perf_counter() - t0:.0f}s)")
        copies.extend(ids)
    return copies


# --- the server -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    pid: int


@contextlib.contextmanager
def serve(data_dir: Path, database_url: str, log_path: Path, startup_seconds: float = 90,
          extra_env: dict[str, str] | None = None, processes: int = 1) -> Iterator[Server]:
    """`callscope serve --processes N` in a subprocess on 127.0.0.1, ready to answer; always stopped after."""
    import httpx

    port = _free_port()
    env = {**os.environ, "CALLSCOPE_DATA_DIR": str(data_dir), **(extra_env or {})}
    env.pop("CALLSCOPE_DATABASE_URL", None)
    if database_url:
        env["CALLSCOPE_DATABASE_URL"] = database_url
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "callscope", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--data-dir", str(data_dir),
                                 "--processes", str(processes)],
                                env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"callscope serve exited ({proc.returncode}); see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"callscope serve did not answer within {startup_seconds:.0f}s; "
                                 f"see {log_path}")
            time.sleep(0.3)
        yield Server(base, proc.pid)
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- load -----------------------------------------------------------------------------------------


_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class Latencies:
    """One round of one endpoint: wall time per request (client side) and the server's own time."""

    name: str
    ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    capped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"requests": len(self.ms), "errors": self.errors, "p50_ms": percentile(self.ms, 50),
                "p95_ms": percentile(self.ms, 95), "p99_ms": percentile(self.ms, 99),
                "max_ms": max(self.ms) if self.ms else None,
                "server_p50_ms": percentile(self.server_ms, 50),
                "server_p99_ms": percentile(self.server_ms, 99),
                "wall_seconds": self.wall,
                "requests_per_second": len(self.ms) / self.wall if self.wall else None, "capped": self.capped}


def _median(values: list[float | None]) -> float | None:
    got = sorted(v for v in values if v is not None)
    return statistics.median(got) if got else None


def summarize_rounds(rounds: list[Latencies]) -> dict[str, Any]:
    """An endpoint over its repeated rounds: the median of the rounds' p50 and p99 (wall and server),
    the range of the p99s, and every round's own figures."""
    each = [r.to_dict() for r in rounds]
    out: dict[str, Any] = {"rounds": each, "requests": sum(r["requests"] for r in each),
                           "errors": sum(sum(r["errors"].values()) for r in each)}
    for key in ("p50_ms", "p99_ms", "server_p50_ms", "server_p99_ms"):
        out[f"median_{key}"] = _median([r[key] for r in each])
    p99s = [r["p99_ms"] for r in each if r["p99_ms"] is not None]
    out["p99_ms_range"] = [min(p99s), max(p99s)] if p99s else None
    return out


def summary_row(name: str, s: dict[str, Any]) -> list[Any]:
    low_high = s["p99_ms_range"]
    return [name, s["requests"], s["errors"], s["median_p50_ms"], s["median_p99_ms"],
            f"{low_high[0]:.0f}-{low_high[1]:.0f}" if low_high else "", s["median_server_p50_ms"],
            s["median_server_p99_ms"]]


def hammer(base: str, token: str, name: str, paths: list[str], clients: int, max_seconds: float) -> Latencies:
    """Send every path once, from `clients` threads (each its own keep-alive connection)."""
    import httpx

    result = Latencies(name)
    lock = threading.Lock()
    pending = list(reversed(paths))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            while time.monotonic() < deadline:
                with lock:
                    if not pending:
                        return
                    path = pending.pop()
                t0 = time.perf_counter()
                server = None
                try:
                    response = http.get(path)
                    response.read()
                    elapsed = (time.perf_counter() - t0) * 1000
                    status = response.status_code
                    found = _SERVER_TIMING.search(response.headers.get("server-timing", ""))
                    server = float(found.group(1)) if found else None
                except httpx.HTTPError as err:
                    elapsed, status = None, type(err).__name__
                with lock:
                    if status == 200:
                        result.ms.append(elapsed)
                        if server is not None:
                            result.server_ms.append(server)
                    else:
                        result.errors[str(status)] = result.errors.get(str(status), 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 70)
    result.wall = time.perf_counter() - t0
    result.capped = bool(pending)
    return result


def request_plan(seeded: Seeded, n: int, rng: random.Random) -> dict[str, list[str]]:
    today = datetime.now(timezone.utc).date()
    fill = {"from90": (today - timedelta(days=90)).isoformat(), "today": today.isoformat()}

    def list_path(i: int) -> str:
        query = LIST_FILTERS[i % len(LIST_FILTERS)].format(rep=rng.choice(seeded.rep_ids),
                                                          deal=rng.choice(seeded.deal_ids), **fill)
        return f"/api/v1/calls?{query}" if query else "/api/v1/calls"

    from90, today_ = fill["from90"], fill["today"]
    boards = ("score", "improvement", "attainment")
    return {
        NOISE_FLOOR: ["/api/v1/healthz"] * n,
        "GET /calls (filters)": [list_path(i) for i in range(n)],
        "GET /calls/{id}/analysis": [f"/api/v1/calls/{rng.choice(seeded.call_ids)}/analysis"
                                     for _ in range(n)],
        "GET /reps/{id}/evaluation 90 days": [
            f"/api/v1/reps/{rng.choice(seeded.rep_ids)}/evaluation?from={fill['from90']}&to={fill['today']}"
            for _ in range(n)],
        "GET /reps/{id}/evaluation all time": [
            f"/api/v1/reps/{rng.choice(seeded.rep_ids)}/evaluation" for _ in range(n)],
        "GET /teams/{id}/evaluation 90 days": [
            f"/api/v1/teams/{rng.choice(seeded.team_ids)}/evaluation?from={from90}&to={today_}"
            for _ in range(n)],
        "GET /teams/{id}/evaluation all time": [
            f"/api/v1/teams/{rng.choice(seeded.team_ids)}/evaluation" for _ in range(n)],
        "GET /teams/{id}/leaderboard (score, improvement, attainment)": [
            f"/api/v1/teams/{rng.choice(seeded.team_ids)}/leaderboard?by={boards[i % 3]}" for i in range(n)],
        "GET /deals/{id}/insights": [f"/api/v1/deals/{rng.choice(seeded.deal_ids)}/insights"
                                     for _ in range(n)],
    }


# --- what a request costs, however busy the machine --------------------------------------------


def cpu_costs(data_dir: Path, database_url: str, seeded: Seeded, n: int) -> dict[str, dict[str, Any]]:
    """Each endpoint's CPU time per request (process time), in-process and one request at a time
    (FastAPI's TestClient on the same database): the work a request costs the server. Other processes
    on a shared machine stretch wall times, hardly CPU times; the client side's share is healthz's."""
    from fastapi.testclient import TestClient

    from callscope.api.app import create_app
    from callscope.core.config import Settings
    from callscope.models.db import make_engine

    settings = Settings(data_dir=data_dir, database_url=database_url, webhook_delivery=False)
    engine = make_engine(database_url or f"sqlite:///{data_dir / 'callscope.db'}")
    rng = random.Random(5)
    headers = {"Authorization": f"Bearer {seeded.token}"}
    out: dict[str, dict[str, Any]] = {}
    with TestClient(create_app(settings, start_workers=False)) as client:
        for name, paths in request_plan(seeded, n, random.Random(99)).items():
            for path in paths[:3]:  # warm-up
                client.get(path, headers=headers)
            cpu, wall, first = [], [], []
            for path in paths:
                c0, w0 = time.process_time(), time.perf_counter()
                status = client.get(path, headers=headers).status_code
                if status == 200:
                    cpu.append((time.process_time() - c0) * 1000)
                    wall.append((time.perf_counter() - w0) * 1000)
            if "evaluation" in name or "leaderboard" in name:
                for path in paths:  # right after a change to the calls of the rep asked (one of the team)
                    touch_rep(engine, path, rng)
                    c0 = time.process_time()
                    if client.get(path, headers=headers).status_code == 200:
                        first.append((time.process_time() - c0) * 1000)
            out[name] = {"requests": len(cpu), "cpu_p50_ms": percentile(cpu, 50),
                         "cpu_p99_ms": percentile(cpu, 99), "wall_p50_ms": percentile(wall, 50),
                         "after_change_cpu_p50_ms": percentile(first, 50) if first else None,
                         "after_change_cpu_p99_ms": percentile(first, 99) if first else None}
    engine.dispose()
    return out


def touch_rep(engine, path: str, rng: random.Random) -> None:  # noqa: ANN001
    """What a change to a rep's calls does to what the server keeps: the newest roll-up of the rep of
    path (/reps/ID/...), or of one rep of the team (/teams/ID/...), rewritten with a new updated_at, as
    a refresh after an analysis or an override writes it."""
    from sqlalchemy import func, select, update

    from callscope.models.orm import RepDayStat, User, utcnow

    kind, owner = path.split("/")[3:5]
    with engine.begin() as db:
        rep_id = int(owner)
        if kind == "teams":
            rep_id = rng.choice(db.scalars(select(User.id).where(User.team_id == rep_id,
                                                                 User.role == "rep")).all())
        newest = select(func.max(RepDayStat.day)).where(RepDayStat.rep_id == rep_id).scalar_subquery()
        db.execute(update(RepDayStat).where(RepDayStat.rep_id == rep_id, RepDayStat.day == newest)
                   .values(updated_at=utcnow()))


# --- why is the evaluation slow -------------------------------------------------------------------


def diagnose_evaluation(url: str, rep_id: int) -> dict[str, Any]:
    """One all-time evaluation in-process: SQL statements, their time, rows and JSON bytes fetched."""
    from sqlalchemy import event

    from callscope.api.services.evaluation import forget_kept, rep_evaluation
    from callscope.api.services.zones import rep_zone
    from callscope.core.config import Settings
    from callscope.models.db import make_engine, session_factory
    from callscope.models.orm import User

    engine = make_engine(url)
    stats = {"statements": 0, "sql_seconds": 0.0, "statements_by_table": {}}
    starts: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        stats["statements"] += 1
        stats["sql_seconds"] += time.perf_counter() - starts.pop(id(cursor), time.perf_counter())
        found = _FROM.search(statement)
        table = found.group(1) if found else statement.split()[0]
        stats["statements_by_table"][table] = stats["statements_by_table"].get(table, 0) + 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    try:
        with session_factory(engine)() as session:
            rep = session.get(User, rep_id)
            zone = rep_zone(Settings.from_env(), rep)  # the zone the seed's roll-ups were cut in
            forget_kept()  # counted from the database, as a first ask is
            t0 = time.perf_counter()
            evaluation = rep_evaluation(session, rep, None, None, zone)
            stats["total_seconds"] = time.perf_counter() - t0
            stats["calls"] = evaluation["calls"]
            event.remove(engine, "after_cursor_execute", after)  # count the first run only
            session.expunge_all()
            forget_kept()
            profiler.enable()  # a second first ask, profiled: where the Python time goes
            rep_evaluation(session, session.get(User, rep_id), None, None, zone)
            profiler.disable()
    finally:
        engine.dispose()
    stats["python_seconds"] = stats["total_seconds"] - stats["sql_seconds"]
    stats["profile_top"] = _top_functions(profiler, 10)
    return stats


def _top_functions(profiler: cProfile.Profile, n: int) -> list[dict[str, Any]]:
    """The functions with the most own time (tottime), as 'file:line(name)'."""
    entries = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    ranked = sorted(entries.items(), key=lambda kv: -kv[1][2])[:n]
    return [{"function": f"{Path(f).name}:{line}({name})", "calls": nc, "own_seconds": round(tt, 4),
             "cumulative_seconds": round(ct, 4)} for (f, line, name), (_, nc, tt, ct, _) in ranked]


# --- one backend ----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(backend: str, workdir: Path, pg_admin: str) -> Iterator[str]:
    """A throwaway database URL ('' = the default SQLite file under the data dir)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'data' / 'callscope.db'}"
        return
    import psycopg

    name = f"callscope_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin_url = pg_admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield base.replace("postgresql://", "postgresql+psycopg://") + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(backend: str, args: argparse.Namespace, templates: list[Template]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"callscope-bench-{backend}-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        with database(backend, workdir, args.pg_admin) as url:
            print(f"[{backend}] seeding {args.calls} calls ({args.reps} reps)...", flush=True)
            seeded = seed(url, templates, args.calls, args.reps)
            print(f"[{backend}] seeded in {seeded.seconds:.0f}s", flush=True)
            server_url = "" if backend == "sqlite" else url
            rounds: dict[str, list[Latencies]] = {}
            with serve(workdir / "data", server_url, workdir / "server.log",
                       processes=args.processes) as server:
                base = server.base
                for name, paths in request_plan(seeded, args.requests, random.Random(6)).items():
                    # warm-up (not counted): every filter once, so first-use loads (jieba) are not timed
                    hammer(base, seeded.token, name, paths[: max(args.clients * 2, len(LIST_FILTERS))],
                           args.clients, 60)
                for repeat in range(args.repeats):  # the endpoints take turns, round after round
                    plan = request_plan(seeded, args.requests, random.Random(7 + repeat))
                    for name, paths in plan.items():
                        got = hammer(base, seeded.token, name, paths, args.clients, args.max_seconds)
                        rounds.setdefault(name, []).append(got)
                        print(f"[{backend}] round {repeat + 1}/{args.repeats} {name}: "
                              f"p50 {percentile(got.ms, 50) or 0:.0f} ms, "
                              f"p99 {percentile(got.ms, 99) or 0:.0f} ms "
                              f"(server p99 {percentile(got.server_ms, 99) or 0:.0f} ms)", flush=True)
            costs = cpu_costs(workdir / "data", server_url, seeded, args.cpu_requests)
            diagnosis = diagnose_evaluation(url, seeded.rep_ids[0])
    endpoints = {name: summarize_rounds(got) for name, got in rounds.items()}
    return {"seed_seconds": seeded.seconds, "document_bytes_per_call": seeded.document_bytes,
            "endpoints": endpoints, "_rows": [summary_row(k, v) for k, v in endpoints.items()],
            "cpu_per_request": costs,
            "evaluation_diagnosis": diagnosis}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_load",
        description="API latency (p50/p99) over a seeded database of analysed calls, on SQLite and "
                    "PostgreSQL, against a real `callscope serve` on 127.0.0.1. Bounded: every phase has "
                    "a time cap; the server and the throwaway databases are removed at the end.")
    parser.add_argument("--calls", type=int, default=10_000, help="calls to seed (default 10000)")
    parser.add_argument("--reps", type=int, default=20, help="reps the calls are spread over (default 20)")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint (default 300)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES,
                        help="`callscope serve --processes N`: the server's worker processes "
                             f"(default {DEFAULT_PROCESSES}, one per core of the README's machine; 1: a "
                             "single process)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds over all endpoints; figures are medians over the rounds (default 3)")
    parser.add_argument("--max-seconds", type=float, default=90,
                        help="time cap per endpoint; fewer requests are reported when it bites (default 90)")
    parser.add_argument("--cpu-requests", type=int, default=60,
                        help="requests per endpoint of the in-process CPU-time phase (default 60)")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"],
                        default=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--templates", choices=["pipeline", "truth"], default="pipeline",
                        help="pipeline: real analyses of samples/*.flac (cached); truth: truth turns scored "
                             "without ASR (quick, no word timings)")
    parser.add_argument("--template-cache", default=str(DEFAULT_CACHE))
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if min(args.calls, args.reps, args.requests, args.clients, args.repeats, args.processes) < 1:
        parser.error("--calls, --reps, --requests, --clients, --repeats and --processes must be at least 1")

    info = machine_info()
    print(f"machine: {machine_line(info)} | server processes {args.processes}")
    templates = load_templates(args.templates, Path(args.template_cache))
    print(f"{len(templates)} template analyses ({args.templates})")
    report: dict[str, Any] = {}
    for backend in args.backends:
        report[backend] = run_backend(backend, args, templates)

    headers = ["endpoint", "ok", "errors", "p50 ms", "p99 ms", "p99 range", "server p50", "server p99"]
    for backend, r in report.items():
        print_table(headers, r.pop("_rows"),
                    title=f"{backend}: {args.calls} calls, {args.reps} reps, {args.clients} clients, "
                          f"{args.processes} server process(es); "
                          f"medians over {args.repeats} rounds of {args.requests} requests")
        print_table(["endpoint (in-process, one at a time)", "ok", "CPU p50 ms", "CPU p99 ms", "wall p50 ms",
                     "after a change p50", "after a change p99"],
                    [[k, v["requests"], v["cpu_p50_ms"], v["cpu_p99_ms"], v["wall_p50_ms"],
                      v["after_change_cpu_p50_ms"], v["after_change_cpu_p99_ms"]]
                     for k, v in r["cpu_per_request"].items()])
        d = r["evaluation_diagnosis"]
        print(f"  evaluation of one rep ({d['calls']} calls, in-process): "
              f"{d['total_seconds'] * 1000:.0f} ms, "
              f"{d['statements']} SQL statements ({d['sql_seconds'] * 1000:.0f} ms in SQL), "
              f"by table: {d['statements_by_table']}")
        print_table(["function (profiled second run)", "calls", "own s", "cumulative s"],
                    [[f["function"], f["calls"], f["own_seconds"], f["cumulative_seconds"]]
                     for f in d["profile_top"]])
        for name, e in r["endpoints"].items():
            if name != NOISE_FLOOR and e["median_p99_ms"] is not None:
                verdict = "meets" if e["median_p99_ms"] < TARGET_EVALUATION_P99_MS else "MISSES"
                print(f"  {name}: median p99 {e['median_p99_ms']:.0f} ms {verdict} the target "
                      f"< {TARGET_EVALUATION_P99_MS:.0f} ms")
    write_json(args.out, {"benchmark": "api_load", "machine": info, "calls": args.calls, "reps": args.reps,
                          "requests": args.requests, "clients": args.clients, "repeats": args.repeats,
                          "processes": args.processes,
                          "templates": args.templates,
                          "target_evaluation_p99_ms": TARGET_EVALUATION_P99_MS, "backends": report})
    return 0


if __name__ == "__main__":
    sys.exit(main())
