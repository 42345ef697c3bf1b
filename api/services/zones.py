"""The display time zone: what the pages show times in and what weeks and days are cut by, the same in
the pages and in the API's evaluations. CALLSCOPE_DISPLAY_TZ, else the team's `timezone` (service.yaml
`teams:` or the CALLSCOPE_TEAM_CONFIG file), else CALLSCOPE_TIMEZONE; UTC when none names a real zone."""

from __future__ import annotations

from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callscope.api.services.risk import team_settings
from callscope.core.config import Settings


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
