"""Logins: the password check and its throttle. An attacker must not be able to deny a user, so
failures are counted per (username, client) and per client, never per username alone: too many
failures make *that* client wait (a delay that doubles), while the same user from elsewhere logs in.

Each attempt claims its row in `login_failures` before bcrypt runs, in the same transaction that
checks the limits, so a burst of simultaneous submits cannot slip past the limit, and the right password
is refused while its (username, client) or client is waiting. A success deletes that pair's rows.
Claims of one client run one at a time: within a process under a lock per database, and across the app
processes sharing a PostgreSQL database by the client's row in write_locks (qinyuan.keylocks)."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import access, clock, keylocks, users
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound

MAX_CLIENT = 64
_DUMMY: dict[int, str] = {}
_COST = re.compile(r"^\$2[abxy]?\$(\d\d)\$")


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5  # per (username, client) before waiting starts
    client_max_failures: int = 20  # per client, whatever the usernames (password spraying)
    delay_seconds: int = 30  # the first wait; each further failure doubles it
    window_minutes: int = 15  # failures older than this are forgotten; also the longest wait

    @classmethod
    def from_settings(cls, db: Database) -> Throttle:
        return cls(
            int(db.settings().get("login_max_failures", "5")),
            int(db.settings().get("login_client_max_failures", "20")),
            int(db.settings().get("login_delay_seconds", "30")),
            int(db.settings().get("login_window_minutes", "15")),
        )

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    def delay(self, failures: int, limit: int) -> timedelta | None:
        """How long after the latest of `failures` the next attempt must wait (None: no wait)."""
        if failures < limit:
            return None
        seconds = self.delay_seconds * 2 ** min(failures - limit, 20)
        return min(timedelta(seconds=seconds), self.window)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    username: str
    wait: int = 0  # seconds before this client may try this username again
    left: int = 0  # failures left before waiting starts
    throttled: bool = False  # refused without looking at the password
    error: str | None = None  # a message key: the password cannot be right whatever the account


def client_key(client: str | None) -> str:
    return (client or "-").strip()[:MAX_CLIENT] or "-"


def attempt(db: Database, username: str, password: str, client: str | None) -> Outcome:
    """One login attempt from `client` (the address the UI saw): claim, check, resolve."""
    name = (username or "").strip().lower()[:64]
    client = client_key(client)
    password = users.normalise_password(password)
    if len(password.encode("utf-8")) > users.MAX_PASSWORD_BYTES:
        return Outcome(False, name, error="error.password_long")
    throttle = Throttle.from_settings(db)
    wait, first_unknown = _claim(db, name, client, throttle)
    if wait is not None:
        return Outcome(False, name, wait=math.ceil(wait.total_seconds()), throttled=True)
    known = _password_matches(db, name, password)
    if known is True:
        _succeeded(db, name, client)
        return Outcome(True, name)
    if known is False or first_unknown:
        _failed(db, name, client, known is False)
    now = clock.real_now()
    wait = _wait(db, name, client, throttle, now)
    return Outcome(False, name, wait=math.ceil(wait.total_seconds()) if wait else 0, left=_left(db, name, client, throttle, now))


def _claim(db: Database, name: str, client: str, throttle: Throttle) -> tuple[timedelta | None, bool]:
    """The throttle's verdict (how long to wait, None: go ahead) and, when it lets the attempt through,
    the attempt's own row (counted as a failure until it succeeds), in one transaction. Also says
    whether this is the client's first attempt at a name that is no account in the window."""
    now = clock.real_now()

    def fn(tx: Tx) -> tuple[timedelta | None, bool]:
        keylocks.hold(tx, f"login:{client}")  # both limits count this client's rows
        tx.execute("DELETE FROM login_failures WHERE ts <= ?", [now - throttle.window], writes=("login_failures",))
        wait = _wait(tx, name, client, throttle, now)
        if wait is not None:
            return wait, False
        first_unknown = not tx.scalar("SELECT count(*) FROM users WHERE username = ? AND active", [name]) and not (
            tx.scalar(
                """SELECT count(*) FROM login_failures f WHERE client = ?
                         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = f.username AND u.active)""",
                [client],
            )
        )
        tx.execute(
            "INSERT INTO login_failures (username, ts, client) VALUES (?, ?, ?)", [name, now, client], writes=("login_failures",)
        )
        return None, first_unknown

    with keylocks.local(db, "login.claims"):
        return db.write(None, fn)


def _counts(reader, name: str, client: str, since: datetime) -> tuple[tuple, tuple]:
    pair = reader.one(
        "SELECT count(*), max(ts) FROM login_failures WHERE username = ? AND client = ? AND ts > ?", [name, client, since]
    )
    whole = reader.one("SELECT count(*), max(ts) FROM login_failures WHERE client = ? AND ts > ?", [client, since])
    return pair, whole


def _wait(reader, name: str, client: str, throttle: Throttle, now: datetime) -> timedelta | None:
    """How long this client must wait before trying this username (None: it may try now).
    `reader`: a Tx inside the claim, or the database."""
    pair, whole = _counts(reader, name, client, now - throttle.window)
    waits = []
    for (failures, latest), limit in ((pair, throttle.max_failures), (whole, throttle.client_max_failures)):
        delay = throttle.delay(int(failures), limit)
        if delay is not None and latest + delay > now:
            waits.append(latest + delay - now)
    return max(waits, default=None)


def _left(db: Database, name: str, client: str, throttle: Throttle, now: datetime) -> int:
    (pair, _), (whole, _) = _counts(db, name, client, now - throttle.window)
    return max(0, min(throttle.max_failures - int(pair), throttle.client_max_failures - int(whole)))


def _dummy_hash(db: Database) -> str:
    """A hash of nothing anyone knows, at the cost of the stored hashes, so an unknown username
    takes as long to refuse as a known one."""
    sample = db.scalar("SELECT password_hash FROM users ORDER BY username LIMIT 1") or ""
    found = _COST.match(sample)
    cost = int(found.group(1)) if found else 12
    if cost not in _DUMMY:
        _DUMMY[cost] = users.hash_password(secrets.token_hex(16), rounds=cost)
    return _DUMMY[cost]


def _password_matches(db: Database, name: str, password: str) -> bool | None:
    """True or False for an active account; None (after the same bcrypt work) for any other name."""
    row = db.one("SELECT password_hash FROM users WHERE username = ? AND active", [name])
    matches = users.check_password(password, row[0] if row else _dummy_hash(db))
    return None if row is None else matches


def _succeeded(db: Database, name: str, client: str) -> None:
    def fn(tx: Tx):
        tx.execute("DELETE FROM login_failures WHERE username = ? AND client = ?", [name, client], writes=("login_failures",))
        tx.audit("login.ok", "user", name, None, {"client": client})

    db.write(Actor(name, "member"), fn)


def _failed(db: Database, name: str, client: str, known: bool) -> None:
    """Audit a failure: each one for a real account (the throttle bounds them); for names that are no
    account only the client's first in the window (the attempts themselves stay in login_failures)."""

    def fn(tx: Tx):
        if known:
            tx.audit("login.failed", "user", name, None, {"client": client})
        else:
            tx.audit("login.failed_unknown", "client", client, None, {"username": name})

    db.write(None, fn)


# -- the committee's view and unlock ---------------------------------------------------------------
def throttled(db: Database, actor: Actor) -> list[dict]:
    """Every (username, client) with failures in the window, the most recent first, with how long
    it must still wait (0: it may try now)."""
    access.require(actor, "users.manage")
    throttle = Throttle.from_settings(db)
    now = clock.real_now()
    rows = db.rows(
        """SELECT username, client, count(*), max(ts) FROM login_failures WHERE ts > ?
                      GROUP BY username, client ORDER BY max(ts) DESC LIMIT 200""",
        [now - throttle.window],
    )
    found = []
    for name, client, failures, latest in rows:
        wait = _wait(db, name, client, throttle, now)
        found.append(
            {
                "username": name,
                "client": client,
                "failures": int(failures),
                "latest": latest,
                "wait": math.ceil(wait.total_seconds()) if wait else 0,
            }
        )
    return found


def unlock(db: Database, actor: Actor, username: str) -> int:
    """Forget every failed login of a username, from every client (audited); returns how many."""
    name = (username or "").strip().lower()

    def fn(tx: Tx) -> int:
        tx.require("users.manage")
        if not tx.scalar("SELECT count(*) FROM users WHERE username = ?", [name]):
            raise NotFound(entity="user", id=name)
        count = int(tx.scalar("SELECT count(*) FROM login_failures WHERE username = ?", [name]))
        tx.execute("DELETE FROM login_failures WHERE username = ?", [name], writes=("login_failures",))
        tx.audit("login.unlock", "user", name, {"failures": count}, None)
        return count

    if not name:
        raise InvalidInput("error.required", field="username")
    return db.write(actor, fn)
