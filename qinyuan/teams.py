"""Teams and their people: the roster of the 51 vanguard teams, its search and its edits.

Who sees what: committee the whole roster; a captain and a member only their own team. Phones
are masked unless the role may see phones for that team (committee, a captain for their team),
except that everyone sees their own phone and a member sees their own captain's phone.
Edits: the committee adds, moves, promotes and deactivates; a captain edits the contact details
and notes of their own team's members."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from . import access, clock, users
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, PermissionDenied

SKILLS = ("carrier", "driver", "publicity", "census", "first_aid")
PHONE = re.compile(r"^[0-9+\- ]{5,20}$")
MAX_NAME = 40
MAX_NOTES = 500
MAX_DEPARTMENT = 60
PAGE_SIZE = 50

# Masked in SQL so that pages and exports never hold a full number they must not show.
_MASK = "CASE WHEN v.phone IS NULL THEN NULL WHEN length(v.phone) >= 7 THEN left(v.phone, 3) || '****' || right(v.phone, 4) ELSE '****' END"


# -- scope --------------------------------------------------------------------------------------
def team_scope(actor: Actor, action: str = "roster.view") -> tuple[str, list]:
    """SQL fragment (on column v.team_id / t.id aliased as `team`) confining rows to teams the actor
    may see for an action. Global scope sees all; unit scope sees the teams owning its units."""
    where, params = access.unit_filter(actor, action, "u.id")
    if where == "TRUE":
        return "TRUE", []
    return f"team IN (SELECT u.team_id FROM units u WHERE {where})", params


def _scoped(fragment: str, column: str) -> str:
    return fragment.replace("team IN", f"{column} IN", 1)


def team_units(db_or_tx, team_id: int) -> list[int]:
    return [r[0] for r in db_or_tx.rows("SELECT id FROM units WHERE team_id = ? ORDER BY id", [team_id])]


def can_for_team(actor: Actor | None, action: str, units: list[int]) -> bool:
    """A team-level permission: global scope, or unit scope over one of the team's units."""
    if actor is None:
        return False
    scope = access.scope_of(actor, action)
    if scope == "all":
        return True
    if scope in ("units", "self"):
        return bool(units) and any(u in actor.unit_ids for u in units)
    return False


def require_team(tx_or_db, actor: Actor | None, action: str, team_id: int | None) -> None:
    units = team_units(tx_or_db, team_id) if team_id is not None else []
    if not can_for_team(actor, action, units):
        raise PermissionDenied(action=action, unit=units[0] if units else "")


def phone_sql(actor: Actor) -> tuple[str, list]:
    """Expression for the phone column the actor may see (full or masked), with its parameters."""
    scope = access.scope_of(actor, "phone.view")
    if scope == "all":
        return "v.phone", []
    own = "v.id = ?"
    params: list[Any] = [actor.volunteer_id if actor.volunteer_id is not None else -1]
    if scope == "units" and actor.unit_ids:
        units = sorted(actor.unit_ids)
        cond = f"({own} OR v.team_id IN (SELECT u.team_id FROM units u WHERE u.id IN ({', '.join('?' for _ in units)})))"
        params += units
    else:
        # a member: their own number and their own captain's
        cond = f"({own} OR (v.is_captain AND v.team_id = ?))"
        params.append(actor.team_id if actor.team_id is not None else -1)
    return f"CASE WHEN {cond} THEN v.phone ELSE {_MASK} END", params


# -- reads ----------------------------------------------------------------------------------------
_TEAM_TABLES = ("teams", "volunteers", "units")


def teams(
    db: Database, actor: Actor, search: str | None = None, lang: str = "zh", limit: int | None = None, team_id: int | None = None
) -> pd.DataFrame:
    """One row per visible team (the first `limit` when given; only `team_id` when given): captain,
    captain phone (as the actor may see it), active members, carriers, units covered (ids and labels),
    notes. Cached until a write to teams, volunteers or units."""
    where, params = team_scope(actor)
    phone, phone_p = phone_sql(actor)
    label = "building || '号楼' || unit_no || '单元'" if lang == "zh" else "'B' || building || '-U' || unit_no"
    filters, fparams = [_scoped(where, "t.id")], list(params)
    if search and search.strip():
        like = f"%{search.strip()}%"
        filters.append(
            "(t.name ILIKE ? OR v.name ILIKE ? OR EXISTS (SELECT 1 FROM volunteers m "
            "WHERE m.team_id = t.id AND m.active AND m.name ILIKE ?))"
        )
        fparams += [like, like, like]
    if team_id is not None:
        filters.append("t.id = ?")
        fparams.append(int(team_id))
    limit_sql = " LIMIT ?" if limit is not None else ""
    sql = f"""SELECT t.id AS team_id, t.name AS team, v.id AS captain_id, v.name AS captain, {phone} AS captain_phone,
                   coalesce(m.members, 0) AS members, coalesce(m.carriers, 0) AS carriers,
                   coalesce(un.unit_ids, CAST(ARRAY[] AS INTEGER[])) AS unit_ids, coalesce(un.labels, '') AS units, t.notes, t.version
            FROM teams t
            LEFT JOIN volunteers v ON v.id = t.captain_id
            LEFT JOIN (SELECT team_id, count(*) FILTER (WHERE NOT is_captain) AS members,
                              count(*) FILTER (WHERE 'carrier' = ANY(skills)) AS carriers
                       FROM volunteers WHERE active GROUP BY team_id) m ON m.team_id = t.id
            LEFT JOIN (SELECT team_id, array_agg(id ORDER BY id) AS unit_ids,
                              string_agg({label}, ', ' ORDER BY id) AS labels
                       FROM units GROUP BY team_id) un ON un.team_id = t.id
            WHERE {" AND ".join(filters)}
            ORDER BY t.id{limit_sql}"""
    params = [*phone_p, *fparams, *([int(limit)] if limit is not None else [])]
    return db.cached_read("teams.teams", _TEAM_TABLES, "df", sql, params)


def team_count(db: Database, actor: Actor) -> int:
    """How many teams the actor may see."""
    where, params = team_scope(actor)
    sql = f"SELECT count(*) FROM teams t WHERE {_scoped(where, 't.id')}"
    return db.cached_read("teams.team_count", ("teams", "units"), "scalar", sql, params)


def _member_where(actor: Actor, team_id, search, skill, party, captains, active) -> tuple[str, list]:
    where, params = team_scope(actor)
    clauses, values = [_scoped(where, "v.team_id")], list(params)
    if team_id is not None:
        clauses.append("v.team_id = ?")
        values.append(int(team_id))
    if search and search.strip():
        like = f"%{search.strip()}%"
        text = "v.name ILIKE ? OR coalesce(v.department, '') ILIKE ?"
        values += [like, like]
        if access.scope_of(actor, "phone.view") == "all":
            text += " OR coalesce(v.phone, '') LIKE ?"
            values.append(like)
        clauses.append(f"({text})")
    if skill:
        clauses.append("? = ANY(v.skills)")
        values.append(skill)
    if party is not None:
        clauses.append("v.party_member = ?")
        values.append(bool(party))
    if captains is not None:
        clauses.append("v.is_captain = ?")
        values.append(bool(captains))
    if active is not None:
        clauses.append("v.active = ?")
        values.append(bool(active))
    return " AND ".join(clauses), values


def members(
    db: Database,
    actor: Actor,
    *,
    team_id: int | None = None,
    search: str | None = None,
    skill: str | None = None,
    party: bool | None = None,
    captains: bool | None = None,
    active: bool | None = True,
    page: int = 1,
    page_size: int | None = PAGE_SIZE,
) -> tuple[pd.DataFrame, int]:
    """A page of the volunteers the actor may see, filtered and searched in SQL; (frame, total).
    page_size=None returns every matching row (for exports)."""
    where, values = _member_where(actor, team_id, search, skill, party, captains, active)
    count_sql = f"SELECT count(*) FROM volunteers v WHERE {where}"
    total = db.cached_read("teams.member_count", ("volunteers", "units"), "scalar", count_sql, values)
    phone, phone_p = phone_sql(actor)
    notes = "v.notes" if access.scope_of(actor, "roster.contact") else "NULL"
    limit, limit_p = "", []
    if page_size:
        limit = "LIMIT ? OFFSET ?"
        limit_p = [int(page_size), (max(1, int(page)) - 1) * int(page_size)]
    sql = f"""SELECT v.id, v.team_id, t.name AS team, v.name, {phone} AS phone, v.department, v.party_member,
                     v.is_captain, v.skills, v.active, {notes} AS notes, v.version
              FROM volunteers v LEFT JOIN teams t ON t.id = v.team_id
              WHERE {where}
              ORDER BY v.team_id, v.is_captain DESC, v.id {limit}"""
    params = [*phone_p, *values, *limit_p]
    if page_size:  # a page is small enough to keep; an export is read afresh
        frame = db.cached_read("teams.members", ("volunteers", "teams", "units"), "df", sql, params)
    else:
        frame = db.df(sql, params)
    frame["skills"] = frame["skills"].map(lambda s: [] if s is None else [str(k) for k in s])
    return frame, int(total)


def member(db: Database, actor: Actor, volunteer_id: int) -> dict:
    phone, phone_p = phone_sql(actor)
    where, params = team_scope(actor)
    notes = "v.notes" if access.scope_of(actor, "roster.contact") else "NULL"
    rows = db.dicts(
        f"""SELECT v.id, v.team_id, v.name, {phone} AS phone, v.department, v.party_member, v.is_captain,
                   v.skills, v.active, {notes} AS notes, v.version
            FROM volunteers v WHERE v.id = ? AND {_scoped(where, "v.team_id")}""",
        [*phone_p, int(volunteer_id), *params],
    )
    if not rows:
        raise NotFound(entity="volunteer", id=volunteer_id)
    return rows[0]


def export_frame(db: Database, actor: Actor, lang: str = "zh", **filters) -> pd.DataFrame:
    """Everything matching the filters that the actor may see, with localised column names."""
    from .i18n import t

    frame, _ = members(db, actor, page_size=None, **filters)
    users.log_view(db, actor, "volunteers", filters.get("team_id") or "all", what="roster_export", detail={"rows": len(frame)})
    out = frame.drop(columns=["version", "team_id"])
    out["skills"] = out["skills"].map(lambda s: "、".join(t(f"roster.skill.{k}", lang) for k in (s or [])))
    if access.scope_of(actor, "roster.contact") is None:
        out = out.drop(columns=["notes"])
    return out.rename(columns={c: t(f"roster.col.{c}", lang) for c in out.columns})


def team_options(
    db: Database, actor: Actor, search: str | None = None, limit: int | None = None, include: int | None = None
) -> list[tuple[int, str]]:
    """(id, name) of the teams the actor may see, by id; optionally those whose name contains `search`
    (or whose number is `search`), the first `limit`, plus team `include` (a current choice) if visible."""
    where, params = team_scope(actor)
    clauses, values = [_scoped(where, "t.id")], list(params)
    if search and search.strip():
        text = search.strip()
        clauses.append("(t.name ILIKE ? OR CAST(t.id AS VARCHAR) = ?)")
        values += [f"%{text}%", text]
    sql = f"SELECT t.id, t.name FROM teams t WHERE {' AND '.join(clauses)} ORDER BY t.id"
    if limit is not None:
        sql += " LIMIT ?"
        values.append(int(limit))
    rows = db.cached_read("teams.team_options", ("teams", "units"), "rows", sql, values)
    out = [(r[0], r[1]) for r in rows]
    if include is not None and all(i != include for i, _ in out):
        one = f"SELECT t.id, t.name FROM teams t WHERE {_scoped(where, 't.id')} AND t.id = ?"
        one_p = [*params, int(include)]
        out = [(r[0], r[1]) for r in db.cached_read("teams.team_options", ("teams", "units"), "rows", one, one_p)] + out
    return out


# -- validation -----------------------------------------------------------------------------------
def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("error.required", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput("roster.error.name_long", n=MAX_NAME)
    return name


def _clean_phone(phone: str | None) -> str | None:
    phone = (phone or "").strip()
    if not phone:
        return None
    if not PHONE.match(phone) or sum(c.isdigit() for c in phone) < 5:
        raise InvalidInput("roster.error.phone", phone=phone)
    return phone


def _clean_department(department: str | None) -> str | None:
    department = (department or "").strip()
    if len(department) > MAX_DEPARTMENT:
        raise InvalidInput("safety.department_long", n=MAX_DEPARTMENT)
    return department or None


def _ends_logins(tx: Tx, username: str, changes: dict) -> None:
    """Change an account's role, team or active flag from the roster; its running logins end, as when the
    committee does it on /admin (a session keeps no scope it was not given)."""
    tx.update("users", username, {**changes, "tokens_valid_after": clock.real_now()}, key_column="username")


def _clean_notes(notes: str | None) -> str | None:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput("roster.error.notes_long", n=MAX_NOTES)
    return notes or None


def _clean_skills(skills) -> list[str]:
    skills = list(dict.fromkeys(skills or []))
    for s in skills:
        if s not in SKILLS:
            raise InvalidInput("roster.error.skill", skill=s)
    return skills


def _team_exists(tx: Tx, team_id) -> int:
    if team_id is None or tx.scalar("SELECT count(*) FROM teams WHERE id = ?", [int(team_id)]) == 0:
        raise InvalidInput("error.team_unknown", team=team_id)
    return int(team_id)


def _account(tx: Tx, volunteer_id: int) -> dict | None:
    row = tx.one("SELECT username FROM users WHERE volunteer_id = ?", [volunteer_id])
    return tx.record("users", row[0], "username") if row else None


# -- edits ----------------------------------------------------------------------------------------
def add_member(
    db: Database,
    actor: Actor,
    team_id: int,
    name: str,
    phone: str | None = None,
    department: str | None = None,
    party_member: bool = True,
    skills=(),
    notes: str | None = None,
) -> int:
    def fn(tx: Tx) -> int:
        tx.require("roster.edit")
        values = {
            "id": tx.scalar("SELECT nextval('volunteer_seq')"),
            "team_id": _team_exists(tx, team_id),
            "name": _clean_name(name),
            "phone": _clean_phone(phone),
            "department": _clean_department(department),
            "party_member": bool(party_member),
            "is_captain": False,
            "skills": _clean_skills(skills),
            "active": True,
            "notes": _clean_notes(notes),
        }
        new_id = tx.insert("volunteers", values)
        tx.audit("roster.add", "volunteer", new_id, None, values)
        return new_id

    return db.write(actor, fn)


def move_member(db: Database, actor: Actor, volunteer_id: int, to_team_id: int, version: int) -> None:
    """Move a member to another team (their account's scope follows). A captain cannot be moved:
    make someone else captain first."""

    def fn(tx: Tx) -> None:
        tx.require("roster.edit")
        person = tx.record("volunteers", volunteer_id)
        target = _team_exists(tx, to_team_id)
        if person["is_captain"]:
            raise InvalidInput("roster.error.captain_move")
        if not person["active"]:
            raise InvalidInput("roster.error.inactive")
        if person["team_id"] == target:
            raise InvalidInput("roster.error.same_team")
        before, after = tx.update("volunteers", volunteer_id, {"team_id": target}, expected_version=version)
        user = _account(tx, volunteer_id)
        if user:
            _ends_logins(tx, user["username"], {"team_id": target})
        tx.audit("roster.move", "volunteer", volunteer_id, {"team_id": before["team_id"]}, {"team_id": target})

    db.write(actor, fn)


def make_captain(db: Database, actor: Actor, volunteer_id: int, version: int) -> None:
    """The person becomes captain of their team; the previous captain becomes a member. Their
    accounts' roles follow."""

    def fn(tx: Tx) -> None:
        tx.require("roster.edit")
        person = tx.record("volunteers", volunteer_id)
        if person["is_captain"]:
            raise InvalidInput("roster.error.already_captain")
        if not person["active"]:
            raise InvalidInput("roster.error.inactive")
        team = tx.record("teams", person["team_id"])
        tx.update("volunteers", volunteer_id, {"is_captain": True}, expected_version=version)
        old_id = team["captain_id"]
        if old_id is not None and old_id != volunteer_id:
            old = tx.record("volunteers", old_id)
            if old["is_captain"]:
                tx.update("volunteers", old_id, {"is_captain": False})
            old_user = _account(tx, old_id)
            if old_user and old_user["role"] == "captain":
                _ends_logins(tx, old_user["username"], {"role": "member"})
        tx.update("teams", team["id"], {"captain_id": volunteer_id})
        user = _account(tx, volunteer_id)
        if user and user["role"] == "member":
            _ends_logins(tx, user["username"], {"role": "captain"})
        tx.audit("roster.make_captain", "team", team["id"], {"captain_id": old_id}, {"captain_id": volunteer_id})

    db.write(actor, fn)


def deactivate(db: Database, actor: Actor, volunteer_id: int, version: int) -> int:
    """Deactivate a member: their account is closed and their future, not yet started duty
    assignments are withdrawn (returned: how many). A captain must be replaced first."""

    def fn(tx: Tx) -> int:
        tx.require("roster.edit")
        person = tx.record("volunteers", volunteer_id)
        if person["is_captain"]:
            raise InvalidInput("roster.error.captain_deactivate")
        if not person["active"]:
            raise InvalidInput("roster.error.inactive")
        tx.update("volunteers", volunteer_id, {"active": False}, expected_version=version)
        user = _account(tx, volunteer_id)
        if user and user["active"]:
            _ends_logins(tx, user["username"], {"active": False})
        withdrawn = [
            r[0]
            for r in tx.rows(
                """SELECT a.id FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
               WHERE a.volunteer_id = ? AND a.status = 'assigned' AND s.start_at > ?""",
                [volunteer_id, tx.now],
            )
        ]
        if withdrawn:
            tx.execute(
                f"DELETE FROM shift_assignments WHERE id IN ({', '.join('?' for _ in withdrawn)})",
                withdrawn,
                writes=("shift_assignments",),
            )
            tx.changes += 1
        tx.audit(
            "roster.deactivate",
            "volunteer",
            volunteer_id,
            {"active": True},
            {"active": False, "withdrawn_assignments": withdrawn},
        )
        return len(withdrawn)

    return db.write(actor, fn)


def update_contact(
    db: Database,
    actor: Actor,
    volunteer_id: int,
    version: int,
    *,
    phone: str | None = None,
    department: str | None = None,
    notes: str | None = None,
    skills=None,
) -> None:
    """Contact details and notes (and skills, for the committee): a captain for their own team."""

    def fn(tx: Tx) -> None:
        person = tx.record("volunteers", volunteer_id)
        require_team(tx, actor, "roster.contact", person["team_id"])
        changes: dict[str, Any] = {
            "phone": _clean_phone(phone),
            "department": _clean_department(department),
            "notes": _clean_notes(notes),
        }
        if skills is not None:
            tx.require("roster.edit")
            changes["skills"] = _clean_skills(skills)
        before, after = tx.update("volunteers", volunteer_id, changes, expected_version=version)
        tx.audit("roster.contact", "volunteer", volunteer_id, {k: before[k] for k in changes}, changes)

    db.write(actor, fn)


def update_team(db: Database, actor: Actor, team_id: int, version: int, *, name: str, notes: str | None = None) -> None:
    def fn(tx: Tx) -> None:
        tx.require("roster.edit")
        changes = {"name": _clean_name(name), "notes": _clean_notes(notes)}
        before, _ = tx.update("teams", team_id, changes, expected_version=version)
        tx.audit("roster.team", "team", team_id, {k: before[k] for k in changes}, changes)

    db.write(actor, fn)
