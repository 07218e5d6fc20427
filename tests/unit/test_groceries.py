"""Grocery orders: the state machine ordered -> at_gate -> disinfected -> handed_out, events, scope."""

import pytest

from qinyuan import groceries, kpi
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit


def _version(db, order_id):
    return db.scalar("SELECT version FROM grocery_orders WHERE id = ?", [order_id])


def test_three_vetted_suppliers(db, as_user):
    frame = groceries.suppliers(db, as_user("logistics01"))
    assert list(frame["name"]) == ["陕西农垦", "新苗商贸", "臻容食品"]
    assert kpi.compute(db)["suppliers"] == 3


def test_order_walks_the_machine_with_an_event_per_step(db, as_user):
    logistics = as_user("logistics01")
    open_before = kpi.compute(db)["grocery_orders_open"]
    oid = groceries.create_order(db, logistics, 1, "蔬菜套餐A（10斤）", household_id=5)
    assert kpi.compute(db)["grocery_orders_open"] == open_before + 1
    for step in ("at_gate", "disinfected", "handed_out"):
        groceries.advance(db, logistics, oid, step, _version(db, oid))
    assert db.scalar("SELECT status FROM grocery_orders WHERE id = ?", [oid]) == "handed_out"
    steps = db.rows("SELECT from_status, to_status, actor FROM grocery_events WHERE order_id = ? ORDER BY id", [oid])
    assert steps == [
        (None, "ordered", "logistics01"),
        ("ordered", "at_gate", "logistics01"),
        ("at_gate", "disinfected", "logistics01"),
        ("disinfected", "handed_out", "logistics01"),
    ]
    assert kpi.compute(db)["grocery_orders_open"] == open_before
    assert groceries.MACHINE.next_steps("handed_out", "logistics") == []


def test_steps_cannot_be_skipped_or_reversed(db, as_user):
    logistics = as_user("logistics01")
    oid = groceries.create_order(db, logistics, 2, "鸡蛋30枚", unit_id=3)
    with pytest.raises(InvalidInput):
        groceries.advance(db, logistics, oid, "handed_out", _version(db, oid))
    groceries.advance(db, logistics, oid, "at_gate", _version(db, oid))
    with pytest.raises(InvalidInput):
        groceries.advance(db, logistics, oid, "ordered", _version(db, oid))
    assert db.scalar("SELECT count(*) FROM grocery_events WHERE order_id = ?", [oid]) == 2


def test_stale_step_is_refused(db, as_user):
    logistics, committee = as_user("logistics01"), as_user("committee")
    oid = groceries.create_order(db, logistics, 1, "米面油组合", household_id=7)
    seen = _version(db, oid)
    groceries.advance(db, committee, oid, "at_gate", seen)
    with pytest.raises(StaleEdit):
        groceries.advance(db, logistics, oid, "at_gate", seen)


def test_unit_batch_order_and_captain_scope(db, as_user):
    logistics, captain = as_user("logistics01"), as_user("captain01")
    oid = groceries.create_order(db, logistics, 3, "蔬菜套餐B（15斤）×18", unit_id=1)
    other = groceries.create_order(db, logistics, 3, "蔬菜套餐B（15斤）", unit_id=2)
    frame, total = groceries.orders(db, captain, size=100)
    assert oid in set(frame["id"]) and other not in set(frame["id"])
    assert set(frame["unit_no"]) == {1} and set(frame["building"]) == {1}
    with pytest.raises(PermissionDenied):
        groceries.advance(db, captain, oid, "at_gate", _version(db, oid))
    with pytest.raises(PermissionDenied):
        groceries.create_order(db, captain, 1, "x", unit_id=1)
    with pytest.raises(PermissionDenied):
        groceries.events(db, captain, other)
    assert len(groceries.events(db, captain, oid)) == 1


def test_unvetted_supplier_takes_no_orders(db, as_user):
    logistics = as_user("logistics01")
    sid = groceries.add_supplier(db, logistics, "某某超市", "张三", "13800000000", vetted=False)
    with pytest.raises(InvalidInput) as info:
        groceries.create_order(db, logistics, sid, "蔬菜", household_id=1)
    assert info.value.key == "grocery.error.not_vetted"
    assert kpi.compute(db)["suppliers"] == 3
    with pytest.raises(InvalidInput):
        groceries.create_order(db, logistics, 1, "  ", household_id=1)


def test_timelines_in_one_query_and_scoped(db, as_user):
    logistics, captain = as_user("logistics01"), as_user("captain01")
    mine = groceries.create_order(db, logistics, 1, "蔬菜", unit_id=1)
    theirs = groceries.create_order(db, logistics, 1, "蔬菜", unit_id=2)
    groceries.advance(db, logistics, mine, "at_gate", _version(db, mine))
    found = groceries.timelines(db, logistics, [mine, theirs])
    assert [e["to_status"] for e in found[mine]] == ["ordered", "at_gate"]
    assert groceries.timelines(db, captain, [mine, theirs]).keys() == {mine}


# -- cached reads stay fresh after a write ------------------------------------------------------------
def test_cached_orders_counts_and_suppliers_are_fresh_after_writes(db, as_user):
    logistics = as_user("logistics01")
    counts = groceries.status_counts(db, logistics)
    _, total = groceries.orders(db, logistics)
    orders_of = groceries.suppliers(db, logistics).set_index("id").loc[1, "orders"]
    oid = groceries.create_order(db, logistics, 1, "蔬菜套餐A（10斤）", household_id=5)
    assert groceries.status_counts(db, logistics)["ordered"] == counts["ordered"] + 1
    frame, after = groceries.orders(db, logistics, status="ordered", size=100)
    assert groceries.orders(db, logistics)[1] == total + 1 and oid in set(frame["id"])
    assert groceries.suppliers(db, logistics).set_index("id").loc[1, "orders"] == orders_of + 1
    groceries.advance(db, logistics, oid, "at_gate", _version(db, oid))
    assert groceries.status_counts(db, logistics)["at_gate"] == counts["at_gate"] + 1
    assert [s["to_status"] for s in groceries.timelines(db, logistics, [oid])[oid]] == ["ordered", "at_gate"]
