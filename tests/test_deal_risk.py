"""Deal risk rules on crafted insights, and per-team thresholds from the team configuration file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from callscope.api.services.risk import judge, team_settings

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)


def insights(days_ago: list[int], stages: list[str], open_types=(), steps=()) -> dict:  # noqa: ANN001
    calls = [{"id": i + 1, "status": "done", "started_at": (NOW - timedelta(days=d)).isoformat()}
             for i, d in enumerate(days_ago)]
    return {"calls": calls,
            "stage": {"progression": [{"call_id": c["id"], "started_at": c["started_at"], "stage": s}
                                      for c, s in zip(calls, stages, strict=True)]},
            "objections": {"open": list(open_types), "all": [
                {"type": t, "text": "我们在用别家的", "handled": False} for t in open_types]},
            "next_steps": list(steps)}


def test_a_healthy_deal_is_low():
    assert judge(insights([20, 3], ["discovery", "presentation"]), NOW) == {"level": "low", "reasons": []}


def test_twelve_quiet_days_count_only_where_the_team_follows_up_within_ten(tmp_path):
    deal = insights([12], ["discovery"])
    assert judge(deal, NOW, cfg=team_settings("华东一组")["risk"])["level"] == "low"
    config = tmp_path / "teams.yaml"
    config.write_text("teams:\n  华东一组:\n    risk: {no_contact_days: 10}\n", encoding="utf-8")
    strict = team_settings("华东一组", str(config))
    assert strict["risk"]["no_contact_days"] == 10 and strict["risk"]["no_progress_days"] == 30
    risk = judge(deal, NOW, cfg=strict["risk"])
    assert risk["level"] == "medium" and [r["code"] for r in risk["reasons"]] == ["no_contact_15d"]
    assert "12 天" in risk["reasons"][0]["text"]
    assert team_settings("华南", str(config))["risk"]["no_contact_days"] == 15  # other teams keep the default


def test_a_kept_promise_is_not_missed_and_a_broken_one_is():
    step = {"call_id": 1, "due": "2026-11-24", "when": "下周二", "text": "下周二发方案"}
    kept = insights([10, 5], ["discovery", "presentation"], steps=[step])
    assert "missed_next_step" not in {r["code"] for r in judge(kept, NOW)["reasons"]}
    broken = insights([10], ["discovery"], steps=[step])
    reasons = judge(broken, NOW)["reasons"]
    assert [r["code"] for r in reasons] == ["missed_next_step"] and "下周二" in reasons[0]["text"]


def test_three_medium_reasons_make_a_deal_high_and_a_competitor_alone_does():
    deal = insights([40, 16], ["negotiation", "discovery"], open_types=["price"],
                    steps=[{"call_id": 2, "due": "2026-11-20", "when": "周五"}])
    risk = judge(deal, NOW)
    codes = {r["code"] for r in risk["reasons"]}
    assert codes == {"no_contact_15d", "open_objection", "stage_backwards", "missed_next_step",
                     "no_progress_30d"}
    assert risk["level"] == "high"
    competitor = judge(insights([2], ["negotiation"], open_types=["competitor"]), NOW)
    assert competitor["level"] == "high" and competitor["reasons"][0]["code"] == "competitor_unanswered"
