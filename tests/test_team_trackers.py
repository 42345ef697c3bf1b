"""Trackers and hotwords per team, through the API and the trackers page: keyword groups over the
service's, matched on whole jieba words (贵 in 贵公司 is not about price), hits stored per call,
filterable in the call list and shown on the call page, and the team's hotwords handed to the real
recogniser for that team's calls. Real SQLite, real NLP, real ASR on a real recording for the hotwords.
(tests/test_web_browser.py drives the same pages in Chromium.)"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from callscope.api.app import create_app
from callscope.api.services.results import store_analysis
from callscope.api.tokens import create_token
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.models.orm import AuditEvent, Call, Team, User
from callscope.nlp.hits import load_trackers
from callscope.pipeline import rescore
from tests.test_api_access import short_audio
from tests.test_webhooks import transcript

V1 = "/api/v1"
# 贵 only inside 贵公司 and 宝贵, a competitor, a complaint (the team's own risk word)
HONORIFIC = [("rep", "王总您好，我是云帆科技的李明，想了解一下贵公司仓库现在的情况。"),
             ("customer", "我们现在用的是金蝶，不过客户投诉发货慢。"),
             ("rep", "感谢您抽出宝贵的时间，我下周二发方案给您。")]
PRICE = [("rep", "您好，我是云帆科技的李明。"),
         ("customer", "你们这个有点贵，客户投诉也多。")]


@pytest.mark.parametrize(("said", "expected"), [
    ("贵公司最近怎么样", set()), ("贵司的需求我们了解了", set()), ("感谢您宝贵的时间", set()),
    ("这个有点贵", {"pricing"}), ("你们太贵了", {"pricing"}), ("贵不贵啊", {"pricing"}),
    ("报价单发我一下", {"pricing"}), ("我们在用金蝶", {"competitors"}),
    ("比较贵，预算不够", {"pricing", "budget"}), ("价格便宜一些", {"pricing"}),
    ("合同条款可以谈", {"contract_terms"}),
    ("the price is too high", {"pricing"}), ("priceless", set()),
])
def test_a_tracker_counts_on_whole_words(said, expected):
    assert {m.name for m in load_trackers().find(said)} == expected


@pytest.fixture
def api(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data", webhook_delivery=False),
                                   start_workers=False))
    client.__enter__()
    with client.app.state.sessions() as s:
        east, west = Team(name="East"), Team(name="West")
        s.add_all([east, west, User(email="a@example.com", name="李明", team=east),
                   User(email="b@example.com", name="王芳", team=west)])
        s.flush()
        client.who = {"admin": create_token(s, "admin")[0],
                      "east": create_token(s, "manager", team="East")[0],
                      "east_rep": create_token(s, "rep", rep="a@example.com")[0],
                      "west": create_token(s, "manager", team="West")[0],
                      "integration": create_token(s, "integration")[0]}
        s.commit()
    client.pool = WorkerPool(client.app.state.sessions, client.app.state.settings)
    yield client
    client.__exit__(None, None, None)


def auth(api: TestClient, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.who[who]}"}


def _stored(api: TestClient, email: str, lines: list[tuple[str, str]], day: int) -> int:
    """A done call of the rep, analysed on the service's trackers (as before the team set its own)."""
    analysis = rescore(transcript(lines), "default")
    with api.app.state.sessions() as s:
        rep = s.query(User).filter_by(email=email).one()
        call = Call(rep_id=rep.id, title=f"通话 {day}",
                    started_at=datetime(2026, 11, day, 2, tzinfo=timezone.utc), audio_path="x.flac",
                    sha256=f"{day:064d}", size=1, status="done")
        s.add(call)
        s.flush()
        store_analysis(s, call, analysis.to_dict(), analysis.transcript.to_dict(), "default")
        s.commit()
        return call.id


def _listed(api: TestClient, tracker: str) -> set[int]:
    r = api.get(f"{V1}/calls", params={"tracker": tracker}, headers=auth(api, "admin"))
    assert r.status_code == 200, r.text
    assert all(tracker in c["trackers"] for c in r.json()["items"])  # each call says which fired
    return {c["id"] for c in r.json()["items"]}


def test_team_trackers_are_stored_per_call_and_filter_the_list(api):
    east_call = _stored(api, "a@example.com", HONORIFIC, 3)
    east_price = _stored(api, "a@example.com", PRICE, 4)
    west_call = _stored(api, "b@example.com", PRICE, 5)
    assert _listed(api, "pricing") == {east_price, west_call}  # 贵公司 and 宝贵 are not about price
    assert _listed(api, "competitors") == {east_call}

    body = {"trackers": {"risk_words": ["投诉", "退款"], "competitors": ["金蝶", "纷享销客"]},
            "hotwords": ["云帆科技", " 仓储通 ", "云帆科技"]}
    assert api.put(f"{V1}/teams/East/trackers", headers=auth(api, "west"), json=body).status_code == 404
    r = api.put(f"{V1}/teams/East/trackers", headers=auth(api, "east"), json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["hotwords"] == ["云帆科技", "仓储通"] and got["trackers"]["risk_words"] == ["投诉", "退款"]
    assert got["effective"]["trackers"]["competitors"] == ["金蝶", "纷享销客"]  # the team's group replaces
    assert "pricing" in got["effective"]["trackers"]  # the service's other groups stay
    assert api.get(f"{V1}/teams/East/trackers", headers=auth(api, "east")).json() == got
    bad = api.put(f"{V1}/teams/East/trackers", headers=auth(api, "east"), json={"trackers": {"a b": ["x"]}})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("trackers.a b:")

    # re-scoring (no ASR) applies them: the team's risk word is a hit on its calls, not on another team's
    r = api.post(f"{V1}/rescores", headers=auth(api, "admin"), json={})
    assert r.status_code == 202 and r.json()["total"] == 3
    while api.pool.run_once("t:1:0") is not None:
        pass
    assert _listed(api, "risk_words") == {east_call, east_price}
    assert _listed(api, "pricing") == {east_price, west_call}
    hits = api.get(f"{V1}/calls/{east_call}/analysis", headers=auth(api, "admin")).json()["trackers"]
    assert {(h["name"], h["term"]) for h in hits} == {("competitors", "金蝶"), ("risk_words", "投诉")}
    assert _listed(api, "risk%") == set()  # a name, not a pattern


def test_a_teams_hotwords_reach_the_recogniser(api):
    api.put(f"{V1}/teams/East/trackers", headers=auth(api, "east"), json={"hotwords": ["云帆科技"]})
    calls = {}
    for email, offset in (("a@example.com", 30.0), ("b@example.com", 33.0)):
        r = api.post(f"{V1}/calls", headers=auth(api, "integration"), data={"rep": email},
                     files={"file": ("call.flac", short_audio(3.0, offset), "audio/flac")})
        assert r.status_code == 202, r.text
        calls[email] = r.json()["id"]
    while api.pool.run_once("t:1:0") is not None:  # the real pipeline: decode, annotate, score
        pass
    east = api.get(f"{V1}/calls/{calls['a@example.com']}/analysis", headers=auth(api, "admin")).json()
    west = api.get(f"{V1}/calls/{calls['b@example.com']}/analysis", headers=auth(api, "admin")).json()
    assert east["asr"]["hotwords"] == ["云帆科技"]
    assert west["asr"]["hotwords"] == []


def _tracker_attrs(html: str, cls: str = "chip tracker") -> list[str]:
    return re.findall(rf'class="{cls}"[^>]*?data-tracker="([^"]+)"', html)


def test_the_trackers_page_edits_through_the_service(api):
    page = api.get("/trackers", headers=auth(api, "east"))
    assert page.status_code == 200 and 'data-tracker="pricing" data-source="service"' in page.text
    form = {"team": "East", "name": "risk_words", "phrases": "投诉\n退款，投诉、解约"}
    done = api.post("/trackers/groups", headers=auth(api, "east"), data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("#tracker-risk_words")
    # a service group changed on the page becomes the team's own, and deleting it brings the default back
    api.post("/trackers/groups", headers=auth(api, "east"),
             data={"team": "East", "original": "pricing", "name": "pricing", "phrases": "报价"})
    stored = api.get(f"{V1}/teams/East/trackers", headers=auth(api, "east")).json()
    assert stored["trackers"] == {"risk_words": ["投诉", "退款", "解约"], "pricing": ["报价"]}
    page = api.get("/trackers", headers=auth(api, "east"))
    assert 'data-tracker="pricing" data-source="replaced"' in page.text
    api.post("/trackers/groups/delete", headers=auth(api, "east"), data={"team": "East", "name": "pricing"})
    api.post("/trackers/hotwords", headers=auth(api, "east"),
             data={"team": "East", "hotwords": "云帆科技\n仓储通"})
    stored = api.get(f"{V1}/teams/East/trackers", headers=auth(api, "east")).json()
    assert stored["trackers"] == {"risk_words": ["投诉", "退款", "解约"]}
    assert stored["hotwords"] == ["云帆科技", "仓储通"]
    assert stored["effective"]["trackers"]["pricing"][0] == "价格"

    # bad input: one line above the forms, what was typed kept, nothing saved
    for data, said in (({"name": "a b", "phrases": "x"}, "trackers.a b:"),
                       ({"name": "risk_words", "phrases": "x"}, "already has a tracker"),
                       ({"name": "empty", "phrases": " ，\n"}, "trackers.empty: 1 to 500 words")):
        bad = api.post("/trackers/groups", headers=auth(api, "east"), data={"team": "East", **data})
        assert bad.status_code == 422 and said in bad.text, bad.text
        alert = re.search(r'<p class="alert" role="alert" id="tracker-error">(.*?)</p>', bad.text, re.S)
        assert alert and "\n" not in alert.group(1)
        assert f'value="{data["name"]}"' in bad.text
    assert api.get(f"{V1}/teams/East/trackers", headers=auth(api, "east")).json()["trackers"] == \
        stored["trackers"]

    # a rep reads the page without forms and may not post; another team's manager sees no such team;
    # a post from another site is refused
    read = api.get("/trackers", headers=auth(api, "east_rep"))
    assert read.status_code == 200 and "risk_words" in read.text and 'action="/trackers' not in read.text
    assert api.post("/trackers/groups", headers=auth(api, "east_rep"),
                    data={"team": "East", "name": "x", "phrases": "y"}).status_code == 403
    assert api.post("/trackers/hotwords", headers=auth(api, "west"),
                    data={"team": "East", "hotwords": "y"}).status_code == 404
    assert api.post("/trackers/hotwords", headers={**auth(api, "east"), "Origin": "https://evil.example"},
                    data={"team": "East", "hotwords": "y"}).status_code == 403
    assert api.get(f"{V1}/teams/East/trackers", headers=auth(api, "east")).json()["hotwords"] == \
        ["云帆科技", "仓储通"]
    with api.app.state.sessions() as s:  # every change is in the audit log, by whom
        events = s.query(AuditEvent).filter_by(action="trackers.update").all()
    assert len(events) == 4 and {e.actor for e in events} == {"manager@East"}

    # an admin picks the team; the call list offers each caller the trackers their calls may have hit
    west = api.get("/trackers", params={"team": "West"}, headers=auth(api, "admin"))
    assert west.status_code == 200 and '<select name="team">' in west.text
    assert 'data-tracker="risk_words"' not in west.text and "West</small>" in west.text
    option = '<option value="risk_words"'
    assert option in api.get("/calls", headers=auth(api, "admin")).text
    assert option in api.get("/calls", headers=auth(api, "east_rep")).text
    assert option not in api.get("/calls", headers=auth(api, "west")).text


def test_the_call_page_and_list_show_tracker_hits_never_inside_a_larger_word(api):
    honorific = _stored(api, "a@example.com", HONORIFIC, 3)  # 贵公司, 宝贵: not about price
    price = _stored(api, "a@example.com", PRICE, 4)  # 有点贵
    page = api.get(f"/calls/{honorific}", headers=auth(api, "east"))
    assert page.status_code == 200
    assert "pricing" not in _tracker_attrs(page.text) and "competitors" in _tracker_attrs(page.text)
    assert 'class="tl-mark tracker"' in page.text and 'data-tracker="pricing"' not in page.text
    page = api.get(f"/calls/{price}?lang=en", headers=auth(api, "east"))
    assert "pricing" in _tracker_attrs(page.text) and "<b>Pricing</b> 贵" in page.text

    listed = api.get("/calls", params={"tracker": "pricing"}, headers=auth(api, "east"))
    assert re.findall(r'data-call="(\d+)"', listed.text) == [str(price)]
    assert '<option value="pricing" selected>' in listed.text
    assert re.findall(r'data-call="(\d+)"', api.get("/calls", headers=auth(api, "east")).text) == \
        [str(price), str(honorific)]
    both = api.get("/calls", params={"tracker": "competitors", "q": "金蝶"}, headers=auth(api, "east"))
    assert re.findall(r'data-call="(\d+)"', both.text) == [str(honorific)]
