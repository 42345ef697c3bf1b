"""Database engine, sessions and schema upgrades (Alembic `upgrade head`, run programmatically)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from callscope.core.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_migrate_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 (the driver we ship), not SQLAlchemy's psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _to_json(value: Any) -> str:
    # UTF-8 rather than ASCII escapes: Chinese text stores in half the bytes and decodes faster
    return json.dumps(value, ensure_ascii=False)


def _from_json(text: str | bytes) -> Any:
    """orjson reads a JSON column several times faster than json (rep evaluations decode hundreds of
    digests a request); json takes what orjson refuses (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    codec = {"json_serializer": _to_json, "json_deserializer": _from_json}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **codec)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # WAL lets readers run beside the worker's writes; foreign keys are off by default in SQLite
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # deleted rows (a DELETE /calls, an erasure) are overwritten, not left in free pages (issue 17)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **codec)


def engine_for(settings: Settings) -> Engine:
    """The engine for settings (creates the data dir for the default SQLite file)."""
    if not settings.database_url:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent; safe to call on every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _migrate_lock, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001 - Alembic's hook
    """Leave the full-text search objects (written by hand in the migrations) out of autogenerate."""
    return not name or not (name.startswith("turns_fts") or name == "ix_turns_tokens_tsv")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
