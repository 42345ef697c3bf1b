"""API tokens: random secrets shown once; only their sha256 is stored.

`callscope token create` creates the rep (by email) or the team (by name) it is scoped to when
missing, so a first deployment needs no other set-up; a numeric --rep/--team must already exist.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.db import engine_for, migrate, session_factory
from callscope.models.orm import TOKEN_ROLES, ApiToken, Team, User, parse_id, utcnow
from callscope.models.upsert import get_or_insert

TOKEN_PREFIX = "cs_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_team(session: Session, ref: str, create: bool = False) -> Team:
    """A team by id or name; created by name when asked."""
    ref = ref.strip()
    team_id = parse_id(ref)
    if team_id is not None:
        team = session.get(Team, team_id)
    else:
        team = session.scalar(select(Team).where(Team.name == ref))
    if team is None:
        if not create or team_id is not None or not ref:
            raise InputError(f"unknown team: {ref}")
        team, _ = get_or_insert(session, Team, "name", ref)  # race-free: another may create it now
    return team


def user_by_ref(session: Session, ref: str) -> User | None:
    """A user by id or email (None when there is none)."""
    ref = ref.strip()
    if (user_id := parse_id(ref)) is not None:
        return session.get(User, user_id)
    return session.scalar(select(User).where(User.email == ref.lower()))


def find_user(session: Session, ref: str, create_role: str | None = None, team: Team | None = None) -> User:
    """A user by id or email; created by email (with create_role) when asked."""
    ref = ref.strip()
    user = user_by_ref(session, ref)
    if user is None:
        if create_role is None or "@" not in ref:
            raise InputError(f"unknown rep: {ref}")
        user, _ = get_or_insert(session, User, "email", ref.lower(), name=ref.split("@")[0],
                                role=create_role, team_id=team.id if team else None)
    return user


def _check_request(role: str, rep: str | None, team: str | None) -> None:
    """What can be told without the database: the role, and who a rep or manager token is for."""
    if role not in TOKEN_ROLES:
        raise InputError(f"role must be one of {', '.join(TOKEN_ROLES)}")
    if role == "rep" and not rep:
        raise InputError("a rep token needs --rep (rep id or email)")
    if role == "manager" and not team and not rep:
        raise InputError("a manager token needs --team (team id or name)")


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_to_dict(row: ApiToken) -> dict[str, Any]:
    """A token's metadata (never its secret or hash)."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    now = utcnow()
    expired = row.expires_at is not None and row.expires_at <= now
    state = "revoked" if row.revoked_at else "expired" if expired else "active"
    return {"id": row.id, "name": row.name, "role": row.role, "user_id": row.user_id, "team_id": row.team_id,
            "state": state, "created_at": iso(row.created_at), "last_used_at": iso(row.last_used_at),
            "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at),
            "rotated_to": row.rotated_to_id, "uploads_per_minute": row.uploads_per_minute,
            "bytes_per_day": row.bytes_per_day}


def create_token(session: Session, role: str, rep: str | None = None, team: str | None = None,
                 name: str | None = None, expires_in_days: float | None = None,
                 uploads_per_minute: int | None = None,
                 bytes_per_day: int | None = None) -> tuple[str, ApiToken]:
    """Create a token; returns (the secret, its row). The caller commits."""
    _check_request(role, rep, team)
    team_row = find_team(session, team, create=True) if team else None
    user_row = None
    if rep:
        person_role = "manager" if role == "manager" else "rep"
        user_row = find_user(session, rep, create_role=person_role, team=team_row)
        if team_row is None and role == "manager":
            team_row = user_row.team
    if role == "rep" and user_row is None:
        raise InputError("a rep token needs --rep (rep id or email)")
    if role == "manager" and team_row is None:
        raise InputError("a manager token needs --team (team id or name)")
    secret = new_secret()
    label = name or (user_row.email if user_row else f"{role}{'@' + team_row.name if team_row else ''}")
    row = ApiToken(token_hash=hash_token(secret), name=label, role=role,
                   user_id=user_row.id if user_row else None, team_id=team_row.id if team_row else None,
                   expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
                   uploads_per_minute=uploads_per_minute, bytes_per_day=bytes_per_day)
    session.add(row)
    session.flush()
    return secret, row


def create_token_cli(settings: Settings, role: str, rep: str | None, team: str | None,
                     name: str | None, **limits: Any) -> str:
    """`callscope token create`: migrates the database if needed and prints nothing itself. A request
    that cannot make a token fails before anything is written: no database is left behind."""
    _check_request(role, rep, team)
    data_dir = Path(settings.data_dir)
    fresh = not settings.database_url and not (data_dir / "callscope.db").exists()
    dir_existed = data_dir.exists()
    engine = engine_for(settings)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            secret, _ = create_token(session, role, rep=rep, team=team, name=name, **limits)
            session.commit()
        return secret
    except InputError:
        if fresh:  # made for this token alone: the failure leaves nothing behind
            engine.dispose()
            for path in data_dir.glob("callscope.db*"):  # with SQLite's -wal and -shm files
                path.unlink(missing_ok=True)
            if not dir_existed:
                shutil.rmtree(data_dir, ignore_errors=True)
        raise
    finally:
        engine.dispose()


def rotate_token(session: Any, row: ApiToken, grace_seconds: float = 0) -> tuple[str, ApiToken]:
    """Replace row by a new token with the same role, scope and limits (the caller commits): the old one
    is revoked now, or expires after grace_seconds. Returns (the new secret, its row)."""
    if row.revoked_at is not None:
        raise InputError("token: revoked tokens cannot be rotated")
    secret = new_secret()
    new = ApiToken(token_hash=hash_token(secret), name=row.name, role=row.role, user_id=row.user_id,
                   team_id=row.team_id, expires_at=row.expires_at, uploads_per_minute=row.uploads_per_minute,
                   bytes_per_day=row.bytes_per_day)
    session.add(new)
    session.flush()
    row.rotated_to_id = new.id
    if grace_seconds:
        end = utcnow() + timedelta(seconds=grace_seconds)
        row.expires_at = min(row.expires_at, end) if row.expires_at else end
    else:
        row.revoked_at = utcnow()
    return secret, new


def manage_token_cli(settings: Settings, action: str, token_id: int | None = None,
                     grace_seconds: float = 0) -> tuple[list[dict[str, Any]], str | None]:
    """`callscope token list|revoke ID|rotate ID`: (the tokens concerned, a new secret for rotate)."""
    engine = engine_for(settings)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            if action == "list":
                rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
                return [token_to_dict(t) for t in rows], None
            row = session.get(ApiToken, token_id) if token_id is not None else None
            if row is None:
                raise InputError(f"no token {token_id}")
            secret = None
            if action == "revoke":
                row.revoked_at = row.revoked_at or utcnow()
                touched = [row]
            elif action == "rotate":
                secret, new = rotate_token(session, row, grace_seconds)
                touched = [row, new]
            else:
                raise InputError(f"unknown token action {action}")
            from callscope.api.privacy import audit

            audit(session, "cli", f"token.{action}", "token", row.id, row.team_id)
            session.commit()
            return [token_to_dict(t) for t in touched], secret
    finally:
        engine.dispose()
