"""Chat notifications as the four platforms' robots see them, on loopback: a WeCom group robot, a DingTalk
custom robot with 加签 (it refuses the first attempts of each message with "send too fast", as DingTalk
does: HTTP 200 and an errcode), a Feishu custom robot with 签名校验, and a Slack incoming webhook that is
down until the server has stopped. Each robot checks its platform's message JSON and (DingTalk, Feishu)
the signature with a verifier written here from the platform's documentation. Real SQLite, the real NLP
and scoring on crafted transcripts (no ASR). Every notification arrives once; no personal number is in
any message; secrets are never shown back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from callscope.api import chat, notifications
from callscope.api.app import create_app
from callscope.api.tokens import create_token
from callscope.api.worker import WorkerPool
from callscope.core.config import Settings
from callscope.models.db import make_engine, migrate, session_factory
from callscope.models.orm import Call, ChatChannel, Deal, Team, User, WebhookDelivery
from callscope.pipeline import rescore
from tests.service_support import LoopbackServer, Server, database_url, free_port
from tests.test_api_access import short_audio
from tests.test_webhooks import CLOSING, transcript

NOW = datetime.now(timezone.utc)
ZONE = ZoneInfo("Asia/Shanghai")
PHONE, DEAL_PHONE = "13812345678", "13900001111"
# the slipping call of test_webhooks' crafted timeline, with a forbidden promise and a phone number said
SLIPPING = [("rep", "您好，王总，我是云帆科技的李明，今天想跟您聊聊仓储系统的方案。"),
            ("customer", f"你们这个价格太贵了，有事打我手机{PHONE}。"),
            ("rep", "我们的系统功能很多，而且我们保证收益，绝对没有风险。"),
            ("customer", "我们现在用的是金蝶，他们比你们便宜百分之十五。"),
            ("rep", "那我下周二下午给您发一份详细方案，再约时间给您演示。"),
            ("customer", "好的，下周二下午。")]
GOOD = [("rep", "您好，张经理，我是云帆科技的王芳，今天打电话是想了解一下贵公司仓库管理的情况，"
                "大概占用您十分钟。"),
        ("customer", "可以，你说吧。"),
        ("rep", "您现在仓库出入库是怎么管理的？遇到的最大问题是什么？"),
        ("customer", "主要是盘点慢，月底对账经常对不上，人工录入错误多。"),
        ("rep", "明白，这个项目的预算大概是多少？除了您还有谁参与决定？"),
        ("customer", "预算二十万左右，最后要我们总经理拍板。"),
        ("rep", "好的，那我下周三上午十点带方案过来给您和总经理演示，您看可以吗？"),
        ("customer", "可以，下周三上午十点。")]


class Robot(LoopbackServer):
    """One platform's robot on loopback: checks the URL's credential, the message JSON and the signature
    as the platform documents them, and answers as the platform does. refuse_first: DingTalk's "send too
    fast" (HTTP 200, errcode 130101) to the first attempts of each message."""

    TAKEN = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
             "feishu": {"code": 0, "msg": "success", "data": {}}, "slack": "ok"}
    SIGN_MISMATCH = {"dingtalk": {"errcode": 310000, "errmsg": "sign not match"},
                     "feishu": {"code": 19021, "msg": "sign match fail or timestamp is not within one hour",
                                "data": {}}}

    def __init__(self, platform: str, secret: str | None = None, refuse_first: int = 0) -> None:
        self.platform, self.secret, self.refuse_first = platform, secret, refuse_first
        self.port = free_port()
        self.credential = f"tok{platform}{self.port}x7Q"  # the key / token / hook id in the URL
        path = {"wecom": f"/cgi-bin/webhook/send?key={self.credential}",
                "dingtalk": f"/robot/send?access_token={self.credential}",
                "feishu": f"/open-apis/bot/v2/hook/{self.credential}",
                "slack": f"/services/T0001/B0001/{self.credential}"}[platform]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    # --- the platform's checks, from its documentation ---

    def _signed(self, query: dict, body: dict) -> bool:
        now = time.time()
        if self.platform == "dingtalk":  # timestamp (ms) and sign in the query; sign = base64 HMAC-SHA256
            stamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]  # of ts\nsecret
            if not stamp.isdigit() or abs(now * 1000 - int(stamp)) > 3600 * 1000:
                return False
            expected = base64.b64encode(hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            return hmac.compare_digest(sign, expected)
        if self.platform == "feishu":  # timestamp (s) and sign in the body; key = ts\nsecret, empty message
            stamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if not stamp.isdigit() or abs(now - int(stamp)) > 3600:
                return False
            expected = base64.b64encode(hmac.new(f"{stamp}\n{self.secret}".encode(), b"",
                                                 hashlib.sha256).digest()).decode()
            return hmac.compare_digest(sign, expected)
        return True

    def _title(self, body: dict) -> str:
        """The message's title, checking its shape against the platform's documented JSON."""
        if self.platform == "wecom":
            assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
            content = body["markdown"]["content"]
            assert isinstance(content, str) and len(content.encode()) <= 4096
            return content.split("\n")[0].strip("*")
        if self.platform == "dingtalk":
            assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
            assert body["markdown"]["text"].startswith("#### ")
            return body["markdown"]["title"]
        if self.platform == "feishu":
            assert body["msg_type"] == "post" and len(json.dumps(body).encode()) <= 20 * 1024
            (language, post), = body["content"]["post"].items()
            assert language in ("zh_cn", "en_us")
            for line in post["content"]:
                for element in line:
                    assert element["tag"] in ("text", "a") and isinstance(element["text"], str)
                    assert element["tag"] == "text" or element["href"].startswith("http")
            return post["title"]
        assert isinstance(body["text"], str) and body["blocks"][0]["type"] == "header"
        assert all(b["type"] == "section" and b["text"]["type"] == "mrkdwn" and len(b["text"]["text"]) <= 3000
                   for b in body["blocks"][1:])
        return body["text"]

    def start(self) -> Robot:
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                body = json.loads(raw)
                in_query = {"wecom": "key", "dingtalk": "access_token"}.get(robot.platform)
                credential = query.get(in_query, [""])[0] if in_query else parts.path.rsplit("/", 1)[-1]
                signed = robot._signed(query, body)
                try:
                    title, malformed = robot._title(body), None
                except (AssertionError, KeyError, TypeError, ValueError) as err:
                    title, malformed = "", repr(err)
                with robot._lock:
                    tries = sum(1 for r in robot.requests if r["title"] == title)
                    if malformed:
                        answer, ok = {"errcode": 40035, "errmsg": "invalid message", "code": 9499}, False
                    elif credential != robot.credential:
                        answer, ok = {"errcode": 93000, "errmsg": "invalid webhook url"}, False
                    elif not signed:
                        answer, ok = robot.SIGN_MISMATCH[robot.platform], False
                    elif tries < robot.refuse_first:
                        answer, ok = {"errcode": 130101, "errmsg": "send too fast"}, False
                    else:
                        answer, ok = robot.TAKEN[robot.platform], True
                    robot.requests.append({"title": title, "body": body, "raw": raw, "ok": ok,
                                           "signed": signed, "malformed": malformed})
                out = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.serve(Handler)
        return self

    def accepted(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for r in self.requests:
                if r["ok"]:
                    counts[r["title"]] = counts.get(r["title"], 0) + 1
            return counts

    def wait_for(self, count: int, timeout: float = 60) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.accepted()) >= count:
                return self.accepted()
            time.sleep(0.1)
        problems = [r["malformed"] or r["body"] for r in self.requests if not r["ok"]][-3:]
        raise AssertionError(f"{self.platform}: {len(self.accepted())} of {count} in {timeout}s: {problems}")

    def message(self, starts: str) -> dict:
        return next(r["body"] for r in self.requests if r["ok"] and r["title"].startswith(starts))


@pytest.fixture
def robots():
    made: list[Robot] = []
    yield made
    for r in made:
        r.stop()


def _client(settings: Settings) -> TestClient:
    client = TestClient(create_app(settings, start_workers=False))
    client.__enter__()
    return client


def _text(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def _settled(api: TestClient, url: str, headers: dict) -> list[dict]:
    """A delivery log once nothing in it is pending (a robot's answer is recorded just after it has it)."""
    deadline = time.monotonic() + 10
    while True:
        log = api.get(url, headers=headers).json()["items"]
        if all(d["status"] != "pending" for d in log) or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


def _review_reasons(doc: dict, min_score: float) -> set[str]:
    """What makes a call need review, read off the analysis the API serves."""
    card = doc["scorecard"]
    reasons = set()
    if card["score"] < min_score:
        reasons.add("score")
    if any(i["id"] == "compliance" and i["passed"] is False for i in card["items"]):
        reasons.add("compliance")
    if any(not o["handled"] for o in doc["objections"]):
        reasons.add("unhandled_objection")
    return reasons


def test_each_platform_gets_each_notification_once_signed_and_redacted(tmp_path, robots):
    settings = Settings(data_dir=tmp_path / "data", max_upload_bytes=3_000_000, webhook_backoff_base=0.2,
                        webhook_backoff_max=1.0, public_url="https://callscope.example.com")
    api = _client(settings)
    with api.app.state.sessions() as s:
        east, west = Team(name="华东一组"), Team(name="华南组")
        s.add_all([east, west, User(email="li.ming@example.com", name="李明", team=east),
                   User(email="wang.fang@example.com", name="王芳", team=east)])
        s.flush()
        manager = {"Authorization": f"Bearer {create_token(s, 'manager', team='华东一组')[0]}"}
        other = {"Authorization": f"Bearer {create_token(s, 'manager', team='华南组')[0]}"}
        rep = {"Authorization": f"Bearer {create_token(s, 'rep', rep='li.ming@example.com')[0]}"}
        admin = {"Authorization": f"Bearer {create_token(s, 'admin')[0]}"}
        s.commit()
    base = "/api/v1/teams/华东一组/notifications"
    wecom = Robot("wecom").start()
    dingtalk = Robot("dingtalk", secret="SECd1n9Ta1kS3cretF0rTests0123456789abcdef", refuse_first=2).start()
    feishu = Robot("feishu", secret="fe1shuS1gnSecret").start()
    slack = Robot("slack")  # down until the server has stopped
    robots += [wecom, dingtalk, feishu, slack]

    # --- set-up through the API; bad set-ups are a 422 naming the field; others' teams are not found ---
    r = api.put(base, headers=manager, json={"language": "zh", "review": {"min_score": 70}})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["review"] == {"min_score": 70, "compliance": True,
                                              "unhandled_objection": True}
    assert r.json()["settings"]["digest"]["weekday"] == 1  # the defaults fill in the rest
    bad = [({"platform": "wecom", "url": "http://127.0.0.1:9/cgi-bin/webhook/send"}, "url:"),
           ({"platform": "wecom", "url": wecom.url, "secret": "x"}, "secret:"),
           ({"platform": "dingtalk", "url": dingtalk.url, "secret": "not-sec"}, "secret:"),
           ({"platform": "teams", "url": "https://x.example.com/hook"}, "platform:"),
           ({"platform": "slack", "url": "ftp://x/y"}, "url:"),
           ({"platform": "slack", "url": slack.url, "notifications": ["everything"]}, "notifications")]
    for body, field in bad:
        r = api.post(f"{base}/channels", headers=manager, json=body)
        assert r.status_code == 422 and r.json()["detail"].startswith(field), (body, r.text)
    r = api.post(f"{base}/channels", headers=rep, json={"platform": "slack", "url": slack.url})
    assert r.status_code == 404
    assert api.get(base, headers=other).status_code == 404
    made = {}
    for robot in (wecom, dingtalk, feishu, slack):
        body = {"platform": robot.platform, "url": robot.url, "name": f"{robot.platform} 群"}
        if robot.secret:
            body["secret"] = robot.secret
        r = api.post(f"{base}/channels", headers=manager, json=body)
        assert r.status_code == 201, r.text
        made[robot.platform] = r.json()
        assert r.json()["signed"] is bool(robot.secret)
        assert r.json()["notifications"] == ["call_review", "deal_risk", "weekly_digest"]
    shown = api.get(base, headers=manager).text + api.get(f"{base}/channels", headers=admin).text
    shown += "".join(api.get(f"{base}/channels/{c['id']}", headers=manager).text for c in made.values())
    for robot in (wecom, dingtalk, feishu, slack):
        assert robot.credential not in shown and (robot.secret or robot.credential) not in shown
        assert robot.credential[-4:] in shown  # cut to its last 4 characters
    assert "access_token=…" in shown and "/hook/…" in shown

    # --- three calls: the closing one and the slipping one of deal CRM-R (李明), a good one (王芳) ---
    api.put("/api/v1/deals/CRM-R", headers=admin, json={"name": f"王总仓储项目 {DEAL_PHONE}",
                                                         "owner": "li.ming@example.com"})

    def upload(offset: float, started: datetime, who: str, title: str, deal: str | None = None) -> int:
        fields = {"rep": who, "started_at": started.isoformat(), "title": title}
        if deal:
            fields["deal"] = deal
        r = api.post("/api/v1/calls", headers=admin, data=fields,
                     files={"file": ("c.flac", short_audio(2.0, offset), "audio/flac")})
        assert r.status_code == 202, r.text
        return r.json()["id"]

    slipping_at = NOW - timedelta(days=40)
    # a week before the slipping call: in another ISO week whatever weekday the test runs on (its digest
    # counts one call)
    closing_at = slipping_at - timedelta(days=7)
    closing = upload(0.0, closing_at, "li.ming@example.com", "签约确认", "CRM-R")
    slipping = upload(3.0, slipping_at, "li.ming@example.com", "方案沟通", "CRM-R")
    good = upload(6.0, slipping_at + timedelta(hours=1), "wang.fang@example.com", "需求调研")
    lines = {closing: CLOSING, slipping: SLIPPING, good: GOOD}
    with api.app.state.sessions() as s:
        by_path = {s.get(Call, i).audio_path: i for i in lines}

    def analyze(path, options, _settings):  # noqa: ANN001, ANN202 - the pipeline's signature
        call_id = by_path[str(Path(path).relative_to(settings.data_dir))]
        return rescore(transcript(lines[call_id]), options.rubric)

    pool = WorkerPool(api.app.state.sessions, settings, analyze_fn=analyze)
    assert [pool.run_once("t:0:0") for _ in range(3)] == ["done"] * 3
    docs = {i: api.get(f"/api/v1/calls/{i}/analysis", headers=admin).json() for i in lines}
    reviewed = {i: _review_reasons(d, 70) for i, d in docs.items() if _review_reasons(d, 70)}
    assert reviewed[slipping] == {"score", "compliance", "unhandled_objection"}, docs[slipping]["scorecard"]
    assert good not in reviewed, docs[good]["scorecard"]["score"]
    risk = api.get("/api/v1/deals/CRM-R/insights", headers=admin).json()["risk"]
    assert risk["level"] == "high"
    expected = len(reviewed) + 1  # the calls to review and the deal's rise

    # a re-score raises nothing new: the call's review was sent to each robot already
    assert api.post(f"/api/v1/calls/{slipping}/rescore", headers=admin).status_code == 202
    pool.run_once("t:0:0")
    for robot in (wecom, dingtalk, feishu):
        got = robot.wait_for(expected)
        assert got == dict.fromkeys(got, 1) and len(got) == expected, got  # once each
    assert all(r["signed"] for r in dingtalk.requests + feishu.requests)
    assert len(dingtalk.requests) == 3 * expected  # two refusals ("send too fast"), then taken
    log = _settled(api, f"{base}/channels/{made['dingtalk']['id']}/deliveries", manager)
    assert len(log) == expected and all(d["status"] == "delivered" and d["attempts"] == 3 for d in log)
    assert {d["event"] for d in log} == {"chat.call_review", "chat.deal_risk"}
    assert dingtalk.credential not in json.dumps(log)

    # what a review says: the reasons in the team's language, each moment linked, the call page linked
    review = _text(feishu.message("通话需要复核：李明《方案沟通》"))
    assert "低于本组复核线 70" in review and "价格异议没有回应" in review
    assert "合规风险：“保证收益”、“绝对没有风险”" in review  # the phrases said, one line for their turn
    assert slipping_at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") in review  # the call's local time
    objection = next(o for o in docs[slipping]["objections"] if o["type"] == "price")
    assert f"https://callscope.example.com/calls/{slipping}#t={objection['start']:.1f}" in review
    assert f'"href": "https://callscope.example.com/calls/{slipping}"' in review
    wecom_review = wecom.message("通话需要复核：李明《方案沟通》")["markdown"]["content"]
    assert f"](https://callscope.example.com/calls/{slipping}#t=" in wecom_review
    risk_message = _text(dingtalk.message("商机风险升高"))
    # the closing call, analysed 47 days on, already made the deal high: no contact, no progress
    assert "风险 低 → 高" in risk_message and "天没有和客户通话" in risk_message
    assert "天阶段没有推进" in risk_message
    assert "https://callscope.example.com/deals/CRM-R" in risk_message
    for robot in (wecom, dingtalk, feishu):  # redaction on: no personal number in any message
        for request in robot.requests:
            text = request["raw"].decode()
            assert PHONE not in text and DEAL_PHONE not in text and "13812" not in text, text
    assert "[电话]" in review and "[电话]" in risk_message

    # --- the weekly digest of the slipping call's week, on demand, now in English ---
    local = slipping_at.astimezone(ZONE).date()
    week = notifications.week_name(local - timedelta(days=local.weekday()))
    assert api.put(base, headers=manager, json={"language": "en"}).json()["settings"]["language"] == "en"
    assert api.get(base, headers=manager).json()["settings"]["review"]["min_score"] == 70  # kept
    r = api.post(f"{base}/digest", headers=manager, json={"week": week})
    assert r.status_code == 202, r.text
    assert r.json()["week"] == week and r.json()["queued"] == 2 * 4  # two reps, four robots
    assert sorted(rep["name"] for rep in r.json()["reps"]) == ["李明", "王芳"]
    again = api.post(f"{base}/digest", headers=manager, json={"week": week}).json()
    assert again["queued"] == 0 and again["already_queued"] == 8
    assert api.post(f"{base}/digest", headers=manager, json={"week": "2026-W60"}).status_code == 422
    for robot in (wecom, dingtalk, feishu):
        got = robot.wait_for(expected + 2)
        assert got == dict.fromkeys(got, 1) and len(got) == expected + 2, got
    digest = _text(feishu.message(f"Weekly coaching: 李明 ({week})"))
    assert '"en_us"' in digest and "Calls this week: 1" in digest and "Focus on: " in digest
    assert f"https://callscope.example.com/calls/{slipping}#t=" in digest  # the focus area's moments
    assert "https://callscope.example.com/reps/" in digest and "Strengths:" in digest
    focus = digest.split("Focus on: ")[1].split("▶")[0]  # the item's name and feedback, in English
    assert re.match(r"[A-Z][a-z]+( [a-z]+)* \(passed \d+%\)", focus), focus
    assert not re.search("[\u4e00-\u9fff]", focus), focus

    # --- the schedule: last week's digests go out from the team's weekday and hour, once ---
    closing_day = closing_at.astimezone(ZONE).date()
    next_monday = closing_day + timedelta(days=7 - closing_day.weekday())
    with api.app.state.sessions() as s:
        early = datetime.combine(next_monday, datetime.min.time(), ZONE) + timedelta(hours=8)
        assert notifications.send_due_digests(s, settings, now=early) == 0  # before 09:00
        assert notifications.send_due_digests(s, settings, now=early + timedelta(hours=2)) == 4  # 李明
        assert notifications.send_due_digests(s, settings, now=early + timedelta(hours=3)) == 0
        s.commit()
    for robot in (wecom, dingtalk, feishu):
        assert len(robot.wait_for(expected + 3)) == expected + 3

    # deleting a call drops the undelivered messages that quote it: 王芳's digest still owed to Slack
    assert api.delete(f"/api/v1/calls/{good}", headers=admin).status_code == 204
    # --- the server stops while Slack is down; back up, Slack gets every message once ---
    api.__exit__(None, None, None)
    slack.start()
    api = _client(settings)
    got = slack.wait_for(expected + 2)
    assert got == dict.fromkeys(got, 1) and len(got) == expected + 2
    assert not any(title.startswith("Weekly coaching: 王芳") for title in got)
    slack_review = _text(slack.message("通话需要复核：李明《方案沟通》"))
    assert f"<https://callscope.example.com/calls/{slipping}|" in slack_review
    assert PHONE not in slack_review
    deadline = time.monotonic() + 10  # the last answer is recorded just after the robot has it
    while time.monotonic() < deadline:
        with api.app.state.sessions() as s:
            rows = list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.channel_id.is_not(None))))
        if all(d.status == "delivered" for d in rows):
            break
        time.sleep(0.1)
    assert len(rows) == 4 * (expected + 3) - 1 and all(d.status == "delivered" for d in rows)

    # a robot turned off gets nothing more; removed, its log goes with it
    r = api.patch(f"{base}/channels/{made['wecom']['id']}", headers=manager, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = api.patch(f"{base}/channels/{made['feishu']['id']}", headers=manager, json={"secret": None})
    assert r.status_code == 200 and r.json()["signed"] is False
    assert api.delete(f"{base}/channels/{made['slack']['id']}", headers=manager).status_code == 204
    assert api.get(f"{base}/channels/{made['slack']['id']}", headers=manager).status_code == 404
    audit = api.get("/api/v1/audit?object_type=chat_channel", headers=admin).json()["items"]
    assert {e["action"] for e in audit} == {"channel.create", "channel.update", "channel.delete"}
    assert not any(robot.credential in json.dumps(audit) for robot in (wecom, dingtalk, feishu, slack))
    api.__exit__(None, None, None)


def test_formats_signatures_and_masks():
    notice = chat.Notice("通话需要复核：李明《方案*[x]》", [[chat.Piece("得分 40", bold=True)],
                                                  [chat.Piece("打开通话", "https://h/calls/1#t=3.0")]])
    wecom = chat.render("wecom", notice)["markdown"]["content"]
    assert wecom.startswith("**通话需要复核：李明《方案＊[x]》**")
    assert "[打开通话](https://h/calls/1#t=3.0)" in wecom
    assert "**得分 40**" in wecom
    long = chat.Notice("t", [[chat.Piece("很长的一行" * 100)] for _ in range(20)])
    cut = chat.render("wecom", long)["markdown"]["content"]
    assert len(cut.encode()) <= 4096 and cut.endswith("…")
    slack = chat.render("slack", chat.Notice("a <b> & c", [[chat.Piece("x|y", "https://h/1")]]))
    assert slack["text"] == "a <b> & c" and slack["blocks"][1]["text"]["text"] == "<https://h/1|x¦y>"
    assert chat.render("feishu", chat.Notice("t", [], "en"))["content"]["post"]["en_us"]["title"] == "t"
    # DingTalk's documented example: the sign goes URL-encoded in the query, decoding back exactly
    stamp = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    url, _, _ = chat.outgoing("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=abc", "SECxyz",
                              {"msgtype": "text", "text": {"content": "hi"}}, stamp)
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["abc"] and query["timestamp"] == [str(int(stamp.timestamp() * 1000))]
    assert query["sign"] == [chat.dingtalk_sign("SECxyz", query["timestamp"][0])]
    assert "+" not in urlsplit(url).query.split("sign=")[1]  # a raw + would read back as a space
    _, body, _ = chat.outgoing("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/h", "s",
                               {"msg_type": "text", "content": {"text": "hi"}}, stamp)
    signed = json.loads(body)
    assert signed["timestamp"] == str(int(stamp.timestamp())) and signed["sign"] == chat.feishu_sign(
        "s", signed["timestamp"])
    assert chat.masked_url("slack", "https://hooks.slack.com/services/T1/B2/abcdefghijkl") == \
        "https://hooks.slack.com/services/T1/B2/…ijkl"
    wecom_url = "https://u:p@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"
    assert chat.masked_url("wecom", wecom_url) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…7xxx"
    assert notifications.parse_week("2026-W48") == date(2026, 11, 23)


def test_chat_outbox_survives_a_killed_server(tmp_path, robots):
    """Notifications committed to the outbox reach a DingTalk robot that was down while `callscope serve`
    was killed with SIGKILL: once each, signed at the attempt that got through."""
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'callscope.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    robot = Robot("dingtalk", secret="SECk1lledServerTest")
    robots.append(robot)
    settings = Settings(data_dir=data)
    with sessions() as s:
        team = Team(name="华东一组")
        owner = User(email="li.ming@example.com", name="李明", team=team)
        s.add_all([team, owner])
        s.flush()
        s.add(ChatChannel(team_id=team.id, platform="dingtalk", url=robot.url, secret=robot.secret,
                          notifications=["deal_risk"]))
        s.flush()
        for n in range(3):
            deal = Deal(external_id=f"CRM-{n}", name=f"商机 {n}", owner=owner)
            s.add(deal)
            s.flush()
            reasons = [{"code": "no_contact_15d", "days": 20 + n, "text": "…", "severity": "medium"}]
            assert notifications.deal_risk_rose(s, settings, deal, "low", "medium", reasons, team.id) == 1
        s.commit()
    env = {"CALLSCOPE_DATABASE_URL": url, "CALLSCOPE_WORKERS": "0", "CALLSCOPE_WEBHOOK_BACKOFF_BASE": "0.2",
           "CALLSCOPE_WEBHOOK_BACKOFF_MAX": "1"}
    server = Server(data, env).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as s:
                tried = list(s.scalars(select(WebhookDelivery.attempts)))
            if all(t >= 1 for t in tried):
                break
            time.sleep(0.2)
        assert len(tried) == 3 and all(t >= 1 for t in tried)
        server.kill()
        robot.start()
        server = Server(data, env).start()
        got = robot.wait_for(3, timeout=30)
        assert got == {f"商机风险升高：商机 {n}": 1 for n in range(3)}
        assert all(r["signed"] for r in robot.requests)
        assert "20 天没有和客户通话" in _text(robot.message("商机风险升高：商机 0"))
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_review_is_written_once_even_by_two_servers_at_once(kind, tmp_path):
    """Two transactions writing one call's review: the second finds it held (on PostgreSQL it waits
    for the first to commit, then its insert meets the unique key and is dropped, not an error)."""
    with database_url(kind, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        sessions = session_factory(engine)
        settings = Settings(data_dir=tmp_path, public_url="https://cs.example.com")
        with sessions() as s:
            team = Team(name="East")
            s.add(team)
            s.flush()
            rep = User(email="a@example.com", name="A", team_id=team.id)
            s.add(rep)
            s.flush()
            call = Call(title="t", rep_id=rep.id, audio_path="a.flac", sha256="0" * 64, size=1, status="done")
            s.add_all([call, ChatChannel(team_id=team.id, platform="slack", notifications=["call_review"],
                                         url="https://hooks.slack.com/services/T/B/x")])
            s.commit()
            call_id = call.id
        doc = {"stage": "discovery", "scorecard": {"score": 40.0, "items": []}, "objections": [],
               "compliance": []}
        first, second = sessions(), sessions()
        assert notifications.call_review(first, settings, first.get(Call, call_id), doc) == 1
        if kind == "postgresql":
            result: dict[str, int] = {}

            def other_server() -> None:
                result["added"] = notifications.call_review(second, settings, second.get(Call, call_id), doc)
                second.commit()

            thread = threading.Thread(target=other_server)
            thread.start()
            time.sleep(0.5)  # its insert waits on the first transaction's row
            first.commit()
            thread.join(15)
            assert result == {"added": 0}
        else:
            first.commit()
            assert notifications.call_review(second, settings, second.get(Call, call_id), doc) == 0
            second.commit()
        with sessions() as s:
            rows = list(s.scalars(select(WebhookDelivery)))
        assert len(rows) == 1 and rows[0].event_id == f"chat.review.{call_id}"
        assert "低于本组复核线 60" in rows[0].payload["message"]["blocks"][1]["text"]["text"]
        first.close()
        second.close()
        engine.dispose()
