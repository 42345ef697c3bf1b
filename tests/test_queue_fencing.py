"""Queue fencing on real SQLite and PostgreSQL: a worker whose lease ran out, and whose job another
worker took over, cannot overwrite the result of the worker that took over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from callscope.api import queue
from callscope.models.orm import AnalysisRecord, Call, Job, utcnow
from tests.test_queue_mechanics import _calls, db  # noqa: F401 - the db fixture


def _store(session, call_id: int, marker: str) -> None:
    """What a worker stores before complete(): one analysis row, in the job's session."""
    session.add(AnalysisRecord(call_id=call_id, document={"by": marker}, transcript={}, stage="discovery"))
    session.flush()


def _expire(sessions, job_id: int) -> None:
    with sessions() as s:
        s.execute(update(Job).where(Job.id == job_id).values(claimed_at=utcnow() - timedelta(hours=1)))
        s.commit()


def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_takeover(db):  # noqa: F811
    (call_id,) = _calls(db, 1)
    with db() as slow, db() as fast:
        job_a = queue.claim(slow, "hostA:1:0")
        job_id = job_a.id
        _expire(db, job_a.id)
        assert queue.requeue_stale(fast, 3, queue.LEASE) == 1
        job_b = queue.claim(fast, "hostB:2:0")
        assert job_b.id == job_a.id and job_b.attempts == 2
        # the slow worker wakes up and finishes: its result is discarded, not stored
        _store(slow, call_id, "A")
        with pytest.raises(queue.ClaimLost):
            queue.complete(slow, job_a)
        # nor can it record a failure over the running takeover
        assert queue.fail(slow, job_a, "late failure", False, 3) == "lost"
        with db() as s:
            job = s.get(Job, job_id)
            assert (job.status, job.claimed_by, job.error) == ("processing", "hostB:2:0", None)
            assert s.get(Call, call_id).status == "processing"
        _store(fast, call_id, "B")
        queue.complete(fast, job_b)
        # and after the takeover finished, the slow worker's late complete/fail change nothing
        _store(slow, call_id, "A")
        with pytest.raises(queue.ClaimLost):
            queue.complete(slow, job_a)
        assert queue.fail(slow, job_a, "late failure", True, 3) == "lost"
    with db() as s:
        records = list(s.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == call_id)))
        assert [r.document["by"] for r in records] == ["B"]
        job = s.get(Job, job_id)
        assert (job.status, job.error, job.claimed_by) == ("done", None, None)
        assert s.get(Call, call_id).status == "done"


def test_release_leaves_a_claim_renewed_or_taken_over_since_it_was_judged_stale(db):  # noqa: F811
    _calls(db, 2)
    with db() as s:
        renewed = queue.claim(s, "hostA:1:0")
        taken = queue.claim(s, "hostA:1:1")
    _expire(db, renewed.id)
    _expire(db, taken.id)
    with db() as s:
        stale = list(s.scalars(select(Job).where(Job.status == "processing")))
        assert len(stale) == 2
        # meanwhile: the first worker's heartbeat renews; the second job is released and re-claimed
        with db() as other:
            queue.renew(other, [renewed.id], "hostA:1:0")
            assert queue._release(other, [taken.id], 3) == 1
            assert queue.claim(other, "hostC:3:0").id == taken.id
        # the judgement made before is out of date: releasing now must touch neither job
        assert queue._release(s, [j.id for j in stale], 3) == 0
    with db() as s:
        assert s.get(Job, renewed.id).claimed_by == "hostA:1:0"
        assert s.get(Job, taken.id).claimed_by == "hostC:3:0"
        assert {j.status for j in s.scalars(select(Job))} == {"processing"}
