"""A deal's risk, judged by what was said in its calls: the 1-15-30 clocks from the last customer
conversation, no progress at 30 days, objections left open, next steps promised and not kept, the
stage going backwards, a competitor named and not answered. Thresholds and severities in
api/data/service.yaml (`risk`), per team in the file of CALLSCOPE_TEAM_CONFIG."""

from __future__ import annotations

import copy
import functools
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from callscope.api.services.config import service_config

LEVELS = ("low", "medium", "high")
STAGE_WORDS = {"prospecting": "初次接触", "discovery": "需求分析", "presentation": "方案推介",
               "negotiation": "报价与谈判", "closing": "成交与签约", "after_sales": "售后服务"}
OBJECTION_WORDS = {"price": "价格", "budget": "预算", "timing": "时机", "authority": "决策权", "need": "需求",
                   "competitor": "竞品", "trust": "信任"}


@functools.lru_cache(maxsize=8)
def _team_file(path: str) -> dict[str, Any]:
    if not path:
        return {}
    return yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8")) or {}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if nested else value
    return out


def team_settings(team: str | None, team_config: str = "") -> dict[str, Any]:
    """service.yaml's team-level settings (risk, leaderboard, timezone) with the team's own overrides:
    service.yaml `teams:` then the CALLSCOPE_TEAM_CONFIG file's `teams:`, by team name."""
    cfg = service_config()
    merged = {"risk": cfg["risk"], "leaderboard": cfg.get("leaderboard", {"enabled": True}),
              "timezone": cfg.get("timezone") or ""}
    for source in (cfg.get("teams") or {}, (_team_file(team_config).get("teams") or {})):
        if team and team in source:
            merged = _merge(merged, source[team])
    return merged


def _local_day(stamp: str | datetime, tz: ZoneInfo) -> date:
    value = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return value.astimezone(tz).date()


def judge(insights: dict[str, Any], now: datetime, tz: str = "Asia/Shanghai",
          cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"level", "reasons": [{"code", "text", ...}]} from a deal's insights (services.insights)."""
    cfg = cfg or service_config()["risk"]
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    funnel = service_config()["funnel"]
    rank = {s: i for i, s in enumerate(funnel)}
    calls = [c for c in insights["calls"] if c["status"] == "done"]
    reasons: list[dict[str, Any]] = []
    if not calls:
        return {"level": "low", "reasons": []}
    last = datetime.fromisoformat(calls[-1]["started_at"])
    first = datetime.fromisoformat(calls[0]["started_at"])
    quiet = (today - _local_day(last, zone)).days
    if quiet > cfg["no_contact_days"]:
        reasons.append({"code": "no_contact_15d", "days": quiet,
                        "text": f"{quiet} 天没有和客户通话（跟进周期 {cfg['no_contact_days']} 天）"})
    progression = insights["stage"]["progression"]
    ranked = [(datetime.fromisoformat(p["started_at"]), rank[p["stage"]]) for p in progression
              if p["stage"] in rank]
    age = (today - _local_day(first, zone)).days
    if ranked and age >= cfg["no_progress_days"]:
        furthest = max(r for _, r in ranked)
        reached = min(at for at, r in ranked if r == furthest)
        stalled = (today - _local_day(reached, zone)).days
        if stalled >= cfg["no_progress_days"]:
            open_note = "，异议仍未解决" if insights["objections"]["open"] else ""
            where = STAGE_WORDS.get(funnel[furthest], funnel[furthest])
            reasons.append({"code": "no_progress_30d", "days": stalled,
                            "text": f"{stalled} 天阶段没有推进（停在{where}）{open_note}"})
    open_types = [t for t in insights["objections"]["open"] if t != "competitor"]
    if open_types:
        words = "、".join(OBJECTION_WORDS.get(t, t) for t in open_types)
        reasons.append({"code": "open_objection", "types": open_types,
                        "text": f"客户提出的{words}异议最近一次没有得到回应"})
    if "competitor" in insights["objections"]["open"]:
        said = next((o["text"] for o in reversed(insights["objections"]["all"])
                     if o["type"] == "competitor"), "")
        text = "客户提到竞品，销售没有回应" + (f"：“{said[:40]}”" if said else "")
        reasons.append({"code": "competitor_unanswered", "said": said, "text": text})
    starts = {c["id"]: datetime.fromisoformat(c["started_at"]) for c in calls}
    for step in insights["next_steps"]:
        due = step.get("due")
        promised_at = starts.get(step["call_id"])
        if not due or promised_at is None:
            continue
        due_day = date.fromisoformat(due)
        followed = any(at > promised_at for at in starts.values())
        if due_day < today and not followed:
            reasons.append({"code": "missed_next_step", "call_id": step["call_id"], "due": due,
                            "said": step.get("when") or step.get("text", ""),
                            "text": f"约定的下一步“{(step.get('when') or step.get('text', ''))[:30]}”"
                                    f"（{due}）已过，之后没有再通话"})
            break
    if len(ranked) >= 2:
        furthest = max(r for _, r in ranked[:-1])
        now_at, before = funnel[ranked[-1][1]], funnel[furthest]
        if ranked[-1][1] < furthest and now_at != "after_sales":
            text = (f"最近一次通话退回到{STAGE_WORDS.get(now_at, now_at)}"
                    f"（之前已到{STAGE_WORDS.get(before, before)}）")
            reasons.append({"code": "stage_backwards", "from": before, "to": now_at, "text": text})
    severities = [cfg["severity"].get(r["code"], "medium") for r in reasons]
    for reason, severity in zip(reasons, severities, strict=True):
        reason["severity"] = severity
    if "high" in severities or severities.count("medium") >= cfg["high_when_medium"]:
        level = "high"
    elif severities:
        level = "medium"
    else:
        level = "low"
    return {"level": level, "reasons": reasons}
