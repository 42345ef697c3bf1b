"""The display time zone: what the pages show times in and what days and weeks are cut by, the same in
the pages, the API's evaluations, team figures, leaderboards, targets, exports and the per rep and day
roll-ups (api.services.rollups). CALLSCOPE_DISPLAY_TZ, else the team's `timezone` (service.yaml
`teams:` or the CALLSCOPE_TEAM_CONFIG file), else CALLSCOPE_TIMEZONE; UTC when none names a real zone.

A rep's zone is their team's; a caller's (for lists over whatever they may see) is their own team's."""

from __future__ import annotations

from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.services.risk import team_settings
from callscope.core.config import Settings
from callscope.models.orm import Team, User


def display_zone(settings: Settings, team: str | None = None) -> tzinfo:
    for name in (settings.display_tz, team_settings(team, settings.team_config).get("timezone"),
                 settings.timezone):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return timezone.utc


def rep_zone(settings: Settings, rep: User) -> tzinfo:
    """The zone a rep's days and weeks are cut in: their team's display zone."""
    return display_zone(settings, rep.team.name if rep.team else None)


def principal_team(session: Session, principal: Principal) -> str | None:
    """The caller's team name: a manager's team, a rep's own team; None for admins and integrations."""
    if principal.team_id is not None:
        return session.scalar(select(Team.name).where(Team.id == principal.team_id))
    if principal.user_id is not None:
        return session.scalar(select(Team.name).join(User, User.team_id == Team.id)
                              .where(User.id == principal.user_id))
    return None


def principal_zone(session: Session, settings: Settings, principal: Principal) -> tzinfo:
    """The zone a caller's dates mean where no one rep or team is asked about (call lists, exports)."""
    return display_zone(settings, principal_team(session, principal))


def zone_by_name(name: str) -> tzinfo:
    """A zone stored by its name (str of a display_zone result)."""
    return timezone.utc if name == "UTC" else ZoneInfo(name)
