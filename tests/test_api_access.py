"""The API in-process on real SQLite and PostgreSQL: tokens and scopes, upload validation,
deduplication and content-addressed storage. (Processing is covered by test_service_http.)"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import soundfile
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from callscope.api.app import create_app
from callscope.api.deps import COOKIE_NAME
from callscope.api.tokens import create_token
from callscope.core.config import Settings
from callscope.models.orm import ApiToken, Base, Call, Job, utcnow
from tests.service_support import cli, postgres_database

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "zh-demo.stereo.flac"


@pytest.fixture(scope="module")
def pg_url():
    with postgres_database() as url:
        yield url


def _client(settings: Settings):
    app = create_app(settings, start_workers=False)
    client = TestClient(app)
    client.__enter__()
    with app.state.sessions() as s:
        if s.get_bind().dialect.name == "postgresql":  # one database per module: start each test empty
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        client.tokens = {
            "admin": create_token(s, "admin")[0],
            "integration": create_token(s, "integration")[0],
            "rep_a": create_token(s, "rep", rep="a@example.com", team="East")[0],
            "rep_b": create_token(s, "rep", rep="b@example.com", team="West")[0],
            "manager_east": create_token(s, "manager", team="East")[0],
            "manager_west": create_token(s, "manager", team="West")[0],
        }
        s.commit()
    client.settings = settings
    return client


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    client = _client(Settings(data_dir=tmp_path / "data", database_url=url, max_upload_bytes=3_000_000))
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def sqlite_service(tmp_path):
    client = _client(Settings(data_dir=tmp_path / "data", max_upload_bytes=3_000_000))
    yield client
    client.__exit__(None, None, None)


def auth(client, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def short_audio(seconds: float = 3.0, offset: float = 0.0) -> bytes:
    """A real recording cut from the sample (a different cut is different content)."""
    data, rate = soundfile.read(SAMPLE)
    buf = io.BytesIO()
    soundfile.write(buf, data[int(offset * rate) : int((offset + seconds) * rate)], rate, format="FLAC")
    return buf.getvalue()


def upload(client, who: str, content: bytes, name: str = "call.flac", **fields):
    return client.post(
        "/api/v1/calls", headers=auth(client, who), files={"file": (name, content, "audio/flac")}, data=fields
    )


def leftovers(client) -> list[Path]:
    return [p for p in (client.settings.data_dir / "tmp").glob("*") if p.is_file()]


def test_health_needs_no_token_and_everything_else_does(service):
    assert service.get("/api/v1/healthz").json()["status"] == "ok"
    for path in (
        "/api/v1/calls",
        "/api/v1/calls/1",
        "/api/v1/reps/1/evaluation",
        "/api/v1/deals/X/insights",
        "/api/v1/rubrics/default",
    ):
        r = service.get(path)
        assert r.status_code == 401 and r.json() == {"detail": "missing or invalid token"}
    assert service.get("/api/v1/calls", headers={"Authorization": "Bearer cs_nope"}).status_code == 401
    assert service.get("/api/v1/calls", headers=auth(service, "admin")).status_code == 200
    # the web pages' sign-in cookie works too
    service.cookies.set(COOKIE_NAME, service.tokens["rep_a"])
    assert service.get("/api/v1/calls").status_code == 200
    service.cookies.clear()


def test_revoked_token_is_refused(service):
    with service.app.state.sessions() as s:
        s.execute(update(ApiToken).where(ApiToken.role == "integration").values(revoked_at=utcnow()))
        s.commit()
    assert service.get("/api/v1/calls", headers=auth(service, "integration")).status_code == 401


def test_upload_dedup_and_content_addressed_storage(service):
    audio = short_audio()
    r = upload(
        service,
        "integration",
        audio,
        name="../../etc/passwd.flac",
        rep="a@example.com",
        deal="CRM-1",
        title="First call",
        started_at="2026-11-02T09:30:00+08:00",
        channels="stereo",
        rep_channel="1",
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["duplicate"] is False
    again = upload(service, "admin", audio, name="other.flac", rep="b@example.com")
    assert again.status_code == 202 and again.json() == {
        "id": body["id"],
        "status": "queued",
        "duplicate": True,
    }
    call = service.get(f"/api/v1/calls/{body['id']}", headers=auth(service, "admin")).json()
    assert call["original_filename"] == "../../etc/passwd.flac"
    assert call["started_at"] == "2026-11-02T01:30:00+00:00"
    assert (call["channels"], call["rep_channel"], call["deal"]["external_id"]) == ("stereo", 1, "CRM-1")
    stored = list((service.settings.data_dir / "audio").rglob("*.*"))
    assert [p.relative_to(service.settings.data_dir).as_posix() for p in stored] == [
        f"audio/{call['sha256'][:2]}/{call['sha256']}.flac"
    ]
    assert leftovers(service) == []
    r = service.get(
        f"/api/v1/calls/{body['id']}/audio", headers={**auth(service, "rep_a"), "Range": "bytes=10-29"}
    )
    assert r.status_code == 206 and r.headers["content-type"] == "audio/flac" and r.content == audio[10:30]
    r = service.get(f"/api/v1/calls/{body['id']}/analysis", headers=auth(service, "admin"))
    assert r.status_code == 409 and "queued" in r.json()["detail"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rep": "a@example.com", "channels": "quad"}, "channels"),
        ({"rep": "a@example.com", "rep_channel": "2"}, "rep_channel"),
        ({"rep": "a@example.com", "started_at": "last tuesday"}, "started_at"),
        ({"rep": "nobody"}, "rep"),
        ({}, "rep"),
    ],
)
def test_bad_metadata_is_422_naming_the_field(sqlite_service, fields, field):
    service = sqlite_service
    r = upload(service, "admin", short_audio(2.0, 5.0), **fields)
    assert r.status_code == 422 and r.json()["detail"].startswith(f"{field}:"), r.text
    assert leftovers(service) == [] and not (service.settings.data_dir / "audio").exists()


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"just some text, not a recording " * 50, 415, "not an audio file"),
        (b"", 415, "empty"),
        (b"fLaC\x00\x00\x00\x22" + b"\x00" * 300, 415, ""),
    ],
)
def test_non_audio_is_refused_and_nothing_kept(sqlite_service, content, status, words):
    service = sqlite_service
    r = upload(service, "admin", content, rep="a@example.com")
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] and "\n" not in r.json()["detail"]
    assert leftovers(service) == [] and not (service.settings.data_dir / "audio").exists()
    assert service.get("/api/v1/calls", headers=auth(service, "admin")).json()["items"] == []


def test_too_short_and_too_large(service):
    r = upload(service, "admin", short_audio(0.4), rep="a@example.com")
    assert r.status_code == 415 and "too short" in r.json()["detail"]
    big = b"\x00" * (service.settings.max_upload_bytes + 1)
    r = upload(service, "admin", big, rep="a@example.com")
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert leftovers(service) == []


def test_not_multipart_is_422(sqlite_service):
    service = sqlite_service
    r = service.post("/api/v1/calls", headers=auth(service, "admin"), content=b"abc")
    assert r.status_code == 422 and r.json()["detail"].startswith("body:")


def test_who_may_create_reps_and_upload_for_whom(service):
    # integration creates a new rep by email; a manager or rep may not
    assert upload(service, "integration", short_audio(2.0, 1.0), rep="new@example.com").status_code == 202
    assert upload(service, "manager_east", short_audio(2.0, 2.0), rep="other@example.com").status_code == 422
    # a rep uploads their own calls (rep may be omitted), never someone else's
    assert upload(service, "rep_a", short_audio(2.0, 3.0)).status_code == 202
    assert upload(service, "rep_a", short_audio(2.0, 4.0), rep="b@example.com").status_code == 403
    # a manager uploads for the team's reps only
    assert upload(service, "manager_east", short_audio(2.0, 6.0), rep="a@example.com").status_code == 202
    assert upload(service, "manager_east", short_audio(2.0, 7.0), rep="b@example.com").status_code == 422


def test_scopes_isolate_reps_and_teams(service):
    a = upload(service, "integration", short_audio(2.0, 10.0), rep="a@example.com", deal="D-A").json()["id"]
    b = upload(service, "integration", short_audio(2.0, 12.0), rep="b@example.com", deal="D-B").json()["id"]

    def ids(who: str, query: str = "") -> set[int]:
        r = service.get(f"/api/v1/calls{query}", headers=auth(service, who))
        assert r.status_code == 200
        return {c["id"] for c in r.json()["items"]}

    assert ids("admin") == ids("integration") == {a, b}
    assert ids("rep_a") == ids("manager_east") == {a}
    assert ids("rep_b") == ids("manager_west") == {b}
    assert ids("rep_a", "?rep=b@example.com") == set()
    for path in (f"/api/v1/calls/{b}", f"/api/v1/calls/{b}/analysis", f"/api/v1/calls/{b}/audio"):
        assert service.get(path, headers=auth(service, "rep_a")).status_code == 404
        assert service.get(path, headers=auth(service, "manager_east")).status_code == 404
    rep_b = service.get(f"/api/v1/calls/{b}", headers=auth(service, "admin")).json()["rep"]["id"]
    assert service.get(f"/api/v1/reps/{rep_b}/evaluation", headers=auth(service, "rep_a")).status_code == 404
    assert service.get("/api/v1/deals/D-B/insights", headers=auth(service, "rep_a")).status_code == 404
    assert service.get("/api/v1/deals/D-A/insights", headers=auth(service, "rep_a")).status_code == 200
    # reviewing is for managers and admins
    r = service.post(f"/api/v1/calls/{a}/comments", headers=auth(service, "rep_a"), json={"text": "hi"})
    assert r.status_code == 403


def test_list_filters_and_cursor_pagination(service):
    for i in range(5):
        upload(
            service,
            "integration",
            short_audio(1.5, 20.0 + 2 * i),
            rep="a@example.com",
            started_at=f"2026-10-0{i + 1}T10:00:00Z",
            deal="P-1" if i % 2 else "P-2",
        )
    h = auth(service, "admin")
    page = service.get("/api/v1/calls?limit=2", headers=h).json()
    assert page["pagination"] == "cursor" and len(page["items"]) == 2 and page["next_cursor"]
    seen = [c["started_at"][:10] for c in page["items"]]
    while page["next_cursor"]:
        page = service.get(f"/api/v1/calls?limit=2&cursor={page['next_cursor']}", headers=h).json()
        seen += [c["started_at"][:10] for c in page["items"]]
    assert seen == [f"2026-10-0{i}" for i in (5, 4, 3, 2, 1)]
    got = service.get("/api/v1/calls?from=2026-10-02&to=2026-10-04&deal=P-1", headers=h).json()["items"]
    assert [c["started_at"][:10] for c in got] == ["2026-10-04", "2026-10-02"]
    for bad in ("stage=bogus", "objection=weather", "from=soon", "cursor=zzz", "min_score=abc", "limit=0"):
        r = service.get(f"/api/v1/calls?{bad}", headers=h)
        assert r.status_code == 422 and bad.split("=")[0] in r.json()["detail"], (bad, r.text)


def test_sending_a_failed_recording_again_retries_it(sqlite_service):
    service = sqlite_service
    audio = short_audio(2.0, 40.0)
    call_id = upload(service, "integration", audio, rep="a@example.com").json()["id"]
    with service.app.state.sessions() as s:
        s.execute(update(Call).where(Call.id == call_id).values(status="failed", error="boom", attempts=3))
        s.execute(update(Job).where(Job.call_id == call_id).values(status="failed"))
        s.commit()
    again = upload(service, "integration", audio, rep="a@example.com")
    assert again.status_code == 202 and again.json() == {"id": call_id, "status": "queued", "duplicate": True}
    with service.app.state.sessions() as s:
        assert [j.status for j in s.scalars(select(Job).where(Job.call_id == call_id).order_by(Job.id))] == [
            "failed",
            "queued",
        ]
        assert s.get(Call, call_id).error is None


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status", "field"),
    [
        ("get", "/api/v1/calls/99999999999999999999", None, None, 422, "call_id"),
        ("get", "/api/v1/calls", {"rep": "99999999999999999999"}, None, 200, None),
        ("get", "/api/v1/calls", {"rep": "²"}, None, 200, None),
        ("get", "/api/v1/calls", {"deal": "²"}, None, 200, None),
        ("get", "/api/v1/reps/²/evaluation", None, None, 404, None),
        ("get", "/api/v1/reps/99999999999999999999/evaluation", None, None, 404, None),
        ("get", "/api/v1/deals/²/insights", None, None, 404, None),
        ("get", "/api/v1/calls", {"from": "9999-12-31T23:00:00-05:00"}, None, 422, "from"),
        ("post", "/api/v1/reps", None, {"email": "x@example.com", "name": {"a": 1}}, 422, "name"),
        ("post", "/api/v1/reps", None, {"email": "x@example.com", "team": ["East"]}, 422, "team"),
        ("post", "/api/v1/reps", None, {"email": "x@example.com", "role": "boss"}, 422, "role"),
        ("put", "/api/v1/deals/CRM-1", None, {"stage": "won"}, 422, "stage"),
        ("put", "/api/v1/deals/CRM-1", None, {"amount": "a lot"}, 422, "amount"),
        ("put", "/api/v1/deals/CRM-1", None, {"name": "x" * 301}, 422, "name"),
    ],
)
def test_odd_ids_dates_and_bodies_are_4xx_never_500(service, method, path, params, body, status, field):
    r = service.request(method, path, headers=auth(service, "admin"), params=params, json=body)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["detail"].startswith(f"{field}:"), r.text


def test_an_upload_dated_past_the_calendar_keeps_nothing(sqlite_service):
    service = sqlite_service
    r = upload(service, "admin", short_audio(2.0, 8.0), rep="a@example.com",
               started_at="9999-12-31T23:00:00-05:00")
    assert r.status_code == 422 and r.json()["detail"].startswith("started_at:"), r.text
    assert leftovers(service) == [] and not (service.settings.data_dir / "audio").exists()


def test_a_write_signed_in_by_cookie_must_come_from_our_pages(sqlite_service):
    service = sqlite_service
    service.cookies.set(COOKIE_NAME, service.tokens["admin"])
    try:
        body = {"email": "x@example.com"}
        r = service.post("/api/v1/reps", json=body, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "cross-site" in r.json()["detail"]
        same_site = service.post("/api/v1/reps", json=body, headers={"Origin": "http://testserver"})
        assert same_site.status_code == 200, same_site.text
        assert service.get("/api/v1/reps", headers={"Origin": "http://evil.example"}).status_code == 200
    finally:
        service.cookies.clear()


@pytest.mark.parametrize("args", [("--role", "manager"), ("--role", "rep"),
                                  ("--role", "manager", "--rep", "nobody@example.com")])
def test_a_token_that_cannot_be_made_leaves_no_database_behind(tmp_path: Path, args: tuple[str, ...]) -> None:
    data_dir = tmp_path / "data"
    done = cli(data_dir, "token", "create", *args)
    assert done.returncode == 2 and "needs --" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not data_dir.exists()
