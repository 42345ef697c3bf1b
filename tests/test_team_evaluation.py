"""A rep against their team and targets, the team's evaluation, targets broken down from a team goal
and the leaderboard, on a seeded history of 320 calls (real NLP documents varied per call, real
SQLite), every figure checked against values computed here by hand from the seed, days cut in the
team's display time zone (CALLSCOPE_TIMEZONE's default, Asia/Shanghai: the seed's UTC hours straddle
its midnights)."""

from __future__ import annotations

import random
import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from callscope.api.app import create_app
from callscope.api.services.results import store_analysis
from callscope.api.tokens import create_token
from callscope.core.config import Settings
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import Call, Team, User
from callscope.pipeline import rescore
from tests.test_webhooks import CLOSING, SLIPPING, transcript

FIRST_DAY = date(2026, 9, 1)
DAYS = 60
FROM, TO = "2026-09-15", "2026-10-14"  # the evaluated period: to is inclusive (a whole day)
ZONE = ZoneInfo("Asia/Shanghai")  # the display time zone of team East (no zone of its own)
METRIC_RANGES = {"talk_ratio": (0.3, 0.8), "question_rate": (0.5, 3.0), "longest_monologue": (20, 120)}


def hand_quartile(values: list[float], upper: bool = True) -> float:
    """The 75th (or 25th) percentile by linear interpolation between the sorted values."""
    v = sorted(values)
    pos = (0.75 if upper else 0.25) * (len(v) - 1)
    low = int(pos)
    return v[low] + (pos - low) * (v[min(low + 1, len(v) - 1)] - v[low])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Four reps of team East (and one of West) with 320 done calls over 60 days; what was seeded."""
    tmp = tmp_path_factory.mktemp("team")
    settings = Settings(data_dir=tmp / "data", webhook_delivery=False)
    settings.data_dir.mkdir()
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    sessions = session_factory(engine)
    bases = [rescore(transcript(lines), "default") for lines in (CLOSING, SLIPPING)]
    bases = [(a.to_dict(), a.transcript.to_dict()) for a in bases]
    rng = random.Random(15)
    seeded = []
    with sessions() as s:
        east, west = Team(name="East"), Team(name="West")
        reps = [User(email=f"r{i}@example.com", name=f"销售{i}" if i != 3 else "@销售3",
                     team=east if i < 4 else west) for i in range(5)]
        s.add_all([east, west, *reps])
        s.flush()
        for n in range(320):
            rep = reps[n % 5] if n % 9 else reps[0]  # rep 0 makes more calls
            day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
            started = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(
                hours=rng.randrange(24))
            doc, tr = bases[n % 2]
            doc = {**doc, "metrics": dict(doc["metrics"]), "duration": float(rng.randrange(120, 900))}
            for name, (low, high) in METRIC_RANGES.items():
                doc["metrics"][name] = round(rng.uniform(low, high), 3)
            card = {**doc["scorecard"], "score": round(rng.uniform(40, 100), 1)}
            card["items"] = [{**item, "passed": (rng.random() < 0.3 + 0.15 * reps.index(rep))
                              if item["id"] in ("opening", "next_step") else item["passed"]}
                             for item in card["items"]]
            doc["scorecard"] = card
            title = "=HYPERLINK(\"http://x\",\"点我\")" if n == 10 else f"通话 {n}"
            call = Call(rep_id=rep.id, title=title, started_at=started, audio_path=f"x/{n}.flac",
                        sha256=secrets.token_hex(32), size=1, status="done")
            s.add(call)
            s.flush()
            store_analysis(s, call, doc, tr, "default")
            seeded.append({"rep": reps.index(rep), "started": started, "title": title, "score": card["score"],
                           "duration": doc["duration"], "metrics": dict(doc["metrics"]),
                           "items": {i["id"]: i["passed"] for i in card["items"]}})
        s.commit()
        rep_ids = [r.id for r in reps]
    engine.dispose()
    app = create_app(settings, start_workers=False)  # its start rolls the seeded calls up
    client = TestClient(app)
    client.__enter__()
    with app.state.sessions() as s:
        client.manager = {"Authorization": f"Bearer {create_token(s, 'manager', team='East')[0]}"}
        client.rep0 = {"Authorization": f"Bearer {create_token(s, 'rep', rep='r0@example.com')[0]}"}
        client.west = {"Authorization": f"Bearer {create_token(s, 'manager', team='West')[0]}"}
        s.commit()
    yield client, seeded, rep_ids
    client.__exit__(None, None, None)


def _in_period(rows: list[dict]) -> list[dict]:
    start = datetime.fromisoformat(FROM).replace(tzinfo=ZONE)
    end = datetime.fromisoformat(TO).replace(tzinfo=ZONE) + timedelta(days=1)
    return [r for r in rows if start <= r["started"] < end]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_rep_evaluation_compares_with_the_team(seeded):
    api, rows, rep_ids = seeded
    r = api.get(f"/api/v1/reps/{rep_ids[1]}/evaluation?from={FROM}&to={TO}", headers=api.manager)
    assert r.status_code == 200, r.text
    body = r.json()
    team = body["team"]
    east = [row for row in _in_period(rows) if row["rep"] < 4]
    assert team["team"]["name"] == "East" and team["calls"] == len(east) and team["reps"] == 4
    assert body["calls"] == sum(1 for row in east if row["rep"] == 1)
    per_rep = {k: [row for row in east if row["rep"] == k] for k in range(4)}
    # score: the team's average over its calls, the top quartile of the reps' own averages
    assert team["average_score"]["average"] == pytest.approx(_mean([row["score"] for row in east]), abs=0.01)
    rep_scores = [_mean([row["score"] for row in per_rep[k]]) for k in range(4)]
    assert team["average_score"]["top_quartile"] == pytest.approx(hand_quartile(rep_scores), abs=0.01)
    assert team["average_score"]["rep"] == pytest.approx(rep_scores[1], abs=0.01)
    assert body["average_score"] == pytest.approx(rep_scores[1], abs=0.05)  # the evaluation's own figure
    for metric in METRIC_RANGES:
        block = team["metrics"][metric]
        assert block["average"] == pytest.approx(_mean([row["metrics"][metric] for row in east]), abs=0.001)
        values = [_mean([row["metrics"][metric] for row in per_rep[k]]) for k in range(4)]
        lower = metric in ("talk_ratio", "longest_monologue")  # less is better: the best quarter is low
        assert block["lower_is_better"] is lower
        assert block["top_quartile"] == pytest.approx(hand_quartile(values, upper=not lower), abs=0.001)
    for item in ("opening", "next_step"):
        block = team["items"][item]
        judged = [row["items"][item] for row in east if row["items"][item] is not None]
        assert block["average"] == pytest.approx(sum(judged) / len(judged), abs=0.001)
        rates = []
        for k in range(4):
            mine = [row["items"][item] for row in per_rep[k] if row["items"][item] is not None]
            rates.append(sum(mine) / len(mine))
        assert block["top_quartile"] == pytest.approx(hand_quartile(rates), abs=0.001)
        assert block["rep"] == pytest.approx(rates[1], abs=0.001)
    assert "targets" not in body  # none set yet


def test_targets_set_directly_and_broken_down_from_a_team_goal(seeded):
    api, rows, rep_ids = seeded
    week = {"metric": "calls", "from": "2026-09-21", "to": "2026-09-28", "value": 5}
    assert api.put(f"/api/v1/reps/{rep_ids[0]}/targets", headers=api.rep0, json=week).status_code == 403
    r = api.put(f"/api/v1/reps/{rep_ids[0]}/targets", headers=api.manager, json=week)
    assert r.status_code == 200, r.text
    score_goal = {"metric": "average_score", "from": "2026-09-01", "to": "2026-10-01", "value": 80}
    r = api.put(f"/api/v1/reps/{rep_ids[0]}/targets", headers=api.manager, json=score_goal)
    assert r.status_code == 200
    bad = {**week, "metric": "charm"}
    assert api.put(f"/api/v1/reps/{rep_ids[0]}/targets", headers=api.manager, json=bad).status_code == 422
    body = api.get(f"/api/v1/reps/{rep_ids[0]}/evaluation?from={FROM}&to={TO}", headers=api.manager).json()
    got = {t["metric"]: t for t in body["targets"]}
    start, end = datetime(2026, 9, 21, tzinfo=ZONE), datetime(2026, 9, 28, tzinfo=ZONE)
    calls = sum(1 for row in rows if row["rep"] == 0 and start <= row["started"] < end)
    assert got["calls"]["actual"] == calls
    assert got["calls"]["attainment"] == pytest.approx(round(calls / 5, 3))
    september = [row["score"] for row in rows
                 if row["rep"] == 0 and row["started"].astimezone(ZONE).month == 9]
    assert got["average_score"]["actual"] == pytest.approx(_mean(september), abs=0.01)
    assert got["average_score"]["attainment"] == pytest.approx(_mean(september) / 80, abs=0.001)

    # 目标分解: 400 calls for the team in December, weighted 2:1:1:0 across the reps, cut into weeks
    goal = {"metric": "calls", "from": "2026-12-01", "to": "2027-01-01", "value": 400, "by_week": True,
            "weights": {"r0@example.com": 2, "r1@example.com": 1, str(rep_ids[2]): 1}}
    r = api.post("/api/v1/teams/East/goals", headers=api.manager, json=goal)
    assert r.status_code == 201, r.text
    made = r.json()["targets"]
    share = {rep_ids[0]: 200, rep_ids[1]: 100, rep_ids[2]: 100}
    for rep_id, total in share.items():
        weeks = [t for t in made if t["rep_id"] == rep_id]
        assert [(t["from"], t["to"]) for t in weeks] == [
            ("2026-12-01", "2026-12-07"), ("2026-12-07", "2026-12-14"), ("2026-12-14", "2026-12-21"),
            ("2026-12-21", "2026-12-28"), ("2026-12-28", "2027-01-01")]
        assert [t["value"] for t in weeks] == [round(total * d / 31, 2) for d in (6, 7, 7, 7, 4)]
        assert sum(t["value"] for t in weeks) == pytest.approx(total, abs=0.05)
    assert not [t for t in made if t["rep_id"] == rep_ids[3]]
    assert api.post("/api/v1/teams/East/goals", headers=api.west, json=goal).status_code == 404
    rate = {"metric": "pass_rate:opening", "from": "2026-12-01", "to": "2027-01-01", "value": 0.8,
            "by_week": False}
    made = api.post("/api/v1/teams/East/goals", headers=api.manager, json=rate).json()["targets"]
    assert len(made) == 4 and {t["value"] for t in made} == {0.8}  # a rate is every rep's


def test_team_evaluation_and_leaderboard(seeded, tmp_path):
    api, rows, rep_ids = seeded
    r = api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}", headers=api.manager)
    assert r.status_code == 200, r.text
    body = r.json()
    east = [row for row in _in_period(rows) if row["rep"] < 4]
    assert body["summary"]["calls"] == len(east)
    assert body["summary"]["talk_time"] == pytest.approx(sum(row["duration"] for row in east) / 60, abs=0.01)
    assert [row["rep"]["id"] for row in body["reps"]] == rep_ids[:4]
    assert api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}", headers=api.rep0).status_code == 404
    assert api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}", headers=api.west).status_code == 404

    board = api.get(f"/api/v1/teams/East/leaderboard?by=score&from={FROM}&to={TO}", headers=api.rep0)
    assert board.status_code == 200, board.text
    averages = {k: _mean([row["score"] for row in east if row["rep"] == k]) for k in range(4)}
    order = sorted(range(4), key=lambda k: -averages[k])
    assert [item["rep"]["id"] for item in board.json()["items"]] == [rep_ids[k] for k in order]
    assert [item["rank"] for item in board.json()["items"]] == [1, 2, 3, 4]
    improvement = api.get(f"/api/v1/teams/East/leaderboard?by=improvement&from={FROM}&to={TO}",
                          headers=api.manager).json()["items"]
    before_start = datetime(2026, 8, 16, tzinfo=ZONE)  # the 30 days before, same length
    period_start = datetime(2026, 9, 15, tzinfo=ZONE)
    before = [row for row in rows if before_start <= row["started"] < period_start and row["rep"] < 4]
    for item in improvement:
        k = rep_ids.index(item["rep"]["id"])
        earlier = _mean([row["score"] for row in before if row["rep"] == k])
        assert item["value"] == pytest.approx(averages[k] - earlier, abs=0.02)

    # a team that turned the leaderboard off
    config = tmp_path / "teams.yaml"
    config.write_text("teams:\n  East:\n    leaderboard: {enabled: false}\n", encoding="utf-8")
    api.app.state.settings.team_config = str(config)
    try:
        off = api.get("/api/v1/teams/East/leaderboard", headers=api.rep0)
        assert off.status_code == 403 and "turned off" in off.json()["detail"]
    finally:
        api.app.state.settings.team_config = ""


def test_an_override_moves_the_team_figures(seeded):
    api, rows, rep_ids = seeded
    before = api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}", headers=api.manager).json()
    calls = api.get(f"/api/v1/calls?rep={rep_ids[2]}&from={FROM}&to={TO}&limit=1", headers=api.manager).json()
    call_id = calls["items"][0]["id"]
    r = api.put(f"/api/v1/calls/{call_id}/scorecard/items/opening", headers=api.manager,
                json={"passed": True, "reason": "introduced himself"})
    assert r.status_code == 200, r.text
    after = api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}", headers=api.manager).json()
    mine = next(row for row in after["reps"] if row["rep"]["id"] == rep_ids[2])
    was = next(row for row in before["reps"] if row["rep"]["id"] == rep_ids[2])
    assert mine["calls"] == was["calls"]
    assert mine["items"]["opening"]["pass_rate"] >= was["items"]["opening"]["pass_rate"]
    assert mine["average_score"] != was["average_score"] or r.json()["item"]["override"]


def test_exports_csv_and_xlsx_neutralise_formulas(seeded):
    import csv
    import io

    from openpyxl import load_workbook

    api, rows, rep_ids = seeded
    east = [row for row in _in_period(rows) if row["rep"] < 4]
    r = api.get(f"/api/v1/exports/calls?from={FROM}&to={TO}", headers=api.manager)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == len(east)  # the manager's team only
    from collections import Counter

    exported = Counter(float(t["score"]) for t in table)
    # every score as seeded, but the one call a manager overrode in the test before
    assert sum((exported - Counter(row["score"] for row in east)).values()) <= 1
    titles = {t["title"] for t in table}
    assert not any(t.startswith(("=", "+", "-", "@")) for t in titles)
    hyperlink = next(row["title"] for row in rows if row["title"].startswith("="))
    if any(row["title"] == hyperlink for row in east):
        assert "'" + hyperlink in titles
    assert {t["rep_name"] for t in table} >= {"'@销售3"}

    team = api.get(f"/api/v1/teams/East/evaluation?from={FROM}&to={TO}&format=csv", headers=api.manager)
    lines = list(csv.DictReader(io.StringIO(team.text)))
    assert [line["rep"] for line in lines] == [f"r{i}@example.com" for i in range(4)] + ["team"]
    assert int(lines[-1]["calls"]) == len(east)

    book = api.get(f"/api/v1/reps/{rep_ids[3]}/evaluation?from={FROM}&to={TO}&format=xlsx",
                   headers=api.manager)
    assert book.status_code == 200 and book.headers["content-type"].startswith("application/vnd.openxml")
    workbook = load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == ["evaluation", "calls"]
    summary = {(row[0], row[1]): row for row in workbook["evaluation"].iter_rows(values_only=True)}
    assert summary[("rep", "name")][2] == "'@销售3"
    mine = [row for row in east if row["rep"] == 3]
    assert summary[("calls", "calls")][2] == len(mine)
    team_average = summary[("score", "average_score")][3]
    assert team_average == pytest.approx(_mean([row["score"] for row in east]), abs=1.0)
    calls = list(workbook["calls"].iter_rows(values_only=True))
    assert len(calls) == len(mine) + 1
    for row in workbook["calls"].iter_rows():
        for cell in row:
            assert cell.data_type != "f"  # no formula anywhere
