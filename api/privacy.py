"""Privacy and governance (issue 17): keyed hashes of redacted values, deleting a call and everything
derived from it, erasure jobs, the audit log, per-token upload limits, team retention, audio bleeping.

- Redaction itself happens in the pipeline (nlp/redaction.py), before anything is stored. What it took
  out travels to the worker in memory only; `store_digests` keeps an HMAC-SHA256 of each value under a key
  of the deployment (CALLSCOPE_PRIVACY_KEY, else data_dir/privacy.key made once), never the value, so an
  erasure request for a phone or an e-mail finds the calls where the customer said it.
- `delete_call` removes the call's rows in one transaction and queues its audio file (FileDeletion), which
  is removed after the commit and retried by the service's privacy thread until it is gone.
- `PrivacyService` is that thread: file deletions, erasure jobs (which wait for calls still being
  processed), and the retention policy of each team, once an hour by default.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from callscope.api.storage import audio_store
from callscope.core.config import Settings
from callscope.models.document import Transcript
from callscope.models.orm import (
    Acknowledgement,
    AnalysisRecord,
    ApiToken,
    AuditEvent,
    Call,
    CallDigest,
    Comment,
    Deal,
    ErasureJob,
    FileDeletion,
    Job,
    Override,
    RedactionDigest,
    ScorecardItemRecord,
    ScorecardRecord,
    TeamPolicy,
    TokenUpload,
    Turn,
    User,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger("callscope.privacy")
DEFAULT_AUDIO_DAYS = 180  # the domain notes' rule of thumb for keeping recordings
ERASURE_WAIT_SECONDS = 6 * 3600.0  # how long an erasure waits for calls still being analysed

# --- keyed hashes of redacted values ---------------------------------------------------------------------

_KEYS: dict[str, bytes] = {}
_KEY_LOCK = threading.Lock()


def privacy_key(settings: Settings) -> bytes:
    """The deployment's hashing key: CALLSCOPE_PRIVACY_KEY, else data_dir/privacy.key (made once, 0600;
    every server and worker sharing the data dir shares it)."""
    configured = os.environ.get("CALLSCOPE_PRIVACY_KEY", "")
    if configured:
        return configured.encode()
    path = Path(settings.data_dir) / "privacy.key"
    cached = _KEYS.get(str(path))
    if cached is not None:
        return cached
    with _KEY_LOCK:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
            except FileExistsError:
                pass  # another process made it first
        key = path.read_text().strip().encode()
        _KEYS[str(path)] = key
        return key


def canonical(kind: str, value: str) -> str:
    """One spelling per value: a phone as its national digits (+8613812345678, 013812345678 and
    138-1234-5678 are one number), an e-mail lower-cased, ID and card numbers as digits (and X)."""
    value = value.strip()
    if kind == "email":
        return re.sub(r"\s+", "", value.lower())
    digits = re.sub(r"[^0-9Xx]", "", value).upper()
    if kind != "phone":
        return digits
    digits = digits.replace("X", "")
    plus = value.startswith("+") or digits.startswith("00")
    digits = digits[2:] if digits.startswith("00") else digits
    if plus or (digits.startswith("86") and len(digits) == 13):
        for code in ("86", "1", "44", "852", "853", "886", "65"):
            if digits.startswith(code):
                digits = digits[len(code):]
                break
    if len(digits) == 11 and digits.startswith("1") and digits[1] in "3456789":
        return digits  # a mainland mobile
    if len(digits) == 11 and digits.startswith("1"):
        return digits[1:]  # 1 + a NANP number
    return digits.lstrip("0") if digits.startswith("0") and len(digits) >= 10 else digits


def value_digest(key: bytes, kind: str, value: str) -> str:
    group = "email" if kind == "email" else "number"  # a number said as a card may be asked for as a phone
    text = canonical(kind, value)
    return hmac.new(key, f"{group}:{text}".encode(), hashlib.sha256).hexdigest()


def value_digests(key: bytes, kind: str, value: str) -> set[str]:
    """The digests a value is kept (and looked up) under. A number also under each way of leaving one
    digit out: ASR drops, adds or changes a digit of a number read out (1391265480 for 13917265480),
    and two numbers one such slip apart share one of these (the symmetric-deletion trick), so an
    erasure request still finds the call; two different customers' numbers almost never do."""
    if kind == "email":
        return {value_digest(key, kind, value)}
    text = canonical(kind, value)
    variants = {text}
    if len(text) >= 7:
        variants |= {text[:i] + text[i + 1:] for i in range(len(text))}
    return {hmac.new(key, f"number:{v}".encode(), hashlib.sha256).hexdigest() for v in variants}


def request_digests(key: bytes, phone: str | None, email: str | None) -> list[str]:
    out: set[str] = set()
    if phone and re.sub(r"\D", "", phone):
        out |= value_digests(key, "phone", phone)
    if email and email.strip():
        out |= value_digests(key, "email", email)
    return sorted(out)


def store_digests(session: Session, settings: Settings, call: Call, transcript: Transcript) -> int:
    """Keep a keyed hash of each value redaction took out of the call (replacing earlier ones); the values
    themselves are dropped from memory here. Returns how many were stored."""
    key = privacy_key(settings)
    seen: set[tuple[str, str, str]] = set()
    for turn in transcript.turns:
        for red in turn.redactions:
            if red.value:
                seen.update((red.kind, turn.role, d) for d in value_digests(key, red.kind, red.value))
                red.value = ""
    if not seen:
        return 0
    session.execute(delete(RedactionDigest).where(RedactionDigest.call_id == call.id))
    session.add_all([RedactionDigest(call_id=call.id, kind=kind, role=role, digest=digest)
                     for kind, role, digest in sorted(seen)])
    return len(seen)


# --- the audit log ---------------------------------------------------------------------------------------


def audit(session: Session, actor: str, action: str, object_type: str = "", object_id: object = "",
          team_id: int | None = None, token_id: int | None = None, role: str = "",
          detail: dict[str, Any] | None = None) -> AuditEvent:
    """Record one event in session (the caller commits, with the change it records)."""
    event = AuditEvent(actor=actor[:320], token_id=token_id, role=role, action=action,
                       object_type=object_type, object_id=str(object_id)[:100], team_id=team_id,
                       detail=detail or {})
    session.add(event)
    return event


def audit_principal(session: Session, principal: Any, action: str, object_type: str = "",
                    object_id: object = "", team_id: int | None = None,
                    detail: dict[str, Any] | None = None) -> AuditEvent:
    return audit(session, principal.label, action, object_type, object_id, team_id, principal.token_id,
                 principal.role, detail)


def call_team(session: Session, call_id: int) -> int | None:
    return session.scalar(select(User.team_id).join(Call, Call.rep_id == User.id).where(Call.id == call_id))


def event_to_dict(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "token_id": e.token_id, "role": e.role,
            "action": e.action, "object_type": e.object_type, "object_id": e.object_id, "team_id": e.team_id,
            "detail": e.detail}


# --- deleting a call --------------------------------------------------------------------------------------

# every table that holds something of a call (the database cascades the rest: a table a later change adds
# with ON DELETE CASCADE goes with the call too)
_CALL_TABLES = (Turn, CallDigest, ScorecardItemRecord, ScorecardRecord, AnalysisRecord, Override, Comment,
                Acknowledgement, RedactionDigest, Job)


# what else must forget a deleted call, registered by the layers above (api.routes.privacy adds the rep-day
# roll-ups of api.services): each is called as hook(session, rep_id, started_at) before the commit
CALL_DELETED_HOOKS: list[Callable[[Session, int, datetime], None]] = []


def _forget_deliveries(session: Session, call_id: int) -> int:
    """Webhook and chat deliveries not yet delivered whose event is about the call: they would carry it
    out."""
    gone = 0
    for row_id, payload in session.execute(select(WebhookDelivery.id, WebhookDelivery.payload)
                                           .where(WebhookDelivery.status != "delivered")):
        data = (payload or {}).get("data") or {}
        if (data.get("call_id") == call_id or (data.get("call") or {}).get("id") == call_id
                or call_id in (data.get("call_ids") or [])):  # a chat digest that links to the call
            session.execute(delete(WebhookDelivery).where(WebhookDelivery.id == row_id))
            gone += 1
    return gone


def delete_call(session: Session, call: Call) -> str:
    """Delete the call and every row derived from it in session (the caller commits, then calls
    remove_files); its audio is queued for removal. Returns the audio's relative path."""
    audio = call.audio_path
    rep_id, started_at = call.rep_id, call.started_at
    _forget_deliveries(session, call.id)
    others = session.scalar(select(func.count()).select_from(Call)
                            .where(Call.audio_path == audio, Call.id != call.id)) if audio else 0
    for table in _CALL_TABLES:
        session.execute(delete(table).where(table.call_id == call.id))
    session.execute(delete(Call).where(Call.id == call.id))
    for hook in CALL_DELETED_HOOKS:
        hook(session, rep_id, started_at)
    if audio and not others:
        session.add(FileDeletion(path=audio))
        for extra in _derived_files(audio):
            session.add(FileDeletion(path=extra))
    session.expunge(call)
    return audio


def _derived_files(audio: str) -> list[str]:
    """Files made from a call's audio besides the audio itself (the unbleeped original kept aside)."""
    return [audio + ".original"]


def remove_files(sessions: sessionmaker[Session], settings: Settings, limit: int = 200) -> int:
    """Remove the files whose deletion is queued; a file still there stays queued (retried on the next
    round). Returns how many are still pending."""
    store = audio_store(settings)
    with sessions() as session:
        rows = list(session.scalars(select(FileDeletion).order_by(FileDeletion.id).limit(limit)))
        for row in rows:
            try:
                store.delete(row.path)
                session.delete(row)
            except (OSError, ValueError) as err:
                row.attempts += 1
                row.last_error = str(err)[:500]
                if row.attempts in (1, 10, 100):
                    log.warning("could not remove %s yet (%s); will retry", row.path, err)
        session.commit()
        return session.scalar(select(func.count()).select_from(FileDeletion)) or 0


# --- erasure ----------------------------------------------------------------------------------------------


def erasure_to_dict(job: ErasureJob) -> dict[str, Any]:
    return {"id": job.id, "status": job.status, "calls_found": job.calls_found,
            "calls_deleted": job.calls_deleted, "call_ids": list(job.call_ids or []),
            "requested_by": job.requested_by, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None, "error": job.error,
            "criteria": sorted(k for k in ("phone", "email", "name") if (job.criteria or {}).get(f"has_{k}"))}


def create_erasure(session: Session, settings: Settings, principal: Any, phone: str | None, email: str | None,
                   name: str | None) -> ErasureJob:
    key = privacy_key(settings)
    criteria = {"digests": request_digests(key, phone, email), "name": (name or "").strip(),
                "has_phone": bool(phone and phone.strip()), "has_email": bool(email and email.strip()),
                "has_name": bool(name and name.strip())}
    job = ErasureJob(status="queued", requested_by=principal.label, token_id=principal.token_id,
                     criteria=criteria)
    session.add(job)
    session.flush()
    audit_principal(session, principal, "erase.request", "erasure", job.id,
                    detail={"criteria": erasure_to_dict(job)["criteria"]})
    return job


def _matching_calls(session: Session, criteria: dict[str, Any]) -> set[int]:
    found: set[int] = set()
    digests = criteria.get("digests") or []
    if digests:
        found.update(session.scalars(select(RedactionDigest.call_id).where(
            RedactionDigest.digest.in_(digests), RedactionDigest.role == "customer")))
    name = (criteria.get("name") or "").strip()
    if len(name) >= 2:
        pattern = f"%{name}%"
        found.update(session.scalars(select(Turn.call_id).where(Turn.role == "customer",
                                                                 Turn.text.ilike(pattern))))
        found.update(session.scalars(select(Call.id).where(Call.title.ilike(pattern))))
        found.update(session.scalars(select(Call.id).join(Deal, Call.deal_id == Deal.id).where(
            or_(Deal.name.ilike(pattern), Deal.account.ilike(pattern)))))
    return found


def run_erasure(sessions: sessionmaker[Session], settings: Settings, job_id: int,
                wait_seconds: float = ERASURE_WAIT_SECONDS, poll: float = 1.0) -> None:
    """Find and delete the job's calls; calls still queued or being analysed when it started are waited
    for (their transcripts are not known yet) and checked once done."""
    with sessions() as session:
        job = session.get(ErasureJob, job_id)
        if job is None or job.status in ("done", "failed"):
            return
        job.status = "running"
        started = job.created_at
        session.commit()
    deadline = time.monotonic() + wait_seconds
    deleted: set[int] = set()
    found: set[int] = set()
    while True:
        with sessions() as session:
            job = session.get(ErasureJob, job_id)
            criteria = dict(job.criteria or {})
            matches = _matching_calls(session, criteria) - deleted
            for call_id in sorted(matches):
                call = session.get(Call, call_id)
                if call is None:
                    continue
                found.add(call_id)
                team = call_team(session, call_id)
                delete_call(session, call)
                audit(session, job.requested_by, "erase.delete", "call", call_id, team, job.token_id,
                      detail={"erasure": job_id})
                deleted.add(call_id)
            pending = session.scalar(select(func.count()).select_from(Call).where(
                Call.status.in_(("queued", "processing")), Call.created_at <= started)) or 0
            job.call_ids = sorted(found)
            job.calls_found, job.calls_deleted = len(found), len(deleted)
            finished = not pending or time.monotonic() > deadline
            if finished:
                job.status = "done"
                job.finished_at = utcnow()
                if pending:
                    job.error = f"{pending} call(s) were still being analysed when the wait ran out"
                job.criteria = {k: v for k, v in criteria.items() if k.startswith("has_")}  # the name goes
                audit(session, job.requested_by, "erase.done", "erasure", job_id, None, job.token_id,
                      detail={"calls_found": len(found), "calls_deleted": len(deleted)})
            session.commit()
        remove_files(sessions, settings)
        if finished:
            log.info("erasure %s done: %d call(s) deleted", job_id, len(deleted))
            return
        time.sleep(poll)


# --- per-token limits -------------------------------------------------------------------------------------


def check_upload_limits(session: Session, token_id: int, incoming: int) -> int | None:
    """None when the token may upload `incoming` more bytes now, else the seconds to wait (Retry-After)."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.uploads_per_minute is None and token.bytes_per_day is None):
        return None
    now = utcnow()
    if token.uploads_per_minute is not None:
        minute = list(session.scalars(select(TokenUpload.at).where(
            TokenUpload.token_id == token_id, TokenUpload.at > now - timedelta(minutes=1))
            .order_by(TokenUpload.at)))
        if len(minute) >= token.uploads_per_minute:
            oldest = minute[len(minute) - token.uploads_per_minute]
            return max(1, int((oldest + timedelta(minutes=1) - now).total_seconds()) + 1)
    if token.bytes_per_day is not None:
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        used = session.scalar(select(func.coalesce(func.sum(TokenUpload.bytes), 0)).where(
            TokenUpload.token_id == token_id, TokenUpload.at >= day_start)) or 0
        if used + incoming > token.bytes_per_day:
            return max(1, int((day_start + timedelta(days=1) - now).total_seconds()))
    return None


def record_upload(session: Session, token_id: int, size: int) -> None:
    session.add(TokenUpload(token_id=token_id, bytes=size))
    session.execute(delete(TokenUpload).where(TokenUpload.token_id == token_id,
                                              TokenUpload.at < utcnow() - timedelta(days=2)))


# --- retention --------------------------------------------------------------------------------------------


def policy_to_dict(team_id: int, policy: TeamPolicy | None) -> dict[str, Any]:
    return {"team_id": team_id,
            "audio_days": policy.audio_days if policy else DEFAULT_AUDIO_DAYS,
            "delete_days": policy.delete_days if policy else None,
            "bleep_audio": bool(policy.bleep_audio) if policy else False,
            "updated_by": policy.updated_by if policy else "",
            "updated_at": policy.updated_at.isoformat() if policy else None}


def apply_retention(sessions: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    """Each team's policy (default: audio after 180 days, the rest kept), counted from when the call was
    received (an old recording uploaded today is analysed first): audio files of older calls are
    deleted (the call keeps its scores and redacted transcript, audio_path empty), and with delete_days
    the whole call. Logged in the audit log as the actor 'retention'."""
    now = utcnow()
    audio_gone = calls_gone = 0
    with sessions() as session:
        policies = {p.team_id: p for p in session.scalars(select(TeamPolicy))}
        teams = set(session.scalars(select(User.team_id).distinct())) | set(policies)
        for team_id in teams:
            policy = policies.get(team_id) if team_id is not None else None
            reps = select(User.id).where(User.team_id == team_id) if team_id is not None else \
                select(User.id).where(User.team_id.is_(None))
            delete_days = policy.delete_days if policy else None
            if delete_days is not None:
                old = list(session.scalars(select(Call).where(
                    Call.rep_id.in_(reps), Call.created_at < now - timedelta(days=delete_days),
                    Call.status.in_(("done", "failed")))))
                for call in old:
                    audit(session, "retention", "retention.delete", "call", call.id, team_id,
                          detail={"delete_days": delete_days})
                    delete_call(session, call)
                    calls_gone += 1
            audio_days = policy.audio_days if policy else DEFAULT_AUDIO_DAYS
            if audio_days is not None:
                old_audio = list(session.scalars(select(Call).where(
                    Call.rep_id.in_(reps), Call.created_at < now - timedelta(days=audio_days),
                    Call.audio_path != "", Call.status.in_(("done", "failed")))))
                for call in old_audio:
                    shared = session.scalar(select(func.count()).select_from(Call).where(
                        Call.audio_path == call.audio_path, Call.id != call.id)) or 0
                    if not shared:
                        session.add(FileDeletion(path=call.audio_path))
                        for extra in _derived_files(call.audio_path):
                            session.add(FileDeletion(path=extra))
                    audit(session, "retention", "retention.audio", "call", call.id, team_id,
                          detail={"audio_days": audio_days})
                    call.audio_path = ""
                    audio_gone += 1
        session.commit()
    remove_files(sessions, settings)
    if audio_gone or calls_gone:
        log.info("retention: audio of %d call(s) and %d whole call(s) deleted", audio_gone, calls_gone)
    return {"audio_deleted": audio_gone, "calls_deleted": calls_gone}


# --- audio bleeping ---------------------------------------------------------------------------------------


def bleep_audio(settings: Settings, call: Call, document: dict[str, Any]) -> bool:
    """Overwrite the call's stored audio with a tone over every redacted span (all channels); returns
    whether anything was bleeped. The file is rewritten as FLAC beside it and swapped in atomically."""
    spans = [(r["start"], r["end"]) for seg in document.get("segments", [])
             for r in seg.get("redactions", [])]
    if not spans or not call.audio_path:
        return False
    import numpy as np
    import soundfile as sf

    from callscope.ingest import load_recording

    store = audio_store(settings)
    source = store.local_path(call.audio_path)
    recording = load_recording(source, channels="stereo" if call.channels == "stereo" else "auto",
                               settings=settings)
    rate = recording.sample_rate
    data = np.stack(recording.channels, axis=1).copy()
    for start, end in spans:
        a, b = max(0, int((start - 0.1) * rate)), min(len(data), int((end + 0.1) * rate))
        if b > a:
            t = np.arange(b - a) / rate
            data[a:b, :] = (0.2 * np.sin(2 * np.pi * 1000.0 * t))[:, None]
    rel = Path(call.audio_path).with_suffix(".bleeped.flac").as_posix()
    temp = Path(settings.data_dir) / "tmp" / f"bleep-{call.id}-{secrets.token_hex(4)}.flac"
    temp.parent.mkdir(parents=True, exist_ok=True)
    sf.write(temp, data, rate, format="FLAC")
    store.put(temp, rel)
    old = call.audio_path
    call.audio_path = rel
    if old != rel:
        with contextlib.suppress(OSError):
            store.delete(old)
    return True


def team_bleeps(session: Session, call: Call) -> bool:
    team_id = call_team(session, call.id)
    if team_id is None:
        return False
    policy = session.get(TeamPolicy, team_id)
    return bool(policy and policy.bleep_audio)


# --- the service's privacy thread -------------------------------------------------------------------------


class PrivacyService:
    """One thread in `callscope serve`: queued file deletions (every few seconds), erasure jobs, and the
    retention policy (every retention_seconds; CALLSCOPE_RETENTION_SECONDS, default an hour)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, tick: float = 2.0) -> None:
        self.sessions, self.settings, self.tick = sessions, settings, tick
        self.retention_seconds = float(os.environ.get("CALLSCOPE_RETENTION_SECONDS", "3600") or 3600)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._erasures: dict[int, threading.Thread] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="callscope-privacy", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        next_retention = time.monotonic() + min(30.0, self.retention_seconds)
        while not self._stop.is_set():
            try:
                remove_files(self.sessions, self.settings)
                self._start_erasures()
                if time.monotonic() >= next_retention:
                    apply_retention(self.sessions, self.settings)
                    next_retention = time.monotonic() + self.retention_seconds
            except Exception:  # noqa: BLE001 - a database hiccup must not stop the thread
                log.exception("privacy round failed")
            self._wake.wait(self.tick)
            self._wake.clear()

    def _start_erasures(self) -> None:
        with self.sessions() as session:
            ids = list(session.scalars(select(ErasureJob.id)
                                       .where(ErasureJob.status.in_(("queued", "running")))))
        for job_id in ids:
            thread = self._erasures.get(job_id)
            if thread is not None and thread.is_alive():
                continue
            thread = threading.Thread(target=self._erase, args=(job_id,), name=f"callscope-erase-{job_id}",
                                      daemon=True)
            self._erasures[job_id] = thread
            thread.start()

    def _erase(self, job_id: int) -> None:
        try:
            run_erasure(self.sessions, self.settings, job_id)
        except Exception as err:  # noqa: BLE001
            log.exception("erasure %s failed", job_id)
            with self.sessions() as session:
                session.execute(update(ErasureJob).where(ErasureJob.id == job_id).values(
                    status="failed", error=f"{type(err).__name__}: {err}"[:500], finished_at=utcnow()))
                session.commit()
