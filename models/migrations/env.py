"""Alembic environment: uses the connection handed in by models.db.migrate, or sqlalchemy.url."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from callscope.models.db import include_object
from callscope.models.orm import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
        conn.commit()
