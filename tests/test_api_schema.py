"""Every /api/v1 operation's real answers, on a seeded app (real SQLite, real NLP documents, a real
upload), checked with openapi-schema-validator against the OpenAPI 3.1 document the service publishes:
each 2xx against its operation's declared response, each error against the one error shape. A key an
answer carries that its schema does not declare fails (outside the analysis document, where the
contract welcomes more), and so does an operation this test never called."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator

from callscope.api.app import create_app
from callscope.api.services import rollups
from callscope.api.services.results import current_analysis, store_analysis
from callscope.api.tokens import create_token
from callscope.core.config import Settings
from callscope.models.orm import Call, Job
from callscope.pipeline import rescore
from tests.test_api_access import short_audio
from tests.test_webhooks import SLIPPING, transcript

PREFIX = "/api/v1"
SHEET_TYPES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def closed(schema: Any) -> Any:
    """The schema with every object that declares its properties and says nothing of others closed
    (additionalProperties: false): an undeclared key in an answer is then a failure."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


class Contract:
    """The published document and what the test has checked against it."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.doc = client.get(f"{PREFIX}/openapi.json").json()
        self.components = closed(self.doc["components"])
        self.checked: set[tuple[str, str]] = set()

    def operations(self) -> set[tuple[str, str]]:
        return {(method.upper(), path[len(PREFIX):]) for path, ops in self.doc["paths"].items()
                if path.startswith(PREFIX) for method in ops}

    def response_schema(self, method: str, template: str, status: int, media: str) -> dict:
        responses = self.doc["paths"][PREFIX + template][method.lower()]["responses"]
        declared = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
        content = declared.get("content") or {}
        found = content.get(media) or content.get(media.split("/")[0] + "/*")
        assert found is not None, f"{method} {template} {status}: {media} not declared ({sorted(content)})"
        return found.get("schema", {})

    def validate(self, body: Any, schema: dict, where: str) -> None:
        assert schema not in ({}, {"type": "object"}), f"{where}: the answer's shape is not published"
        try:
            OAS31Validator({**closed(schema), "components": self.components}).validate(body)
        except ValidationError as err:
            raise AssertionError(f"{where}: {err.message} at {list(err.absolute_path)}") from None

    def call(self, method: str, template: str, status: int, path: str | None = None,
             headers: dict | None = None, **kw: Any) -> Any:
        """Send the request, check its status and its body against the published schema."""
        r = self.client.request(method, PREFIX + (path or template), headers=headers, **kw)
        assert r.status_code == status, f"{method} {path or template}: {r.status_code} {r.text[:300]}"
        where = f"{method} {template} {status}"
        if status == 204:
            assert r.content == b""
        else:
            media = r.headers["content-type"].split(";")[0]
            schema = self.response_schema(method, template, status, "application/json" if media ==
                                          "application/json" else media)
            if media == "application/json":
                self.validate(r.json(), schema, where)
            else:
                assert media.startswith("audio/") or media in SHEET_TYPES, where
        if status < 400:
            self.checked.add((method, template))
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    client = TestClient(create_app(Settings(data_dir=tmp / "data", webhook_delivery=False,
                                            max_upload_bytes=3_000_000), start_workers=False))
    client.__enter__()
    with client.app.state.sessions() as s:
        client.who = {role: {"Authorization": f"Bearer {create_token(s, role, **extra)[0]}"}
                      for role, extra in (("admin", {}), ("integration", {}),
                                          ("manager", {"team": "East"}),
                                          ("rep", {"rep": "a@example.com", "team": "East"}))}
        create_token(s, "rep", rep="b@example.com", team="East")
        s.commit()
    yield client
    client.__exit__(None, None, None)


def _analysed(api: TestClient, contract: Contract, offset: float, deal: str) -> int:
    """An uploaded call with a real analysis of the SLIPPING conversation stored as its result."""
    made = contract.call("POST", "/calls", 202, headers=api.who["integration"],
                         files={"file": ("call.flac", short_audio(2.0, offset), "audio/flac")},
                         data={"rep": "a@example.com", "deal": deal,
                               "started_at": "2026-11-10T09:00:00+08:00"})
    analysis = rescore(transcript(SLIPPING), "default")
    with api.app.state.sessions() as s:
        call = s.get(Call, made["id"])
        store_analysis(s, call, analysis.to_dict(), analysis.transcript.to_dict(), "default")
        call.status = "done"
        s.query(Job).filter(Job.call_id == call.id).update({"status": "done"})
        rollups.refresh_call(s, api.app.state.settings, call)
        s.commit()
    return made["id"]


def test_every_operation_answers_as_published(api):
    c = Contract(api)
    admin, manager, rep = api.who["admin"], api.who["manager"], api.who["rep"]
    assert c.client.get(f"{PREFIX}/healthz").status_code == 200
    c.call("GET", "/healthz", 200)

    # a CRM subscribes, syncs reps and deals, uploads
    hook = c.call("POST", "/webhooks", 201, headers=admin,
                  json={"url": "http://127.0.0.1:9/x", "events": ["evaluation.updated", "call.analyzed"]})
    assert hook["secret"].startswith("whsec_")
    c.call("POST", "/reps", 200, headers=api.who["integration"],
           json={"email": "c@example.com", "name": "王芳", "team": "East"})
    c.call("PUT", "/deals/{deal_id}", 200, "/deals/CRM-7", headers=api.who["integration"],
           json={"name": "MES 升级", "account": "华东制造", "stage": "negotiation", "amount": 380000,
                 "owner": "a@example.com"})
    first = _analysed(api, c, 30.0, "CRM-7")
    second = _analysed(api, c, 33.0, "CRM-8")

    # the calls and their analyses, reviews and re-scoring
    listed = c.call("GET", "/calls", 200, "/calls?limit=1", headers=manager)
    assert listed["next_cursor"] and len(listed["items"]) == 1
    c.call("GET", "/calls/{call_id}", 200, f"/calls/{first}", headers=rep)
    doc = c.call("GET", "/calls/{call_id}/analysis", 200, f"/calls/{first}/analysis", headers=rep)
    for key in ("duration", "language", "segments", "stage", "objections", "next_steps", "metrics",
                "scorecard"):  # the contract's required keys
        assert key in doc
    assert doc["scorecard"]["rubric_version"]
    with api.app.state.sessions() as s:  # the document as stored: nothing dropped, nothing made up
        assert doc == current_analysis(s, first).document
    audio = c.call("GET", "/calls/{call_id}/audio", 200, f"/calls/{first}/audio", headers=rep)
    assert audio.content[:4] == b"fLaC"
    item = doc["scorecard"]["items"][0]["id"]
    c.call("PUT", "/calls/{call_id}/scorecard/items/{item_id}", 200,
           f"/calls/{first}/scorecard/items/{item}", headers=manager,
           json={"passed": False, "reason": "没有介绍公司"})
    c.call("POST", "/calls/{call_id}/comments", 201, f"/calls/{first}/comments", headers=manager,
           json={"text": "价格异议要先问预算", "item_id": "objection_handling", "at": 6.0})
    reviews = c.call("GET", "/calls/{call_id}/reviews", 200, f"/calls/{first}/reviews", headers=manager)
    assert reviews["overrides"][0]["reason"] == "没有介绍公司"
    overridden = c.call("GET", "/calls/{call_id}/analysis", 200, f"/calls/{first}/analysis", headers=rep)
    assert overridden["scorecard"]["items"][0]["override"]["reason"] == "没有介绍公司"
    c.call("POST", "/calls/{call_id}/rescore", 202, f"/calls/{second}/rescore?rubric=qa-strict",
           headers=manager)

    # reps, deals, evaluations, targets, the team
    c.call("GET", "/reps", 200, headers=manager)
    c.call("GET", "/reps/{rep_id}", 200, "/reps/a@example.com", headers=rep)
    c.call("PUT", "/reps/{rep_id}/targets", 200, "/reps/a@example.com/targets", headers=manager,
           json={"metric": "calls", "from": "2026-11-09", "to": "2026-11-16", "value": 20})
    targets = c.call("GET", "/reps/{rep_id}/targets", 200, "/reps/a@example.com/targets", headers=rep)
    assert targets["items"][0]["attainment"] == 0.1  # 2 calls of 20
    goal = c.call("POST", "/teams/{team_ref}/goals", 201, "/teams/East/goals", headers=manager,
                  json={"metric": "calls", "from": "2026-12-01", "to": "2026-12-15", "value": 40})
    assert len(goal["targets"]) == 9  # three reps, three weeks (Dec 1 is a Tuesday)
    period = "from=2026-11-01&to=2026-11-30"
    evaluation = c.call("GET", "/reps/{rep_id}/evaluation", 200, f"/reps/a@example.com/evaluation?{period}",
                        headers=rep)
    assert evaluation["calls"] == 2 and evaluation["team"]["calls"] == 2 and evaluation["targets"]
    for fmt in ("csv", "xlsx"):
        c.call("GET", "/reps/{rep_id}/evaluation", 200,
               f"/reps/a@example.com/evaluation?{period}&format={fmt}", headers=rep)
        c.call("GET", "/teams/{team_ref}/evaluation", 200, f"/teams/East/evaluation?{period}&format={fmt}",
               headers=manager)
        c.call("GET", "/exports/calls", 200, f"/exports/calls?{period}&format={fmt}", headers=manager)
    team = c.call("GET", "/teams/{team_ref}/evaluation", 200, f"/teams/East/evaluation?{period}",
                  headers=manager)
    assert team["summary"]["calls"] == 2
    c.call("GET", "/teams/{team_ref}/leaderboard", 200, f"/teams/East/leaderboard?{period}", headers=rep)
    c.call("GET", "/deals", 200, headers=manager)
    insights = c.call("GET", "/deals/{deal_id}/insights", 200, "/deals/CRM-7/insights", headers=manager)
    assert insights["risk"]["level"] in ("medium", "high") and insights["risk"]["reasons"]

    # rubrics
    c.call("GET", "/rubrics", 200, headers=rep)
    default = c.call("GET", "/rubrics/{name}", 200, "/rubrics/default", headers=rep)
    c.call("PUT", "/rubrics/{name}", 200, "/rubrics/default", headers=admin, content=default["body"])
    versions = c.call("GET", "/rubrics/{name}/versions", 200, "/rubrics/default/versions", headers=rep)
    assert versions["items"][0]["version"] == 1
    c.call("GET", "/rubrics/{name}/versions/{version}", 200, "/rubrics/default/versions/1", headers=rep)
    c.call("PUT", "/teams/{team_ref}/rubric", 200, "/teams/East/rubric", headers=manager,
           json={"rubric": "qa-strict"})
    assert c.call("GET", "/teams/{team_ref}/rubric", 200, "/teams/East/rubric", headers=rep)["assigned"]
    c.call("PUT", "/teams/{team_ref}/trackers", 200, "/teams/East/trackers", headers=manager,
           json={"trackers": {"risk_words": ["投诉"]}, "hotwords": ["云帆科技"]})
    c.call("GET", "/teams/{team_ref}/trackers", 200, "/teams/East/trackers", headers=rep)
    c.call("GET", "/calls", 200, "/calls?tracker=competitors", headers=manager)
    batch = c.call("POST", "/rescores", 202, headers=manager, json={"from": "2026-11-01", "to": "2026-11-30"})
    assert batch["total"] == 2 and batch["rubric"] == "qa-strict"
    c.call("GET", "/rescores/{batch_id}", 200, f"/rescores/{batch['id']}", headers=manager)

    # chat notifications (their robots' URLs and secrets never in an answer)
    base, template = "/teams/East/notifications", "/teams/{team}/notifications"
    c.call("PUT", template, 200, base, headers=manager, json={"language": "en", "review": {"min_score": 55}})
    channel = c.call("POST", f"{template}/channels", 201, f"{base}/channels", headers=manager,
                     json={"platform": "feishu", "url": "http://127.0.0.1:9/open-apis/bot/v2/hook/abcdefghij",
                           "secret": "s3cr3t"})
    assert channel["signed"] is True and channel["url"].endswith("/hook/…ghij")
    assert "abcdefghij" not in json.dumps(channel) and "s3cr3t" not in json.dumps(channel)
    one, one_t = f"{base}/channels/{channel['id']}", f"{template}/channels/{{channel_id}}"
    c.call("GET", template, 200, base, headers=manager)
    c.call("GET", f"{template}/channels", 200, f"{base}/channels", headers=manager)
    c.call("GET", one_t, 200, one, headers=manager)
    c.call("PATCH", one_t, 200, one, headers=manager, json={"enabled": True})
    c.call("POST", f"{template}/digest", 202, f"{base}/digest", headers=manager, json={"week": "2026-W46"})
    chat_log = c.call("GET", f"{one_t}/deliveries", 200, f"{one}/deliveries", headers=manager)["items"]
    assert chat_log, "the digest of a week with calls is queued for the robot"
    c.call("POST", f"{one_t}/deliveries/{{delivery_id}}/resend", 202,
           f"{one}/deliveries/{chat_log[0]['id']}/resend", headers=manager)
    c.call("DELETE", one_t, 204, one, headers=manager)

    # webhooks' delivery log (the override made an evaluation.updated event)
    c.call("GET", "/webhooks", 200, headers=admin)
    c.call("GET", "/webhooks/{webhook_id}", 200, f"/webhooks/{hook['id']}", headers=admin)
    deliveries = c.call("GET", "/webhooks/{webhook_id}/deliveries", 200, f"/webhooks/{hook['id']}/deliveries",
                        headers=admin)["items"]
    assert deliveries
    c.call("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", 202,
           f"/webhooks/{hook['id']}/deliveries/{deliveries[0]['id']}/resend", headers=admin)

    # governance: policies, retention, tokens, erasure, the audit log, deletions
    c.call("GET", "/teams/{team}/policy", 200, "/teams/East/policy", headers=manager)
    c.call("PUT", "/teams/{team}/policy", 200, "/teams/East/policy", headers=admin,
           json={"audio_days": 90, "delete_days": None, "bleep_audio": True})
    c.call("POST", "/privacy/retention/run", 200, headers=admin)
    c.call("GET", "/tokens", 200, headers=admin)
    made = c.call("POST", "/tokens", 201, headers=admin, json={"role": "rep", "rep": "c@example.com",
                                                              "expires_in_days": 30})
    rotated = c.call("POST", "/tokens/{token_id}/rotate", 201, f"/tokens/{made['id']}/rotate", headers=admin)
    c.call("POST", "/tokens/{token_id}/revoke", 200, f"/tokens/{rotated['id']}/revoke", headers=admin)
    job = c.call("POST", "/privacy/erase", 202, headers=admin, json={"phone": "138 1234 5678"})
    c.call("GET", "/privacy/erase/{job_id}", 200, f"/privacy/erase/{job['id']}", headers=admin)
    c.call("GET", "/audit", 200, "/audit?limit=5", headers=admin)
    c.call("DELETE", "/calls/{call_id}", 204, f"/calls/{second}", headers=admin)
    c.call("DELETE", "/webhooks/{webhook_id}", 204, f"/webhooks/{hook['id']}", headers=admin)

    missing = c.operations() - c.checked
    assert not missing, f"operations never checked: {sorted(missing)}"


@pytest.mark.parametrize(("method", "template", "path", "who", "kw", "status", "words"), [
    ("GET", "/calls", "/calls", None, {}, 401, "token"),
    ("GET", "/calls", "/calls?limit=0", "admin", {}, 422, "limit"),
    ("GET", "/calls", "/calls?stage=lunch", "admin", {}, 422, "stage"),
    ("GET", "/calls/{call_id}", "/calls/999", "admin", {}, 404, "no call 999"),
    ("GET", "/calls/{call_id}", "/calls/abc", "admin", {}, 422, "call_id"),
    ("POST", "/calls", "/calls", "admin", {"content": b"x", "headers": {"content-type": "text/plain"}}, 422,
     "multipart"),
    ("PUT", "/deals/{deal_id}", "/deals/D1", "admin", {"json": {"amount": "lots"}}, 422, "amount"),
    ("POST", "/reps", "/reps", "rep", {"json": {"email": "x@example.com"}}, 403, "admin"),
    ("GET", "/reps/{rep_id}/evaluation", "/reps/a@example.com/evaluation?from=2026-12-02&to=2026-12-01",
     "admin", {}, 422, "to"),
    ("GET", "/rubrics/{name}", "/rubrics/nothing", "admin", {}, 404, "rubric"),
    ("POST", "/webhooks", "/webhooks", "admin",
     {"json": {"url": "ftp://x.example", "events": ["call.analyzed"]}}, 422, "url"),
    ("GET", "/audit", "/audit", "rep", {}, 403, "audit"),
    ("GET", "/webhooks/{webhook_id}", "/webhooks/999", "admin", {}, 404, "no webhook 999"),
    ("GET", "/rescores/{batch_id}", "/rescores/999", "manager", {}, 404, "no re-scoring job 999"),
    ("POST", "/rescores", "/rescores", "rep", {"json": {}}, 403, "managers"),
    ("PUT", "/teams/{team_ref}/rubric", "/teams/East/rubric", "manager", {"json": {"rubric": "nope"}}, 422,
     "rubric"),
])
def test_every_error_has_the_one_published_shape(api, method, template, path, who, kw, status, words):
    c = Contract(api)
    headers = {**(api.who[who] if who else {}), **kw.pop("headers", {})}
    body = c.call(method, template, status, path, headers=headers, **copy.deepcopy(kw))
    assert set(body) == {"detail"} and "\n" not in body["detail"] and words in body["detail"], body


def test_errors_are_declared_once_for_every_operation(api):
    c = Contract(api)
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, ops in c.doc["paths"].items():
        for method, op in ops.items():
            for status in ("4XX", "5XX"):
                declared = op["responses"][status]["content"]["application/json"]["schema"]
                assert declared == error, (method, path)
            assert "422" not in op["responses"], f"{method} {path}: a second error shape for 422"
    assert "HTTPValidationError" not in c.doc["components"]["schemas"]
