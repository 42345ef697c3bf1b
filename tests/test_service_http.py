"""`callscope serve` driven as a CRM would, over real HTTP on loopback, with the real model on a
short real recording: auth, upload, duplicates, bad files, a SIGKILL mid-job, processing to done,
the analysis, Chinese search and rep isolation."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import pytest
import soundfile

from tests.service_support import Server, make_token, wait_status

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "zh-demo.stereo.flac"


@pytest.fixture(scope="module")
def clip() -> bytes:
    """The first 40 s of the Mandarin demo call (introduction, discovery, the budget question)."""
    data, rate = soundfile.read(SAMPLE)
    buf = io.BytesIO()
    soundfile.write(buf, data[: 40 * rate], rate, format="FLAC")
    return buf.getvalue()


def test_serve_as_a_crm_would(tmp_path, clip):
    data_dir = tmp_path / "data"
    crm = make_token(data_dir, "integration", "--name", "crm")
    rep_a = make_token(data_dir, "rep", "--rep", "wang.fang@example.com", "--team", "East")
    rep_b = make_token(data_dir, "rep", "--rep", "li.wei@example.com", "--team", "West")
    server = Server(data_dir).start()
    try:
        base = server.base
        assert httpx.get(f"{base}/api/v1/healthz").json()["status"] == "ok"
        assert httpx.get(f"{base}/api/v1/calls").status_code == 401
        assert httpx.get(f"{base}/docs").status_code == 200
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {crm}"}, timeout=30)

        def send(content: bytes, name: str = "call.flac") -> httpx.Response:
            return client.post(
                "/api/v1/calls",
                files={"file": (name, content, "audio/flac")},
                data={
                    "rep": "wang.fang@example.com",
                    "deal": "CRM-42",
                    "title": "仓储系统需求",
                    "started_at": "2026-11-20T10:00:00+08:00",
                    "channels": "stereo",
                },
            )

        first = send(clip)
        assert first.status_code == 202, first.text
        call_id = first.json()["id"]
        dup = send(clip, name="again.flac")
        assert dup.status_code == 202 and dup.json()["id"] == call_id and dup.json()["duplicate"] is True
        bad = send(b"<html>not a recording</html>" * 40, name="page.flac")
        assert bad.status_code == 415 and "not an audio file" in bad.json()["detail"]

        # kill the server while the job runs: nothing may be lost
        wait_status(client, call_id, {"processing", "done"}, timeout=60)
        time.sleep(1.0)
        killed_mid_job = client.get(f"/api/v1/calls/{call_id}").json()["status"] == "processing"
        server.kill()
        server = Server(data_dir).start()
        client.base_url = server.base
        assert client.get(f"/api/v1/calls/{call_id}").json()["status"] in ("queued", "processing", "done")
        done = wait_status(client, call_id, {"done", "failed"}, timeout=300)
        assert done["status"] == "done", done
        assert killed_mid_job, "the server was to be killed while the job ran"
        assert done["attempts"] == 2, done  # the interrupted attempt was requeued and run again

        analysis = client.get(f"/api/v1/calls/{call_id}/analysis").json()
        for key in (
            "duration",
            "language",
            "segments",
            "stage",
            "objections",
            "next_steps",
            "metrics",
            "scorecard",
        ):
            assert key in analysis
        assert analysis["language"] == "zh" and len(analysis["segments"]) >= 4
        assert {s["role"] for s in analysis["segments"]} == {"rep", "customer"}
        assert "预算" in "".join(s["text"] for s in analysis["segments"])

        def found(token: str, q: str) -> list[int]:
            r = httpx.get(
                f"{server.base}/api/v1/calls", params={"q": q}, headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 200
            return [c["id"] for c in r.json()["items"]]

        assert found(crm, "预算") == [call_id]
        assert found(crm, "仓库") == [call_id]
        assert found(crm, "发票") == []
        assert found(rep_a, "预算") == [call_id]
        # rep isolation: another rep can neither read, list nor search the call
        assert found(rep_b, "预算") == []
        assert found(rep_b, "") == []
        headers_b = {"Authorization": f"Bearer {rep_b}"}
        for path in ("", "/analysis", "/audio"):
            assert (
                httpx.get(f"{server.base}/api/v1/calls/{call_id}{path}", headers=headers_b).status_code == 404
            )
        insights = client.get("/api/v1/deals/CRM-42/insights").json()
        assert [c["id"] for c in insights["calls"]] == [call_id]
        assert insights["clocks"]["last_call_at"].startswith("2026-11-20T02:00")
    finally:
        server.stop()
