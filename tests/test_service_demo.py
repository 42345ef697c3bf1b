"""`callscope serve --demo`: the samples become queued calls of a demo team, tokens are printed."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from callscope.api.app import create_app
from callscope.api.demo import DEMO_FILE
from callscope.core.config import Settings
from callscope.models.orm import Call, Deal


def test_demo_seeds_calls_and_prints_working_tokens(tmp_path, capsys):
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings, start_workers=False, demo=True)) as client:
        err = capsys.readouterr().err
        tokens = {
            line.split("(")[1].split(")")[0].split()[0]: line.rsplit(" ", 1)[1]
            for line in err.splitlines()
            if "demo token" in line
        }
        assert set(tokens) == {"admin", "manager", "rep"}
        demo = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
        calls = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()[
            "items"
        ]
        assert len(calls) == len(demo["calls"]) > 0 and {c["status"] for c in calls} == {"queued"}
        # one conversation is one call (zh-demo's mono mix is not seeded beside its stereo file)
        assert len({c["title"] for c in calls}) == len(calls)
        with client.app.state.sessions() as session:
            for deal in session.scalars(select(Deal)):
                reps_on_it = set(session.scalars(select(Call.rep_id).where(Call.deal_id == deal.id)))
                assert reps_on_it == {deal.owner_id}, deal.external_id  # nobody is blamed for another's deal
        mine = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {tokens['rep']}"}).json()[
            "items"
        ]
        assert 0 < len(mine) < len(calls)
        team = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {tokens['manager']}"}).json()[
            "items"
        ]
        assert len(team) == len(calls)
        insights = client.get(
            "/api/v1/deals/DEMO-1001/insights", headers={"Authorization": f"Bearer {tokens['manager']}"}
        ).json()
        assert insights["calls"]
    # a second start keeps the data and replaces the demo tokens
    with TestClient(create_app(settings, start_workers=False, demo=True)) as client:
        assert "data already there" in capsys.readouterr().err
        r = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {tokens['admin']}"})
        assert r.status_code == 401
