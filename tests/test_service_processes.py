"""`callscope serve --processes 2` as it runs: a real server with two uvicorn worker processes on
loopback, on SQLite and on PostgreSQL, the real ASR on a short recording, a real webhook receiver.
Which process answered a connection, and which holds the background lock, is read from the operating
system (/proc: the server's children, their sockets, the kernel's lock table), never from the server.

Requests are answered by both processes; a token revoked in one is refused by both; an upload limit
holds across them; an upload is analysed once and its webhook delivered once; a SIGKILL of the process
doing the background work hands it to another, which finishes the job."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from callscope.models.db import make_engine
from callscope.models.orm import AnalysisRecord, Job, WebhookDelivery
from tests.service_support import Server, cli, database_url, wait_status
from tests.test_api_access import short_audio
from tests.test_webhooks import Receiver

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads Linux's /proc")


def spawned_children(pid: int) -> set[int]:
    """uvicorn's worker processes under the server (multiprocessing's resource tracker left out)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
    return found


def connection_owner(server_port: int, client_port: int, candidates: set[int]) -> int | None:
    """The process holding the server's end of the loopback connection from client_port."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":"), fields[2].split(":")
        if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
            inode = fields[9]
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


def lock_holder(path: Path) -> int | None:
    """The process with the exclusive flock on path, from the kernel's lock table."""
    st = path.stat()
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and fields[3] == "WRITE" and fields[5] == device:
            return int(fields[4])
    return None


class Pinned:
    """One keep-alive HTTP connection, so that every request on it goes to the same server process."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.connect()
        self.local_port = self.conn.sock.getsockname()[1]

    def send(self, method: str, path: str, token: str, **request: object) -> tuple[int, dict, bytes]:
        built = httpx.Request(method, f"http://127.0.0.1{path}", headers={"Authorization": f"Bearer {token}"},
                              **request)
        built.read()
        headers = {k: v for k, v in built.headers.items() if k.lower() != "host"}
        self.conn.request(method, path, body=built.content or None, headers=headers)
        answer = self.conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def one_in_each(server: Server, timeout: float = 180) -> dict[int, Pinned]:
    """A connection answered by each of the server's two worker processes (the kernel hands a new one
    to either process that is serving; one may still be starting)."""
    pinned: dict[int, Pinned] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = spawned_children(server.proc.pid)
        conn = Pinned(server.port)
        assert conn.send("GET", "/api/v1/healthz", "")[0] == 200
        owner = connection_owner(server.port, conn.local_port, children)
        if owner is not None and owner not in pinned:
            pinned[owner] = conn
        else:
            conn.conn.close()
        pinned = {pid: c for pid, c in pinned.items() if pid in children}
        if len(children) == 2 and set(pinned) == children:
            return pinned
        time.sleep(0.05)
    raise AssertionError(f"connections reached only {set(pinned)} of {spawned_children(server.proc.pid)}")


def upload_form(offset: float) -> dict:
    return {"data": {"rep": "li.ming@example.com"},
            "files": {"file": ("c.flac", short_audio(2.0, offset), "audio/flac")}}


# the main pass runs SQLite; `make test-celery`, the PostgreSQL pass, runs PostgreSQL (each start loads
# the model in the process that takes over: minutes, not to be paid twice in one pass)
DATABASES = os.environ.get("CALLSCOPE_TEST_PROCESS_DATABASES", "sqlite").split(",")


@pytest.fixture(scope="module", params=DATABASES)
def service(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"processes-{request.param}")
    data = tmp / "data"
    with database_url(request.param, tmp) as url:
        env = {"CALLSCOPE_DATABASE_URL": url, "CALLSCOPE_WEBHOOK_BACKOFF_BASE": "0.2",
               "CALLSCOPE_WEBHOOK_BACKOFF_MAX": "1"}
        made = cli(data, "token", "create", "--role", "admin", env=env)
        assert made.returncode == 0, made.stderr
        admin = made.stdout.strip()
        receiver = Receiver().start()
        server = Server(data, env, "--processes", "2").start(timeout=120)
        try:
            client = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {admin}"},
                                  timeout=30)
            r = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["call.analyzed"]})
            assert r.status_code == 201, r.text
            yield {"server": server, "admin": admin, "client": client, "receiver": receiver,
                   "engine": make_engine(url), "lock": data / "serve.lock"}
        finally:
            server.stop()
            receiver.stop()


def analysed_once(service: dict, call_id: int) -> None:
    """One stored analysis, and its call.analyzed received exactly once."""
    with service["engine"].connect() as db:
        assert db.scalar(select(func.count()).select_from(AnalysisRecord)
                         .where(AnalysisRecord.call_id == call_id)) == 1
        events = [event for event, payload in db.execute(
            select(WebhookDelivery.event_id, WebhookDelivery.payload)
            .where(WebhookDelivery.event_type == "call.analyzed")) if payload["data"]["call_id"] == call_id]
    assert len(events) == 1
    service["receiver"].wait_for(set(events))
    time.sleep(1.5)  # a second delivery would come within the delivery loop's poll
    assert service["receiver"].accepted()[events[0]] == 1


def test_two_processes_answer_and_share_tokens_limits_and_jobs(service):
    server, client = service["server"], service["client"]
    pinned = one_in_each(server)
    children = set(pinned)
    a, b = pinned.values()

    # both answer at once, each from its own process
    answers: list[int] = []

    def ask(conn: Pinned) -> None:
        for _ in range(5):
            answers.append(conn.send("GET", "/api/v1/calls", service["admin"])[0])

    threads = [threading.Thread(target=ask, args=(conn,)) for conn in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [200] * 10

    # a token with one upload a minute: its second upload is refused by the other process too
    made = client.post("/api/v1/tokens", json={"role": "integration", "uploads_per_minute": 1})
    assert made.status_code == 201, made.text
    limited, token_id = made.json()["token"], made.json()["id"]
    status, _, body = a.send("POST", "/api/v1/calls", limited, **upload_form(0.0))
    assert status == 202, body
    call_id = httpx.Response(status, content=body).json()["id"]
    for conn in (b, a):
        status, headers, _ = conn.send("POST", "/api/v1/calls", limited, **upload_form(3.0))
        assert status == 429 and int(headers["retry-after"]) >= 1

    # revoked through one process: refused by both from the next request on
    assert [conn.send("GET", "/api/v1/calls", limited)[0] for conn in (a, b)] == [200, 200]
    status, _, _ = a.send("POST", f"/api/v1/tokens/{token_id}/revoke", service["admin"])
    assert status == 200
    assert [conn.send("GET", "/api/v1/calls", limited)[0] for conn in (b, a)] == [401, 401]

    # /metrics, from either process, counts the requests of both
    for conn in (a, b):
        status, _, body = conn.send("GET", "/metrics", "")
        counted = {(s.labels["route"], s.labels["status"]): s.value
                   for family in text_string_to_metric_families(body.decode())
                   for s in family.samples if s.name == "callscope_http_request_duration_seconds_count"
                   and s.labels["method"] == "GET"}
        assert counted[("/api/v1/calls", "200")] == 12 and counted[("/api/v1/calls", "401")] == 2

    # the upload, received by either process, is analysed by the one doing the background work, once
    assert wait_status(client, call_id, {"done", "failed"}, timeout=300)["status"] == "done"
    with service["engine"].connect() as db:
        assert list(db.execute(select(Job.kind, Job.attempts, Job.status).where(Job.call_id == call_id))) \
            == [("analyze", 1, "done")]
    analysed_once(service, call_id)
    assert lock_holder(service["lock"]) in children

    # each process keeps the rep's evaluation; an override made through one is in the other's next answer
    admin = service["admin"]
    a, b = one_in_each(server).values()  # new connections: the server closes idle ones after seconds
    path = f"/api/v1/reps/{client.get(f'/api/v1/calls/{call_id}').json()['rep']['id']}/evaluation"
    before = [json.loads(conn.send("GET", path, admin)[2]) for conn in (a, b, a, b)]
    assert before[0] == before[1] == before[2] == before[3]
    card = client.get(f"/api/v1/calls/{call_id}/analysis").json()["scorecard"]
    item = next(i for i in card["items"] if i["passed"] is not None)
    status, _, body = a.send("PUT", f"/api/v1/calls/{call_id}/scorecard/items/{item['id']}", admin,
                             json={"passed": not item["passed"], "reason": "heard it"})
    assert status == 200, body
    after = json.loads(b.send("GET", path, admin)[2])

    def passed(evaluation: dict) -> int:
        return next(i["passed"] for i in evaluation["items"] if i["id"] == item["id"])

    assert passed(after) == passed(before[1]) + (-1 if item["passed"] else 1)
    assert json.loads(a.send("GET", path, admin)[2]) == after


def test_a_killed_background_process_hands_over(service):
    server, client = service["server"], service["client"]
    children = spawned_children(server.proc.pid)
    holder = lock_holder(service["lock"])
    assert holder in children
    r = client.post("/api/v1/calls", **upload_form(6.0))
    assert r.status_code == 202, r.text
    call_id = r.json()["id"]
    os.kill(holder, signal.SIGKILL)  # with the job queued or being analysed

    deadline = time.monotonic() + 60
    successor = None
    while time.monotonic() < deadline:
        successor = lock_holder(service["lock"])
        if successor not in (None, holder):
            break
        time.sleep(0.2)
    assert successor not in (None, holder) and successor in spawned_children(server.proc.pid)
    assert wait_status(client, call_id, {"done", "failed"}, timeout=300)["status"] == "done"
    analysed_once(service, call_id)
    # uvicorn's supervisor replaced the killed process
    deadline = time.monotonic() + 60
    while len(spawned_children(server.proc.pid) - {holder}) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(spawned_children(server.proc.pid) - {holder}) == 2


def test_the_processes_listener_turns_nagle_off_on_every_connection():
    """uvicorn#3149: the socket uvicorn binds for its worker processes has proto 0, the connections
    they accept inherit it and asyncio only sets TCP_NODELAY when proto is IPPROTO_TCP; with Nagle on,
    each keep-alive response waited ~40 ms on the client's delayed ACK. The listener `callscope serve
    --processes N` hands its processes (api.server.tcp_listener) gets a connection with Nagle off."""
    import asyncio
    import socket

    import uvicorn

    from callscope.api.server import tcp_listener

    listener = tcp_listener(uvicorn.Config("callscope.api.server:shared_app", host="127.0.0.1",
                                           port=0).bind_socket())

    async def accepted_nodelay() -> int:
        loop = asyncio.get_running_loop()
        seen: asyncio.Future[int] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await loop.create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(accepted_nodelay()) != 0
