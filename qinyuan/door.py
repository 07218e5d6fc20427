"""Households at their own door: a private link per household (no account), and what a household may ask
for through it. Staff act on what households ask for in qinyuan.door_staff.

A link carries a random token of 192 bits; only its SHA-256 is stored (door_links), so a printed card or
a sent link cannot be shown again: printing a unit's cards issues fresh links and the old ones stop.
Every write of a household runs in one transaction that first checks, inside that transaction, that the
link it came in by is still the household's current one, then the hourly limits per link and per client
(counted in door_hits, one writer per link and per client at a time, across app processes too), then
writes and audits as `household:<id>`. Medicine, groceries and urgent cases go into their own
areas' tables through those areas' insert functions; the rest are door_requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, overload

from . import access, clock, emergencies, groceries, keylocks, kpi, medicine
from .access import Actor, HouseholdActor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, QinyuanError, StaleEdit
from .grid import unit_label
from .states import Machine

DEFAULT_PUBLIC_URL = "http://localhost:8501"
TOKEN_BYTES = 24  # 192 bits
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,86}$")
_DUMMY = hashlib.sha256(b"qinyuan-door-no-link").hexdigest()

HELP_TOPICS = ("carry", "rubbish", "pet", "question", "other")
TESTING_KINDS = ("away", "home_sampling")
KINDS = ("help", *TESTING_KINDS, "update")  # door_requests.kind; medicine, grocery, urgent live elsewhere
STAFF = ("committee", "captain")
_HOME = (access.HOUSEHOLD,)
REQUEST = Machine(
    "door_request",
    {
        "new": {"in_progress": STAFF, "done": STAFF, "cancelled": STAFF + _HOME},
        "in_progress": {"done": STAFF, "cancelled": STAFF},
    },
    terminal=("done", "cancelled"),
)
PROPOSAL = Machine(
    "door_proposal",
    {
        "new": {"confirmed": STAFF, "rejected": STAFF, "cancelled": _HOME},
    },
    terminal=("confirmed", "rejected", "cancelled"),
)
OPEN = REQUEST.open_states
MAX_TEXT = 300
MAX_PHONE = 20
MAX_QTY = 20
DEFAULT_LIMITS = {"door_link_per_hour": 20, "door_client_per_hour": 60}
NEEDS = ("elderly_alone", "disability", "chronic", "dialysis", "chemo", "pregnancy", "newborn", "other")
_PHONE = re.compile(r"^[0-9+\- ]{5,20}$")


class LinkGone(QinyuanError):
    """The link is not (or no longer) a household's current link: the same neutral answer for every case."""

    key = "door.error.link_gone"


class TooMany(QinyuanError):
    key = "door.error.too_many"


def machine_for(kind: str) -> Machine:
    return PROPOSAL if kind == "update" else REQUEST


# -- links ------------------------------------------------------------------------------------------
def public_url() -> str:
    return (os.environ.get("QINYUAN_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens are 192 random bits, so a fast hash is enough (nothing to brute-force)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def link_for(token: str) -> str:
    return f"{public_url()}/door?k={token}"


def client_key(raw: str | None) -> str:
    """Where a request came from, as a short hash (addresses are not stored)."""
    return hashlib.sha256((raw or "-").encode("utf-8")).hexdigest()[:16]


def open_link(db: Database, token: str | None, client: str = "") -> HouseholdActor | None:
    """The household whose current link carries this token, or None for anything else (missing, malformed,
    old, wrong): one neutral answer. Looked up by hash and compared in constant time."""
    wellformed = isinstance(token, str) and bool(_TOKEN.match(token))
    digest = hash_token(token) if isinstance(token, str) and wellformed else _DUMMY
    row = db.one("SELECT household_id, token_hash FROM door_links WHERE token_hash = ?", [digest])
    stored = row[1] if row else _DUMMY
    if not (hmac.compare_digest(stored, digest) and wellformed and row):
        return None
    room = db.one("SELECT room FROM households WHERE id = ?", [row[0]])
    if room is None:
        return None
    return access.household_actor(int(row[0]), digest, client, room[0])


def _issue(tx: Tx, household_id: int) -> str:
    assert tx.actor is not None
    token = new_token()
    digest = hash_token(token)
    current = tx.one("SELECT version, issued_at FROM door_links WHERE household_id = ?", [household_id])
    if current is None:
        tx.insert(
            "door_links",
            {"household_id": household_id, "token_hash": digest, "issued_at": tx.now, "issued_by": tx.actor.username},
            returning=None,
        )
        before = None
    else:
        tx.update(
            "door_links",
            household_id,
            {"token_hash": digest, "issued_at": tx.now, "issued_by": tx.actor.username},
            key_column="household_id",
            before={"version": current[0]},
        )
        before = {"issued_at": current[1], "version": current[0]}
    # Never the token nor its hash in the audit log: only that a new card was issued, by whom, when.
    tx.audit(
        "door.reissue" if before else "door.issue",
        "household",
        household_id,
        before,
        {"issued_at": tx.now, "version": 1 if before is None else before["version"] + 1},
    )
    return token


def reissue(db: Database, actor: Actor, household_id: int) -> str:
    """A new link for one household (lost card, family moved); the old one stops at once. Returns the token."""

    def fn(tx: Tx) -> str:
        unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [int(household_id)])
        if unit_id is None:
            raise NotFound(entity="household", id=household_id)
        tx.require("door.cards", unit_id)
        return _issue(tx, int(household_id))

    return db.write(actor, fn)


def issue_unit(db: Database, actor: Actor, unit_id: int) -> list[dict]:
    """Fresh links for every household of a unit, for printing its cards or sending its links: every old
    card of the unit stops working. [{household_id, room, token, link}] in room order."""

    def fn(tx: Tx) -> list[dict]:
        if tx.scalar("SELECT count(*) FROM units WHERE id = ?", [int(unit_id)]) == 0:
            raise NotFound(entity="unit", id=unit_id)
        tx.require("door.cards", int(unit_id))
        rows = tx.rows("SELECT id, room FROM households WHERE unit_id = ? ORDER BY length(room), room, id", [int(unit_id)])
        out = []
        for hid, room in rows:
            token = _issue(tx, hid)
            out.append({"household_id": hid, "room": room, "token": token, "link": link_for(token)})
        return out

    return db.write(actor, fn)


def unit_rooms(db: Database, actor: Actor, unit_id: int) -> dict[int, str]:
    """{household id: room} of a unit, for picking the card to reissue."""
    access.require(actor, "door.cards", int(unit_id))
    return dict(db.rows("SELECT id, room FROM households WHERE unit_id = ? ORDER BY length(room), room, id", [int(unit_id)]))


def set_clinic_phone(db: Database, actor: Actor, phone: str) -> None:
    """The clinic's number on every door card and page (committee: part of the emergency configuration)."""
    phone = _phone(phone, required=True)

    def fn(tx: Tx) -> None:
        tx.require("emergency.configure")
        before = tx.scalar("SELECT value FROM settings WHERE key = 'clinic_phone'")
        tx.set_setting("clinic_phone", phone)
        tx.audit("settings.update", "setting", "clinic_phone", before, phone)

    db.write(actor, fn)


def seed_links(db: Database) -> int:
    """Give every household without a link one (demo and scaled worlds): hashes of random values nobody
    holds, so every household has a card to print; printing issues the links people get."""
    issued = db.now()
    if db.demo_date:  # the demo's own records stop before its working morning (nothing after the demo's "now")
        issued = min(issued, clock.day_start(db.demo_date) + timedelta(hours=7))
    with db.bulk() as cur:
        cur.execute(
            """INSERT INTO door_links (household_id, token_hash, issued_at, issued_by)
                       SELECT h.id, md5(CAST(gen_random_uuid() AS VARCHAR)) || md5(CAST(gen_random_uuid() AS VARCHAR)), ?, 'system' FROM households h
                       WHERE h.id NOT IN (SELECT household_id FROM door_links)""",
            [issued],
        )
        return cur.execute("SELECT count(*) FROM door_links").fetchone()[0]


# -- the household's writes -------------------------------------------------------------------------
def limits(db: Database) -> dict[str, int]:
    out = {}
    for key, default in DEFAULT_LIMITS.items():
        try:
            out[key] = max(1, int(db.settings().get(key, str(default))))
        except (TypeError, ValueError):
            out[key] = default
    return out


def fresh_household(tx: Tx, actor: Actor) -> Actor:
    """A household actor as the database says now, inside the write's transaction: its link must still be the
    household's current one (a card reissued a moment ago stops this write). The shape of a reload hook."""
    current = tx.scalar("SELECT token_hash FROM door_links WHERE household_id = ?", [int(getattr(actor, "household_id", 0) or 0)])
    if current is None or not hmac.compare_digest(current, getattr(actor, "link_hash", "") or _DUMMY):
        raise LinkGone()
    return actor


access.reload_kind("household", fresh_household)  # Database.write re-checks a household's link in every write


def _door_write(db: Database, actor: Actor, household_id: int, fn: Callable[[Tx, int], Any]) -> Any:
    """One household write: own household, link still current (checked in this transaction, so a card
    reissued a moment ago stops this write), hourly limits per link and per client, then fn(tx, unit_id)."""
    caps = limits(db)

    def run(tx: Tx) -> Any:
        assert tx.actor is not None
        access.require(tx.actor, "door.use", household_id=int(household_id))
        fresh_household(tx, tx.actor)
        since = tx.now - timedelta(hours=1)
        client = getattr(tx.actor, "client", "") or "-"
        keylocks.hold(tx, f"door-link:{int(household_id)}", f"door-client:{client}")  # across app processes too
        if (
            tx.scalar("SELECT count(*) FROM door_hits WHERE household_id = ? AND ts > ?", [household_id, since])
            >= caps["door_link_per_hour"]
            or tx.scalar("SELECT count(*) FROM door_hits WHERE client = ? AND ts > ?", [client, since])
            >= caps["door_client_per_hour"]
        ):
            raise TooMany()
        tx.execute(
            "DELETE FROM door_hits WHERE household_id = ? AND ts <= ?", [int(household_id), since], writes=("door_hits",)
        )  # kept an hour
        tx.insert("door_hits", {"household_id": int(household_id), "client": client, "ts": tx.now}, returning=None)
        unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [int(household_id)])
        return fn(tx, unit_id)

    return db.write(actor, run)


@overload
def _text(value: str | None, *, required: Literal[True], limit: int = MAX_TEXT) -> str: ...
@overload
def _text(value: str | None, *, required: bool = False, limit: int = MAX_TEXT) -> str | None: ...
def _text(value: str | None, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    value = " ".join(str(value or "").split())
    if not value:
        if required:
            raise InvalidInput("door.error.text_required")
        return None
    if len(value) > limit:
        raise InvalidInput("door.error.too_long", n=limit)
    return value


@overload
def _phone(value: str | None, required: Literal[True]) -> str: ...
@overload
def _phone(value: str | None, required: bool = False) -> str | None: ...
def _phone(value: str | None, required: bool = False) -> str | None:
    value = str(value or "").strip()
    if not value:
        if required:
            raise InvalidInput("door.error.phone")
        return None
    if not _PHONE.match(value):
        raise InvalidInput("door.error.phone")
    return value


def _own_resident(tx: Tx, household_id: int, resident_id: int | None) -> int | None:
    if resident_id is None:
        return None
    if not tx.scalar(
        "SELECT count(*) FROM residents WHERE id = ? AND household_id = ? AND active", [int(resident_id), int(household_id)]
    ):
        raise InvalidInput("door.error.resident")
    return int(resident_id)


def _new_request(
    tx: Tx,
    household_id: int,
    kind: str,
    *,
    topic: str | None = None,
    resident_id: int | None = None,
    detail: str | None = None,
    proposal: dict | None = None,
    phone: str | None = None,
) -> int:
    assert tx.actor is not None
    rid = tx.scalar("SELECT nextval('door_request_seq')")
    values = {
        "id": rid,
        "household_id": household_id,
        "kind": kind,
        "topic": topic,
        "resident_id": resident_id,
        "detail": detail,
        "proposal": json.dumps(proposal, ensure_ascii=False) if proposal else None,
        "phone": phone,
        "status": "new",
        "created_at": tx.now,
        "updated_at": tx.now,
        "updated_by": tx.actor.username,
    }
    tx.insert("door_requests", values, returning=None)
    tx.insert("door_events", {"request_id": rid, "to_status": "new", "ts": tx.now, "actor": tx.actor.username}, returning=None)
    tx.audit(f"door.{kind}", "door_request", rid, None, values)
    return rid


def ask_help(
    db: Database, actor: Actor, household_id: int, topic: str, detail: str | None = None, phone: str | None = None
) -> int:
    """A non-urgent request (carry something, rubbish, a pet, a question) for the captain's to-do."""
    if topic not in HELP_TOPICS:
        raise InvalidInput("door.error.topic")
    detail = _text(detail, required=topic in ("question", "other"))
    phone = _phone(phone)
    return _door_write(
        db, actor, household_id, lambda tx, _unit: _new_request(tx, household_id, "help", topic=topic, detail=detail, phone=phone)
    )


def report_testing(db: Database, actor: Actor, household_id: int, resident_id: int, kind: str, detail: str | None = None) -> int:
    """'I am away' / 'I need home sampling' for one resident this round: a request on the captain's list."""
    if kind not in TESTING_KINDS:
        raise InvalidInput("door.error.topic")
    detail = _text(detail)

    def fn(tx: Tx, _unit: int) -> int:
        rid = _own_resident(tx, household_id, resident_id)
        if tx.scalar(
            "SELECT count(*) FROM door_requests WHERE household_id = ? AND resident_id = ? AND kind = ? "
            "AND status = ANY(CAST(? AS VARCHAR[]))",
            [household_id, rid, kind, list(OPEN)],
        ):
            raise InvalidInput("door.error.already_asked")
        return _new_request(tx, household_id, kind, resident_id=rid, detail=detail)

    return _door_write(db, actor, household_id, fn)


def request_medicine(
    db: Database,
    actor: Actor,
    household_id: int,
    items: str,
    urgency: str,
    phone: str,
    resident_id: int | None = None,
    notes: str | None = None,
) -> int:
    """A medicine order with channel `online`, in the captain's and the clinic's queues like a phone order."""
    if urgency not in medicine.URGENCIES:
        raise InvalidInput("medicine.error.urgency")
    lines = medicine.parse_items(items)
    phone = _phone(phone, required=True)
    notes = _text(notes)
    text = f"☎ {phone}" + (f" · {notes}" if notes else "")

    def fn(tx: Tx, _unit: int) -> int:
        rid = _own_resident(tx, household_id, resident_id)
        return medicine.insert_order(tx, household_id, lines, urgency, "online", rid, None, text)

    return _door_write(db, actor, household_id, fn)


def report_urgent(db: Database, actor: Actor, household_id: int, summary: str, phone: str, resident_id: int | None = None) -> int:
    """Someone is unwell: an emergency case reported by the household, on top of the captain's and the clinic's
    needs-attention lists."""
    summary = _text(summary, required=True)
    phone = _phone(phone, required=True)

    def fn(tx: Tx, _unit: int) -> int:
        rid = _own_resident(tx, household_id, resident_id)
        return emergencies.insert_case(tx, household_id, rid, f"{summary} (☎ {phone})", "urgent")

    return _door_write(db, actor, household_id, fn)


def order_groceries(db: Database, actor: Actor, household_id: int, supplier_id: int, quantities: dict[int, int]) -> int:
    """A grocery order from one vetted supplier's current offer: {offer id: how many}."""
    wanted = {}
    for offer_id, qty in (quantities or {}).items():
        try:
            qty = int(qty)
        except (TypeError, ValueError):
            raise InvalidInput("door.error.quantity", n=MAX_QTY) from None
        if not 0 <= qty <= MAX_QTY:
            raise InvalidInput("door.error.quantity", n=MAX_QTY)
        if qty:
            wanted[int(offer_id)] = qty
    if not wanted:
        raise InvalidInput("door.error.nothing_chosen")

    def fn(tx: Tx, unit_id: int) -> int:
        offers = {
            r[0]: r[1:]
            for r in tx.rows("SELECT id, item, pack FROM grocery_offers WHERE supplier_id = ? AND active", [int(supplier_id)])
        }
        if set(wanted) - set(offers):
            raise InvalidInput("door.error.offer_gone")
        items = "；".join(f"{offers[o][0]}{' ' + offers[o][1] if offers[o][1] else ''} ×{q}" for o, q in wanted.items())
        if len(items) > 300:
            raise InvalidInput("door.error.too_long", n=300)
        return groceries.insert_order(tx, int(supplier_id), items, household_id, unit_id)

    return _door_write(db, actor, household_id, fn)


def propose_update(
    db: Database,
    actor: Actor,
    household_id: int,
    *,
    occupants: int | None = None,
    living: str | None = None,
    away: list[int] | None = None,
    needs: list[str] | None = None,
    note: str | None = None,
) -> int:
    """Who lives here now, who is away, special needs: a proposed change the captain confirms or rejects.
    Nothing is written into the ledger here."""
    if occupants is not None and not 0 <= int(occupants) <= 20:
        raise InvalidInput("door.error.occupants")
    unknown = [n for n in needs or [] if n not in NEEDS]
    if unknown:
        raise InvalidInput("door.error.topic")
    living, note = _text(living), _text(note)
    away_ids = sorted({int(a) for a in away or []})
    proposal = {
        "occupants": None if occupants is None else int(occupants),
        "living": living,
        "away": away_ids,
        "needs": sorted(set(needs or [])),
        "note": note,
    }
    if not any(v not in (None, [], "") for v in proposal.values()):
        raise InvalidInput("door.error.nothing_chosen")

    def fn(tx: Tx, _unit: int) -> int:
        for rid in away_ids:
            _own_resident(tx, household_id, rid)
        return _new_request(tx, household_id, "update", proposal=proposal)

    return _door_write(db, actor, household_id, fn)


def cancel(db: Database, actor: Actor, household_id: int, kind: str, ref_id: int) -> None:
    """Take back a request not yet in progress: a door request still new, a medicine order still requested."""

    def fn(tx: Tx, _unit: int) -> None:
        assert tx.actor is not None
        if kind == "medicine":
            row = tx.record("medicine_orders", int(ref_id))
            called_back = tx.scalar(
                "SELECT count(*) FROM medicine_events WHERE order_id = ? AND from_status = to_status", [row["id"]]
            )
            if row["household_id"] != household_id or row["status"] != "requested" or called_back:
                raise InvalidInput("door.error.cannot_cancel")
            before, after = tx.update(
                "medicine_orders",
                row["id"],
                {
                    "status": "cancelled",
                    "reason": "住户取消 / cancelled by the household",
                    "updated_at": tx.now,
                    "updated_by": tx.actor.username,
                },
                before=row,
            )
            tx.insert(
                "medicine_events",
                {
                    "order_id": row["id"],
                    "from_status": "requested",
                    "to_status": "cancelled",
                    "ts": tx.now,
                    "actor": tx.actor.username,
                    "note": None,
                },
                returning=None,
            )
            tx.audit("medicine.cancelled", "medicine_order", row["id"], {"status": "requested"}, {"status": "cancelled"})
            return
        row = tx.record("door_requests", int(ref_id))
        if row["household_id"] != household_id or row["status"] != "new":
            raise InvalidInput("door.error.cannot_cancel")
        machine_for(row["kind"]).check(row["status"], "cancelled", access.HOUSEHOLD)
        tx.update(
            "door_requests", row["id"], {"status": "cancelled", "updated_at": tx.now, "updated_by": tx.actor.username}, before=row
        )
        tx.insert(
            "door_events",
            {"request_id": row["id"], "to_status": "cancelled", "ts": tx.now, "actor": tx.actor.username},
            returning=None,
        )
        tx.audit("door.cancel", "door_request", row["id"], {"status": "new"}, {"status": "cancelled"})

    _door_write(db, actor, household_id, fn)


# -- the household's reads --------------------------------------------------------------------------
def first_name(name: str | None) -> str:
    """Given name only: 王建国 -> 建国, 欧阳娜娜 -> 娜娜, Anna Smith -> Anna; one character stays masked."""
    name = (name or "").strip()
    if not name:
        return "—"
    if " " in name:
        return name.split()[0]
    if len(name) >= 4:
        return name[2:]
    if len(name) >= 2:
        return name[1:]
    return "*"


def home(db: Database, actor: Actor, household_id: int) -> dict:
    """What the household's page shows: its room, residents (first names) with this round's status, the
    testing slot of its unit, and the phone numbers to call."""
    access.require(actor, "door.use", household_id=int(household_id))
    house = db.one(
        """SELECT h.id, h.unit_id, u.building, u.unit_no, h.room, v.name, v.phone
                      FROM households h JOIN units u ON u.id = h.unit_id LEFT JOIN teams t ON t.id = u.team_id
                      LEFT JOIN volunteers v ON v.id = t.captain_id WHERE h.id = ?""",
        [int(household_id)],
    )
    if house is None:
        raise NotFound(entity="household", id=household_id)
    rnd = kpi.current_round(db)
    slot = None
    if rnd:
        slot = db.one("SELECT slot_start, site FROM test_slots WHERE round_id = ? AND unit_id = ?", [rnd["id"], house[1]])
    people = db.rows(
        """SELECT r.id, r.name, coalesce(tr.status, 'pending') FROM residents r
                        LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = ?
                        WHERE r.household_id = ? AND r.active ORDER BY r.id""",
        [rnd["id"] if rnd else -1, int(household_id)],
    )
    asked = {
        (r[0], r[1])
        for r in db.rows(
            "SELECT resident_id, kind FROM door_requests WHERE household_id = ? AND status = ANY(CAST(? AS VARCHAR[]))",
            [int(household_id), list(OPEN)],
        )
    }
    return {
        "household_id": house[0],
        "unit_id": house[1],
        "building": house[2],
        "unit_no": house[3],
        "room": house[4],
        "captain": house[5],
        "captain_phone": house[6],
        "clinic_phone": db.setting("clinic_phone"),
        "emergency_phone": db.setting("emergency_phone", "120"),
        "round_no": rnd["round_no"] if rnd else None,
        "round_status": rnd["status"] if rnd else None,
        "slot_start": slot[0] if slot else None,
        "site": slot[1] if slot else None,
        "residents": [
            {"id": rid, "name": first_name(name), "status": status, "asked": sorted(k for (r, k) in asked if r == rid)}
            for rid, name, status in people
        ],
    }


def offer(db: Database, actor: Actor, household_id: int) -> list[dict]:
    """The vetted suppliers' current offer: [{supplier_id, supplier, items: [{id, item, pack, price}]}]."""
    access.require(actor, "door.use", household_id=int(household_id))
    rows = db.rows("""SELECT s.id, s.name, o.id, o.item, o.pack, o.price FROM grocery_offers o
                      JOIN suppliers s ON s.id = o.supplier_id WHERE o.active AND s.vetted ORDER BY s.id, o.id""")
    out: dict[int, dict] = {}
    for sid, sname, oid, item, pack, price in rows:
        out.setdefault(sid, {"supplier_id": sid, "supplier": sname, "items": []})["items"].append(
            {"id": oid, "item": item, "pack": pack, "price": price}
        )
    return list(out.values())


# The steps of each kind of request: (owner id, step, when, event id) for owners IN ({}).
_STEPS = {
    "door": "SELECT request_id, to_status, ts, id FROM door_events WHERE request_id IN ({})",
    "medicine": """SELECT order_id, CASE WHEN from_status = to_status THEN 'confirmed' ELSE to_status END, ts, id
                   FROM medicine_events WHERE order_id IN ({})""",
    "grocery": "SELECT order_id, to_status, ts, id FROM grocery_events WHERE order_id IN ({})",
    "urgent": "SELECT case_id, kind, ts, id FROM emergency_events WHERE case_id IN ({}) AND kind <> 'note'",
}


def _steps(db: Database, source: str, ids: list[int]) -> dict[int, list[tuple]]:
    """One query for the steps of many requests of one kind: {owner id: [(step, when), ...]} in order."""
    if not ids:
        return {}
    out: dict[int, list[tuple]] = {}
    rows = db.rows(_STEPS[source].format(", ".join("?" for _ in ids)), ids)
    for owner, step, ts, _id in sorted(rows, key=lambda r: (r[2], r[3])):
        out.setdefault(owner, []).append((step, ts))
    return out


def my_requests(db: Database, actor: Actor, household_id: int, limit: int = 20) -> list[dict]:
    """The household's requests, newest first, each with its steps (status, when) for plain words:
    {kind, id, topic, summary, status, created_at, steps: [(status, ts)], cancellable}."""
    access.require(actor, "door.use", household_id=int(household_id))
    hid = int(household_id)
    door_rows = _door_rows(db, hid, limit)
    medicine_rows = _medicine_rows(db, hid, limit)
    grocery_rows = _grocery_rows(db, hid, limit)
    urgent_rows = _urgent_rows(db, hid, limit)
    out = []
    for rows in (door_rows, medicine_rows, grocery_rows, urgent_rows):
        steps = _steps(db, rows[0]["source"], [r["id"] for r in rows]) if rows else {}
        for r in rows:
            r["steps"] = steps.get(r["id"], [])
        out += rows
    for r in medicine_rows:
        if r["steps"]:
            r["status"] = r["steps"][-1][0]  # 'confirmed' (called back) is a step of its own for the household
        r["cancellable"] = r["status"] == "requested"
    out.sort(key=lambda r: r["created_at"], reverse=True)
    return out[:limit]


def _listed(db: Database, sql: str, hid: int, limit: int) -> list[dict]:
    """One source of my_requests, newest first: its SQL names the columns id, source, kind, topic, summary, status
    and created_at; nothing is cancellable unless the caller says so."""
    return [{**r, "cancellable": False} for r in db.dicts(sql, [hid, limit])]


def _door_rows(db: Database, hid: int, limit: int) -> list[dict]:
    """The household's door requests (a new one it may still take back)."""
    rows = _listed(
        db,
        """SELECT id, 'door' AS source, kind, topic, detail AS summary, status, created_at FROM door_requests
           WHERE household_id = ? ORDER BY created_at DESC LIMIT ?""",
        hid,
        limit,
    )
    for r in rows:
        r["cancellable"] = r["status"] == "new"
    return rows


def _medicine_rows(db: Database, hid: int, limit: int) -> list[dict]:
    """The household's online medicine orders, their items joined into one line."""
    rows = _listed(
        db,
        """SELECT id, 'medicine' AS source, 'medicine' AS kind, urgency AS topic, items AS summary, status, created_at
           FROM medicine_orders WHERE household_id = ? AND channel = 'online' ORDER BY created_at DESC LIMIT ?""",
        hid,
        limit,
    )
    for r in rows:
        r["summary"] = "、".join(json.loads(r["summary"]))
    return rows


def _grocery_rows(db: Database, hid: int, limit: int) -> list[dict]:
    """The household's grocery orders placed at the door."""
    return _listed(
        db,
        """SELECT g.id, 'grocery' AS source, 'grocery' AS kind, s.name AS topic, g.items AS summary, g.status, g.created_at
           FROM grocery_orders g JOIN suppliers s ON s.id = g.supplier_id
           WHERE g.household_id = ? AND g.created_by LIKE 'household:%' ORDER BY g.created_at DESC LIMIT ?""",
        hid,
        limit,
    )


def _urgent_rows(db: Database, hid: int, limit: int) -> list[dict]:
    """The household's urgent help asked at the door."""
    return _listed(
        db,
        """SELECT id, 'urgent' AS source, 'urgent' AS kind, CAST(NULL AS VARCHAR) AS topic, summary, status,
                  reported_at AS created_at
           FROM emergency_cases WHERE household_id = ? AND reported_by LIKE 'household:%'
           ORDER BY reported_at DESC LIMIT ?""",
        hid,
        limit,
    )


def unit_name(row: dict, lang: str = "zh") -> str:
    return f"{unit_label(row['building'], row['unit_no'], lang)} {row['room']}"


# -- staff: what households asked for ---------------------------------------------------------------
def queue(db: Database, actor: Actor, kinds: tuple[str, ...] = KINDS, open_only: bool = True, limit: int = 200) -> list[dict]:
    """Household requests in the actor's units (help, away / home sampling, proposed changes), oldest first."""
    where, params = access.unit_filter(actor, "door.handle", "h.unit_id")
    states = list(OPEN) if open_only else REQUEST.states + PROPOSAL.states
    rows = db.dicts(
        f"""SELECT d.id, d.kind, d.topic, d.detail, d.proposal, d.phone, d.status, d.created_at, d.version,
                               d.household_id, h.unit_id, u.building, u.unit_no, h.room, h.version AS household_version,
                               h.occupants, r.name AS resident
                        FROM door_requests d JOIN households h ON h.id = d.household_id JOIN units u ON u.id = h.unit_id
                        LEFT JOIN residents r ON r.id = d.resident_id
                        WHERE d.kind = ANY(CAST(? AS VARCHAR[])) AND d.status = ANY(CAST(? AS VARCHAR[])) AND {where}
                        ORDER BY d.created_at LIMIT ?""",
        [list(kinds), states, *params, limit],
    )
    away = {rid for r in rows if r["proposal"] for rid in json.loads(r["proposal"]).get("away", [])}
    names = (
        dict(db.rows(f"SELECT id, name FROM residents WHERE id IN ({', '.join('?' for _ in away)})", sorted(away)))
        if away
        else {}
    )
    for r in rows:
        r["away_names"] = [names.get(i, str(i)) for i in json.loads(r["proposal"]).get("away", [])] if r["proposal"] else []
    return rows


CALLED_BACK = "队长已回电确认 / the captain called back"


def medicine_waiting(db: Database, actor: Actor) -> list[dict]:
    """Medicine asked for at a door, still requested and not yet confirmed by the captain's call-back."""
    where, params = access.unit_filter(actor, "door.handle", "h.unit_id")
    return db.dicts(
        f"""SELECT m.id, m.items, m.urgency, m.notes, m.created_at, m.version, h.unit_id, u.building, u.unit_no, h.room,
                               r.name AS resident
                        FROM medicine_orders m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
                        LEFT JOIN residents r ON r.id = m.resident_id
                        WHERE m.placed_by LIKE 'household:%' AND m.status = 'requested' AND {where}
                          AND NOT EXISTS (SELECT 1 FROM medicine_events e WHERE e.order_id = m.id
                                          AND e.from_status = e.to_status)
                        ORDER BY m.urgency = 'critical' DESC, m.urgency = 'urgent' DESC, m.created_at""",
        params,
    )


def confirm_medicine(db: Database, actor: Actor, order_id: int, version: int) -> None:
    """The captain called the household back and passes its medicine request on to the clinic: an event on the
    order (its status stays 'requested', the clinic's step), shown to the household as a step of its own."""

    def fn(tx: Tx) -> None:
        assert tx.actor is not None
        row = tx.record("medicine_orders", int(order_id))
        tx.require("door.handle", tx.scalar("SELECT unit_id FROM households WHERE id = ?", [row["household_id"]]))
        if row["version"] != version:
            raise StaleEdit()
        if row["status"] != "requested" or not str(row["placed_by"]).startswith("household:"):
            raise InvalidInput("door.error.cannot_confirm")
        tx.update(
            "medicine_orders",
            row["id"],
            {"updated_at": tx.now, "updated_by": tx.actor.username},
            expected_version=version,
            before=row,
        )
        tx.insert(
            "medicine_events",
            {
                "order_id": row["id"],
                "from_status": "requested",
                "to_status": "requested",
                "ts": tx.now,
                "actor": tx.actor.username,
                "note": CALLED_BACK,
            },
            returning=None,
        )
        tx.audit("door.medicine_confirmed", "medicine_order", row["id"], {"version": version}, {"version": version + 1})

    db.write(actor, fn)


def _staff_request(tx: Tx, request_id: int, version: int) -> dict:
    row = tx.record("door_requests", int(request_id))
    unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [row["household_id"]])
    tx.require("door.handle", unit_id)
    if row["version"] != version:
        raise StaleEdit()
    return row


def advance(db: Database, actor: Actor, request_id: int, target: str, version: int, reason: str | None = None) -> None:
    """Move a help / testing request: new -> in_progress -> done, or cancelled. Done for 'away' / 'home sampling'
    also sets that resident's status in the current round."""
    reason = _text(reason)

    def fn(tx: Tx) -> None:
        assert tx.actor is not None
        row = _staff_request(tx, request_id, version)
        if row["kind"] == "update":
            raise InvalidInput("door.error.use_proposal")
        REQUEST.check(row["status"], target, tx.actor.role)
        tx.update(
            "door_requests",
            row["id"],
            {"status": target, "reason": reason, "updated_at": tx.now, "updated_by": tx.actor.username},
            expected_version=version,
            before=row,
        )
        tx.insert(
            "door_events",
            {"request_id": row["id"], "to_status": target, "ts": tx.now, "actor": tx.actor.username, "note": reason},
            returning=None,
        )
        tx.audit(f"door.{target}", "door_request", row["id"], {"status": row["status"]}, {"status": target})
        if target == "done" and row["kind"] in TESTING_KINDS:
            _mark_round(tx, row)

    db.write(actor, fn)


def _mark_round(tx: Tx, row: dict) -> None:
    assert tx.actor is not None
    from .testing import RESULT, _mark

    rnd = tx.scalar(
        "SELECT id FROM test_rounds WHERE status = 'active' AND day <= ? ORDER BY day DESC, id DESC LIMIT 1", [tx.now.date()]
    )
    if rnd is None or row["resident_id"] is None:
        return
    status = "away" if row["kind"] == "away" else "home_sampling_needed"
    current = tx.scalar("SELECT status FROM test_results WHERE round_id = ? AND resident_id = ?", [rnd, row["resident_id"]])
    if status in RESULT.next_steps(current or "pending", tx.actor.role):
        _mark(tx, rnd, row["household_id"], status, "住户在门卡页报告 / reported at the door", None, only=row["resident_id"])


def decide(db: Database, actor: Actor, request_id: int, confirm: bool, version: int, reason: str | None = None) -> None:
    """Confirm or reject a household's proposed change. Confirming records it as a census visit by the captain
    (occupants, the household's words in the notes); special needs stay for the captain to set per person."""
    reason = _text(reason)

    def fn(tx: Tx) -> None:
        assert tx.actor is not None
        row = _staff_request(tx, request_id, version)
        target = "confirmed" if confirm else "rejected"
        PROPOSAL.check(row["status"], target, tx.actor.role)
        if confirm:
            _apply(tx, row)
        tx.update(
            "door_requests",
            row["id"],
            {"status": target, "reason": reason, "updated_at": tx.now, "updated_by": tx.actor.username},
            expected_version=version,
            before=row,
        )
        tx.insert(
            "door_events",
            {"request_id": row["id"], "to_status": target, "ts": tx.now, "actor": tx.actor.username, "note": reason},
            returning=None,
        )
        tx.audit(f"door.{target}", "door_request", row["id"], {"status": row["status"]}, {"status": target})

    db.write(actor, fn)


def _apply(tx: Tx, row: dict) -> None:
    assert tx.actor is not None
    proposal = json.loads(row["proposal"] or "{}")
    house = tx.record("households", row["household_id"])
    tx.require("household.edit", house["unit_id"])
    words = [proposal.get("living"), proposal.get("note")]
    if proposal.get("needs"):
        words.append("needs: " + ", ".join(proposal["needs"]))
    note = " · ".join(w for w in words if w)
    notes = ((house["notes"] or "") + (f" [{note}]" if note else "")).strip()[:500] or None
    occupants = house["occupants"] if proposal.get("occupants") is None else proposal["occupants"]
    before, after = tx.update(
        "households",
        house["id"],
        {"occupants": occupants, "notes": notes, "last_visit_at": tx.now, "last_visit_by": tx.actor.username},
        before=house,
    )
    tx.insert(
        "census_visits",
        {
            "household_id": house["id"],
            "visited_at": tx.now,
            "visited_by": tx.actor.username,
            "occupants": occupants,
            "notes": note or None,
        },
    )
    tx.audit("household.visit", "household", house["id"], before, after)
    for rid in proposal.get("away") or []:  # who is away: this round's status, where the captain may set it
        _mark_round(tx, {"kind": "away", "household_id": house["id"], "resident_id": rid})


def counts(db: Database, actor: Actor) -> list[dict]:
    """Household requests by kind and state in the actor's units: door requests, and the medicine orders,
    grocery orders and urgent cases households placed themselves."""
    where, params = access.unit_filter(actor, "door.handle", "h.unit_id")
    return db.cached_read(
        "door.counts",
        ("door_requests", "medicine_orders", "grocery_orders", "emergency_cases", "households"),
        "dicts",
        f"""SELECT kind, status, count(*) AS n FROM (
                                SELECT d.kind, d.status, d.household_id FROM door_requests d
                                UNION ALL SELECT 'medicine', m.status, m.household_id FROM medicine_orders m
                                    WHERE m.placed_by LIKE 'household:%'
                                UNION ALL SELECT 'grocery', g.status, g.household_id FROM grocery_orders g
                                    WHERE g.created_by LIKE 'household:%'
                                UNION ALL SELECT 'urgent', c.status, c.household_id FROM emergency_cases c
                                    WHERE c.reported_by LIKE 'household:%') x
                              JOIN households h ON h.id = x.household_id WHERE {where}
                              GROUP BY kind, status ORDER BY kind, status""",
        params,
    )


def urgent_open(db: Database, actor: Actor) -> list[dict]:
    """Open emergency cases reported by households, newest first: the top of the needs-attention lists."""
    if not access.can(actor, "emergency.view"):
        return []
    where, params = access.unit_filter(actor, "emergency.view", "h.unit_id")
    return db.dicts(
        f"""SELECT c.id, c.summary, c.status, c.reported_at, h.unit_id, u.building, u.unit_no, h.room
                        FROM emergency_cases c JOIN households h ON h.id = c.household_id JOIN units u ON u.id = h.unit_id
                        WHERE c.reported_by LIKE 'household:%' AND c.status <> 'closed' AND {where}
                        ORDER BY c.reported_at DESC""",
        params,
    )


def _is_open(kind: str, status: str) -> bool:
    machine = {"medicine": medicine.MACHINE, "grocery": groceries.MACHINE, "urgent": emergencies.CASE}.get(kind)
    return (machine or machine_for(kind)).is_open(status)


def summary(db: Database, actor: Actor) -> dict:
    """For the briefing: how many requests households made at their doors, how many are still open, by kind."""
    rows = counts(db, actor)
    by_kind: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["n"]
    return {
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "open": sum(r["n"] for r in rows if _is_open(r["kind"], r["status"])),
    }


def briefing_line(s: dict, lang: str = "zh") -> str:
    from .i18n import t

    sep = "、" if lang == "zh" else ", "
    kinds = sep.join(f"{t('door.kind.' + k, lang)} {n}" for k, n in sorted(s["by_kind"].items(), key=lambda kv: -kv[1]))
    return t("briefing.door", lang, total=s["total"], open=s["open"], kinds=kinds)
