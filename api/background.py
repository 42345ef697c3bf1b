"""The service's background work, and which process of `callscope serve --processes N` does it.

Background work is: the recovery of jobs a killed process left (api.app._recover_jobs), the embedded
queue's workers (api.worker.WorkerPool), the privacy thread (file deletions, erasures, retention), and
the CRM loop (webhook and chat deliveries, deal-risk sweeps, digest checks). Each assumes it is the only
one of its kind on the database (on SQLite, recovery requeues every job in processing), so with N
processes exactly one runs it: the holder of an exclusive flock on `serve.lock` in the data dir. The
others try again every RETRY_SECONDS; when the holder dies the kernel drops its lock, another process
takes it and starts the work there, recovery first (the dead holder's jobs go back to the queue).

The lock is never released while the process lives: a job thread that outlived stop()'s join still
holds its claim, and a new holder's recovery must not requeue it. The kernel releases it at exit.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger("callscope.api")
RETRY_SECONDS = 2.0  # how soon another process takes over from a holder that died
LOCK_NAME = "serve.lock"


class BackgroundLock:
    """Runs on_acquire once, in the first process of those sharing path to take its exclusive lock."""

    def __init__(self, path: Path, on_acquire: Callable[[], None],
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.path, self.on_acquire, self.retry_seconds = Path(path), on_acquire, retry_seconds
        self._file: IO[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def start(self) -> None:
        """One try now (so the first holder's recovery runs before it serves), then a retrying thread."""
        if self._try():
            return
        self._thread = threading.Thread(target=self._retry, name="callscope-background-lock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop trying; a lock already held stays held until the process exits (see the module doc)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.retry_seconds + 1)

    def _try(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")  # noqa: SIM115 - kept open for as long as the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        try:
            self.on_acquire()  # its database steps come before its threads start: a failure started none
        except Exception:
            handle.close()  # let this process or another try again
            raise
        self._file = handle
        log.info("process %d runs the background work", os.getpid())
        return True

    def _retry(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            try:
                if self._try():
                    return
            except Exception:  # noqa: BLE001 - a failed start is retried, the process keeps serving
                log.exception("starting the background work failed")
