"""The schema on real PostgreSQL and SQLite: the migrations build exactly the ORM's tables, go down
and up again, enforce what they promise, and the transcript index finds Chinese words."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from api.search import index_tokens, matching_call_ids
from models.db import MIGRATIONS_DIR, include_object, make_engine, migrate, session_factory
from models.orm import Base, Call, Team, Turn, User
from tests.service_support import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        eng = make_engine(url)
        migrate(eng)
        yield eng
        eng.dispose()


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": include_object}), Base.metadata
        )
    assert diff == []
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("calls")}
    assert {
        "ix_calls_rep_started",
        "ix_calls_stage",
        "ix_calls_score",
        "ix_calls_status",
        "ix_calls_started_at",
        "ix_calls_deal",
    } <= indexes


def test_down_and_up_again(engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert {"calls", "jobs", "turns", "analyses", "scorecards", "overrides"} <= set(
        inspect(engine).get_table_names()
    )


def test_constraints_and_chinese_search(engine):
    sessions = session_factory(engine)
    with sessions() as s:
        team = Team(name="华东")
        s.add(team)
        s.flush()
        rep = User(email="wang@example.com", name="王芳", team_id=team.id)
        s.add(rep)
        s.flush()
        one = Call(rep_id=rep.id, audio_path="audio/aa/a.flac", sha256="a" * 64, size=10)
        two = Call(rep_id=rep.id, audio_path="audio/bb/b.flac", sha256="b" * 64, size=10)
        s.add_all([one, two])
        s.flush()
        for call, text in ((one, "那今年在这方面大概有多少预算？"), (two, "不过我听说你们的价格挺贵的。")):
            s.add(
                Turn(
                    call_id=call.id,
                    idx=0,
                    start=0.0,
                    end=3.0,
                    speaker="S0",
                    role="rep",
                    text=text,
                    tokens=index_tokens(text),
                )
            )
        s.commit()
        assert set(s.scalars(select(Call.id).where(Call.id.in_(matching_call_ids(s, "预算"))))) == {one.id}
        assert set(s.scalars(select(Call.id).where(Call.id.in_(matching_call_ids(s, "价格"))))) == {two.id}
        assert set(s.scalars(select(Call.id).where(Call.id.in_(matching_call_ids(s, "发票"))))) == set()
        # deleting a call takes its turns (and their index entries) with it
        s.delete(s.get(Call, two.id))
        s.commit()
        assert s.scalars(select(Turn).where(Turn.call_id == two.id)).all() == []
        assert list(s.scalars(select(Call.id).where(Call.id.in_(matching_call_ids(s, "价格"))))) == []
        s.add(Call(rep_id=rep.id, audio_path="audio/aa/a.flac", sha256="a" * 64, size=10))
        with pytest.raises(IntegrityError):
            s.commit()
