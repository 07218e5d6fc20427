"""Medicine orders: from a phone call to the resident's door.

requested -> sourcing -> purchased -> at_gate -> disinfected -> delivered; cancelled or failed
(with a reason) from any open state. The medic sources and buys, logistics receives at the gate
and disinfects, the unit captain carries it to the door; the committee may take any step.
Every step is one audited transaction that checks the version the user saw, so two people
pressing the same button at once cannot move an order twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import access, clock, i18n
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, StaleEdit
from .grid import unit_label
from .states import Machine

FLOW = ("requested", "sourcing", "purchased", "at_gate", "disinfected", "delivered")
CLOSED = ("delivered", "cancelled", "failed")
URGENCIES = ("critical", "urgent", "normal")  # most urgent first
CHANNELS = ("phone", "online", "captain")

_MEDIC = ("medic", "committee")
_LOGISTICS = ("logistics", "committee")
_CAPTAIN = ("captain", "committee")
_CANCEL = ("captain", "committee")
_FAIL = ("medic", "logistics", "committee")
_FORWARD = {
    "requested": ("sourcing", _MEDIC),
    "sourcing": ("purchased", _MEDIC),
    "purchased": ("at_gate", _LOGISTICS),
    "at_gate": ("disinfected", _LOGISTICS),
    "disinfected": ("delivered", _CAPTAIN),
}

MACHINE = Machine(
    "medicine",
    {state: {step: roles, "cancelled": _CANCEL, "failed": _FAIL} for state, (step, roles) in _FORWARD.items()},
    terminal=CLOSED,
)
OPEN = MACHINE.open_states
CLOSED_SQL = MACHINE.sql_list(CLOSED)

DEFAULT_LIMIT_HOURS = {"critical": 2.0, "urgent": 4.0, "normal": 24.0}
LIMIT_KEY = "medicine_limit_hours_{}"
MAX_ITEMS = 30
MAX_LINE = 200
MAX_TEXT = 500
EXPORT_CAP = 200_000


# -- rules ------------------------------------------------------------------------------------
def forward_step(status: str, role: str) -> str | None:
    """The one forward step (not cancel/fail) this role may take from status, if any."""
    steps = [s for s in MACHINE.next_steps(status, role) if s not in ("cancelled", "failed")]
    return steps[0] if steps else None


def side_steps(status: str, role: str) -> list[str]:
    return [s for s in MACHINE.next_steps(status, role) if s in ("cancelled", "failed")]


def actionable_states(role: str) -> tuple[str, ...]:
    """Open states in which this role has the forward step (its work queue)."""
    return tuple(s for s in OPEN if forward_step(s, role))


def parse_items(text: str | list[str] | None) -> list[str]:
    """Free text, one medicine per line (name, strength, quantity) -> a clean list."""
    if text is None:
        lines: list[str] = []
    elif isinstance(text, str):
        lines = text.replace("\r", "\n").split("\n")
    else:
        lines = [str(x) for x in text]
    items = [" ".join(line.split()) for line in lines]
    items = [line for line in items if line]
    if not items:
        raise InvalidInput("medicine.error.no_items")
    if len(items) > MAX_ITEMS or any(len(line) > MAX_LINE for line in items):
        raise InvalidInput("medicine.error.items_too_long", n=MAX_ITEMS, chars=MAX_LINE)
    return items


def _clean_text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split()) if field != "notes" else str(value).strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput("medicine.error.text_too_long", field=field, chars=MAX_TEXT)
    return value or None


def limits(db: Database) -> dict[str, float]:
    """Hours an open order may wait per urgency before it is flagged (settings rows, defaults in code)."""
    out = {}
    for urgency, default in DEFAULT_LIMIT_HOURS.items():
        raw = db.setting(LIMIT_KEY.format(urgency))
        try:
            value = float(raw) if raw is not None else default
        except ValueError:
            value = default
        out[urgency] = value if value > 0 else default
    return out


def set_limits(db: Database, actor: Actor, values: dict[str, float]) -> dict[str, float]:
    clean = {}
    for urgency in URGENCIES:
        if urgency not in values:
            continue
        try:
            hours = float(values[urgency])
        except (TypeError, ValueError):
            raise InvalidInput("medicine.error.limit", urgency=urgency) from None
        if not 0 < hours <= 720:
            raise InvalidInput("medicine.error.limit", urgency=urgency)
        clean[urgency] = hours

    def fn(tx):
        tx.require("medicine.settings")
        before = limits(db)
        for urgency, hours in clean.items():
            tx.set_setting(LIMIT_KEY.format(urgency), f"{hours:g}")
        tx.audit("medicine.limits", "settings", "medicine_limits", before, {**before, **clean})

    db.write(actor, fn)
    return limits(db)


# -- writes -----------------------------------------------------------------------------------
def create_order(
    db: Database,
    actor: Actor,
    household_id: int,
    items: str | list[str],
    *,
    urgency: str = "normal",
    channel: str = "phone",
    resident_id: int | None = None,
    source: str | None = None,
    notes: str | None = None,
) -> int:
    """Record a new order (status requested) for a household in the actor's scope; returns its id."""
    if urgency not in URGENCIES:
        raise InvalidInput("medicine.error.urgency")
    if channel not in CHANNELS:
        raise InvalidInput("medicine.error.channel")
    if household_id is None:
        raise InvalidInput("medicine.error.household")
    lines = parse_items(items)
    source = _clean_text(source, "source")
    notes = _clean_text(notes, "notes")

    def fn(tx):
        unit_id = tx.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id])
        if unit_id is None:
            raise NotFound(entity="household", id=household_id)
        tx.require("medicine.create", unit_id)
        return insert_order(tx, household_id, lines, urgency, channel, resident_id, source, notes)

    return db.write(actor, fn)


def insert_order(
    tx,
    household_id: int,
    lines: list[str],
    urgency: str,
    channel: str,
    resident_id: int | None,
    source: str | None,
    notes: str | None,
) -> int:
    """The order's rows and audit inside a write whose caller has checked who may place it (staff:
    create_order; a household at its door: qinyuan.door)."""
    if resident_id is not None:
        home = tx.scalar("SELECT household_id FROM residents WHERE id = ? AND active", [resident_id])
        if home != household_id:
            raise InvalidInput("medicine.error.resident")
    order_id = tx.scalar("SELECT nextval('medicine_seq')")
    row = {
        "id": order_id,
        "household_id": household_id,
        "resident_id": resident_id,
        "items": json.dumps(lines, ensure_ascii=False),
        "channel": channel,
        "urgency": urgency,
        "source": source,
        "notes": notes,
        "status": "requested",
        "reason": None,
        "placed_by": tx.actor.username,
        "created_at": tx.now,
        "updated_at": tx.now,
        "updated_by": tx.actor.username,
        "delivered_at": None,
        "version": 1,
    }
    tx.insert("medicine_orders", row, returning=None)
    tx.insert(
        "medicine_events",
        {
            "order_id": order_id,
            "from_status": None,
            "to_status": "requested",
            "ts": tx.now,
            "actor": tx.actor.username,
            "note": notes,
        },
        returning=None,
    )
    tx.audit("medicine.create", "medicine_order", order_id, None, {**row, "items": lines})
    return order_id


def advance(
    db: Database,
    actor: Actor,
    order_id: int,
    target: str,
    version: int,
    *,
    note: str | None = None,
    reason: str | None = None,
    source: str | None = None,
) -> dict:
    """Move an order one step, as the user saw it (version). Someone faster -> StaleEdit naming them."""
    note = _clean_text(note, "note")
    reason = _clean_text(reason, "reason")
    source = _clean_text(source, "source")
    if target in ("cancelled", "failed") and not reason:
        raise InvalidInput("medicine.error.reason_required")

    def fn(tx):
        # Two point reads (a join would scan every household) and the row as read is the audit's "before".
        current = tx.one(
            "SELECT status, version, updated_by, reason, source, delivered_at, household_id FROM medicine_orders WHERE id = ?",
            [order_id],
        )
        if current is None:
            raise NotFound(entity="medicine_order", id=order_id)
        status, current_version, updated_by, *_rest, household_id = current
        tx.require("medicine.advance", tx.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id]))
        if current_version != version:
            raise StaleEdit("medicine.error.already_moved", who=_display_name(tx, updated_by), order=order_id)
        MACHINE.check(status, target, tx.actor.role)
        changes = _step_changes(tx, target, reason, source)
        seen = dict(zip(("status", "version", "updated_by", "reason", "source", "delivered_at"), current[:6], strict=True))
        before, after = tx.update(
            "medicine_orders",
            order_id,
            changes,
            expected_version=version,
            before=seen,
            stale_params=lambda: {"who": _display_name(tx, updated_by), "order": order_id},
        )
        _record_step(tx, order_id, status, target, reason or note)
        keep = ("status", "version", "updated_by", "reason", "source", "delivered_at")
        tx.audit(f"medicine.{target}", "medicine_order", order_id, {k: before[k] for k in keep}, {k: after[k] for k in keep})
        return after

    try:
        return db.write(actor, fn)
    except StaleEdit as exc:
        if exc.key == "error.stale":  # raised by tx.update itself
            exc.key = "medicine.error.already_moved"
        raise


def _step_changes(tx: Tx, target: str, reason: str | None, source: str | None) -> dict[str, Any]:
    """The order's columns a step to `target` sets."""
    assert tx.actor is not None
    changes: dict[str, Any] = {"status": target, "updated_at": tx.now, "updated_by": tx.actor.username}
    if target == "delivered":
        changes["delivered_at"] = tx.now
    if reason:
        changes["reason"] = reason
    if source and target in ("sourcing", "purchased"):
        changes["source"] = source
    return changes


def _record_step(tx: Tx, order_id: int, status: str, target: str, note: str | None) -> None:
    """The step in the order's history (what the household and the clinic see)."""
    assert tx.actor is not None
    tx.insert(
        "medicine_events",
        {
            "order_id": order_id,
            "from_status": status,
            "to_status": target,
            "ts": tx.now,
            "actor": tx.actor.username,
            "note": note,
        },
        returning=None,
    )


def _display_name(tx, username: str | None) -> str:
    if not username:
        return "?"
    name = tx.scalar("SELECT display_name FROM users WHERE username = ?", [username])
    return f"{name}（{username}）" if name and name != username else username


# -- reads ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    status: str = "open"  # open | closed | all | one state
    urgency: str | None = None
    unit_id: int | None = None
    channel: str | None = None
    search: str | None = None
    overdue_only: bool = False


# Every table the order queries below read (their cache keys hold the SQL and its parameters: scope,
# filters, limits, the current minute).
_TABLES = ("medicine_orders", "households", "units", "residents")
_OPEN_SQL = f"m.status IN {MACHINE.sql_list(OPEN)}"
_ORDER_COLS = (
    "id",
    "household_id",
    "resident_id",
    "items",
    "channel",
    "urgency",
    "source",
    "notes",
    "status",
    "reason",
    "placed_by",
    "created_at",
    "updated_at",
    "updated_by",
    "delivered_at",
    "version",
)
# Filtering and sorting run on the orders alone (households joined only when scope or filters need
# them); the page's rows then get their unit, room and resident.
_DETAIL = (
    "SELECT "
    + ", ".join(f"m.{c}" for c in _ORDER_COLS)
    + """, m.age_hours, m.limit_hours,
               h.unit_id, u.building, u.unit_no, h.room, h.contact_name, r.name AS resident
           FROM ({inner}) m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
           LEFT JOIN residents r ON r.id = m.resident_id"""
)


def _base(db: Database, actor: Actor | None, action: str = "medicine.view", with_household: bool = False) -> tuple[str, list]:
    """Orders in the actor's scope (actor None: all) with age_hours and limit_hours, ending in a WHERE."""
    lim = limits(db)
    scope, scope_p = access.unit_filter(actor, action, "h.unit_id") if actor else ("TRUE", [])
    join = with_household or scope != "TRUE"
    sql = (
        "SELECT "
        + ", ".join(f"m.{c}" for c in _ORDER_COLS)
        + f""",
               greatest(CAST(extract(epoch FROM CASE WHEN {_OPEN_SQL} THEN CAST(? AS TIMESTAMPTZ)
                                                    ELSE coalesce(m.delivered_at, m.updated_at) END - m.created_at)
                             AS DOUBLE PRECISION) / 3600, 0) AS age_hours,
               CASE m.urgency WHEN 'critical' THEN CAST(? AS DOUBLE PRECISION) WHEN 'urgent' THEN CAST(? AS DOUBLE PRECISION)
                              ELSE CAST(? AS DOUBLE PRECISION) END AS limit_hours"""
        + (
            ", h.unit_id, h.room, h.contact_name FROM medicine_orders m JOIN households h ON h.id = m.household_id"
            if join
            else " FROM medicine_orders m"
        )
        + f" WHERE {scope}"
    )
    # ages are counted to the current minute, so reruns within a minute share the cached answers
    return sql, [db.now().replace(second=0, microsecond=0), lim["critical"], lim["urgent"], lim["normal"], *scope_p]


def _filter_sql(filters: Filters) -> tuple[str, list, bool]:
    """(where over the orders CTE, params, whether it needs household columns)."""
    parts: list[str] = []
    params: list[Any] = []
    if filters.status == "open":
        parts.append(_OPEN_SQL)
    elif filters.status == "closed":
        parts.append(f"NOT ({_OPEN_SQL})")
    elif filters.status and filters.status != "all":
        if filters.status not in MACHINE.states:
            raise InvalidInput("medicine.error.filter")
        parts.append("m.status = ?")
        params.append(filters.status)
    if filters.urgency:
        parts.append("m.urgency = ?")
        params.append(filters.urgency)
    if filters.unit_id is not None:
        parts.append("m.unit_id = ?")
        params.append(int(filters.unit_id))
    if filters.channel:
        parts.append("m.channel = ?")
        params.append(filters.channel)
    search = (filters.search or "").strip()
    if search:
        like = f"%{search}%"
        parts.append(
            "(m.items ILIKE ? OR m.room ILIKE ? OR m.contact_name ILIKE ? OR m.source ILIKE ? OR EXISTS "
            "(SELECT 1 FROM residents r WHERE r.id = m.resident_id AND r.name ILIKE ?))"
        )
        params += [like] * 5
    if filters.overdue_only:
        parts.append(f"{_OPEN_SQL} AND m.age_hours > m.limit_hours")
    return (" AND ".join(parts) or "TRUE"), params, filters.unit_id is not None or bool(search)


def _query(
    db: Database,
    actor: Actor,
    filters: Filters,
    order_by: str,
    limit: int | None,
    offset: int = 0,
    action: str = "medicine.view",
    extra: str = "TRUE",
    extra_params: tuple = (),
) -> tuple[list[dict], int]:
    # The total is a separate count: DuckDB 1.4 can fail internally on count(*) OVER () over a left join.
    where, where_p, need_household = _filter_sql(filters)
    body, body_p = _base(db, actor, action, need_household)
    cte = f"WITH o AS ({body} AND {extra})"
    cte_p = [*body_p, *extra_params]
    count_sql, count_p = f"{cte} SELECT count(*) FROM o m WHERE {where}", [*cte_p, *where_p]
    total = db.cached_read("medicine.count", _TABLES, "scalar", count_sql, count_p)
    if not total:
        return [], 0
    page = f"SELECT * FROM o m WHERE {where} ORDER BY {order_by}"
    all_params = [*cte_p, *where_p]
    if limit is not None:
        page += " LIMIT ? OFFSET ?"
        all_params += [int(limit), max(0, int(offset))]
    sql = f"{cte} {page}"

    def compute() -> list[dict]:
        rows = _with_places(db, db.dicts(sql, all_params))
        for row in rows:
            row["items"] = _items(row["items"])
            row["overdue"] = row["status"] in OPEN and row["age_hours"] > row["limit_hours"]
        return rows

    if limit is None:  # every matching row: read afresh, not kept
        return compute(), int(total)
    return db.cached("medicine.page", (sql, tuple(all_params)), _TABLES, compute), int(total)


def _with_places(db: Database, rows: list[dict]) -> list[dict]:
    """A page of orders with their unit, room and resident, looked up by id for just these rows (a join
    would scan every household and resident of the compound for a page of a few orders)."""
    homes = sorted({r["household_id"] for r in rows})
    people = sorted({r["resident_id"] for r in rows if r["resident_id"] is not None})
    places = {}
    if homes:
        places = {
            r["id"]: r
            for r in db.dicts(
                f"""SELECT h.id, h.unit_id, u.building, u.unit_no, h.room, h.contact_name FROM households h
                JOIN units u ON u.id = h.unit_id WHERE h.id IN ({", ".join("?" for _ in homes)})""",
                homes,
            )
        }
    names = {}
    if people:
        names = dict(db.rows(f"SELECT id, name FROM residents WHERE id IN ({', '.join('?' for _ in people)})", people))
    out = []
    for row in rows:
        place = places[row["household_id"]]
        out.append(
            {
                **{c: row[c] for c in _ORDER_COLS},
                "age_hours": row["age_hours"],
                "limit_hours": row["limit_hours"],
                "unit_id": place["unit_id"],
                "building": place["building"],
                "unit_no": place["unit_no"],
                "room": place["room"],
                "contact_name": place["contact_name"],
                "resident": names.get(row["resident_id"]),
            }
        )
    return out


def _items(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return [raw] if raw else []
    return [str(x) for x in value] if isinstance(value, list) else [str(value)]


def _items_text(raw: str | None) -> str:
    """The stored JSON list of medicines as one line, as the exports show it."""
    return "；".join(_items(raw))


_PRIORITY = "CASE m.urgency WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, m.created_at, m.id"


def work_queue(db: Database, actor: Actor, limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
    """Open orders to act on, most urgent and oldest first. A captain sees all open orders of their
    units; medic and logistics the ones whose next step is theirs; the committee all open orders."""
    access.require(actor, "medicine.view")
    if actor.role in ("captain", "committee"):
        return _query(db, actor, Filters(status="open"), _PRIORITY, limit, offset)
    states = actionable_states(actor.role)
    if not states:
        return [], 0
    marks = ", ".join("?" for _ in states)
    return _query(db, actor, Filters(status="all"), _PRIORITY, limit, offset, extra=f"m.status IN ({marks})", extra_params=states)


def list_orders(
    db: Database, actor: Actor, filters: Filters | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict], int]:
    """Orders in the actor's scope matching filters, newest first, one page; and the total."""
    access.require(actor, "medicine.view")
    return _query(db, actor, filters or Filters(), "m.created_at DESC, m.id DESC", limit, offset)


def overdue(db: Database, actor: Actor, limit: int = 50) -> tuple[list[dict], int]:
    """Open orders waiting longer than their urgency's limit, the most overdue (relative) first."""
    access.require(actor, "medicine.view")
    return _query(db, actor, Filters(status="open", overdue_only=True), f"m.age_hours / m.limit_hours DESC, {_PRIORITY}", limit)


def get_order(db: Database, actor: Actor, order_id: int) -> dict:
    body, params = _base(db, None)
    rows = db.dicts(f"WITH o AS ({body} AND m.id = ?) {_DETAIL.format(inner='SELECT * FROM o')}", [*params, order_id])
    if not rows:
        raise NotFound(entity="medicine_order", id=order_id)
    access.require(actor, "medicine.view", rows[0]["unit_id"])
    row = rows[0]
    row["items"] = _items(row["items"])
    row["overdue"] = row["status"] in OPEN and row["age_hours"] > row["limit_hours"]
    return row


def events(db: Database, actor: Actor, order_id: int) -> list[dict]:
    get_order(db, actor, order_id)  # scope check
    return db.dicts(
        """SELECT e.from_status, e.to_status, e.ts, e.actor, coalesce(u.display_name, e.actor) AS actor_name, e.note
                       FROM medicine_events e LEFT JOIN users u ON u.username = e.actor
                       WHERE e.order_id = ? ORDER BY e.ts, e.id""",
        [order_id],
    )


def status_counts(db: Database, actor: Actor) -> dict[str, int]:
    """Open orders per status in the actor's scope (one aggregate query)."""
    where, params = access.unit_filter(actor, "medicine.view", "h.unit_id")
    sql = f"""SELECT m.status, count(*) FROM medicine_orders m JOIN households h ON h.id = m.household_id
              WHERE {where} AND {_OPEN_SQL} GROUP BY m.status"""
    rows = db.cached_read("medicine.status_counts", ("medicine_orders", "households"), "rows", sql, params)
    return dict(rows)


def household_history(db: Database, actor: Actor, household_id: int, lang: str = "zh") -> pd.DataFrame:
    """Every medicine order of one household, newest first, with column names and values in the
    user's language and times in Shanghai time (for the households page)."""
    unit_id = db.scalar("SELECT unit_id FROM households WHERE id = ?", [household_id])
    if unit_id is None:
        raise NotFound(entity="household", id=household_id)
    access.require(actor, "medicine.view", unit_id)
    frame = db.df(
        """SELECT m.id, m.created_at, r.name AS resident,
                            m.items,
                            m.urgency, m.channel, m.source, m.status, m.reason, m.delivered_at, m.placed_by
                     FROM medicine_orders m LEFT JOIN residents r ON r.id = m.resident_id
                     WHERE m.household_id = ? ORDER BY m.created_at DESC, m.id DESC""",
        [household_id],
    )
    frame["items"] = frame["items"].map(_items_text)
    for column in ("created_at", "delivered_at"):
        frame[column] = frame[column].map(_local_time)
    frame = _labelled(frame, lang)
    frame.columns = [i18n.t(f"medicine.col.{c}", lang) for c in frame.columns]
    return frame


def _local_time(value) -> str:
    """'2022-01-09 17:52' in Shanghai time, '' for none."""
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert(clock.TZ).strftime("%Y-%m-%d %H:%M")


def _labelled(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    for column, prefix in (("urgency", "medicine.urgency."), ("channel", "medicine.channel.")):
        if column in frame:
            frame[column] = frame[column].map(lambda v, p=prefix: i18n.t(p + v, lang) if isinstance(v, str) else v)
    if "status" in frame:
        frame["status"] = frame["status"].map(lambda v: MACHINE.label(v, lang) if isinstance(v, str) else v)
    return frame


def export_frame(db: Database, actor: Actor, filters: Filters | None = None, lang: str = "zh") -> pd.DataFrame:
    """All orders matching filters (not just one page) for CSV/xlsx; the export itself is audited."""
    access.require(actor, "medicine.export")
    filters = filters or Filters(status="all")
    where, where_p, need_household = _filter_sql(filters)
    body, params = _base(db, actor, "medicine.export", need_household)
    frame = db.df(
        f"""WITH o AS ({body})
        SELECT m.id, u.building, u.unit_no, h.room, h.contact_name, r.name AS resident,
               m.items, m.urgency, m.channel, m.source, m.status, m.reason, m.placed_by, m.created_at, m.updated_at,
               m.updated_by, m.delivered_at, m.age_hours,
               {_OPEN_SQL} AND m.age_hours > m.limit_hours AS overdue
        FROM o m JOIN households h ON h.id = m.household_id JOIN units u ON u.id = h.unit_id
        LEFT JOIN residents r ON r.id = m.resident_id WHERE {where}
        ORDER BY m.created_at DESC, m.id DESC LIMIT ?""",
        [*params, *where_p, EXPORT_CAP],
    )

    def fn(tx):
        tx.audit("medicine.export", "medicine_order", None, None, {"rows": len(frame), "filters": filters.__dict__})

    db.write(actor, fn)
    frame["items"] = frame["items"].map(_items_text)
    frame["age_hours"] = frame["age_hours"].astype(float).round(1)
    frame = _labelled(frame, lang)
    frame.insert(1, "unit", [unit_label(b, u, lang) for b, u in zip(frame.pop("building"), frame.pop("unit_no"), strict=True)])
    frame.columns = [i18n.t(f"medicine.col.{c}", lang) for c in frame.columns]
    return frame


def place_label(row: dict, lang: str = "zh") -> str:
    """'1号楼1单元 101' for a card title."""
    return f"{unit_label(row['building'], row['unit_no'], lang)} {row['room']}"
