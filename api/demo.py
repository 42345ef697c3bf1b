"""`callscope serve --demo`: a populated service within a minute or two for a newcomer.

On a database without calls, the sample recordings become calls of a demo team (reps and deals from
api/data/demo.yaml), queued for the workers. Every --demo start prints fresh admin/manager/rep tokens
on stderr (the previous demo tokens are revoked).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from callscope.api import queue
from callscope.api.schemas import DealIn
from callscope.api.services.people import upsert_deal, upsert_rep
from callscope.api.storage import audio_store
from callscope.api.tokens import create_token, find_team
from callscope.api.uploads import Upload, probe_audio, store_audio
from callscope.core.config import Settings
from callscope.core.errors import CallscopeError
from callscope.models.orm import ApiToken, Call, utcnow

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo.yaml"
AUDIO_SUFFIXES = {".flac", ".wav", ".mp3", ".ogg", ".m4a", ".opus", ".webm"}


def samples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "samples"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _title(path: Path) -> str:
    truth = path.parent / f"{path.name.split('.')[0]}.truth.json"
    try:
        return json.loads(truth.read_text(encoding="utf-8")).get("title") or path.stem
    except (OSError, ValueError):
        return path.stem


def _add_calls(session: Session, settings: Settings, cfg: dict, reps: list) -> int:
    folder = samples_dir()
    files = (
        sorted(p for p in folder.glob("*") if p.suffix.lower() in AUDIO_SUFFIXES) if folder.is_dir() else []
    )
    added = 0
    for path in files:
        spec = cfg["calls"].get(path.name.rsplit(".", 1)[0])
        if spec is None:
            continue
        temp = Path(settings.data_dir) / "tmp" / f"demo-{path.name}"
        temp.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, temp)
        upload = Upload(temp_path=temp, filename=path.name, sha256=_sha256(temp), size=temp.stat().st_size)
        try:
            probe = probe_audio(temp, settings)
        except CallscopeError as err:
            print(f"callscope: demo: skipping {path.name}: {err}", file=sys.stderr)
            upload.remove()
            continue
        if session.scalar(select(Call.id).where(Call.sha256 == upload.sha256)):
            upload.remove()
            continue
        rep = reps[spec["rep"]]
        deal_id = spec.get("deal")
        deal = upsert_deal(session, deal_id, DealIn()) if deal_id else None
        call = Call(
            title=_title(path),
            rep_id=rep.id,
            deal_id=deal.id if deal else None,
            started_at=utcnow() - timedelta(days=spec.get("days_ago", 1), hours=added),
            duration=probe.duration or None,
            channels="mono" if ".mono." in path.name else "auto",
            rep_channel=0,
            audio_path=store_audio(upload, probe.ext, audio_store(settings)),
            sha256=upload.sha256,
            size=upload.size,
            original_filename=path.name,
            content_type=f"audio/{probe.ext}",
        )
        session.add(call)
        session.flush()
        queue.enqueue(session, call.id, "analyze")
        added += 1
    return added


def seed_demo(sessions: sessionmaker[Session], settings: Settings) -> None:
    cfg = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    with sessions() as session:
        team = find_team(session, cfg["team"], create=True)
        manager = upsert_rep(
            session, cfg["manager"]["email"], cfg["manager"]["name"], cfg["team"], role="manager"
        )
        reps = [upsert_rep(session, r["email"], r["name"], cfg["team"]) for r in cfg["reps"]]
        for deal in cfg["deals"]:
            upsert_deal(session, deal["external_id"],
                        DealIn.model_validate({**deal, "owner": reps[deal["owner"]].email}))
        added = 0
        if not session.scalar(select(func.count(Call.id))):
            added = _add_calls(session, settings, cfg, reps)
        session.execute(
            update(ApiToken)
            .where(ApiToken.name.like("demo %"), ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        tokens = {
            "admin": create_token(session, "admin", name="demo admin")[0],
            "manager": create_token(
                session, "manager", rep=manager.email, team=team.name, name="demo manager"
            )[0],
            f"rep {reps[0].name}": create_token(session, "rep", rep=reps[0].email, name="demo rep")[0],
        }
        session.commit()
    lines = [
        f"callscope: demo: {added} sample call(s) queued" if added else "callscope: demo: data already there"
    ]
    lines += [f"callscope: demo token ({role}): {token}" for role, token in tokens.items()]
    lines.append("callscope: use them as 'Authorization: Bearer TOKEN' or sign in on the web pages")
    print("\n".join(lines), file=sys.stderr, flush=True)
