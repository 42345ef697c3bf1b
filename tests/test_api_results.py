"""The read side on a real analysis (the real pipeline's document of the Mandarin demo call), on real
SQLite and PostgreSQL: the analysis, Chinese search, managers' overrides and comments, the rep's
evaluation (JSON and CSV), deal insights, re-scoring without ASR, rubric updates."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import yaml
from sqlalchemy import select, update

from callscope.api.services.insights import due_date
from callscope.api.services.results import store_analysis
from callscope.api.worker import WorkerPool
from callscope.models.orm import AnalysisRecord, Call, Job, User
from tests.conftest import analysis_of
from tests.test_api_access import auth, pg_url, service, short_audio, upload  # noqa: F401 - fixtures

SAMPLE = "zh-demo.stereo.flac"


def transcript_of(doc: dict) -> dict:
    """The stored-transcript form of an analysis document's segments."""
    keys = ("start", "end", "speaker", "role", "text", "language")
    return {
        "duration": doc["duration"],
        "language": doc["language"],
        "layout": doc["layout"],
        "speakers": doc["speakers"],
        "asr": doc.get("asr", {}),
        "turns": [{k: s[k] for k in keys} for s in doc["segments"]],
    }


@pytest.fixture
def analysed(service):  # noqa: F811
    """A call of rep a@example.com on deal CRM-7 with the real analysis stored, and one of rep b."""
    doc = analysis_of(SAMPLE)
    a = upload(
        service,
        "integration",
        short_audio(2.0, 30.0),
        rep="a@example.com",
        deal="CRM-7",
        started_at="2026-11-10T09:00:00+08:00",
    ).json()["id"]
    b = upload(service, "integration", short_audio(2.0, 33.0), rep="b@example.com").json()["id"]
    with service.app.state.sessions() as s:
        for call_id in (a, b):
            call = s.get(Call, call_id)
            store_analysis(s, call, doc, transcript_of(doc), "default")
            call.status = "done"
        # the uploads' analyze jobs are what the stored analysis stands for
        s.execute(update(Job).where(Job.call_id.in_((a, b))).values(status="done"))
        s.commit()
    return service, a, b, doc


def test_analysis_search_and_isolation(analysed):
    api, a, b, doc = analysed
    got = api.get(f"/api/v1/calls/{a}/analysis", headers=auth(api, "rep_a")).json()
    assert got["segments"] == doc["segments"] and got["scorecard"]["score"] == doc["scorecard"]["score"]
    call = api.get(f"/api/v1/calls/{a}", headers=auth(api, "rep_a")).json()
    assert (call["stage"], call["score"]) == (doc["stage"], doc["scorecard"]["score"])

    def search(who: str, q: str) -> set[int]:
        return {
            c["id"] for c in api.get("/api/v1/calls", params={"q": q}, headers=auth(api, who)).json()["items"]
        }

    assert search("admin", "预算") == {a, b}
    assert search("admin", "仓库管理") == {a, b}
    assert search("admin", "发票") == set()
    assert search("rep_a", "预算") == {a}
    assert search("manager_west", "预算") == {b}
    stage = doc["stage"]
    assert {
        c["id"] for c in api.get(f"/api/v1/calls?stage={stage}", headers=auth(api, "admin")).json()["items"]
    } == {a, b}
    if doc["objections"]:
        kind = doc["objections"][0]["type"]
        items = api.get(
            f"/api/v1/calls?objection={kind}&rep=a@example.com", headers=auth(api, "admin")
        ).json()["items"]
        assert [c["id"] for c in items] == [a]
    score = doc["scorecard"]["score"]
    assert api.get(f"/api/v1/calls?min_score={score + 0.1}", headers=auth(api, "admin")).json()["items"] == []
    assert len(api.get(f"/api/v1/calls?max_score={score}", headers=auth(api, "admin")).json()["items"]) == 2


def test_overrides_are_applied_marked_and_logged(analysed):
    api, a, _, doc = analysed
    item = next(i for i in doc["scorecard"]["items"] if i["passed"] is True)
    path = f"/api/v1/calls/{a}/scorecard/items/{item['id']}"
    assert api.put(path, headers=auth(api, "rep_a"), json={"passed": False}).status_code == 403
    assert api.put(path, headers=auth(api, "manager_west"), json={"passed": False}).status_code == 404
    r = api.put(path, headers=auth(api, "manager_east"), json={"score": item["max"] + 1})
    assert r.status_code == 422 and r.json()["detail"].startswith("score:")
    missing = f"/api/v1/calls/{a}/scorecard/items/no_such_item"
    assert api.put(missing, headers=auth(api, "admin"), json={"passed": False}).status_code == 404
    r = api.put(path, headers=auth(api, "manager_east"), json={"passed": False, "reason": "没有自我介绍公司"})
    assert r.status_code == 200, r.text
    assert r.json()["item"]["passed"] is False and r.json()["item"]["score"] == 0
    assert r.json()["score"] < doc["scorecard"]["score"]
    got = api.get(f"/api/v1/calls/{a}/analysis", headers=auth(api, "rep_a")).json()
    changed = next(i for i in got["scorecard"]["items"] if i["id"] == item["id"])
    assert changed["override"]["before"] == {"passed": True, "score": item["score"]}
    assert changed["override"]["reason"] == "没有自我介绍公司"
    assert got["scorecard"]["overridden"] and got["scorecard"]["model_score"] == doc["scorecard"]["score"]
    assert (
        api.get(f"/api/v1/calls/{a}", headers=auth(api, "admin")).json()["score"] == got["scorecard"]["score"]
    )
    # the rep's evaluation counts the corrected verdict and score, and quotes the corrected item
    rep = api.get(f"/api/v1/calls/{a}", headers=auth(api, "admin")).json()["rep"]["id"]
    ev = api.get(f"/api/v1/reps/{rep}/evaluation", headers=auth(api, "admin")).json()
    counted = next(i for i in ev["items"] if i["id"] == item["id"])
    assert (counted["applicable"], counted["passed"], counted["pass_rate"]) == (1, 0, 0.0)
    assert counted["failing_examples"][0]["call_id"] == a and counted["passing_examples"] == []
    assert ev["average_score"] == round(got["scorecard"]["score"], 1)
    c = api.post(
        f"/api/v1/calls/{a}/comments",
        headers=auth(api, "manager_east"),
        json={"text": "价格异议处理得好", "item_id": "objection_handling", "at": 54.2},
    )
    assert c.status_code == 201
    reviews = api.get(f"/api/v1/calls/{a}/reviews", headers=auth(api, "rep_a")).json()
    assert [o["after"]["passed"] for o in reviews["overrides"]] == [False]
    assert reviews["overrides"][0]["by"] and reviews["overrides"][0]["at"]
    assert [x["text"] for x in reviews["comments"]] == ["价格异议处理得好"]


def test_rep_evaluation_json_and_csv(analysed):
    api, a, _, doc = analysed
    rep = api.get(f"/api/v1/calls/{a}", headers=auth(api, "admin")).json()["rep"]["id"]
    ev = api.get(
        f"/api/v1/reps/{rep}/evaluation?from=2026-11-01&to=2026-11-30", headers=auth(api, "rep_a")
    ).json()
    assert ev["calls"] == 1 and ev["average_score"] == round(doc["scorecard"]["score"], 1)
    ids = {i["id"] for i in ev["items"]}
    assert {"opening", "talk_ratio", "compliance"} <= ids
    passed = [i for i in ev["items"] if i["passed"]]
    examples = [i["passing_examples"][0] for i in passed]
    assert all(e["link"].startswith(f"/api/v1/calls/{a}/audio") for e in examples)
    # a moment links to its time; a finding about the whole call (nothing flagged) has no moment
    assert all(("#t=" in e["link"]) == (e["start"] is not None) for e in examples)
    compliance = next(i for i in passed if i["id"] == "compliance")["passing_examples"][0]
    assert compliance["start"] is None and "#t=" not in compliance["link"]
    assert ev["metrics"]["talk_ratio"]["average"] == round(doc["metrics"]["talk_ratio"], 2)
    assert ev["metrics"]["talk_ratio"]["status"] in ("ok", "low", "high")
    assert ev["objections"]["raised"] == len(doc["objections"])
    assert ev["strengths"] or ev["improvements"]
    empty = api.get(
        f"/api/v1/reps/{rep}/evaluation?from=2025-01-01&to=2025-02-01", headers=auth(api, "rep_a")
    ).json()
    assert empty["calls"] == 0 and empty["average_score"] is None
    r = api.get(f"/api/v1/reps/{rep}/evaluation?format=csv", headers=auth(api, "manager_east"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert (
        rows[0][:3] == ["call_id", "started_at", "title"]
        and rows[1][0] == str(a)
        and rows[-1][0] == "average"
    )
    assert api.get(f"/api/v1/reps/{rep}/evaluation?from=soon", headers=auth(api, "admin")).status_code == 422


def test_deal_insights_and_clocks(analysed):
    api, a, _, doc = analysed
    ins = api.get("/api/v1/deals/CRM-7/insights", headers=auth(api, "rep_a")).json()
    assert [c["id"] for c in ins["calls"]] == [a]
    assert ins["stage"]["current"] == doc["stage"]
    assert len(ins["next_steps"]) == len(doc["next_steps"])
    clocks = ins["clocks"]
    assert clocks["last_call_at"].startswith("2026-11-10T01:00")
    assert clocks["follow_up"]["due_by"] == "2026-11-25"
    assert clocks["intent"]["judge_at_days"] == 30


def test_due_dates_from_what_was_said():
    monday = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)  # a Monday
    assert due_date("下周二下午三点", monday) == "2026-12-01"
    assert due_date("周五下午", monday) == "2026-11-27"
    assert due_date("明天上午", monday) == "2026-11-24"
    assert due_date("next Tuesday at 3 pm", monday) == "2026-12-01"
    assert due_date("找时间", monday) is None


def test_rescore_and_rubric_update_reuse_the_transcript(analysed):
    api, a, b, doc = analysed
    settings = api.settings
    pool = WorkerPool(api.app.state.sessions, settings, analyze_fn=_no_asr)
    assert (
        api.post(f"/api/v1/calls/{a}/rescore?rubric=qa-strict", headers=auth(api, "rep_a")).status_code == 403
    )
    r = api.post(f"/api/v1/calls/{a}/rescore?rubric=qa-strict", headers=auth(api, "manager_east"))
    assert r.status_code == 202, r.text
    assert pool.run_once("t:1:0") == "done"
    got = api.get(f"/api/v1/calls/{a}/analysis", headers=auth(api, "admin")).json()
    assert got["scorecard"]["rubric"] == "qa-strict" and got["segments"] == doc["segments"]

    rubric = api.get("/api/v1/rubrics/default", headers=auth(api, "rep_a")).json()
    assert rubric["source"] == "builtin"
    r = api.put("/api/v1/rubrics/default", headers=auth(api, "rep_a"), content=rubric["body"])
    assert r.status_code == 403
    # a manager's change may not re-score other teams' calls: the default rubric is an admin's
    r = api.put("/api/v1/rubrics/default", headers=auth(api, "manager_east"), content=rubric["body"])
    assert r.status_code == 403 and "default rubric" in r.json()["detail"]
    strict = api.get("/api/v1/rubrics/qa-strict", headers=auth(api, "admin")).json()["body"]
    r = api.put("/api/v1/rubrics/qa-strict", headers=auth(api, "manager_west"), content=strict)
    assert r.status_code == 403 and "other teams" in r.json()["detail"]
    broken = yaml.safe_load(rubric["body"])
    broken["items"][0].pop("weight", None)
    broken["items"][0]["weight"] = "lots"
    r = api.put("/api/v1/rubrics/default", headers=auth(api, "admin"), content=yaml.safe_dump(broken))
    assert r.status_code == 422 and "weight" in r.json()["detail"]
    changed = yaml.safe_load(rubric["body"])
    first = changed["items"][0]
    first["weight"] = first["weight"] * 3
    r = api.put(
        "/api/v1/rubrics/default",
        headers=auth(api, "admin"),
        content=yaml.safe_dump(changed, allow_unicode=True),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["rescoring"] == 1  # call b; call a is now on qa-strict
    assert pool.run_once("t:1:0") == "done"
    assert pool.run_once("t:1:0") is None
    with api.app.state.sessions() as s:
        assert [j.kind for j in s.scalars(select(Job).order_by(Job.id))][-2:] == ["rescore", "rescore"]
        assert len(list(s.scalars(select(AnalysisRecord).where(AnalysisRecord.call_id == b)))) == 2
        assert s.scalar(select(User).where(User.email == "b@example.com")) is not None
    stored = api.get("/api/v1/rubrics/default", headers=auth(api, "admin")).json()
    assert stored["source"] == "stored" and stored["rubric"]["items"][0]["weight"] == first["weight"]
    got_b = api.get(f"/api/v1/calls/{b}/analysis", headers=auth(api, "admin")).json()
    item = next(i for i in got_b["scorecard"]["items"] if i["id"] == first["id"])
    assert item["max"] == pytest.approx(first["weight"])


def _no_asr(path, options, settings):
    raise AssertionError("re-scoring must not run ASR")
