"""The CRM-facing answers (webhooks, targets, goals, leaderboard) against the OpenAPI document the
service publishes: each real answer checked with the schema of its operation's response."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from callscope.api.app import create_app
from callscope.api.tokens import create_token
from callscope.core.config import Settings

_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
          "boolean": bool, "null": type(None)}


def check(value, schema: dict, components: dict, where: str = "$") -> None:  # noqa: ANN001
    """A small JSON Schema check (the keywords FastAPI's schemas use): $ref, anyOf, type, enum/const,
    required, properties, additionalProperties, items."""
    if "$ref" in schema:
        return check(value, components[schema["$ref"].rsplit("/", 1)[-1]], components, where)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                return check(value, option, components, where)
            except AssertionError as err:
                errors.append(str(err))
        raise AssertionError(f"{where}: matches no anyOf option: {errors}")
    kind = schema.get("type")
    if kind:
        assert isinstance(value, _TYPES[kind]) and not (kind in ("integer", "number")
                                                       and isinstance(value, bool)), f"{where}: not {kind}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: {name} missing"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                check(value[name], sub, components, f"{where}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, sub in value.items():
                if name not in schema.get("properties", {}):
                    check(sub, extra, components, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], components, f"{where}[{i}]")
    return None


@pytest.fixture
def api(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data", webhook_delivery=False),
                                   start_workers=False))
    client.__enter__()
    with client.app.state.sessions() as s:
        client.admin = {"Authorization": f"Bearer {create_token(s, 'admin')[0]}"}
        create_token(s, "rep", rep="a@example.com", team="East")
        create_token(s, "rep", rep="b@example.com", team="East")
        s.commit()
    yield client
    client.__exit__(None, None, None)


def test_answers_match_the_published_schema(api):
    doc = api.get("/api/v1/openapi.json").json()
    components = doc["components"]["schemas"]

    def checked(method: str, path: str, template: str, status: int, **kw) -> dict:  # noqa: ANN003
        r = api.request(method, path, headers=api.admin, **kw)
        assert r.status_code == status, r.text
        schema = doc["paths"][f"/api/v1{template}"][method.lower()]["responses"][str(status)]
        body_schema = schema["content"]["application/json"]["schema"]
        assert body_schema != {}, f"{method} {template}: the answer's shape is not published"
        check(r.json(), body_schema, components, f"{method} {template}")
        return r.json()

    hook = checked("POST", "/api/v1/webhooks", "/webhooks", 201,
                   json={"url": "http://127.0.0.1:9/x", "events": ["call.analyzed"]})
    assert hook["secret"].startswith("whsec_")
    checked("GET", "/api/v1/webhooks", "/webhooks", 200)
    checked("GET", f"/api/v1/webhooks/{hook['id']}", "/webhooks/{webhook_id}", 200)
    checked("GET", f"/api/v1/webhooks/{hook['id']}/deliveries", "/webhooks/{webhook_id}/deliveries", 200)
    target = checked("PUT", "/api/v1/reps/a@example.com/targets", "/reps/{rep_id}/targets", 200,
                     json={"metric": "calls", "from": "2026-12-01", "to": "2026-12-08", "value": 20})
    assert target["from"] == "2026-12-01"
    listed = checked("GET", "/api/v1/reps/a@example.com/targets", "/reps/{rep_id}/targets", 200)
    assert listed["items"][0]["attainment"] == 0.0
    goal = checked("POST", "/api/v1/teams/East/goals", "/teams/{team_ref}/goals", 201,
                   json={"metric": "calls", "from": "2026-12-01", "to": "2026-12-15", "value": 40})
    assert len(goal["targets"]) == 6  # two reps, three weeks (Dec 1 is a Tuesday)
    checked("GET", "/api/v1/teams/East/leaderboard?by=attainment", "/teams/{team_ref}/leaderboard", 200)
    assert api.get("/api/v1/webhooks/999", headers=api.admin).json() == {"detail": "no webhook 999"}
    # chat notifications (their robots' URLs and secrets never in an answer)
    base, template = "/api/v1/teams/East/notifications", "/teams/{team}/notifications"
    checked("PUT", base, template, 200, json={"language": "en", "review": {"min_score": 55}})
    channel = checked("POST", f"{base}/channels", f"{template}/channels", 201,
                      json={"platform": "feishu", "url": "http://127.0.0.1:9/open-apis/bot/v2/hook/abcdefghij",
                            "secret": "s3cr3t"})
    assert channel["signed"] is True and channel["url"].endswith("/hook/…ghij")
    assert "abcdefghij" not in json.dumps(channel) and "s3cr3t" not in json.dumps(channel)
    one = f"{base}/channels/{channel['id']}"
    checked("GET", base, template, 200)
    checked("GET", f"{base}/channels", f"{template}/channels", 200)
    checked("GET", one, f"{template}/channels/{{channel_id}}", 200)
    checked("PATCH", one, f"{template}/channels/{{channel_id}}", 200, json={"enabled": False})
    checked("GET", f"{one}/deliveries", f"{template}/channels/{{channel_id}}/deliveries", 200)
    checked("POST", f"{base}/digest", f"{template}/digest", 202, json={"week": "2026-W48"})
