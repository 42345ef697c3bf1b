"""The schema on real PostgreSQL and SQLite: the migrations build exactly the ORM's tables, go down
and up again, enforce what they promise, and the transcript index finds Chinese words."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from callscope.api.search import index_tokens, matching_call_ids
from callscope.models.db import MIGRATIONS_DIR, include_object, make_engine, migrate, session_factory
from callscope.models.document import digest
from callscope.models.orm import Base, Call, CallDigest, Team, Turn, User
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


def _downgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_down_and_up_again(engine):
    _downgrade(engine, "base")
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


def test_upgrade_fills_in_the_digest_of_existing_calls(engine):
    """A call analysed before revision 0002 gets the digest of its current analysis on upgrade."""
    _downgrade(engine, "0001")
    document = {
        "duration": 61.0, "language": "zh", "stage": "negotiation", "segments": [{"text": "很长的转写"}],
        "metrics": {"talk_ratio": 0.52}, "objections": [{"type": "price", "handled": True}], "next_steps": [],
        "scorecard": {"score": 75.0, "items": [{"id": "next_step", "passed": True, "score": 10, "max": 10,
                                                "evidence": [{"text": "一"}, {"text": "二"}]}]},
    }
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO teams (name, created_at) VALUES ('华北', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO users (email, name, team_id, role, created_at) "
                          "VALUES ('li@example.com', '李', 1, 'rep', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO calls (title, rep_id, started_at, channels, rep_channel, audio_path, sha256, size, "
            "original_filename, content_type, status, attempts, objection_types, created_at, updated_at) "
            "VALUES ('', 1, CURRENT_TIMESTAMP, 'auto', 0, 'a.flac', :sha, 1, '', '', 'done', 0, '', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"sha": "c" * 64})
        for doc in ({**document, "stage": "discovery"}, document):  # the second is current
            conn.execute(text("INSERT INTO analyses (call_id, document, transcript, stage, model, "
                              "created_at) VALUES (1, :doc, '{}', 'negotiation', '{}', CURRENT_TIMESTAMP)"),
                         {"doc": json.dumps(doc, ensure_ascii=False)})
    migrate(engine)
    with session_factory(engine)() as s:
        stored = s.scalars(select(CallDigest)).one()
    assert (stored.call_id, stored.analysis_id) == (1, 2)
    assert stored.digest == digest(document)
    assert "segments" not in stored.digest
    assert stored.digest["scorecard"]["items"][0]["evidence"] == [{"text": "一"}]
    assert stored.digest["objections"] == document["objections"]
