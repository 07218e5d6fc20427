"""Who may do what, in one place. Services call require(); pages ask can() which buttons to show.

Scope: a captain acts inside the building units of their team; a member sees their team's units
(for delivery ticks and duty) and never medical details; committee, medic and logistics see the
whole compound within their role's actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .errors import PermissionDenied

ROLES = ("committee", "captain", "member", "medic", "logistics")

# page -> roles that see it. The order is the menu order.
PAGES: dict[str, tuple[str, ...]] = {
    "overview": ROLES,
    "households": ("committee", "captain", "medic", "logistics"),
    "testing": ("committee", "captain", "medic"),
    "roster": ("committee", "captain", "member"),
    "duty": ("committee", "captain", "member", "logistics"),
    "medicine": ("committee", "captain", "medic", "logistics"),
    "emergencies": ("committee", "captain", "medic"),
    "supplies": ("committee", "logistics", "captain", "member"),
    "admin": ("committee",),
}

# action -> {role: scope}; scope "all" = anywhere, "units" = the actor's units only, "self" = own records.
ACTIONS: dict[str, dict[str, str]] = {
    # households and census
    "household.view": {"committee": "all", "captain": "units", "medic": "all", "logistics": "all", "member": "units"},
    "household.edit": {"committee": "all", "captain": "units"},
    "household.import": {"committee": "all"},
    "household.export": {"committee": "all", "captain": "units", "medic": "all"},
    "phone.view": {"committee": "all", "captain": "units", "medic": "all", "logistics": "all"},
    # special residents: medical details
    "medical.view": {"committee": "all", "captain": "units", "medic": "all"},
    "medical.edit": {"committee": "all", "captain": "units", "medic": "all"},
    # testing
    "testing.view": {"committee": "all", "captain": "units", "medic": "all"},
    "testing.manage": {"committee": "all", "medic": "all"},
    "testing.mark": {"committee": "all", "captain": "units", "medic": "all"},
    "notice.draft": {"committee": "all", "captain": "units"},
    # teams and duty
    "roster.view": {"committee": "all", "captain": "units", "member": "units"},
    "roster.edit": {"committee": "all"},
    "roster.contact": {"committee": "all", "captain": "units"},
    "duty.view": {"committee": "all", "captain": "units", "member": "units", "logistics": "all"},
    "duty.plan": {"committee": "all", "captain": "units"},
    "duty.checkin": {"committee": "all", "captain": "units", "member": "self"},
    # medicine
    "medicine.view": {"committee": "all", "captain": "units", "medic": "all", "logistics": "all"},
    "medicine.create": {"committee": "all", "captain": "units", "medic": "all"},
    "medicine.export": {"committee": "all", "medic": "all"},
    "medicine.advance": {"committee": "all", "captain": "units", "medic": "all", "logistics": "all"},
    "medicine.settings": {"committee": "all"},
    # emergencies
    "emergency.view": {"committee": "all", "captain": "units", "medic": "all"},
    "emergency.report": {"committee": "all", "captain": "units", "medic": "all"},
    "emergency.update": {"committee": "all", "captain": "units", "medic": "all"},
    "emergency.permit": {"committee": "all"},
    "emergency.configure": {"committee": "all"},
    # supplies, groceries, donations
    "supplies.view": {"committee": "all", "logistics": "all", "captain": "all"},
    "supplies.manage": {"committee": "all", "logistics": "all"},
    "grocery.view": {"committee": "all", "logistics": "all", "captain": "units"},
    "grocery.manage": {"committee": "all", "logistics": "all"},
    "donation.view": {"committee": "all", "logistics": "all", "captain": "units", "member": "units"},
    "donation.manage": {"committee": "all", "logistics": "all"},
    "donation.tick": {"committee": "all", "logistics": "all", "captain": "units", "member": "units"},
    # administration
    "users.manage": {"committee": "all"},
    "audit.view": {"committee": "all"},
    "backup.download": {"committee": "all"},
    "kpi.view": {"committee": "all", "captain": "units", "member": "units", "medic": "all", "logistics": "all"},
    "briefing.make": {"committee": "all"},
    # households at their own door (qinyuan/door.py): "own" = the actor's own household only
    "door.use": {"household": "own"},
    "door.cards": {"committee": "all", "captain": "units"},
    "door.handle": {"committee": "all", "captain": "units"},
}


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    display_name: str = ""
    team_id: int | None = None
    volunteer_id: int | None = None
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    # When the session this actor acts for was issued (its cookie or login); None for actors built by code
    # (set-up, CLI, tests). A write by a session issued before the account's tokens_valid_after is refused.
    issued_at: datetime | None = None
    # Which kind of actor this is, for reloading it inside each write (see fresh()): "user" = an account;
    # "account" = the login machinery writing about an account (login, logout, password change).
    kind: str = "user"

    @property
    def is_global(self) -> bool:
        return self.role in ("committee", "medic", "logistics")

    def scope(self) -> tuple[int, ...] | None:
        """Units this actor is confined to, or None for the whole compound."""
        return None if self.is_global else tuple(sorted(self.unit_ids))


SYSTEM = Actor("system", "committee", "system")
HOUSEHOLD = "household"


@dataclass(frozen=True)
class HouseholdActor(Actor):
    """A household at its own door, known by its link (no account). It acts only on its own household
    (scope "own"), never on a unit; link_hash is the hash its link had when it was opened, which every
    write checks is still current (a reissued card stops writing at once); client: a hash of where from."""

    household_id: int = 0
    link_hash: str = ""
    client: str = ""
    kind: str = "household"  # its own kind for re-checking inside writes: qinyuan.door.fresh_household


def household_actor(household_id: int, link_hash: str, client: str = "", display_name: str = "") -> HouseholdActor:
    return HouseholdActor(
        f"household:{household_id}", HOUSEHOLD, display_name, household_id=household_id, link_hash=link_hash, client=client
    )


# kind -> function(tx, actor) giving the actor as the database says now, or raising PermissionDenied.
# Kinds not listed (e.g. "account") are left as they are: their writes carry their own checks.
_RELOAD: dict[str, Callable[[Any, Actor], Actor]] = {}


def reload_kind(kind: str, reload: Callable[[Any, Actor], Actor]) -> None:
    """Register how actors of a kind are re-read inside a write transaction (the hook for new kinds)."""
    _RELOAD[kind] = reload


def fresh(tx, actor):
    """The actor re-read inside the write transaction `tx` (a db.Tx), so that a
    write never runs with an actor captured earlier (a button callback drawn before a deactivation,
    logout or role change). Called by Database.write for every write."""
    if actor is None:
        return None
    reload = _RELOAD.get(getattr(actor, "kind", "user"))
    return actor if reload is None else reload(tx, actor)


def _fresh_user(tx, actor: Actor) -> Actor:
    row = tx.one(
        "SELECT role, display_name, team_id, volunteer_id, active, tokens_valid_after FROM users WHERE username = ?",
        [actor.username],
    )
    if row is None:
        if actor.issued_at is None:  # set-up code's actors ("system") have no account
            return actor
        raise PermissionDenied("error.session_ended")
    role, display_name, team_id, volunteer_id, active, valid_after = row
    if not active:
        raise PermissionDenied("error.session_ended")
    if actor.issued_at is not None and valid_after is not None and actor.issued_at < valid_after:
        raise PermissionDenied("error.session_ended")
    units: frozenset[int] = frozenset()
    if role in ("captain", "member") and team_id is not None:
        # through the read cache (emptied by any write to units): a team's units rarely change
        units = frozenset(
            r[0]
            for r in tx.db.cached_read(
                "access.team_units", ("units",), "rows", "SELECT id FROM units WHERE team_id = ?", [team_id]
            )
        )
    return replace(actor, role=role, display_name=display_name, team_id=team_id, volunteer_id=volunteer_id, unit_ids=units)


reload_kind("user", _fresh_user)


def can_view_page(actor: Actor | None, page: str) -> bool:
    return actor is not None and actor.role in PAGES.get(page, ())


def pages_for(actor: Actor) -> list[str]:
    return [page for page, roles in PAGES.items() if actor.role in roles]


def scope_of(actor: Actor, action: str) -> str | None:
    return ACTIONS.get(action, {}).get(actor.role)


def can(actor: Actor | None, action: str, unit_id: int | None = None, household_id: int | None = None) -> bool:
    if actor is None:
        return False
    scope = scope_of(actor, action)
    if scope is None:
        return False
    if scope == "own":
        return household_id is not None and household_id == getattr(actor, "household_id", None)
    if scope == "all" or unit_id is None:
        return True
    return unit_id in actor.unit_ids


def require(actor: Actor | None, action: str, unit_id: int | None = None, household_id: int | None = None) -> None:
    if not can(actor, action, unit_id, household_id):
        raise PermissionDenied(action=action, unit=unit_id or "")


def unit_filter(actor: Actor, action: str, column: str = "unit_id") -> tuple[str, list]:
    """SQL fragment confining a query to what the actor may see for this action."""
    scope = scope_of(actor, action)
    if scope is None:
        raise PermissionDenied(action=action, unit="")
    if scope == "all":
        return "TRUE", []
    if scope == "own":
        raise PermissionDenied(action=action, unit="")
    units = sorted(actor.unit_ids)
    if not units:
        return "FALSE", []
    return f"{column} IN ({', '.join('?' for _ in units)})", units


def mask_phone(phone: str | None) -> str | None:
    """138****8000: enough to recognise, not enough to dial."""
    if not phone:
        return phone
    digits = str(phone)
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "****"
