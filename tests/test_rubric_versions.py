"""Rubrics per team, versioned: every saved version kept with who, when and the diff; a rubric assigned
to a team scores its calls; re-scoring a period on a version (stored transcripts, no ASR, a real worker
and the real scoring) as a background job whose progress the API reports; each scorecard names the
version that scored it. Real SQLite, real NLP documents."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml
from fastapi.testclient import TestClient

from callscope.api.app import create_app
from callscope.api.services import rollups
from callscope.api.services.results import store_analysis
from callscope.api.tokens import create_token
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.models.orm import Call, Team, User
from callscope.pipeline import rescore
from tests.test_webhooks import CLOSING, SLIPPING, transcript

V1 = "/api/v1"


@pytest.fixture
def api(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data", webhook_delivery=False),
                                   start_workers=False))
    client.__enter__()
    analyses = [rescore(transcript(lines), "default") for lines in (SLIPPING, CLOSING)]
    with client.app.state.sessions() as s:
        east, west = Team(name="East"), Team(name="West")
        reps = [User(email="a@example.com", name="李明", team=east), User(email="b@example.com", name="王芳",
                                                                         team=west)]
        s.add_all([east, west, *reps])
        s.flush()
        client.calls = {"East": [], "West": []}
        for n, day in enumerate((3, 10, 17, 24)):
            rep = reps[n % 2]
            call = Call(rep_id=rep.id, title=f"通话 {n}",
                        started_at=datetime(2026, 11, day, 2, tzinfo=timezone.utc), audio_path=f"x/{n}.flac",
                        sha256=f"{n:064d}", size=1, status="done")
            s.add(call)
            s.flush()
            analysis = analyses[n % 2]
            store_analysis(s, call, analysis.to_dict(), analysis.transcript.to_dict(), "default")
            rollups.refresh_call(s, client.app.state.settings, call)
            client.calls[rep.team.name].append(call.id)
        client.who = {"admin": create_token(s, "admin")[0],
                      "east": create_token(s, "manager", team="East")[0],
                      "west": create_token(s, "manager", team="West")[0],
                      "rep": create_token(s, "rep", rep="a@example.com")[0]}
        s.commit()
    client.pool = WorkerPool(client.app.state.sessions, client.app.state.settings, analyze_fn=_no_asr)
    yield client
    client.__exit__(None, None, None)


def _no_asr(path, options, settings):  # noqa: ANN001, ANN202
    raise AssertionError("re-scoring must not run ASR")


def auth(api: TestClient, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.who[who]}"}


def _work_off(api: TestClient) -> int:
    done = 0
    while api.pool.run_once("t:1:0") is not None:
        done += 1
    return done


def _card(api: TestClient, call_id: int) -> dict:
    return api.get(f"{V1}/calls/{call_id}/analysis", headers=auth(api, "admin")).json()["scorecard"]


def test_versions_team_rubric_and_a_rescored_period(api):
    builtin = api.get(f"{V1}/rubrics/qa-strict", headers=auth(api, "admin")).json()
    data = yaml.safe_load(builtin["body"])
    first = data["items"][0]
    saved = []
    for factor in (2, 3):  # two new versions, each a different weight on the first item
        changed = yaml.safe_load(builtin["body"])
        changed["items"][0]["weight"] = first["weight"] * factor
        r = api.put(f"{V1}/rubrics/qa-strict", headers=auth(api, "admin"),
                    content=yaml.safe_dump(changed, allow_unicode=True, sort_keys=False))
        assert r.status_code == 200, r.text
        saved.append(r.json())
    assert [s["version"] for s in saved] == [1, 2]

    versions = api.get(f"{V1}/rubrics/qa-strict/versions", headers=auth(api, "rep")).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert all(v["created_by"] == saved[0]["updated_by"] and v["created_at"] for v in versions)
    assert f"weight: {first['weight'] * 3}" in "".join(
        line for line in versions[0]["diff"].splitlines(keepends=True) if line.startswith("+"))
    assert f"weight: {first['weight'] * 2}" in "".join(
        line for line in versions[0]["diff"].splitlines(keepends=True) if line.startswith("-"))
    assert versions[1]["diff"].startswith("--- qa-strict v0")  # v1 against the built-in text
    one = api.get(f"{V1}/rubrics/qa-strict/versions/1", headers=auth(api, "rep")).json()
    assert yaml.safe_load(one["body"])["items"][0]["weight"] == first["weight"] * 2
    assert api.get(f"{V1}/rubrics/qa-strict/versions/9", headers=auth(api, "rep")).status_code == 404

    # a rubric per team: its manager assigns it, another team's manager cannot see the team
    assert api.get(f"{V1}/teams/East/rubric", headers=auth(api, "rep")).json()["rubric"] == "default"
    r = api.put(f"{V1}/teams/East/rubric", headers=auth(api, "west"), json={"rubric": "qa-strict"})
    assert r.status_code == 404
    r = api.put(f"{V1}/teams/East/rubric", headers=auth(api, "rep"), json={"rubric": "qa-strict"})
    assert r.status_code == 404  # a rep sees the team's rubric but changes nothing
    r = api.put(f"{V1}/teams/East/rubric", headers=auth(api, "east"), json={"rubric": "qa-strict"})
    assert r.status_code == 200 and r.json() == {"team": {"id": r.json()["team"]["id"], "name": "East"},
                                                 "rubric": "qa-strict", "assigned": True, "version": 2}

    # re-scoring the period: the manager's own team only, a job per call, progress from the jobs
    r = api.post(f"{V1}/rescores", headers=auth(api, "east"), json={"from": "2026-11-01", "to": "2026-11-30"})
    assert r.status_code == 202, r.text
    batch = r.json()
    assert (batch["rubric"], batch["version"], batch["total"], batch["queued"]) == ("qa-strict", 2, 2, 2)
    assert batch["status"] == "running" and batch["progress"] == 0.0
    assert api.get(f"{V1}/rescores/{batch['id']}", headers=auth(api, "west")).status_code == 404
    assert _work_off(api) == 2
    status = api.get(f"{V1}/rescores/{batch['id']}", headers=auth(api, "east")).json()
    assert (status["status"], status["done"], status["failed"], status["progress"]) == ("done", 2, 0, 1.0)
    for call_id in api.calls["East"]:
        card = _card(api, call_id)
        assert card["rubric"] == "qa-strict" and card["rubric_revision"] == 2
        assert card["rubric_version"] == versions[0]["content_hash"]
        assert next(i for i in card["items"] if i["id"] == first["id"])["max"] == pytest.approx(
            first["weight"] * 3)
    for call_id in api.calls["West"]:  # another team's calls are not touched
        assert _card(api, call_id)["rubric"] == "default"

    # an older version on request, and the team's rubric for a single call's re-score
    r = api.post(f"{V1}/rescores", headers=auth(api, "admin"), json={"team": "East", "version": 1,
                                                                      "to": "2026-11-05"})
    assert r.json()["total"] == 1 and _work_off(api) == 1
    card = _card(api, api.calls["East"][0])
    assert card["rubric_revision"] == 1 and card["rubric_version"] == versions[1]["content_hash"]
    r = api.post(f"{V1}/calls/{api.calls['East'][1]}/rescore", headers=auth(api, "east"))
    assert r.status_code == 202 and r.json()["rubric"] == "qa-strict"
    r = api.post(f"{V1}/rescores", headers=auth(api, "east"), json={"version": 7})
    assert r.status_code == 422 and r.json()["detail"].startswith("version:")
    r = api.post(f"{V1}/rescores", headers=auth(api, "rep"), json={})
    assert r.status_code == 403
