"""Shared helpers for the service tests: throwaway databases (SQLite file, real PostgreSQL), tokens,
a real `callscope serve` subprocess on loopback."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CALLSCOPE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# CALLSCOPE_TEST_ENGINE=celery (CI's second pass): every Server (and the cli for its data dir) runs on
# a fresh PostgreSQL database with Celery on Redis, and a real `callscope worker` process beside it
ENGINE = os.environ.get("CALLSCOPE_TEST_ENGINE", "embedded")
TEST_REDIS = os.environ.get("CALLSCOPE_TEST_REDIS", "redis://127.0.0.1:6379/0")
_engine_envs: dict[str, dict[str, str]] = {}


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy URL), dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL} (run tests/prepare_machine.sh): {err}"
        if in_ci():
            pytest.fail(message)  # under CI a service that is down is a failure, not a skip
        pytest.skip(message)
    name = f"callscope_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def database_url(kind: str, tmp_path: Path) -> contextlib.AbstractContextManager[str]:
    if kind == "postgresql":
        return postgres_database()
    return contextlib.nullcontext(f"sqlite:///{tmp_path / 'callscope.db'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_env(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The engine settings of a data dir under CALLSCOPE_TEST_ENGINE=celery (nothing otherwise, or
    when the test names its own database)."""
    if ENGINE != "celery" or "CALLSCOPE_DATABASE_URL" in (env or {}):
        return {}
    key = str(Path(data_dir).resolve())
    if key not in _engine_envs:
        require_service("redis", TEST_REDIS)
        stack = contextlib.ExitStack()
        url = stack.enter_context(postgres_database())
        atexit.register(stack.close)
        _engine_envs[key] = {"CALLSCOPE_DATABASE_URL": url, "CALLSCOPE_BROKER_URL": TEST_REDIS,
                             "CALLSCOPE_QUEUE_PREFIX": f"cs-test-{secrets.token_hex(4)}.",
                             "CALLSCOPE_SWEEP_SECONDS": "2"}
    return _engine_envs[key]


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "callscope", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CALLSCOPE_DATA_DIR": str(data_dir), **engine_env(data_dir, env), **(env or {})},
        timeout=120,
    )


def make_token(data_dir: Path, role: str, *extra: str) -> str:
    done = cli(data_dir, "token", "create", "--role", role, *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Server:
    """`callscope serve` in a subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.data_dir, self.env, self.args = data_dir, env or {}, args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None  # CALLSCOPE_TEST_ENGINE=celery: its `callscope worker`
        self.log = data_dir / "server.log"
        self.preexec = None  # run in the child before exec (e.g. a resource limit)

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine_env(self.data_dir, self.env)  # empty unless this pass runs every Server on Celery
        self.env = {**engine, **self.env}
        log = open(self.log, "ab")  # noqa: SIM115 - the subprocess owns it
        if engine and self.worker is None or engine and self.worker.poll() is not None:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "callscope", "worker", "--queues", "asr,analysis"], cwd=ROOT,
                stdout=open(self.data_dir / "worker.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                env={**os.environ, "CALLSCOPE_DATA_DIR": str(self.data_dir), **self.env})
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "callscope",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.args,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CALLSCOPE_DATA_DIR": str(self.data_dir), **self.env},
            preexec_fn=self.preexec,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.log.read_text()[-2000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/api/v1/healthz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise AssertionError(f"server did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power (its worker too)."""
        for proc in (self.proc, self.worker):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)

    def stop(self) -> None:
        for proc in (self.worker, self.proc):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def wait_status(client: httpx.Client, call_id: int, wanted: set[str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/calls/{call_id}").json()
        if body["status"] in wanted:
            return body
        time.sleep(0.5)
    raise AssertionError(f"call {call_id} still {body['status']} after {timeout}s")


def require_service(kind: str, url: str) -> None:
    """Skip when a service the test needs does not answer, except under CI=true: there a service that
    is down fails the test (.ci/run starts every service first)."""
    import socket as _socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    default = {"redis": 6379, "rabbitmq": 5672, "postgresql": 5432}[kind]
    try:
        with _socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default), timeout=3):
            return
    except OSError as err:
        message = f"{kind} not reachable at {parts.hostname}:{parts.port or default} ({err}); " \
                  "tests/prepare_machine.sh starts it"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 in a daemon thread, for tests that stand in for a CRM or a chat
    tool: subclasses build their request handler and call serve() with it."""

    port: int
    _server: ThreadingHTTPServer | None = None

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
