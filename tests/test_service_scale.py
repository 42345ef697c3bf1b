"""The service under concurrency, over real HTTP on loopback against a real `callscope serve`:
uploads fired at once for a rep and deals the server has not seen (SQLite and PostgreSQL), and an
upload the server cannot store (the disk is full) answered as the server's fault."""

from __future__ import annotations

import io
import threading

import httpx
import numpy as np
import pytest
import soundfile
from sqlalchemy import func, select

from callscope.models.db import make_engine
from callscope.models.orm import Call, Deal, Job, User
from tests.service_support import Server, cli, database_url

UPLOADS = 8


def tone(i: int, seconds: float = 2.0, rate: int = 16000) -> bytes:
    """A short distinct recording (its own pitch and noise: a distinct sha256)."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(i)
    data = 0.3 * np.sin(2 * np.pi * (220 + 37 * i) * t) + 0.01 * rng.standard_normal(len(t))
    buf = io.BytesIO()
    soundfile.write(buf, data.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def fire_at_once(base: str, token: str, bodies: list[tuple[bytes, dict]]) -> list[httpx.Response]:
    """POST every upload from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(bodies))
    answers: list[httpx.Response | BaseException] = [None] * len(bodies)  # type: ignore[list-item]

    def send(i: int) -> None:
        content, fields = bodies[i]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            barrier.wait(30)
            try:
                answers[i] = c.post("/api/v1/calls", files={"file": (f"c{i}.wav", content, "audio/wav")},
                                    data=fields)
            except httpx.HTTPError as err:
                answers[i] = err

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return answers  # type: ignore[return-value]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_uploads_for_a_new_rep_and_new_deals_all_land(tmp_path, kind):
    data_dir = tmp_path / "data"
    with database_url(kind, tmp_path) as url:
        env = {"CALLSCOPE_DATABASE_URL": url, "CALLSCOPE_WORKERS": "0"}
        done = cli(data_dir, "token", "create", "--role", "integration", env=env)
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        server = Server(data_dir, env).start()
        try:
            # one new rep for all; deals new too, each shared by two uploads (both race to create it)
            bodies = [(tone(i), {"rep": "new.rep@example.com", "deal": f"NEW-{i // 2}", "channels": "mono"})
                      for i in range(UPLOADS)]
            answers = fire_at_once(server.base, token, bodies)
            # operations: the queue depth per queue in /healthz and /metrics, the uploads' latency
            health = httpx.get(f"{server.base}/api/v1/healthz").json()
            assert health["database"]["status"] == "ok" and health["broker"]["status"] == "none"
            assert health["queues"]["asr"] == {"queued": UPLOADS, "processing": 0}
            assert health["jobs"] == {"queued": UPLOADS}
            metrics = httpx.get(f"{server.base}/metrics").text
            assert f'callscope_queue_depth{{queue="asr"}} {UPLOADS}.0' in metrics
            assert 'callscope_queue_depth{queue="analysis"} 0.0' in metrics
            assert f'callscope_calls{{status="queued"}} {UPLOADS}.0' in metrics
            assert (f'callscope_http_request_duration_seconds_count{{method="POST",route="/api/v1/calls",'
                    f'status="202"}} {UPLOADS}.0') in metrics
        finally:
            server.stop()
        assert [getattr(a, "status_code", repr(a)) for a in answers] == [202] * UPLOADS, \
            [getattr(a, "text", repr(a)) for a in answers]
        assert len({a.json()["id"] for a in answers}) == UPLOADS
        assert not any(a.json()["duplicate"] for a in answers)
        engine = make_engine(url)
        try:
            with engine.connect() as c:
                assert c.scalar(select(func.count()).select_from(User)
                                .where(User.email == "new.rep@example.com")) == 1
                assert c.scalar(select(func.count()).select_from(Deal)) == UPLOADS // 2
                assert c.scalar(select(func.count()).select_from(Call)) == UPLOADS
                assert c.scalar(select(func.count()).select_from(Job)) == UPLOADS
                # each deal is the one both of its calls point to
                per_deal = c.execute(select(Call.deal_id, func.count()).group_by(Call.deal_id)).all()
                assert sorted(n for _, n in per_deal) == [2] * (UPLOADS // 2)
        finally:
            engine.dispose()


def test_an_upload_the_disk_cannot_hold_is_the_servers_fault(tmp_path):
    """The server's files may not grow past 3 MB (RLIMIT_FSIZE: writing more fails with EFBIG, as a
    full disk fails with ENOSPC): an 8 MB upload is answered 507 with a clear reason, nothing is kept,
    and a small upload afterwards is accepted."""
    import resource

    data_dir = tmp_path / "data"
    done = cli(data_dir, "token", "create", "--role", "integration", env={"CALLSCOPE_WORKERS": "0"})
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    limit = 3 * 1024 * 1024
    server = Server(data_dir, {"CALLSCOPE_WORKERS": "0"})
    server.preexec = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    server.start()
    try:
        client = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        big = tone(1, seconds=260.0)  # 16 kHz 16-bit mono: 8.3 MB
        assert len(big) > 2 * limit
        answer = client.post("/api/v1/calls", files={"file": ("big.wav", big, "audio/wav")},
                             data={"rep": "disk.full@example.com", "channels": "mono"})
        assert answer.status_code == 507, answer.text
        detail = answer.json()["detail"]
        assert "no room to store the recording" in detail and "File too large" in detail
        assert str(data_dir) not in detail
        assert list((data_dir / "tmp").glob("*.part")) == []
        small = client.post("/api/v1/calls", files={"file": ("small.wav", tone(2), "audio/wav")},
                            data={"rep": "disk.full@example.com", "channels": "mono"})
        assert small.status_code == 202, small.text
        # a client's garbage is still the client's fault
        garbage = client.post("/api/v1/calls", content=b"--x\r\nnot multipart",
                              headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert garbage.status_code in (400, 422), garbage.text
    finally:
        server.stop()
