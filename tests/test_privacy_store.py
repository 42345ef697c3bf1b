"""Erasure, deletion, limits and retention on both databases (real SQLite file, real PostgreSQL), on a
stored analysis of a redacted transcript: no model, no server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from callscope.api import privacy
from callscope.api.search import matching_call_ids
from callscope.api.services.results import store_analysis
from callscope.core.config import Settings
from callscope.models.db import engine_for, migrate, session_factory
from callscope.models.document import Transcript
from callscope.models.orm import ApiToken, AuditEvent, Call, RedactionDigest, Turn, User, utcnow
from callscope.nlp.redaction import redact_transcript
from callscope.pipeline import rescore
from tests.service_support import database_url


class _Admin:
    label, token_id, role = "dpo@example.com", None, "admin"


def _transcript(phone_words: str) -> Transcript:
    lines = [("rep", "您好，请问您的手机号码是多少？"), ("customer", f"我的手机号是{phone_words}。"),
             ("rep", "好的，下周二下午给您回电话。")]
    turns = [{"start": 4.0 * i, "end": 4.0 * i + 3, "speaker": "S0" if r == "rep" else "S1", "role": r,
              "text": t, "language": "zh"} for i, (r, t) in enumerate(lines)]
    return Transcript.from_dict({"duration": 12.0, "language": "zh", "layout": "stereo",
                                 "speakers": {"S0": "rep", "S1": "customer"}, "turns": turns})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_erase_delete_limits_retention(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        engine = engine_for(settings)
        migrate(engine)
        sessions = session_factory(engine)
        try:
            with sessions() as session:
                rep = User(email="li.ming@example.com", name="李明")
                session.add(rep)
                session.flush()
                ids = []
                # the same customer, ASR wrote the number right once and with a digit missing once
                said = ("一三九一七二六五四八零", "一三九一七六五四八零", "一三八零零零零零零零零")
                for n, words in enumerate(said):
                    audio = settings.data_dir / "audio" / f"{n}.ogg"
                    audio.parent.mkdir(parents=True, exist_ok=True)
                    audio.write_bytes(b"x")
                    call = Call(rep_id=rep.id, audio_path=f"audio/{n}.ogg", sha256=f"{n}" * 64, size=1,
                                status="done", title=f"回访 {n}")
                    session.add(call)
                    session.flush()
                    transcript = _transcript(words)
                    assert redact_transcript(transcript)
                    privacy.store_digests(session, settings, call, transcript)
                    analysis = rescore(transcript, "default", settings)
                    store_analysis(session, call, analysis.to_dict(), transcript.to_dict(), "default")
                    ids.append(call.id)
                session.commit()
                assert session.scalars(matching_call_ids(session, "电话")).all()  # the index works
                job = privacy.create_erasure(session, settings, _Admin(), "139 1726 5480", None, None)
                session.commit()
                job_id = job.id
            privacy.run_erasure(sessions, settings, job_id, wait_seconds=5, poll=0.1)
            with sessions() as session:
                done = privacy.erasure_to_dict(session.get(privacy.ErasureJob, job_id))
                assert done["status"] == "done" and sorted(done["call_ids"]) == ids[:2]
                assert session.scalar(select(func.count()).select_from(Call)) == 1
                assert session.scalar(select(func.count()).select_from(Turn)
                                      .where(Turn.call_id.in_(ids[:2]))) == 0
                assert session.scalar(select(func.count()).select_from(RedactionDigest)
                                      .where(RedactionDigest.call_id.in_(ids[:2]))) == 0
                assert {e.action for e in session.scalars(select(AuditEvent))} == \
                    {"erase.request", "erase.delete", "erase.done"}
                assert not (settings.data_dir / "audio" / "0.ogg").exists()
                assert (settings.data_dir / "audio" / "2.ogg").exists()
                # limits: one upload a minute
                token = ApiToken(token_hash="h" * 64, name="t", role="rep", uploads_per_minute=1,
                                 bytes_per_day=10)
                session.add(token)
                session.flush()
                assert privacy.check_upload_limits(session, token.id, 5) is None
                privacy.record_upload(session, token.id, 5)
                session.flush()
                assert 1 <= privacy.check_upload_limits(session, token.id, 1) <= 61
                session.execute(update(Call).values(created_at=utcnow() - timedelta(days=181)))
                session.commit()
            assert privacy.apply_retention(sessions, settings) == {"audio_deleted": 1, "calls_deleted": 0}
            assert not (settings.data_dir / "audio" / "2.ogg").exists()
            with sessions() as session:
                assert session.scalar(select(Call.audio_path)) == ""
        finally:
            engine.dispose()
