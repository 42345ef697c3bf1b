"""A team's keyword trackers and hotwords: stored on the team through save() (PUT /teams/{team}/trackers
and the trackers page), used for its calls. Trackers: the team's keyword groups over the service's (a
group of the same name replaces the service's), written once per content to DATA_DIR/trackers/ for the
pipeline. Hotwords: the service's and the team's, handed to the recogniser (and its homophone corrector)
for the team's calls."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api import privacy
from callscope.api.deps import Principal
from callscope.api.errors import FieldError, Forbidden
from callscope.core.config import Settings
from callscope.models.orm import Team, User
from callscope.nlp.resources import DATA_DIR, load_yaml

NAME = re.compile(r"^[\w-]{1,50}$")  # \w: letters of any script, digits, _
MAX_GROUPS, MAX_WORDS, MAX_WORD = 100, 500, 100
_LIST_BREAK = re.compile(r"[\n,，、;；]")  # how people type a list into a box (a phrase may hold spaces)


def service_groups(settings: Settings) -> dict[str, list[str]]:
    """The service's keyword groups (CALLSCOPE_TRACKERS or nlp/data/trackers.yaml)."""
    data = load_yaml(settings.trackers or DATA_DIR / "trackers.yaml")
    return {str(k): [str(w) for w in v or ()] for k, v in (data.get("trackers") or {}).items()}


def check(trackers: dict[str, list[str]], hotwords: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The groups and hotwords cleaned (words stripped, duplicates dropped); FieldError naming the bad one."""
    if len(trackers) > MAX_GROUPS:
        raise FieldError(f"trackers: at most {MAX_GROUPS} groups")
    clean: dict[str, list[str]] = {}
    for name, words in trackers.items():
        if not NAME.match(name):
            raise FieldError(f"trackers.{name[:50]}: a group's name is letters, digits, '_' or '-' (≤ 50)")
        kept = list(dict.fromkeys(w.strip() for w in words if w.strip()))
        if not kept or len(kept) > MAX_WORDS or any(len(w) > MAX_WORD for w in kept):
            raise FieldError(f"trackers.{name}: 1 to {MAX_WORDS} words of at most {MAX_WORD} characters")
        clean[name] = kept
    kept_hotwords = list(dict.fromkeys(w.strip() for w in hotwords if w.strip()))
    if len(kept_hotwords) > MAX_WORDS or any(len(w) > MAX_WORD or "," in w for w in kept_hotwords):
        raise FieldError(f"hotwords: at most {MAX_WORDS} words of at most {MAX_WORD} characters, no commas")
    return clean, kept_hotwords


def save(session: Session, principal: Principal, team: Team, trackers: dict[str, list[str]],
         hotwords: list[str]) -> None:
    """Set the team's trackers and hotwords (its manager or an admin; the caller commits): Forbidden for
    anyone else, FieldError naming a bad group or word; the change goes to the audit log."""
    require_editor(principal)
    team.trackers, team.hotwords = check(trackers, hotwords)
    privacy.audit_principal(session, principal, "trackers.update", "team", team.id, team.id,
                            detail={"trackers": sorted(team.trackers), "hotwords": len(team.hotwords)})


def may_edit(principal: Principal) -> bool:
    """Whether the caller may change a team's trackers: a manager (of a team they see) or an admin."""
    return principal.role in ("admin", "manager")


def require_editor(principal: Principal) -> None:
    if not may_edit(principal):
        raise Forbidden("only managers and admins set trackers")


def split_words(text: str) -> list[str]:
    """Words typed into a box, one a line or separated by commas (、，;)."""
    return [w.strip() for w in _LIST_BREAK.split(text) if w.strip()]


def with_group(team: Team, name: str, words: list[str], replacing: str | None = None) -> dict[str, list[str]]:
    """The team's groups with one added (replacing None) or changed (replacing: its name before, when
    renamed); a service group changed becomes the team's own of that name. FieldError where the name
    is another of the team's groups."""
    groups = dict(team.trackers or {})
    name = name.strip()
    if name in groups and name != (replacing or "").strip():
        raise FieldError(f"trackers.{name[:50]}: the team already has a tracker of that name")
    if replacing:
        groups.pop(replacing.strip(), None)
    groups[name] = words
    return groups


def without_group(team: Team, name: str) -> dict[str, list[str]]:
    """The team's groups less one (a service group of that name applies again)."""
    groups = dict(team.trackers or {})
    if groups.pop(name, None) is None:
        raise FieldError(f"trackers.{name[:50]}: the team has no tracker of that name")
    return groups


def effective_names(session: Session, principal: Principal, settings: Settings) -> list[str]:
    """The trackers a caller's calls may have hit, for the call list's filter: the service's and their
    team's (an admin's: every team's)."""
    names = set(service_groups(settings))
    if principal.sees_everything:
        teams = list(session.scalars(select(Team)))
    else:
        team = team_of(session, principal)
        teams = [team] if team is not None else []
    for team in teams:
        names.update(team.trackers or {})
    return sorted(names)


def team_of(session: Session, principal: Principal) -> Team | None:
    """The caller's own team: a manager's, or the team of a rep's person."""
    if principal.team_id is not None:
        return session.get(Team, principal.team_id)
    if principal.user_id is not None:
        return session.scalar(select(Team).join(User, User.team_id == Team.id)
                              .where(User.id == principal.user_id))
    return None


def to_dict(team: Team, settings: Settings) -> dict[str, Any]:
    groups = service_groups(settings)
    return {"team": {"id": team.id, "name": team.name}, "trackers": dict(team.trackers or {}),
            "hotwords": list(team.hotwords or []),
            "effective": {"trackers": {**groups, **(team.trackers or {})},
                          "hotwords": list(dict.fromkeys(settings.hotword_list + list(team.hotwords or [])))}}


def settings_for(session: Session, settings: Settings, rep_id: int | None) -> Settings:
    """The settings a call of this rep is analysed with: its team's trackers and hotwords added."""
    team = session.scalar(select(Team).join(User, User.team_id == Team.id).where(User.id == rep_id)) \
        if rep_id is not None else None
    if team is None or not (team.trackers or team.hotwords):
        return settings
    changes: dict[str, str] = {}
    if team.trackers:
        merged = {**service_groups(settings), **team.trackers}
        text = yaml.safe_dump({"trackers": merged}, allow_unicode=True, sort_keys=True)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        path = Path(settings.data_dir) / "trackers" / f"team-{team.id}-{digest}.yaml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        changes["trackers"] = str(path)
    if team.hotwords:
        changes["hotwords"] = ",".join(dict.fromkeys(settings.hotword_list + list(team.hotwords)))
    return dataclasses.replace(settings, **changes)


def like_escaped(name: str) -> str:
    """name for a LIKE pattern with ESCAPE '\\'."""
    return name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
