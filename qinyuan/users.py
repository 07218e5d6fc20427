"""Accounts: bcrypt hashes, roles and scopes, login throttling and cookie revocation, all in DuckDB."""

from __future__ import annotations

import re
import secrets
import time
import weakref
from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Any

import bcrypt
import pandas as pd

from . import access, clock
from .access import Actor
from .db import Database, Tx, to_json
from .errors import InvalidInput, NotFound

USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 8
MAX_DISPLAY_NAME = 40
MAX_PASSWORD_BYTES = 72  # bcrypt looks at no more (bcrypt 5 refuses longer ones)
# Refused as new passwords: the first guesses of anyone trying (and the published demo password).
COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "12341234",
        "11223344",
        "abcd1234",
        "abc12345",
        "a1234567",
        "1qaz2wsx",
        "qwertyui",
        "qwerty123",
        "asdfghjk",
        "zxcvbnm1",
        "iloveyou",
        "woaini1314",
        "5201314520",
        "admin123",
        "admin888",
        "changeme",
        "letmein1",
        "welcome1",
        "qinyuan2022",
        "qinyuan123",
    }
)


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode())
    except ValueError:
        return False


TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I, - or _


def temporary_password(length: int = 12) -> str:
    """Random (~69 bits), and easy to read out over the phone: no look-alike characters."""
    return "".join(secrets.choice(TEMP_ALPHABET) for _ in range(length))


def normalise_password(password: str | None) -> str:
    """What a login compares: the typed password without spaces at its ends (phone keyboards add
    them). A new password with such spaces is refused (validate_password), so both agree."""
    return (password or "").strip()


def validate_password(password: str, username: str | None = None) -> None:
    """A new password: no spaces at the ends, 8+ characters, at most bcrypt's 72 bytes (24 Chinese
    characters), not a common password and not containing the username."""
    password = password or ""
    if password != password.strip():
        raise InvalidInput("error.password_edge_space")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("error.password_short", n=MIN_PASSWORD)
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidInput("error.password_long")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise InvalidInput("error.password_common")
    if username and username.lower() in lowered:
        raise InvalidInput("error.password_username")


def units_of_team(db: Database, team_id: int | None) -> frozenset[int]:
    if team_id is None:
        return frozenset()
    return frozenset(r[0] for r in db.rows("SELECT id FROM units WHERE team_id = ?", [team_id]))


def account(db: Database, username: str) -> dict | None:
    rows = db.dicts("SELECT * FROM users WHERE username = ?", [username])
    return rows[0] if rows else None


def actor_for(db: Database, username: str) -> Actor | None:
    """The actor as the database says now (role and scope are never taken from a cookie)."""
    user = account(db, username)
    if not user or not user["active"]:
        return None
    return Actor(
        user["username"],
        user["role"],
        user["display_name"],
        user["team_id"],
        user["volunteer_id"],
        units_of_team(db, user["team_id"]) if user["role"] in TEAM_ROLES else frozenset(),
    )


def _account(username: str) -> Actor:
    """The login machinery writing about one account (login, logout, password change): not a session acting
    in the compound, so not refused when the account was deactivated or logged out meanwhile."""
    return Actor(username, "member", kind="account")


def credentials(db: Database, exclude: set[str] | frozenset[str] = frozenset()) -> dict:
    """The dict streamlit-authenticator wants (auto_hash=False): active, unlocked accounts only."""
    rows = db.rows("SELECT username, display_name, password_hash, role FROM users WHERE active")
    return {"usernames": {u: {"name": n, "password": h, "roles": [r], "email": None} for u, n, h, r in rows if u not in exclude}}


def token_revoked(db: Database, username: str, issued_at: datetime) -> bool:
    user = account(db, username)
    if not user or not user["active"]:
        return True
    valid_after = user["tokens_valid_after"]
    return valid_after is not None and issued_at < valid_after


def revoke_tokens(db: Database, username: str, reason: str = "logout") -> None:
    """Every cookie and session issued before now stops working (logout, password change, deactivation)."""

    def fn(tx: Tx):
        before, after = tx.update("users", username, {"tokens_valid_after": clock.real_now()}, key_column="username")
        tx.audit(f"tokens.revoke.{reason}", "user", username, None, {"tokens_valid_after": after["tokens_valid_after"]})

    db.write(_account(username), fn)


# -- account management ---------------------------------------------------------------------------
TEAM_ROLES = ("captain", "member")  # the roles that belong to a team; every other role is compound-wide


def team_for_role(role: str, team_id: int | None) -> int | None:
    """The team an account of this role keeps: captains and members must have one; a compound-wide role
    (committee, medic, logistics) has none, so a team chosen with it is dropped rather than stored."""
    if role not in TEAM_ROLES:
        return None
    if team_id is None:
        raise InvalidInput("error.team_required")
    return team_id


def create_user(
    db: Database,
    actor: Actor,
    username: str,
    display_name: str,
    role: str,
    team_id: int | None = None,
    volunteer_id: int | None = None,
    password: str | None = None,
) -> str:
    """Create an account with a temporary password (returned once) that must be changed at first login."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput("error.username_format")
    if role not in access.ROLES:
        raise InvalidInput("error.role_unknown", role=role)
    team_id = team_for_role(role, team_id)
    _check_display_name(display_name)
    temp = password or temporary_password()
    hashed = hash_password(temp)

    def fn(tx: Tx):
        tx.require("users.manage")
        if tx.scalar("SELECT count(*) FROM users WHERE username = ?", [username]):
            raise InvalidInput("error.username_taken", username=username)
        if team_id is not None and not tx.scalar("SELECT count(*) FROM teams WHERE id = ?", [team_id]):
            raise InvalidInput("error.team_unknown", team=team_id)
        values = {
            "username": username,
            "display_name": display_name.strip(),
            "role": role,
            "team_id": team_id,
            "volunteer_id": volunteer_id,
            "password_hash": hashed,
            "active": True,
            "must_change_password": True,
            "created_at": tx.now,
        }
        tx.insert("users", values, returning=None)
        tx.audit("user.create", "user", username, None, {k: v for k, v in values.items() if k != "password_hash"})

    db.write(actor, fn)
    return temp


def _check_display_name(display_name: str | None) -> None:
    display_name = (display_name or "").strip()
    if not display_name:
        raise InvalidInput("error.required", field="display_name")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput("safety.display_name_long", n=MAX_DISPLAY_NAME)


_KEEP = object()


def update_user(
    db: Database,
    actor: Actor,
    username: str,
    *,
    role: str | None = None,
    team_id=_KEEP,
    active: bool | None = None,
    display_name: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Change role, team (the units follow the team), name or active flag. Changing role or team,
    or deactivating, ends the user's running logins: the scope they were given no longer holds."""
    changes: dict = {}
    if role is not None:
        if role not in access.ROLES:
            raise InvalidInput("error.role_unknown", role=role)
        changes["role"] = role
    if team_id is not _KEEP:
        changes["team_id"] = team_id
    if display_name is not None:
        _check_display_name(display_name)
        changes["display_name"] = display_name.strip()
    if active is not None:
        changes["active"] = bool(active)

    def fn(tx: Tx):
        tx.require("users.manage")
        current = tx.record("users", username, "username")
        new_role = changes.get("role", current["role"])
        new_team = team_for_role(new_role, changes.get("team_id", current["team_id"]))
        if new_team is not None and not tx.scalar("SELECT count(*) FROM teams WHERE id = ?", [new_team]):
            raise InvalidInput("error.team_unknown", team=new_team)
        if username == actor.username and active is False:
            raise InvalidInput("error.self_deactivate")
        if username == actor.username and new_role != current["role"]:
            raise InvalidInput("admin.error_self_role")
        values = {k: v for k, v in {**changes, "team_id": new_team}.items() if current.get(k) != v}
        if not values:
            return
        if values.get("active") is False or "role" in values or "team_id" in values:
            values["tokens_valid_after"] = clock.real_now()
        before, after = tx.update("users", username, values, key_column="username", expected_version=expected_version)
        for row in (before, after):
            row.pop("password_hash", None)
        tx.audit("user.update", "user", username, before, after)

    db.write(actor, fn)


def reset_password(db: Database, actor: Actor, username: str, expected_version: int | None = None) -> str:
    """A new temporary password (returned once, never stored in clear); the user must change it,
    every login they had ends, and a login lock on the account is lifted."""
    temp = temporary_password()
    hashed = hash_password(temp)

    def fn(tx: Tx):
        tx.require("users.manage")
        tx.update(
            "users",
            username,
            {"password_hash": hashed, "must_change_password": True, "tokens_valid_after": clock.real_now()},
            key_column="username",
            expected_version=expected_version,
        )
        tx.execute(
            "DELETE FROM login_failures WHERE username = ?", [username], writes=("login_failures",)
        )  # the new password works at once
        tx.audit("user.reset_password", "user", username)

    db.write(actor, fn)
    return temp


def change_password(db: Database, username: str, old: str, new: str) -> None:
    user = account(db, username)
    if user is None:
        raise NotFound(entity="user", id=username)
    if not check_password(normalise_password(old), user["password_hash"]):
        raise InvalidInput("error.password_wrong")
    validate_password(new, username)
    if new == old:
        raise InvalidInput("error.password_same")
    hashed = hash_password(new)

    def fn(tx: Tx):
        tx.update(
            "users",
            username,
            {"password_hash": hashed, "must_change_password": False, "tokens_valid_after": clock.real_now()},
            key_column="username",
        )
        tx.audit("user.change_password", "user", username)

    db.write(_account(username), fn)


def _users_where(query: str | None, role: str | None, active: bool | None) -> tuple[str, list]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if query:
        where.append("(username ILIKE ? OR display_name ILIKE ?)")
        params += [f"%{query.strip()}%", f"%{query.strip()}%"]
    if role:
        where.append("role = ?")
        params.append(role)
    if active is not None:
        where.append("active = ?")
        params.append(bool(active))
    return " AND ".join(where), params


def count_users(db: Database, actor: Actor, query: str | None = None, role: str | None = None, active: bool | None = None) -> int:
    access.require(actor, "users.manage")
    where, params = _users_where(query, role, active)
    return int(db.scalar(f"SELECT count(*) FROM users WHERE {where}", params))


def list_users(
    db: Database,
    actor: Actor,
    query: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> pd.DataFrame:
    """Accounts (never their hashes), filtered and paged in SQL."""
    access.require(actor, "users.manage")
    where, params = _users_where(query, role, active)
    return db.df(
        f"""SELECT username, display_name, role, team_id, active, must_change_password, created_at, version
                     FROM users WHERE {where}
                     ORDER BY array_position(ARRAY['committee', 'medic', 'logistics', 'captain', 'member'], role), username
                     LIMIT ? OFFSET ?""",
        [*params, int(limit), int(offset)],
    )


def user_detail(db: Database, actor: Actor, username: str) -> dict:
    """One account for the admin page: its fields (no hash) and its team's units."""
    access.require(actor, "users.manage")
    user = account(db, username)
    if user is None:
        raise NotFound(entity="user", id=username)
    user.pop("password_hash", None)
    user["units"] = (
        []
        if user["team_id"] is None
        else db.rows("SELECT id, building, unit_no FROM units WHERE team_id = ? ORDER BY id", [user["team_id"]])
    )
    return user


def teams(db: Database, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of every team, for choosing a captain's or member's team."""
    access.require(actor, "users.manage")
    return [(r[0], r[1]) for r in db.rows("SELECT id, name FROM teams ORDER BY id")]


def audit_choices(db: Database, actor: Actor) -> tuple[list[str], list[str]]:
    """The actors and entities that occur in the audit log, for the filters."""
    access.require(actor, "audit.view")
    actors = [r[0] for r in db.rows("SELECT DISTINCT actor FROM audit_log ORDER BY actor")]
    entities = [r[0] for r in db.rows("SELECT DISTINCT entity FROM audit_log ORDER BY entity")]
    return actors, entities


def _audit_where(user, entity, since, until) -> tuple[str, list]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if user:
        where.append("actor = ?")
        params.append(user)
    if entity:
        where.append("entity = ?")
        params.append(entity)
    if since:
        where.append("ts >= ?")
        params.append(clock.day_start(since) if isinstance(since, date) and not isinstance(since, datetime) else since)
    if until:  # a date means "up to and including that day"
        if isinstance(until, date) and not isinstance(until, datetime):
            until = clock.day_start(until) + timedelta(days=1)
        where.append("ts < ?")
        params.append(until)
    return " AND ".join(where), params


def audit_count(db: Database, actor: Actor, user: str | None = None, entity: str | None = None, since=None, until=None) -> int:
    access.require(actor, "audit.view")
    where, params = _audit_where(user, entity, since, until)
    return int(db.scalar(f"SELECT count(*) FROM audit_log WHERE {where}", params))


def audit_log(
    db: Database,
    actor: Actor,
    user: str | None = None,
    entity: str | None = None,
    since=None,
    until=None,
    limit: int = 500,
    offset: int = 0,
) -> pd.DataFrame:
    """The audit log, newest first, filtered by who, what entity and dates (Asia/Shanghai days)."""
    access.require(actor, "audit.view")
    where, params = _audit_where(user, entity, since, until)
    return db.df(
        f"SELECT id, ts, actor, action, entity, entity_id, before, after FROM audit_log "
        f"WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    )


VIEW_REPEAT_SECONDS = 600  # the same session seeing the same data again within this adds nothing to the record
_RECENT_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # db -> OrderedDict(view key -> monotonic time)


def log_view(
    db: Database, actor: Actor, entity: str, entity_id, what: str = "medical", detail=None, *, listing: bool = False
) -> None:
    """Views of sensitive data are recorded like writes (detail: what was shown, e.g. whose tags).
    listing=True (lists that show tags, redrawn on every rerun and by pages refreshing themselves): the same
    session seeing exactly the same rows again within VIEW_REPEAT_SECONDS is not recorded again, so there is
    one row per distinct view rather than one per script run. Opening one person's detail is always recorded."""
    key = (
        getattr(actor, "username", None),
        str(getattr(actor, "issued_at", None)),
        what,
        entity,
        str(entity_id),
        to_json(detail),
    )
    recent = _RECENT_VIEWS.setdefault(db, OrderedDict())
    now = time.monotonic()
    if listing and now - recent.get(key, -VIEW_REPEAT_SECONDS) < VIEW_REPEAT_SECONDS:
        return

    def fn(tx: Tx):
        tx.audit(f"view.{what}", entity, entity_id, None, detail)

    db.write(actor, fn)
    recent[key] = now
    recent.move_to_end(key)
    while len(recent) > 4096:
        recent.popitem(last=False)
