"""Reps, teams and deals: resolving references from uploads, and the CRM's create-or-update."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callscope.api.deps import Principal
from callscope.api.errors import FieldError, Forbidden, NotFound
from callscope.api.schemas import DealIn
from callscope.api.tokens import find_team, user_by_ref
from callscope.models.orm import Deal, Team, User, parse_id
from callscope.models.upsert import get_or_insert


def resolve_rep_for_upload(session: Session, principal: Principal, ref: str) -> User:
    """The rep a new call belongs to. A rep token uploads its own calls; an integration or admin token
    may name a new rep by email (created on the spot); a manager names one of their team."""
    if not ref:
        if principal.role == "rep" and principal.user_id:
            return session.get(User, principal.user_id)
        raise FieldError("rep: required (rep id or email)")
    rep = user_by_ref(session, ref)
    if rep is None:
        if principal.role in ("integration", "admin") and "@" in ref and "." in ref.split("@")[-1]:
            # another upload may create the same new rep at this moment: both get the one row
            rep, _ = get_or_insert(session, User, "email", ref.strip().lower(), name=ref.split("@")[0],
                                   role="rep")
            return rep
        raise FieldError(f"rep: unknown rep {ref[:100]!r}")
    if not principal.can_see_rep(rep):
        if principal.role == "rep":
            raise Forbidden("rep: a rep token uploads only its own calls")
        raise FieldError(f"rep: unknown rep {ref[:100]!r}")
    return rep


def resolve_deal_for_upload(session: Session, external_id: str, rep: User) -> Deal | None:
    """The CRM deal a call belongs to, created (owned by the rep) the first time its id is seen."""
    external_id = external_id.strip()
    if not external_id:
        return None
    if len(external_id) > 200:
        raise FieldError("deal: CRM deal id longer than 200 characters")
    deal, _ = get_or_insert(session, Deal, "external_id", external_id, name=external_id, owner_id=rep.id)
    return deal


def upsert_rep(session: Session, email: str, name: str | None, team: str | None, role: str = "rep") -> User:
    if "@" not in email:
        raise FieldError("email: not an email address")
    if role not in ("rep", "manager"):
        raise FieldError("role: must be rep or manager")
    team_row = find_team(session, team, create=True) if team else None
    user = user_by_ref(session, email)
    if user is None:
        user, _ = get_or_insert(session, User, "email", email.strip().lower(),
                                      name=name or email.split("@")[0], role=role)
    if name:
        user.name = name
    if team_row is not None:
        user.team_id = team_row.id
    user.role = role
    session.flush()
    return user


def upsert_deal(session: Session, external_id: str, values: DealIn) -> Deal:
    deal, _ = get_or_insert(session, Deal, "external_id", external_id, name=values.name or external_id)
    for key in ("name", "account", "stage", "amount"):
        if (value := getattr(values, key)) is not None:
            setattr(deal, key, value)
    if values.owner:
        owner = user_by_ref(session, values.owner)
        if owner is None:
            raise FieldError(f"owner: unknown rep {values.owner[:100]!r}")
        deal.owner_id = owner.id
    session.flush()
    return deal


def visible_rep(session: Session, principal: Principal, ref: str) -> User:
    rep = user_by_ref(session, ref)
    if rep is None or not principal.can_see_rep(rep):
        raise NotFound(f"no rep {ref}")
    return rep


def visible_team(session: Session, principal: Principal, ref: str, members_too: bool = False) -> Team:
    """A team by id or name, for its manager or an admin (members_too: its reps as well), else NotFound."""
    team_id = parse_id(ref)
    team = session.get(Team, team_id) if team_id is not None else None
    team = team or session.scalar(select(Team).where(Team.name == ref))
    if team is None:
        raise NotFound(f"no team {ref}")
    if principal.sees_everything or (principal.role == "manager" and principal.team_id == team.id):
        return team
    if members_too and principal.role == "rep" and principal.user_id is not None:
        member = session.get(User, principal.user_id)
        if member is not None and member.team_id == team.id:
            return team
    raise NotFound(f"no team {ref}")


def find_deal(session: Session, ref: str) -> Deal:
    """A deal by its CRM id (or our numeric id)."""
    deal = session.scalar(select(Deal).where(Deal.external_id == ref))
    if deal is None and (deal_id := parse_id(ref)) is not None:
        deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal {ref}")
    return deal


def rep_to_dict(rep: User) -> dict[str, Any]:
    return {"id": rep.id, "email": rep.email, "name": rep.name, "role": rep.role, "team_id": rep.team_id,
            "team": rep.team.name if rep.team else None}


def deal_to_dict(deal: Deal) -> dict[str, Any]:
    return {"id": deal.id, "external_id": deal.external_id, "name": deal.name, "account": deal.account,
            "stage": deal.stage, "amount": deal.amount, "owner_id": deal.owner_id,
            "updated_at": deal.updated_at.isoformat()}
