"""Teams: evaluations compared across the team, KPI targets (set or broken down), the leaderboard."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["teams and targets"])
