"""Supplies: items, stock movements in and out, current stock, and the carrying squad's task list.

Stock is never stored: it is the sum of movements (positive in, negative out). History is never
edited; a correction is a new movement that points at the one it corrects. A movement that would
take an item below zero is refused inside the same transaction, which also bumps the item's
version so that two concurrent withdrawals of the same item serialise instead of both passing."""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import pandas as pd

from . import access
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput, StaleEdit
from .states import Machine

MANAGERS = ("committee", "logistics")
TASKS = Machine("carrying_task", {"open": {"done": MANAGERS, "cancelled": MANAGERS}}, terminal=("done", "cancelled"))
ITEM_UNITS = ("箱", "瓶", "公斤", "份", "只", "个", "套", "袋", "桶")
DIRECTIONS = ("in", "out")


@overload
def _text(value, field: str, *, required: Literal[True] = True, limit: int = 200) -> str: ...
@overload
def _text(value, field: str, *, required: bool, limit: int = 200) -> str | None: ...
def _text(value, field: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"supplies.error.missing_{field}")
        return None
    if len(value) > limit:
        raise InvalidInput("supplies.error.too_long", n=limit)
    return value


def _quantity(value) -> float:
    try:
        qty = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("supplies.error.quantity") from None
    if not math.isfinite(qty) or qty <= 0 or qty > 1e9:
        raise InvalidInput("supplies.error.quantity")
    return qty


def fmt_qty(value: float) -> str:
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.2f}"


# -- reads -------------------------------------------------------------------------------------


def items(db: Database, actor: Actor) -> pd.DataFrame:
    """Every item with its totals in and out and its current stock (one aggregation)."""
    access.require(actor, "supplies.view")
    return db.cached_read(
        "supplies.items",
        ("supply_items", "stock_movements"),
        "df",
        """SELECT i.id, i.code, i.name_zh, i.name_en, i.unit, i.version,
                  coalesce(sum(m.quantity) FILTER (WHERE m.quantity > 0 AND m.corrects IS NULL), 0) AS total_in,
                  coalesce(-sum(m.quantity) FILTER (WHERE m.quantity < 0 AND m.corrects IS NULL), 0) AS total_out,
                  coalesce(sum(m.quantity) FILTER (WHERE m.corrects IS NOT NULL), 0) AS corrections,
                  coalesce(sum(m.quantity), 0) AS stock,
                  count(m.id) AS movements
           FROM supply_items i LEFT JOIN stock_movements m ON m.item_id = i.id
           GROUP BY i.id, i.code, i.name_zh, i.name_en, i.unit, i.version ORDER BY i.id""",
    )


def stock(db: Database, item_id: int) -> float:
    return float(db.scalar("SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE item_id = ?", [item_id]))


def movements(db: Database, actor: Actor, item_id: int | None = None, page: int = 1, size: int = 20) -> tuple[pd.DataFrame, int]:
    """One page of movements, newest first, and the total count."""
    access.require(actor, "supplies.view")
    where, params = ("m.item_id = ?", [item_id]) if item_id else ("TRUE", [])
    total = db.cached_read(
        "supplies.movements_count",
        ("stock_movements",),
        "scalar",
        f"SELECT count(*) FROM stock_movements m WHERE {where}",
        params,
    )
    frame = db.cached_read(
        "supplies.movements",
        ("stock_movements", "supply_items"),
        "df",
        f"""SELECT m.id, m.ts, i.name_zh, i.name_en, i.unit, m.quantity, m.counterparty, m.actor, m.note, m.corrects
            FROM stock_movements m JOIN supply_items i ON i.id = m.item_id WHERE {where}
            ORDER BY m.ts DESC, m.id DESC LIMIT ? OFFSET ?""",
        [*params, size, max(0, page - 1) * size],
    )
    return frame, total


def carriers(db: Database, actor: Actor) -> pd.DataFrame:
    """The carrying squad (volunteers with the carrier skill): name and team."""
    access.require(actor, "supplies.view")
    return db.cached_read(
        "supplies.carriers",
        ("volunteers",),
        "df",
        """SELECT v.id, v.name, v.team_id FROM volunteers v
                    WHERE v.active AND 'carrier' = ANY(v.skills) ORDER BY v.team_id NULLS LAST, v.id""",
    )


def tasks(db: Database, actor: Actor, include_closed: bool = True) -> pd.DataFrame:
    access.require(actor, "supplies.view")
    where = "TRUE" if include_closed else "t.status = 'open'"
    return db.cached_read(
        "supplies.tasks",
        ("carrying_tasks", "supply_items"),
        "df",
        f"""SELECT t.id, t.description, t.item_id, i.name_zh, i.name_en, i.unit, t.quantity, t.from_place, t.to_place,
                   t.assignees, t.status, t.created_at, t.done_at, t.done_by, t.version
            FROM carrying_tasks t LEFT JOIN supply_items i ON i.id = t.item_id WHERE {where}
            ORDER BY t.status <> 'open', t.created_at DESC, t.id DESC LIMIT 200""",
    )


# -- writes ------------------------------------------------------------------------------------
def add_item(db: Database, actor: Actor, code: str, name_zh: str, name_en: str, unit: str) -> int:
    code = _text(code, "code", limit=40)
    if not code.replace("_", "").isalnum() or not code.isascii():
        raise InvalidInput("supplies.error.code")
    code = code.lower()
    name_zh = _text(name_zh, "name_zh", limit=60)
    name_en = _text(name_en, "name_en", required=False, limit=60) or code
    unit = _text(unit, "unit", limit=10)

    def fn(tx: Tx) -> int:
        tx.require("supplies.manage")
        if tx.scalar("SELECT count(*) FROM supply_items WHERE code = ?", [code]):
            raise InvalidInput("supplies.error.code_taken", code=code)
        new_id = tx.scalar("SELECT nextval('item_seq')")
        tx.insert("supply_items", {"id": new_id, "code": code, "name_zh": name_zh, "name_en": name_en, "unit": unit})
        tx.audit("supplies.item_add", "supply_items", new_id, None, {"code": code, "name_zh": name_zh, "unit": unit})
        return new_id

    return db.write(actor, fn)


def _move(tx: Tx, item_id: int, delta: float, counterparty: str | None, note: str | None, corrects: int | None) -> int:
    assert tx.actor is not None
    item = tx.record("supply_items", item_id)
    # Bump the item's version: two concurrent movements of one item now conflict and one retries,
    # so the stock check below always sees the other's movement.
    tx.execute("UPDATE supply_items SET version = version + 1 WHERE id = ?", [item_id], writes=("supply_items",))
    current = float(tx.scalar("SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE item_id = ?", [item_id]))
    if current + delta < -1e-9:
        raise InvalidInput(
            "supplies.error.negative_stock",
            item=item["name_zh"],
            stock=fmt_qty(current),
            quantity=fmt_qty(-delta),
            unit=item["unit"],
        )
    movement_id = tx.insert(
        "stock_movements",
        {
            "item_id": item_id,
            "quantity": delta,
            "counterparty": counterparty,
            "ts": tx.now,
            "actor": tx.actor.username,
            "note": note,
            "corrects": corrects,
        },
    )
    tx.audit(
        "supplies.move",
        "stock_movements",
        movement_id,
        {"stock": current},
        {
            "item": item["code"],
            "quantity": delta,
            "stock": current + delta,
            "counterparty": counterparty,
            "note": note,
            "corrects": corrects,
        },
    )
    return movement_id


def record_movement(
    db: Database, actor: Actor, item_id: int, direction: str, quantity, counterparty: str | None = None, note: str | None = None
) -> int:
    """Goods in (from a source) or out (to a destination). Out beyond the stock is refused."""
    if direction not in DIRECTIONS:
        raise InvalidInput("supplies.error.direction")
    qty = _quantity(quantity)
    counterparty = _text(counterparty, "counterparty", limit=100)
    note = _text(note, "note", required=False)
    delta = qty if direction == "in" else -qty

    def fn(tx: Tx) -> int:
        tx.require("supplies.manage")
        return _move(tx, int(item_id), delta, counterparty, note, None)

    return db.write(actor, fn)


def correct_movement(db: Database, actor: Actor, movement_id: int, right_quantity, note: str) -> int | None:
    """Correct a movement's quantity (signed: + in, - out) by adding the difference as a new
    movement pointing at it. Returns the new movement's id, or None when nothing differs."""
    try:
        right = float(right_quantity)
    except (TypeError, ValueError):
        raise InvalidInput("supplies.error.quantity") from None
    if not math.isfinite(right) or abs(right) > 1e9:
        raise InvalidInput("supplies.error.quantity")
    note = _text(note, "note", limit=200)

    def fn(tx: Tx) -> int | None:
        tx.require("supplies.manage")
        original = tx.record("stock_movements", movement_id)
        if original["corrects"] is not None:
            raise InvalidInput("supplies.error.correct_correction")
        if (original["quantity"] > 0) != (right > 0) and right != 0:
            raise InvalidInput("supplies.error.correct_sign")
        effective = float(
            tx.scalar(
                "SELECT CAST(? AS DOUBLE PRECISION) + coalesce(sum(quantity), 0) FROM stock_movements WHERE corrects = ?",
                [original["quantity"], movement_id],
            )
        )
        delta = right - effective
        if abs(delta) < 1e-9:
            return None
        return _move(tx, original["item_id"], delta, original["counterparty"], note, movement_id)

    return db.write(actor, fn)


def add_task(
    db: Database,
    actor: Actor,
    description: str,
    item_id: int | None,
    quantity,
    from_place: str,
    to_place: str,
    assignees: str | None,
) -> int:
    description = _text(description, "description")
    qty = _quantity(quantity) if quantity not in (None, "", 0) else None
    from_place = _text(from_place, "from_place", limit=100)
    to_place = _text(to_place, "to_place", limit=100)
    assignees = _text(assignees, "assignees", required=False)

    def fn(tx: Tx) -> int:
        tx.require("supplies.manage")
        if item_id is not None:
            tx.record("supply_items", item_id)
        new_id = tx.scalar("SELECT nextval('task_seq')")
        values = {
            "id": new_id,
            "description": description,
            "item_id": item_id,
            "quantity": qty,
            "from_place": from_place,
            "to_place": to_place,
            "assignees": assignees,
            "status": "open",
            "created_at": tx.now,
        }
        tx.insert("carrying_tasks", values)
        tx.audit("supplies.task_add", "carrying_tasks", new_id, None, values)
        return new_id

    return db.write(actor, fn)


def set_task_status(db: Database, actor: Actor, task_id: int, target: str, version: int) -> None:
    def fn(tx: Tx) -> None:
        tx.require("supplies.manage")
        task = tx.record("carrying_tasks", task_id)
        if task["version"] != version:
            raise StaleEdit()
        assert tx.actor is not None
        TASKS.check(task["status"], target, tx.actor.role)
        changes: dict[str, Any] = {"status": target}
        if target == "done":
            changes.update(done_at=tx.now, done_by=tx.actor.username)
        before, after = tx.update("carrying_tasks", task_id, changes, expected_version=version)
        tx.audit(f"supplies.task_{target}", "carrying_tasks", task_id, {"status": before["status"]}, changes)

    db.write(actor, fn)
