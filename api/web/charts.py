"""Geometry for the inline SVG charts (the templates only draw what is computed here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass
class WeekPoint:
    week: date  # the Monday that starts it
    calls: int
    average: float | None  # mean score of the week's scored calls


def week_start(moment: datetime) -> date:
    """The Monday of moment's week (moment already in the display time zone)."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weekly_points(scored: list[tuple[datetime, float | None]], weeks: int, now: datetime) -> list[WeekPoint]:
    """(local start time, score) pairs -> one point per week for the last `weeks` weeks, oldest first."""
    first = week_start(now) - timedelta(weeks=weeks - 1)
    buckets: dict[date, list[float | None]] = {first + timedelta(weeks=i): [] for i in range(weeks)}
    for moment, score in scored:
        key = week_start(moment)
        if key in buckets:
            buckets[key].append(score)
    points = []
    for key, scores in buckets.items():
        values = [s for s in scores if s is not None]
        points.append(WeekPoint(key, len(scores), round(sum(values) / len(values), 1) if values else None))
    return points


def evaluation_points(by_week: list[dict], weeks: int, now: datetime) -> list[WeekPoint]:
    """An evaluation's trend.by_week (weeks cut in the display time zone by the API) -> one point per
    week for the last `weeks` weeks up to now's (local) week, oldest first; weeks without calls empty."""
    found = {date.fromisoformat(w["from"]): w for w in by_week if w.get("from")}
    first = week_start(now) - timedelta(weeks=weeks - 1)
    points = []
    for i in range(weeks):
        key = first + timedelta(weeks=i)
        week = found.get(key)
        points.append(WeekPoint(key, week["calls"], week["average"]) if week else WeekPoint(key, 0, None))
    return points


def _count_ticks(max_calls: int) -> list[int]:
    """Whole-number ticks for the call-count axis: 0, the top, and a middle one where it is whole."""
    ticks = [0, max_calls]
    if max_calls >= 2 and max_calls % 2 == 0:
        ticks.insert(1, max_calls // 2)
    return ticks


def trend_chart(points: list[WeekPoint], width: int = 1000, height: int = 240) -> dict:
    """A score line (0-100, left axis) over call-count bars (their own right axis), one slot per week.
    The line is broken at weeks without a score: no line is drawn across weeks without calls."""
    pad_left, pad_right, pad_top, pad_bottom = 40, 48, 12, 28
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    slot = plot_w / max(1, len(points))
    max_calls = max([p.calls for p in points] + [1])
    bars, dots, labels, segments = [], [], [], []
    run: list[dict] = []
    for i, p in enumerate(points):
        x_mid = pad_left + slot * (i + 0.5)
        bar_h = plot_h * p.calls / max_calls
        bars.append({"x": round(x_mid - slot * 0.3, 1), "y": round(pad_top + plot_h - bar_h, 1),
                     "w": round(slot * 0.6, 1), "h": round(bar_h, 1), "calls": p.calls, "week": p.week})
        if p.average is not None:
            dot = {"x": round(x_mid, 1), "y": round(pad_top + plot_h * (1 - p.average / 100), 1),
                   "score": p.average, "week": p.week}
            dots.append(dot)
            run.append(dot)
        elif run:
            segments.append(run)
            run = []
        labels.append({"x": round(x_mid, 1), "text": p.week.strftime("%m-%d")})
    if run:
        segments.append(run)
    grid = [{"y": round(pad_top + plot_h * (1 - v / 100), 1), "value": v} for v in (0, 25, 50, 75, 100)]
    count_axis = [{"y": round(pad_top + plot_h * (1 - n / max_calls), 1), "value": n}
                  for n in _count_ticks(max_calls)]
    return {"width": width, "height": height, "bars": bars, "dots": dots, "labels": labels, "grid": grid,
            "lines": [" ".join(f"{d['x']},{d['y']}" for d in seg) for seg in segments if len(seg) > 1],
            "max_calls": max_calls, "count_axis": count_axis,
            "plot_right": width - pad_right, "plot_left": pad_left, "label_y": height - 8,
            "plot_top": pad_top, "plot_bottom": pad_top + plot_h, "has_scores": bool(dots)}
