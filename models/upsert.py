"""Create-on-first-sight without a race: INSERT ... ON CONFLICT DO NOTHING on the unique key, then
read the row back. Two requests that see a new rep (or deal, or team) at once both get the same row;
neither fails with a unique violation (SQLite and PostgreSQL both have ON CONFLICT).

On PostgreSQL the second INSERT waits for the first transaction and, once it commits, does nothing;
the SELECT after it (a new statement under READ COMMITTED) then sees the committed row. On SQLite
writers are serialised by the database lock, so the second one finds the row.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def get_or_insert(session: Session, model: type[T], key: str, value: Any, **values: Any) -> tuple[T, bool]:
    """(the row of model whose unique column key equals value, whether this call inserted it); the
    other columns of a new row from values. Flushes; does not commit."""
    column = getattr(model, key)
    row = session.scalar(select(model).where(column == value))
    if row is not None:
        return row, False
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - another backend: a plain insert (its unique violation is the caller's)
        dialect_insert = insert
    session.flush()
    stmt = dialect_insert(model).values({key: value, **values})
    if dialect in ("postgresql", "sqlite"):
        stmt = stmt.on_conflict_do_nothing(index_elements=[key])
    inserted = session.execute(stmt).rowcount == 1
    fresh = select(model).where(column == value).execution_options(populate_existing=True)
    return session.scalars(fresh).one(), inserted
