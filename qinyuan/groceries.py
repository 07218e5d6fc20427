"""Grocery orders to vetted suppliers: per household or per unit batch, delivered to the gate,
disinfected, handed out. Every step is a grocery_events row (who, when)."""

from __future__ import annotations

import pandas as pd

from . import access
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, NotFound, StaleEdit
from .states import Machine

MANAGERS = ("committee", "logistics")
STEPS = ("ordered", "at_gate", "disinfected", "handed_out")
MAX_CONTACT = 40  # supplier contact and phone, as typed
MAX_PHONE = 20
MACHINE = Machine(
    "grocery",
    {
        "ordered": {"at_gate": MANAGERS},
        "at_gate": {"disinfected": MANAGERS},
        "disinfected": {"handed_out": MANAGERS},
    },
    terminal=("handed_out",),
)


def suppliers(db: Database, actor: Actor) -> pd.DataFrame:
    access.require(actor, "grocery.view")
    return db.cached_read(
        "groceries.suppliers",
        ("suppliers", "grocery_orders"),
        "df",
        """SELECT s.id, s.name, s.vetted, s.contact, s.phone, s.version,
                           count(g.id) AS orders, count(g.id) FILTER (WHERE g.status <> 'handed_out') AS open_orders
                    FROM suppliers s LEFT JOIN grocery_orders g ON g.supplier_id = s.id
                    GROUP BY s.id, s.name, s.vetted, s.contact, s.phone, s.version ORDER BY s.id""",
    )


def add_supplier(
    db: Database, actor: Actor, name: str, contact: str | None = None, phone: str | None = None, vetted: bool = True
) -> int:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("supplies.error.missing_name")
    if len(name) > 60:
        raise InvalidInput("supplies.error.too_long", n=60)
    contact, phone = (contact or "").strip() or None, (phone or "").strip() or None
    if contact and len(contact) > MAX_CONTACT:
        raise InvalidInput("safety.contact_long", n=MAX_CONTACT)
    if phone and len(phone) > MAX_PHONE:
        raise InvalidInput("safety.phone_long", n=MAX_PHONE)

    def fn(tx: Tx) -> int:
        tx.require("grocery.manage")
        if tx.scalar("SELECT count(*) FROM suppliers WHERE name = ?", [name]):
            raise InvalidInput("grocery.error.supplier_taken", name=name)
        new_id = tx.scalar("SELECT nextval('supplier_seq')")
        values = {"id": new_id, "name": name, "vetted": bool(vetted), "contact": contact, "phone": phone}
        tx.insert("suppliers", values)
        tx.audit("grocery.supplier_add", "suppliers", new_id, None, values)
        return new_id

    return db.write(actor, fn)


def create_order(
    db: Database, actor: Actor, supplier_id: int, items: str, *, household_id: int | None = None, unit_id: int | None = None
) -> int:
    """An order for one household, or for a whole unit (a unit batch: household_id empty)."""
    items = (items or "").strip()
    if not items:
        raise InvalidInput("supplies.error.missing_items")
    if len(items) > 300:
        raise InvalidInput("supplies.error.too_long", n=300)
    if household_id is None and unit_id is None:
        raise InvalidInput("grocery.error.target")

    def fn(tx: Tx) -> int:
        if household_id is not None:
            target_unit = tx.record("households", household_id)["unit_id"]
        else:
            target_unit = tx.record("units", unit_id)["id"]
        tx.require("grocery.manage", target_unit)
        return insert_order(tx, supplier_id, items, household_id, target_unit)

    return db.write(actor, fn)


def insert_order(tx: Tx, supplier_id: int, items: str, household_id: int | None, unit_id: int) -> int:
    """The order, its first event and audit inside a write whose caller has checked who may place it
    (staff: create_order; a household at its door: qinyuan.door)."""
    assert tx.actor is not None
    who = tx.actor.username
    supplier = tx.record("suppliers", supplier_id)
    if not supplier["vetted"]:
        raise InvalidInput("grocery.error.not_vetted", name=supplier["name"])
    new_id = tx.scalar("SELECT nextval('grocery_seq')")
    values = {
        "id": new_id,
        "supplier_id": supplier_id,
        "household_id": household_id,
        "unit_id": unit_id,
        "items": items,
        "status": "ordered",
        "created_at": tx.now,
        "created_by": who,
        "updated_at": tx.now,
        "updated_by": who,
    }
    tx.insert("grocery_orders", values)
    tx.execute(
        "INSERT INTO grocery_events (order_id, from_status, to_status, ts, actor) VALUES (?, NULL, 'ordered', ?, ?)",
        [new_id, tx.now, who],
        writes=("grocery_events",),
    )
    tx.audit("grocery.create", "grocery_orders", new_id, None, values)
    return new_id


def advance(db: Database, actor: Actor, order_id: int, target: str, version: int) -> None:
    """Move an order one step along ordered -> at_gate -> disinfected -> handed_out."""

    def fn(tx: Tx) -> None:
        order = tx.record("grocery_orders", order_id)
        tx.require("grocery.manage", order["unit_id"])
        if order["version"] != version:
            raise StaleEdit()
        MACHINE.check(order["status"], target, actor.role)
        before, after = tx.update(
            "grocery_orders",
            order_id,
            {"status": target, "updated_at": tx.now, "updated_by": actor.username},
            expected_version=version,
        )
        tx.execute(
            "INSERT INTO grocery_events (order_id, from_status, to_status, ts, actor) VALUES (?, ?, ?, ?, ?)",
            [order_id, before["status"], target, tx.now, actor.username],
            writes=("grocery_events",),
        )
        tx.audit("grocery.advance", "grocery_orders", order_id, {"status": before["status"]}, {"status": target})

    db.write(actor, fn)


def orders(
    db: Database, actor: Actor, status: str | None = None, open_only: bool = False, page: int = 1, size: int = 20
) -> tuple[pd.DataFrame, int]:
    """One page of orders the actor may see (captains: their units), newest first, and the count."""
    where, params = access.unit_filter(actor, "grocery.view", "coalesce(h.unit_id, g.unit_id)")
    if status:
        where += " AND g.status = ?"
        params.append(status)
    if open_only:
        where += " AND g.status <> 'handed_out'"
    base = f"FROM grocery_orders g LEFT JOIN households h ON h.id = g.household_id WHERE {where}"
    total = db.cached_read(
        "groceries.orders_count", ("grocery_orders", "households"), "scalar", f"SELECT count(*) {base}", params
    )
    frame = db.cached_read(
        "groceries.orders",
        ("grocery_orders", "households", "suppliers", "units"),
        "df",
        f"""SELECT g.id, g.status, g.items, s.name AS supplier, u.building, u.unit_no, h.room, g.household_id,
                   g.created_at, g.created_by, g.updated_at, g.updated_by, g.version
            FROM grocery_orders g LEFT JOIN households h ON h.id = g.household_id
            JOIN suppliers s ON s.id = g.supplier_id JOIN units u ON u.id = coalesce(h.unit_id, g.unit_id)
            WHERE {where} ORDER BY g.status = 'handed_out', g.created_at DESC, g.id DESC LIMIT ? OFFSET ?""",
        [*params, size, max(0, page - 1) * size],
    )
    return frame, total


def status_counts(db: Database, actor: Actor) -> dict[str, int]:
    where, params = access.unit_filter(actor, "grocery.view", "coalesce(h.unit_id, g.unit_id)")
    rows = db.cached_read(
        "groceries.status_counts",
        ("grocery_orders", "households"),
        "rows",
        f"""SELECT g.status, count(*) FROM grocery_orders g LEFT JOIN households h ON h.id = g.household_id
                     WHERE {where} GROUP BY g.status""",
        params,
    )
    found = dict(rows)
    return {step: int(found.get(step, 0)) for step in STEPS}


def events(db: Database, actor: Actor, order_id: int) -> pd.DataFrame:
    unit_id = db.scalar(
        """SELECT coalesce(h.unit_id, g.unit_id) FROM grocery_orders g
                           LEFT JOIN households h ON h.id = g.household_id WHERE g.id = ?""",
        [order_id],
    )
    if unit_id is None:
        raise NotFound(entity="grocery_orders", id=order_id)
    access.require(actor, "grocery.view", unit_id)
    return db.df("SELECT from_status, to_status, ts, actor FROM grocery_events WHERE order_id = ? ORDER BY ts, id", [order_id])


def timelines(db: Database, actor: Actor, order_ids: list[int]) -> dict[int, list[dict]]:
    """The steps (status, when, who) of several orders in one query, confined to the actor's scope."""
    if not order_ids:
        return {}
    where, params = access.unit_filter(actor, "grocery.view", "coalesce(h.unit_id, g.unit_id)")
    marks = ", ".join("?" for _ in order_ids)
    rows = db.cached_read(
        "groceries.timelines",
        ("grocery_events", "grocery_orders", "households"),
        "dicts",
        f"""SELECT e.order_id, e.to_status, e.ts, e.actor FROM grocery_events e
            JOIN grocery_orders g ON g.id = e.order_id LEFT JOIN households h ON h.id = g.household_id
            WHERE e.order_id IN ({marks}) AND {where} ORDER BY e.order_id, e.ts, e.id""",
        [*order_ids, *params],
    )
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row["order_id"], []).append(row)
    return found
