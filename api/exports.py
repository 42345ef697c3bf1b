"""Exports a manager's other tools read: CSV and XLSX (openpyxl) of a rep's evaluation, a team's
evaluation and call scores over a period. A text cell that begins with = + - @ (or a tab or carriage
return) is neutralised with a leading apostrophe, so no spreadsheet runs it as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from callscope.api.deps import Principal
from callscope.api.services.cells import safe_cell
from callscope.api.services.results import effective_facts
from callscope.api.services.rollups import METRICS
from callscope.models.orm import Call

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Sheet = tuple[str, list[str], list[Sequence[Any]]]  # name, header, rows


def to_csv(header: list[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue()


def to_xlsx(sheets: list[Sheet]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = book.create_sheet(title=name[:31])
        sheet.append([safe_cell(h) for h in header])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def respond(fmt: str, name: str, sheets: list[Sheet]) -> Response:
    """The first sheet as CSV, or every sheet in one XLSX workbook."""
    if fmt == "xlsx":
        content, media, ext = to_xlsx(sheets), XLSX_TYPE, "xlsx"
    else:
        content, media, ext = to_csv(sheets[0][1], sheets[0][2]), CSV_TYPE, "csv"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{ext}"'})


def call_sheet(session: Session, principal: Principal, start: datetime | None, end: datetime | None,
               zone: tzinfo, rep_ids: list[int] | None = None) -> Sheet:
    """One row per done call in the period (the principal's scope): score, stage, metrics, objections,
    item verdicts (1 passed, 0 failed, empty where it does not apply), with overrides applied;
    started_at in zone (the display time zone the period's dates were read in), with its offset."""
    stmt = principal.scope_calls(select(Call).options(joinedload(Call.rep), joinedload(Call.deal))
                                 .where(Call.status == "done"))
    if rep_ids is not None:
        stmt = stmt.where(Call.rep_id.in_(rep_ids))
    if start:
        stmt = stmt.where(Call.started_at >= start)
    if end:
        stmt = stmt.where(Call.started_at <= end)
    calls = list(session.scalars(stmt.order_by(Call.started_at, Call.id)))
    found = effective_facts(session, [c.id for c in calls])
    item_ids: list[str] = []
    for call in calls:
        for item in (found.get(call.id) or {}).get("items", []):
            if item[0] not in item_ids:
                item_ids.append(item[0])
    header = ["call_id", "started_at", "title", "rep", "rep_name", "team", "deal", "duration", "stage",
              "score", *METRICS, "objections", "objections_handled", *[f"item:{i}" for i in item_ids]]
    rows = []
    for call in calls:
        fact = found.get(call.id)
        if fact is None:
            continue
        verdicts = {i[0]: i[2] for i in fact["items"]}
        rows.append([
            call.id, call.started_at.astimezone(zone).isoformat(), call.title, call.rep.email, call.rep.name,
            call.rep.team.name if call.rep.team else "", call.deal.external_id if call.deal else "",
            call.duration, fact["stage"], fact["score"], *[fact["metrics"].get(m) for m in METRICS],
            len(fact["objections"]), sum(1 for _, handled in fact["objections"] if handled),
            *["" if verdicts.get(i) is None else int(bool(verdicts[i])) for i in item_ids],
        ])
    return "calls", header, rows


def rep_summary_sheet(evaluation: dict[str, Any]) -> Sheet:
    """A rep's evaluation as rows of (section, name, rep, team average, team top quartile, target,
    attainment)."""
    team = evaluation.get("team") or {}
    rows: list[list[Any]] = [["rep", "name", evaluation["rep"]["name"], None, None, None, None],
                             ["rep", "email", evaluation["rep"]["email"], None, None, None, None],
                             ["period", "from", evaluation["period"]["from"], None, None, None, None],
                             ["period", "to", evaluation["period"]["to"], None, None, None, None],
                             ["period", "timezone", evaluation["period"]["timezone"], None, None, None,
                              None],
                             ["calls", "calls", evaluation["calls"], None, None, None, None]]
    score = team.get("average_score") or {}
    rows.append(["score", "average_score", evaluation["average_score"], score.get("average"),
                 score.get("top_quartile"), None, None])
    for name, block in evaluation["metrics"].items():
        mine = (team.get("metrics") or {}).get(name) or {}
        rows.append(["metric", name, block["average"], mine.get("average"), mine.get("top_quartile"),
                     None, None])
    for item in evaluation["items"]:
        mine = (team.get("items") or {}).get(item["id"]) or {}
        rows.append(["item", item["id"], item["pass_rate"], mine.get("average"), mine.get("top_quartile"),
                     None, None])
    for target in evaluation.get("targets", []):
        rows.append(["target", f"{target['metric']} {target['from']}..{target['to']}", target["actual"],
                     None, None, target["value"], target["attainment"]])
    return "evaluation", ["section", "name", "rep", "team_average", "team_top_quartile", "target",
                          "attainment"], rows


def team_sheet(evaluation: dict[str, Any]) -> Sheet:
    """A team's evaluation: one row per rep and a last row for the team."""
    item_ids = sorted(evaluation["summary"]["items"])
    header = ["rep", "rep_name", "calls", "talk_time_minutes", "average_score", "objection_handled_rate",
              *METRICS, *[f"pass_rate:{i}" for i in item_ids], "attainment"]

    def row(who: str, name: str, figures: dict[str, Any], reached: Any) -> list[Any]:
        return [who, name, figures["calls"], figures["talk_time"], figures["average_score"],
                figures["objection_handled_rate"], *[figures["metrics"].get(m) for m in METRICS],
                *[(figures["items"].get(i) or {}).get("pass_rate") for i in item_ids], reached]

    rows = [row(r["rep"]["email"], r["rep"]["name"], r, r["attainment"]) for r in evaluation["reps"]]
    rows.append(row("team", evaluation["team"]["name"], evaluation["summary"], None))
    return "team", header, rows
