"""API tokens: random secrets shown once; only their sha256 is stored.

`callscope token create` creates the rep (by email) or the team (by name) it is scoped to when
missing, so a first deployment needs no other set-up; a numeric --rep/--team must already exist.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.core.config import Settings
from callscope.core.errors import InputError
from callscope.models.db import engine_for, migrate, session_factory
from callscope.models.orm import TOKEN_ROLES, ApiToken, Team, User, parse_id
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


def create_token(session: Session, role: str, rep: str | None = None, team: str | None = None,
                 name: str | None = None) -> tuple[str, ApiToken]:
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
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    label = name or (user_row.email if user_row else f"{role}{'@' + team_row.name if team_row else ''}")
    row = ApiToken(token_hash=hash_token(secret), name=label, role=role,
                   user_id=user_row.id if user_row else None, team_id=team_row.id if team_row else None)
    session.add(row)
    session.flush()
    return secret, row


def create_token_cli(settings: Settings, role: str, rep: str | None, team: str | None,
                     name: str | None) -> str:
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
            secret, _ = create_token(session, role, rep=rep, team=team, name=name)
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
