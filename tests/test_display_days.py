"""Days and weeks are cut in the display time zone everywhere (issue 15): calls seeded around midnight in
Asia/Shanghai and in America/New_York (each team's `timezone`) land on their local day and week in the rep
evaluation, the team evaluation, the leaderboard, the targets, the call list and the CSV exports; a bare
date in `from`/`to` is a day of that zone and every answer names the zone; the per rep and day roll-ups
hold local days, follow an override and a deletion, and are rebuilt when the zone setting changes (real
SQLite and PostgreSQL). Then the rep page, in a real Chromium against a real `callscope serve`, shows
the calls at their local times and draws the weeks the API counts."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from callscope.api.app import create_app
from callscope.api.services.results import store_analysis
from callscope.api.tokens import create_token
from callscope.core.config import Settings
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import Call, RepDayStat, Team, User
from callscope.pipeline import rescore
from tests.service_support import Server, database_url
from tests.test_web_browser import drawn_weeks
from tests.test_webhooks import CLOSING, transcript

SH, NY = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
TEAMS = {"上海组": SH, "New York": NY}
WEEK = ("2026-11-30", "2026-12-06")  # Monday to Sunday, both days included
# name -> (rep, local start, score); the comment says where UTC would have put it
CALLS = {
    "sh_sun_late": ("sh", datetime(2026, 11, 29, 23, 50, tzinfo=SH), 40.0),  # UTC: Sun 15:50, W48 too
    "sh_mon_0010": ("sh", datetime(2026, 11, 30, 0, 10, tzinfo=SH), 80.0),  # UTC: Sunday, week W48
    "sh_mon_0730": ("sh", datetime(2026, 11, 30, 7, 30, tzinfo=SH), 90.0),  # UTC: Sunday 23:30, W48
    "sh_sun_2359": ("sh", datetime(2026, 12, 6, 23, 59, tzinfo=SH), 70.0),  # UTC: Sunday 15:59, W49 too
    "sh_mon_next": ("sh", datetime(2026, 12, 7, 0, 5, tzinfo=SH), 30.0),  # UTC: Sunday 16:05, W49
    "sh2_tue": ("sh2", datetime(2026, 12, 1, 12, 0, tzinfo=SH), 60.0),
    "ny_sun_2130": ("ny", datetime(2026, 11, 29, 21, 30, tzinfo=NY), 50.0),  # UTC: Monday 02:30, W49
    "ny_mon_0015": ("ny", datetime(2026, 11, 30, 0, 15, tzinfo=NY), 85.0),  # UTC: Monday 05:15, W49 too
    "ny_sun_2345": ("ny", datetime(2026, 12, 6, 23, 45, tzinfo=NY), 75.0),  # UTC: Monday 04:45, W50
    "ny_mon_next": ("ny", datetime(2026, 12, 7, 0, 30, tzinfo=NY), 20.0),
}
REPS = {"sh": ("sh@example.com", "上海一号", "上海组"), "sh2": ("sh2@example.com", "上海二号", "上海组"),
        "ny": ("ny@example.com", "Nora York", "New York")}


def team_config(folder: Path) -> Path:
    path = folder / "teams.yaml"
    path.write_text("teams:\n  上海组: {timezone: Asia/Shanghai}\n  New York: {timezone: America/New_York}\n",
                    encoding="utf-8")
    return path


def seed(url: str, moments: dict[str, tuple[str, datetime, float]]) -> None:
    """The reps, their teams and their analysed calls (a real analysis, the score set per call)."""
    analysis = rescore(transcript(CLOSING), "default")
    doc, tr = analysis.to_dict(), analysis.transcript.to_dict()
    engine = make_engine(url)
    migrate(engine)
    with session_factory(engine)() as s:
        teams = {name: Team(name=name) for name in TEAMS}
        reps = {key: User(email=email, name=name, team=teams[team])
                for key, (email, name, team) in REPS.items()}
        s.add_all([*teams.values(), *reps.values()])
        s.flush()
        for title, (rep, started, score) in moments.items():
            call = Call(rep_id=reps[rep].id, title=title, started_at=started, audio_path=f"x/{title}.flac",
                        sha256=secrets.token_hex(32), size=1, status="done")
            s.add(call)
            s.flush()
            store_analysis(s, call, {**doc, "scorecard": {**doc["scorecard"], "score": score}}, tr, "default")
        s.commit()
    engine.dispose()


def local_week(titles: list[str], zone: ZoneInfo) -> dict[str, int]:
    """ISO week -> calls, weeks cut at Monday 00:00 in zone."""
    weeks: dict[str, int] = {}
    for title in titles:
        year, week, _ = CALLS[title][1].astimezone(zone).isocalendar()
        weeks[f"{year}-W{week:02d}"] = weeks.get(f"{year}-W{week:02d}", 0) + 1
    return weeks


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request, tmp_path) -> Iterator[TestClient]:
    with database_url(request.param, tmp_path) as url:
        seed(url, CALLS)
        settings = Settings(data_dir=tmp_path / "data", database_url=url, webhook_delivery=False,
                            team_config=str(team_config(tmp_path)))
        settings.data_dir.mkdir()
        with TestClient(create_app(settings, start_workers=False)) as client:  # its start rolls them up
            with client.app.state.sessions() as s:
                client.who = {"sh_manager": create_token(s, "manager", team="上海组")[0],
                              "ny_manager": create_token(s, "manager", team="New York")[0],
                              "admin": create_token(s, "admin")[0]}
                client.ids = {c.title: c.id for c in s.scalars(select(Call))}
                client.reps = {key: s.scalar(select(User.id).where(User.email == email))
                               for key, (email, _, _) in REPS.items()}
                s.commit()
            client.url = url
            yield client


def get(api: TestClient, who: str, path: str, **params: str) -> httpx.Response:
    r = api.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {api.who[who]}"})
    assert r.status_code == 200, r.text
    return r


def call_titles(api: TestClient, items: list[dict]) -> set[str]:
    by_id = {v: k for k, v in api.ids.items()}
    return {by_id[c["id"]] for c in items}


def test_rep_evaluations_cut_days_and_weeks_in_the_reps_zone(api):
    week = {"from": WEEK[0], "to": WEEK[1]}
    sh = get(api, "sh_manager", f"/reps/{api.reps['sh']}/evaluation", **week).json()
    assert call_titles(api, sh["call_list"]) == {"sh_mon_0010", "sh_mon_0730", "sh_sun_2359"}
    assert sh["period"] == {"from": "2026-11-30T00:00:00+08:00", "to": "2026-12-06T23:59:59.999999+08:00",
                            "timezone": "Asia/Shanghai"}
    assert sh["trend"]["timezone"] == "Asia/Shanghai"
    assert sh["trend"]["by_week"] == [{"week": "2026-W49", "from": "2026-11-30", "calls": 3, "average": 80.0}]
    assert sh["average_score"] == 80.0
    ny = get(api, "admin", f"/reps/{api.reps['ny']}/evaluation", **week).json()
    assert call_titles(api, ny["call_list"]) == {"ny_mon_0015", "ny_sun_2345"}
    assert ny["period"]["from"] == "2026-11-30T00:00:00-05:00"
    assert ny["period"]["timezone"] == "America/New_York"
    assert ny["trend"]["by_week"] == [{"week": "2026-W49", "from": "2026-11-30", "calls": 2, "average": 80.0}]

    # one day; a period that cuts a day (counted from its calls, the whole days from the roll-ups)
    monday = get(api, "sh_manager", f"/reps/{api.reps['sh']}/evaluation", **{"from": WEEK[0], "to": WEEK[0]})
    assert call_titles(api, monday.json()["call_list"]) == {"sh_mon_0010", "sh_mon_0730"}
    cut = get(api, "sh_manager", f"/reps/{api.reps['sh']}/evaluation",
              **{"from": "2026-11-30T07:00:00+08:00", "to": WEEK[1]}).json()
    assert call_titles(api, cut["call_list"]) == {"sh_mon_0730", "sh_sun_2359"}
    assert cut["average_score"] == 80.0
    every = get(api, "admin", f"/reps/{api.reps['sh']}/evaluation").json()  # all time: all five
    assert every["trend"]["by_week"] == [
        {"week": "2026-W48", "from": "2026-11-23", "calls": 1, "average": 40.0},
        {"week": "2026-W49", "from": "2026-11-30", "calls": 3, "average": 80.0},
        {"week": "2026-W50", "from": "2026-12-07", "calls": 1, "average": 30.0}]
    assert local_week([t for t in CALLS if CALLS[t][0] == "sh"], SH) == {
        w["week"]: w["calls"] for w in every["trend"]["by_week"]}

    # the team block of the evaluation counts the same local week
    assert sh["team"]["calls"] == 4 and sh["team"]["average_score"]["average"] == 75.0

    # the rep evaluation's CSV: the week's calls, at their local time
    csv_rows = list(csv.DictReader(io.StringIO(get(api, "sh_manager", f"/reps/{api.reps['sh']}/evaluation",
                                                   format="csv", **week).text)))
    assert {r["title"]: r["started_at"] for r in csv_rows if r["call_id"] != "average"} == {
        "sh_mon_0010": "2026-11-30T00:10:00+08:00", "sh_mon_0730": "2026-11-30T07:30:00+08:00",
        "sh_sun_2359": "2026-12-06T23:59:00+08:00"}


def test_team_figures_leaderboard_targets_lists_and_exports_in_the_teams_zone(api):
    week = {"from": WEEK[0], "to": WEEK[1]}
    team = get(api, "sh_manager", "/teams/上海组/evaluation", **week).json()
    assert team["period"]["timezone"] == "Asia/Shanghai" and team["summary"]["calls"] == 4
    assert team["summary"]["average_score"] == 75.0
    assert {r["rep"]["id"]: r["calls"] for r in team["reps"]} == {api.reps["sh"]: 3, api.reps["sh2"]: 1}
    ny_team = get(api, "ny_manager", "/teams/New York/evaluation", **week).json()
    assert ny_team["period"]["timezone"] == "America/New_York" and ny_team["summary"]["calls"] == 2

    board = get(api, "sh_manager", "/teams/上海组/leaderboard", by="score", **week).json()
    assert board["period"]["timezone"] == "Asia/Shanghai"
    assert [(i["rep"]["id"], i["value"], i["calls"], i["rank"]) for i in board["items"]] == [
        (api.reps["sh"], 80.0, 3, 1), (api.reps["sh2"], 60.0, 1, 2)]
    better = get(api, "sh_manager", "/teams/上海组/leaderboard", by="improvement", **week).json()["items"]
    # against the local week before: only Sunday 23:50 (40), not the two Monday calls UTC puts there
    assert {i["rep"]["id"]: i["value"] for i in better} == {api.reps["sh"]: 40.0, api.reps["sh2"]: None}

    # targets are days of the rep's zone: the NY rep's Sunday is the call UTC puts on Monday
    headers = {"Authorization": f"Bearer {api.who['admin']}"}
    for rep, body in (("sh", {"metric": "calls", "from": "2026-11-30", "to": "2026-12-07", "value": 3}),
                      ("ny", {"metric": "calls", "from": "2026-11-29", "to": "2026-11-30", "value": 1})):
        assert api.put(f"/api/v1/reps/{api.reps[rep]}/targets", headers=headers, json=body).status_code == 200
    got = get(api, "admin", f"/reps/{api.reps['ny']}/targets").json()
    assert got["timezone"] == "America/New_York"
    assert [(t["actual"], t["attainment"]) for t in got["items"]] == [(1, 1.0)]
    assert [(t["actual"], t["attainment"]) for t in get(api, "admin", f"/reps/{api.reps['sh']}/targets")
            .json()["items"]] == [(3, 1.0)]
    targeted = get(api, "sh_manager", "/teams/上海组/evaluation", **week).json()
    assert next(r for r in targeted["reps"] if r["rep"]["id"] == api.reps["sh"])["attainment"] == 1.0

    # the call list: a bare date is a day of the caller's team's zone
    listed = get(api, "sh_manager", "/calls", **{"from": WEEK[0], "to": WEEK[0]}).json()
    assert listed["timezone"] == "Asia/Shanghai"
    assert call_titles(api, listed["items"]) == {"sh_mon_0010", "sh_mon_0730"}
    listed = get(api, "ny_manager", "/calls", **{"from": "2026-11-29", "to": "2026-11-29"}).json()
    assert listed["timezone"] == "America/New_York" and call_titles(api, listed["items"]) == {"ny_sun_2130"}

    # the calls export and the team export: the same week, the same count, local times
    table = list(csv.DictReader(io.StringIO(get(api, "ny_manager", "/exports/calls", **week).text)))
    assert {r["title"]: r["started_at"] for r in table} == {"ny_mon_0015": "2026-11-30T00:15:00-05:00",
                                                            "ny_sun_2345": "2026-12-06T23:45:00-05:00"}
    table = list(csv.DictReader(io.StringIO(get(api, "sh_manager", "/exports/calls", **week).text)))
    assert {r["title"] for r in table} == {"sh_mon_0010", "sh_mon_0730", "sh_sun_2359", "sh2_tue"}
    lines = list(csv.DictReader(io.StringIO(get(api, "sh_manager", "/teams/上海组/evaluation", format="csv",
                                                **week).text)))
    assert [(line["rep"], line["calls"]) for line in lines] == [("sh@example.com", "3"),
                                                                ("sh2@example.com", "1"), ("team", "4")]


def test_rollups_hold_local_days_and_follow_changes_and_the_zone_setting(api, tmp_path):
    with api.app.state.sessions() as s:
        rows = {(r.rep_id, r.day): (r.calls, r.zone) for r in s.scalars(select(RepDayStat))}
    sh, ny = api.reps["sh"], api.reps["ny"]
    assert {k: v for k, v in rows.items() if k[0] == sh} == {
        (sh, "2026-11-29"): (1, "Asia/Shanghai"), (sh, "2026-11-30"): (2, "Asia/Shanghai"),
        (sh, "2026-12-06"): (1, "Asia/Shanghai"), (sh, "2026-12-07"): (1, "Asia/Shanghai")}
    assert {k: v for k, v in rows.items() if k[0] == ny} == {
        (ny, "2026-11-29"): (1, "America/New_York"), (ny, "2026-11-30"): (1, "America/New_York"),
        (ny, "2026-12-06"): (1, "America/New_York"), (ny, "2026-12-07"): (1, "America/New_York")}

    # an override refreshes the local day it is on; a deletion empties its local day
    headers = {"Authorization": f"Bearer {api.who['sh_manager']}"}
    r = api.put(f"/api/v1/calls/{api.ids['sh_mon_0730']}/scorecard/items/opening", headers=headers,
                json={"passed": False, "reason": "no introduction"})
    assert r.status_code == 200, r.text
    rescored = r.json()["score"]
    assert api.delete(f"/api/v1/calls/{api.ids['sh_sun_2359']}", headers=headers).status_code == 204
    week = get(api, "sh_manager", f"/reps/{sh}/evaluation", **{"from": WEEK[0], "to": WEEK[1]}).json()
    assert week["calls"] == 2 and week["team"]["calls"] == 3
    assert week["team"]["average_score"]["rep"] == pytest.approx((80.0 + rescored) / 2, abs=0.01)
    with api.app.state.sessions() as s:
        assert s.get(RepDayStat, (sh, "2026-12-06")) is None
        assert s.get(RepDayStat, (sh, "2026-11-30")).calls == 2

    # the zone setting changes (CALLSCOPE_DISPLAY_TZ=UTC): the next start cuts every rep's days in UTC
    was = api.app.state.settings
    settings = Settings(data_dir=was.data_dir, database_url=api.url, webhook_delivery=False,
                        team_config=was.team_config, display_tz="UTC")
    with TestClient(create_app(settings, start_workers=False)) as utc:
        with utc.app.state.sessions() as s:
            rows = {(r.rep_id, r.day): (r.calls, r.zone) for r in s.scalars(select(RepDayStat))}
            token = create_token(s, "manager", team="上海组")[0]
            s.commit()
        left = [t for t in CALLS if t != "sh_sun_2359"]
        expected: dict[tuple[int, str], int] = {}
        for title in left:
            key = (api.reps[CALLS[title][0]], CALLS[title][1].astimezone(timezone.utc).date().isoformat())
            expected[key] = expected.get(key, 0) + 1
        assert rows == {k: (n, "UTC") for k, n in expected.items()}
        r = utc.get(f"/api/v1/reps/{sh}/evaluation", params={"from": WEEK[0], "to": WEEK[1]},
                    headers={"Authorization": f"Bearer {token}"})
        body = r.json()
        assert body["period"]["timezone"] == "UTC"
        # in UTC the two Monday-morning calls are Sunday's, and Monday 00:05 of the next week is this one's
        assert call_titles(api, body["call_list"]) == {"sh_mon_next"}


# --- the rep page in a real browser ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_rep_page_shows_local_days_and_the_weeks_the_api_counts(tmp_path):
    """Calls of last week's Monday morning and Sunday night (local) in both zones, seeded into a real
    `callscope serve`: an admin (whose own zone is neither rep's: CALLSCOPE_TIMEZONE=UTC) opens each
    rep's page; its call rows show the rep's local times and its chart's weeks are the API's."""
    from playwright import sync_api

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run tests/prepare_machine.sh"
    now = datetime.now(timezone.utc)
    moments: dict[str, tuple[str, datetime, float]] = {}
    for rep, zone in (("sh", SH), ("ny", NY)):
        local = now.astimezone(zone)
        monday = datetime.combine(local.date() - timedelta(days=local.weekday() + 7), datetime.min.time(),
                                  zone)
        moments[f"{rep}-monday"] = (rep, monday + timedelta(hours=7, minutes=30), 90.0)
        moments[f"{rep}-sunday"] = (rep, monday - timedelta(minutes=20), 50.0)  # the week before
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir)
    seed(settings.resolved_database_url, moments)
    engine = make_engine(settings.resolved_database_url)
    with session_factory(engine)() as s:
        token = create_token(s, "admin")[0]
        reps = {key: s.scalar(select(User.id).where(User.email == email))
                for key, (email, _, _) in REPS.items()}
        s.commit()
    engine.dispose()
    server = Server(data_dir, {"CALLSCOPE_TEAM_CONFIG": str(team_config(tmp_path)),
                               "CALLSCOPE_TIMEZONE": "UTC", "CALLSCOPE_DISPLAY_TZ": "",
                               "CALLSCOPE_WEBHOOK_DELIVERY": "false"}).start()
    try:
        since = (now - timedelta(days=30)).isoformat()
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=server.base)
            page = context.new_page()
            page.goto("/login")
            page.fill("#token", token)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_load_state()
            for rep, zone in (("sh", SH), ("ny", NY)):
                evaluation = httpx.get(f"{server.base}/api/v1/reps/{reps[rep]}/evaluation",
                                       params={"from": since}, headers={"Authorization": f"Bearer {token}"},
                                       timeout=60).json()
                assert evaluation["trend"]["timezone"] == str(zone)
                weeks = {w["from"]: w["calls"] for w in evaluation["trend"]["by_week"]}
                mine = {k: v for k, v in moments.items() if v[0] == rep}
                assert weeks == {(m[1].date() - timedelta(days=m[1].weekday())).isoformat(): 1
                                 for m in mine.values()}  # two weeks, one call each
                page.goto(f"/reps/{reps[rep]}")
                assert drawn_weeks(page) == weeks
                shown = page.locator("tr.call-row td.nowrap").all_text_contents()
                assert sorted(shown) == sorted(m[1].strftime("%Y-%m-%d %H:%M") for m in mine.values())
            browser.close()
    finally:
        server.stop()
