"""Celery as the engine, against the real local brokers (Redis and RabbitMQ), real PostgreSQL, a real
`callscope serve` and real `callscope worker` processes, the real model on a real recording:
a worker SIGKILLed in the middle of a call leaves the call to be done again, and it ends done with
exactly one stored analysis."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import soundfile
from sqlalchemy import select

from callscope.models.db import make_engine, session_factory
from callscope.models.orm import AnalysisRecord, Call, Job
from tests.service_support import ROOT, Server, cli, postgres_database, require_service, wait_status

SAMPLE = ROOT / "samples" / "zh-demo.stereo.flac"
BROKERS = {"redis": os.environ.get("CALLSCOPE_TEST_REDIS", "redis://127.0.0.1:6379/0"),
           "rabbitmq": os.environ.get("CALLSCOPE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")}


def clip(seconds: int = 10) -> bytes:
    data, rate = soundfile.read(SAMPLE)
    buf = io.BytesIO()
    soundfile.write(buf, data[: seconds * rate], rate, format="FLAC")
    return buf.getvalue()


class Worker:
    """`callscope worker` in a subprocess, its output in a file."""

    def __init__(self, tmp_path: Path, env: dict[str, str], name: str, queues: str = "asr,analysis") -> None:
        self.log = tmp_path / f"{name}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "callscope", "worker", "--queues", queues],
                                     cwd=ROOT, env={**os.environ, **env}, stdout=open(self.log, "ab"),  # noqa: SIM115
                                     stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.text()[-3000:]
            if needle in self.text():
                return
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not in the worker's log:\n{self.text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def delete_queues(url: str, prefix: str) -> None:
    from kombu import Connection

    with contextlib.suppress(Exception), Connection(url, connect_timeout=3) as conn:
        for name in ("asr", "analysis"):
            with contextlib.suppress(Exception):
                conn.channel().queue_delete(prefix + name)


# the kill test on Redis in every run; CI's second pass runs it on both (redis,rabbitmq)
KILL_BROKERS = os.environ.get("CALLSCOPE_TEST_BROKERS", "redis").split(",")


@pytest.mark.parametrize("broker", KILL_BROKERS)
def test_a_worker_killed_mid_call_leaves_exactly_one_analysis(tmp_path, broker):
    url = BROKERS[broker]
    require_service(broker, url)
    prefix = f"cs-test-{secrets.token_hex(4)}."
    data_dir = tmp_path / "data"
    with postgres_database() as db_url:
        env = {"CALLSCOPE_DATABASE_URL": db_url, "CALLSCOPE_BROKER_URL": url,
               "CALLSCOPE_QUEUE_PREFIX": prefix,
               "CALLSCOPE_DATA_DIR": str(data_dir), "CALLSCOPE_SWEEP_SECONDS": "2"}
        done = cli(data_dir, "token", "create", "--role", "integration", env=env)
        assert done.returncode == 0, done.stderr
        server = Server(data_dir, env).start()
        first = second = None
        engine = make_engine(db_url)
        sessions = session_factory(engine)
        try:
            health = httpx.get(f"{server.base}/api/v1/healthz").json()
            assert health["broker"]["status"] == "ok" and health["broker"]["engine"] == "celery"
            first = Worker(tmp_path, env, "first")
            client = httpx.Client(base_url=server.base, timeout=60,
                                  headers={"Authorization": f"Bearer {done.stdout.strip()}"})
            answer = client.post("/api/v1/calls", files={"file": ("call.flac", clip(), "audio/flac")},
                                 data={"rep": "kill.test@example.com", "channels": "stereo"})
            assert answer.status_code == 202, answer.text
            call_id = answer.json()["id"]
            # in the middle of the call: its first channel is being transcribed (the log says so,
            # with the call's id on the line)
            first.wait_for(f"[call {call_id} job", timeout=120)
            # the worker that will take over starts now, once the first holds the call's message (a
            # supervisor's restart after the kill, without making the test wait for its start-up)
            second = Worker(tmp_path, env, "second")
            first.wait_for("channel 0 (rep): transcribing", timeout=120)
            time.sleep(1.0)
            # the claim is checked before the kill: after it, RabbitMQ hands the unacknowledged message
            # to the second worker at once (the dead connection closes), which may have released and
            # taken the job over before a query here ran
            with sessions() as s:
                job = s.scalar(select(Job).where(Job.call_id == call_id))
                assert job.status == "processing" and job.attempts == 1
                assert job.claimed_by.split(":")[1] == str(first.proc.pid)
                assert s.get(Call, call_id).status == "processing"
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(10)
            # the other worker does the call again
            body = wait_status(client, call_id, {"done", "failed"}, timeout=240)
            assert body["status"] == "done", (body, second.text()[-3000:])
            with sessions() as s:
                records = list(s.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == call_id)))
                assert len(records) == 1
                job = s.scalar(select(Job).where(Job.call_id == call_id))
                assert (job.status, job.attempts, job.claimed_by) == ("done", 2, None)
            assert client.get(f"/api/v1/calls/{call_id}/analysis").status_code == 200
            # every line of the call's processing carries its id
            lines = [ln for ln in second.text().splitlines() if "callscope." in ln and "transcrib" in ln]
            assert lines and all(f"[call {call_id} job" in ln for ln in lines)
            metrics = httpx.get(f"{server.base}/metrics").text
            assert 'callscope_calls{status="done"} 1.0' in metrics
            assert 'callscope_queue_depth{queue="asr"} 0.0' in metrics
        finally:
            for w in (first, second):
                if w is not None:
                    w.stop()
            server.stop()
            engine.dispose()
            delete_queues(url, prefix)


def test_rescoring_is_routed_to_the_analysis_queue_on_rabbitmq(tmp_path):
    """A re-score job goes to queue `analysis`: a worker of `asr` alone leaves it, a worker of
    `analysis` runs it (no model, no audio)."""
    from callscope.api import queue
    from callscope.api.celery_app import Dispatcher
    from callscope.api.services.results import store_analysis
    from callscope.core.config import Settings
    from callscope.models.db import migrate
    from callscope.models.orm import User
    from tests.conftest import analysis_of
    from tests.test_api_results import transcript_of

    url = BROKERS["rabbitmq"]
    require_service("rabbitmq", url)
    prefix = f"cs-test-{secrets.token_hex(4)}."
    doc = analysis_of("zh-demo.stereo.flac")
    with postgres_database() as db_url:
        env = {"CALLSCOPE_DATABASE_URL": db_url, "CALLSCOPE_BROKER_URL": url,
               "CALLSCOPE_QUEUE_PREFIX": prefix,
               "CALLSCOPE_DATA_DIR": str(tmp_path), "CALLSCOPE_SWEEP_SECONDS": "1"}
        engine = make_engine(db_url)
        migrate(engine)
        sessions = session_factory(engine)
        Dispatcher(Settings.from_env(env), sessions).attach(sessions)  # as the service publishes
        heavy = light = None
        try:
            heavy = Worker(tmp_path, env, "asr-only", queues="asr")
            heavy.wait_for("ready", timeout=60)
            with sessions() as s:
                rep = User(email="route@example.com", name="route")
                s.add(rep)
                s.flush()
                call = Call(rep_id=rep.id, audio_path="audio/none.flac", sha256="d" * 64, size=1,
                            status="done")
                s.add(call)
                s.flush()
                store_analysis(s, call, doc, transcript_of(doc), "default")
                job_id = queue.enqueue(s, call.id, "rescore", rubric="qa-strict").id
                s.commit()  # published here, to <prefix>analysis
            time.sleep(3)
            with sessions() as s:
                job = s.get(Job, job_id)
                assert job.status == "queued" and job.dispatched_at is not None
            light = Worker(tmp_path, env, "analysis-only", queues="analysis")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with sessions() as s:
                    if s.get(Job, job_id).status in ("done", "failed"):
                        break
                time.sleep(0.3)
            with sessions() as s:
                assert s.get(Job, job_id).status == "done", light.text()[-3000:]
                records = list(s.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == call.id)))
                assert len(records) == 2 and records[-1].document["scorecard"]["rubric"] == "qa-strict"
            assert f"job {job_id} (rescore) done" in light.text()
            assert "(rescore) done" not in heavy.text()
        finally:
            for w in (heavy, light):
                if w is not None:
                    w.stop()
            engine.dispose()
            delete_queues(url, prefix)
