"""Privacy after the fact (issue 17): `callscope privacy backfill` redacts calls stored before redaction was
on (real SQLite, the real NLP on a transcript in which the customer reads out numbers, the real CLI);
reviewers' comments and override reasons are redacted before they are stored; uvicorn's access log (a real
`callscope serve`) never holds a query value."""

from __future__ import annotations

import json
import sqlite3

import httpx
from sqlalchemy import select, update

from callscope.api.privacy import privacy_key, request_digests
from callscope.api.services.results import store_analysis
from callscope.core.config import Settings
from callscope.models.document import Transcript, Turn
from callscope.models.orm import Call, Comment, Job, Override
from callscope.pipeline import rescore
from tests.service_support import Server, cli, make_token
from tests.test_api_access import auth, short_audio, sqlite_service, upload  # noqa: F401 - fixtures

PHONE, IDENT, CARD = "13917265480", "110105199003071234", "6222021234567890128"
SAID = ("一三九一七二六五四八零", "幺幺零幺零五幺九九零零三零七幺二三四")


def _call_stored_unredacted(api, offset: float) -> int:
    """A call analysed by the real NLP and stored as it was before redaction was on: its transcript,
    analysis, search rows and digest hold the customer's numbers; a comment and a reason too."""
    call_id = upload(api, "integration", short_audio(2.0, offset), rep="a@example.com",
                     title=f"回访 {PHONE}").json()["id"]
    turns = [Turn(0.0, 3.0, "S0", "rep", "您好，方便留个手机号吗？", language="zh"),
             Turn(3.5, 9.0, "S1", "customer", f"我的手机号是{PHONE}，身份证号是{IDENT}。", language="zh"),
             Turn(9.5, 12.0, "S0", "rep", "退款打到哪张卡上？", language="zh"),
             Turn(12.5, 19.0, "S1", "customer", f"卡号是{CARD}，另外我手机是{SAID[0]}。", language="zh"),
             Turn(19.5, 25.0, "S1", "customer", f"身份证我再念一遍，{SAID[1]}。", language="zh")]
    transcript = Transcript(duration=25.0, language="zh", layout="stereo", turns=turns,
                            speakers={"S0": "rep", "S1": "customer"})
    analysis = rescore(transcript, "default", Settings(redact=False))
    with api.app.state.sessions() as s:
        call = s.get(Call, call_id)
        store_analysis(s, call, json.loads(json.dumps(analysis.to_dict())), transcript.to_dict(), "default")
        call.status = "done"
        s.execute(update(Job).where(Job.call_id == call_id).values(status="done"))
        s.add(Comment(call_id=call_id, actor="mgr@example.com", text=f"客户说回电 {PHONE}"))
        s.add(Override(call_id=call_id, item_id="x", actor="mgr@example.com", before={}, after={},
                       reason=f"card {CARD}"))
        s.commit()
    return call_id


def _leaks(text: str) -> list[str]:
    return [v for v in (PHONE, IDENT, CARD, *SAID, PHONE[3:9], CARD[4:12]) if v in text]


def test_backfill_redacts_stored_calls_once_and_audits(sqlite_service):  # noqa: F811
    api = sqlite_service
    data_dir = api.settings.data_dir
    done = _call_stored_unredacted(api, 30.0)
    busy = upload(api, "integration", short_audio(2.0, 40.0), rep="a@example.com").json()["id"]  # queued
    admin = auth(api, "admin")
    assert _leaks(api.get(f"/api/v1/calls/{done}/analysis", headers=admin).text)
    assert [c["id"] for c in api.get("/api/v1/calls", params={"q": PHONE}, headers=admin).json()["items"]]

    run = cli(data_dir, "privacy", "backfill")
    assert run.returncode == 0, run.stderr
    counts = json.loads(run.stdout)
    assert counts["calls"] == 1 and counts["changed_calls"] == 1 and counts["skipped_busy"] == 1

    for path in (f"/api/v1/calls/{done}/analysis", f"/api/v1/calls/{done}", f"/api/v1/calls/{done}/reviews",
                 "/api/v1/calls?status=done"):
        body = api.get(path, headers=admin)
        assert body.status_code == 200 and _leaks(body.text) == [], (path, _leaks(body.text))
    document = api.get(f"/api/v1/calls/{done}/analysis", headers=admin).json()
    kinds = {r["kind"] for seg in document["segments"] for r in seg["redactions"]}
    assert {"phone", "id", "card"} <= kinds
    assert "[电话]" in json.dumps(document, ensure_ascii=False)
    for needle in (PHONE, PHONE[:7], CARD):
        assert done not in {c["id"] for c in api.get("/api/v1/calls", params={"q": needle},
                                                     headers=admin).json()["items"]}
    with sqlite3.connect(data_dir / "callscope.db") as db:
        rows = [json.dumps(r, ensure_ascii=False) for table in
                ("turns", "analyses", "call_digests", "scorecard_items", "comments", "overrides")
                for r in db.execute(f"SELECT * FROM {table} WHERE call_id = ?", (done,))]  # noqa: S608
        assert rows and _leaks("\n".join(rows)) == []
        assert db.execute("SELECT status, redaction_version FROM calls WHERE id = ?", (busy,)).fetchone() \
            == ("queued", None)
        version = db.execute("SELECT redaction_version FROM calls WHERE id = ?", (done,)).fetchone()[0]
        digests = db.execute("SELECT count(*) FROM redaction_digests WHERE call_id = ?",
                             (done,)).fetchone()[0]
    assert version is not None and digests > 0
    events = api.get("/api/v1/audit", headers=admin, params={"object_id": str(done)}).json()["items"]
    assert any(e["action"] == "redact" and e["actor"] == "cli" for e in events)

    # idempotent: nothing left to do, and re-reading every call changes nothing
    with sqlite3.connect(data_dir / "callscope.db") as db:
        before = db.execute("SELECT document, transcript FROM analyses WHERE call_id = ?", (done,)).fetchall()
    again = json.loads(cli(data_dir, "privacy", "backfill").stdout)
    assert again["calls"] == 0
    every = json.loads(cli(data_dir, "privacy", "backfill", "--all").stdout)
    assert every["calls"] == 1 and every["changed_calls"] == 0
    with sqlite3.connect(data_dir / "callscope.db") as db:
        assert db.execute("SELECT document, transcript FROM analyses WHERE call_id = ?", (done,)).fetchall() \
            == before
    # the keyed hashes it kept are the ones an erasure request for that phone looks up
    wanted = set(request_digests(privacy_key(api.settings), PHONE, None))
    with sqlite3.connect(data_dir / "callscope.db") as db:
        kept = {r[0] for r in db.execute("SELECT digest FROM redaction_digests WHERE call_id = ?", (done,))}
    assert wanted & kept


def test_backfill_refuses_with_redaction_off(tmp_path):
    run = cli(tmp_path / "data", "privacy", "backfill", env={"CALLSCOPE_REDACT": "0"})
    assert run.returncode == 2 and "redaction is off" in run.stderr and "Traceback" not in run.stderr


def test_comments_and_reasons_are_redacted_before_storage(sqlite_service):  # noqa: F811
    api = sqlite_service
    call_id = upload(api, "integration", short_audio(2.0, 50.0), rep="a@example.com").json()["id"]
    typed = f"客户手机 {PHONE}，邮箱 zhang.wei@example.com，下周回电"
    reply = api.post(f"/api/v1/calls/{call_id}/comments", headers=auth(api, "manager_east"),
                     json={"text": typed, "at": 12.0})
    assert reply.status_code == 201, reply.text
    assert "[电话]" in reply.json()["text"] and "[邮箱]" in reply.json()["text"]
    english = api.post(f"/api/v1/calls/{call_id}/comments", headers=auth(api, "manager_east"),
                       json={"text": "She said call me at four one five, five five five, two six seven one."})
    assert english.json()["text"] == "She said call me at [phone]."
    with api.app.state.sessions() as s:
        stored = [c.text for c in s.scalars(select(Comment).where(Comment.call_id == call_id))]
    assert len(stored) == 2
    assert not any(PHONE in t or "zhang.wei" in t or "two six seven" in t for t in stored)
    raw = b"".join(p.read_bytes() for p in sorted(api.settings.data_dir.glob("callscope.db*")))
    assert PHONE.encode() not in raw and b"zhang.wei@example.com" not in raw


def test_access_log_never_holds_query_values(tmp_path):
    data_dir = tmp_path / "data"
    token = make_token(data_dir, "admin")
    server = Server(data_dir, {"CALLSCOPE_ACCESS_LOG": "1"}).start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.base}/api/v1/calls", params={"q": PHONE, "limit": 5}, headers=headers,
                         timeout=30).status_code == 200
        assert httpx.get(f"{server.base}/api/v1/calls", params={"q": "zhang.wei@example.com"},
                         headers=headers, timeout=30).status_code == 200
    finally:
        server.stop()
    log = server.log.read_text()
    assert "GET /api/v1/calls?q=…&limit=… HTTP/1.1" in log  # the access log is on, the values are not
    assert PHONE not in log and "zhang.wei" not in log
