"""`callscope worker`: a separate process claiming jobs from a shared PostgreSQL database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from callscope.api import queue
from callscope.api.services.results import store_analysis
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import AnalysisRecord, Call, Job, User
from tests.conftest import analysis_of
from tests.service_support import ROOT, postgres_database
from tests.test_api_results import transcript_of


def test_worker_process_claims_jobs_from_postgres(tmp_path):
    doc = analysis_of("zh-demo.stereo.flac")
    with postgres_database() as url:
        engine = make_engine(url)
        migrate(engine)
        sessions = session_factory(engine)
        with sessions() as s:
            rep = User(email="w@example.com", name="w")
            s.add(rep)
            s.flush()
            call = Call(rep_id=rep.id, audio_path="audio/none.flac", sha256="c" * 64, size=1, status="done")
            s.add(call)
            s.flush()
            store_analysis(s, call, doc, transcript_of(doc), "default")
            job = queue.enqueue(s, call.id, "rescore", rubric="qa-strict")
            s.commit()
            call_id, job_id = call.id, job.id
        env = {**os.environ, "CALLSCOPE_DATABASE_URL": url, "CALLSCOPE_DATA_DIR": str(tmp_path)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "callscope", "worker", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            status = "queued"
            while time.monotonic() < deadline and status not in ("done", "failed"):
                time.sleep(0.3)
                with sessions() as s:
                    status = s.get(Job, job_id).status
            assert status == "done"
            with sessions() as s:
                records = list(s.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == call_id)))
                assert len(records) == 2 and records[-1].document["scorecard"]["rubric"] == "qa-strict"
                assert s.get(Job, job_id).claimed_by is None and s.get(Job, job_id).attempts == 1
        finally:
            worker.send_signal(signal.SIGTERM)
            out, _ = worker.communicate(timeout=30)
            engine.dispose()
        assert worker.returncode == 0, out
