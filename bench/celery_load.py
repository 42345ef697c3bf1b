"""Celery under load, bounded and on loopback: N distinct real recordings uploaded at once to a real
`callscope serve`, analysed by W real `callscope worker` processes on Celery over a private Redis (a
server of its own on a free port, keeping nothing on disk), with PostgreSQL as the record; optionally
that Redis is restarted in the middle (every message it held is gone). Counts what matters: uploads
accepted, calls lost (not done), calls analysed more than once (more than one stored analysis).

    .venv/bin/python -m bench.celery_load --calls 50 --workers 2 --seconds 6 --restart-broker \\
        --out bench/results/celery_load.json

Every phase has a time cap; processes are stopped and the database dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import soundfile
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["zh-demo.stereo.flac", "en-demo.stereo.flac", "mixed-demo.stereo.flac", "zh-phone.stereo.flac"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clips(n: int, seconds: float) -> list[bytes]:
    """n distinct stretches of real speech from the samples (different starts: different hashes)."""
    out, i = [], 0
    sources = [soundfile.read(ROOT / "samples" / name) for name in SOURCES]
    while len(out) < n:
        data, rate = sources[i % len(sources)]
        start = int((i // len(sources)) * seconds * rate * 0.5)
        piece = data[start:start + int(seconds * rate)]
        if len(piece) < seconds * rate:  # past the end of this source: start over, shifted
            first = int(i * 0.37 * rate) % max(1, len(data) - int(seconds * rate))
            piece = data[first:first + int(seconds * rate)]
        buf = io.BytesIO()
        soundfile.write(buf, piece, rate, format="FLAC")
        out.append(buf.getvalue())
        i += 1
    assert len({hash(c) for c in out}) == n
    return out


class Redis:
    def __init__(self, port: int) -> None:
        self.port, self.proc = port, None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return
            time.sleep(0.1)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each recording")
    ap.add_argument("--restart-broker", action="store_true", help="restart Redis once a fifth are done")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)

    import psycopg

    from callscope.models.db import make_engine, session_factory
    from callscope.models.orm import AnalysisRecord, Call, Job

    work = Path(f"/tmp/callscope-celery-load-{secrets.token_hex(3)}")
    data_dir = work / "data"
    data_dir.mkdir(parents=True)
    db = f"callscope_load_{secrets.token_hex(4)}"
    admin = psycopg.connect(args.pg_admin, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{db}"')
    db_url = args.pg_admin.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/" + db
    redis = Redis(free_port())
    redis.start()
    env = {**os.environ, "CALLSCOPE_DATA_DIR": str(data_dir), "CALLSCOPE_DATABASE_URL": db_url,
           "CALLSCOPE_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0", "CALLSCOPE_SWEEP_SECONDS": "5",
           "CALLSCOPE_REDISPATCH_SECONDS": "20", "CALLSCOPE_CPU_THREADS": "1"}
    procs: list[subprocess.Popen] = []
    result: dict = {"calls": args.calls, "workers": args.workers, "seconds_each": args.seconds,
                    "restart_broker": args.restart_broker}
    engine = make_engine(db_url)
    try:
        token = subprocess.run([sys.executable, "-m", "callscope", "token", "create", "--role",
                                "integration"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=120, check=True).stdout.strip()
        port = free_port()
        commands = {"server": ["serve", "--port", str(port)]}
        commands.update({f"worker{w}": ["worker", "--queues", "asr,analysis"] for w in range(args.workers)})
        for name, command in commands.items():
            with open(work / f"{name}.log", "ab") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "callscope", *command], cwd=ROOT,
                                              env=env, stdout=log, stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        bodies = clips(args.calls, args.seconds)
        barrier = threading.Barrier(args.calls)
        answers: list = [None] * args.calls
        latency: list[float] = [0.0] * args.calls

        def send(i: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
                barrier.wait(60)
                t0 = time.perf_counter()
                try:
                    answers[i] = c.post("/api/v1/calls",
                                        files={"file": (f"c{i}.flac", bodies[i], "audio/flac")},
                                        data={"rep": f"rep{i % 5}@example.com", "deal": f"D-{i % 7}",
                                              "channels": "mono"})
                except httpx.HTTPError as err:
                    answers[i] = err
                latency[i] = time.perf_counter() - t0

        started = time.monotonic()
        threads = [threading.Thread(target=send, args=(i,)) for i in range(args.calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        codes = [getattr(a, "status_code", repr(a)) for a in answers]
        result["upload_status"] = {str(c): codes.count(c) for c in set(codes)}
        result["upload_latency_s"] = {"p50": round(statistics.median(latency), 3),
                                      "max": round(max(latency), 3)}
        ids = {a.json()["id"] for a in answers if getattr(a, "status_code", 0) == 202}
        result["accepted_distinct"] = len(ids)
        sessions = session_factory(engine)
        restarted = False
        while time.monotonic() - started < args.timeout:
            with sessions() as s:
                states = dict(s.execute(select(Call.status, func.count()).group_by(Call.status)).all())
            finished = states.get("done", 0) + states.get("failed", 0)
            if args.restart_broker and not restarted and finished >= args.calls // 5:
                redis.stop()  # every message it held is gone: queued tasks and unacknowledged ones
                time.sleep(2)
                redis.start()
                restarted = True
                result["restarted_after_done"] = finished
            if finished >= len(ids):
                break
            time.sleep(1)
        result["wall_seconds"] = round(time.monotonic() - started, 1)
        with sessions() as s:
            states = dict(s.execute(select(Call.status, func.count()).group_by(Call.status)).all())
            per_call = dict(s.execute(select(AnalysisRecord.call_id, func.count())
                                      .group_by(AnalysisRecord.call_id)).all())
            attempts = list(s.scalars(select(Job.attempts)))
        result["calls_by_status"] = states
        result["lost"] = len(ids) - states.get("done", 0)
        result["duplicated"] = sum(1 for n in per_call.values() if n > 1)
        result["analyses_stored"] = sum(per_call.values())
        result["jobs_with_more_than_one_attempt"] = sum(1 for a in attempts if a > 1)
        result["audio_minutes"] = round(len(ids) * args.seconds / 60, 2)
        result["audio_minutes_per_wall_minute"] = round(
            result["audio_minutes"] / (result["wall_seconds"] / 60), 3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result.get("lost") == 0 and result.get("duplicated") == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
