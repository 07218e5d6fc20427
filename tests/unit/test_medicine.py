"""Medicine orders: the state machine per role, scope, the concurrent double-advance, KPIs."""

from __future__ import annotations

import json
import threading
from functools import partial

import pytest

from qinyuan import clock, kpi, medicine
from qinyuan.errors import InvalidInput, NotFound, PermissionDenied, StaleEdit

ALL_STATES = ("requested", "sourcing", "purchased", "at_gate", "disinfected", "delivered", "cancelled", "failed")
OPEN = ("requested", "sourcing", "purchased", "at_gate", "disinfected")
USERS = {"committee": "committee", "captain": "captain01", "medic": "medic01", "logistics": "logistics01", "member": "member001"}
# Written out by hand from the issue (not derived from the module), so a wrong machine fails here.
FORWARD = {
    "requested": "sourcing",
    "sourcing": "purchased",
    "purchased": "at_gate",
    "at_gate": "disinfected",
    "disinfected": "delivered",
}
ALLOWED = {
    "committee": {(s, FORWARD[s]) for s in OPEN} | {(s, "cancelled") for s in OPEN} | {(s, "failed") for s in OPEN},
    "captain": {("disinfected", "delivered")} | {(s, "cancelled") for s in OPEN},
    "medic": {("requested", "sourcing"), ("sourcing", "purchased")} | {(s, "failed") for s in OPEN},
    "logistics": {("purchased", "at_gate"), ("at_gate", "disinfected")} | {(s, "failed") for s in OPEN},
    "member": set(),
}


def _unserved_household(db, unit_id: int) -> int:
    return db.scalar(
        """SELECT min(h.id) FROM households h WHERE h.unit_id = ? AND NOT EXISTS
                        (SELECT 1 FROM medicine_orders m WHERE m.household_id = h.id)""",
        [unit_id],
    )


def _set_status(db, order_id: int, status: str) -> int:
    with db.bulk() as cur:  # a raw set-up write; bulk() tells the read cache, as db.write would
        cur.execute("UPDATE medicine_orders SET status = ? WHERE id = ?", [status, order_id])
    return db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [order_id])


def _events(db, order_id: int) -> int:
    return db.scalar("SELECT count(*) FROM medicine_events WHERE order_id = ?", [order_id])


def _walk(db, as_user, order_id: int, upto: str) -> int:
    """Take an order through the real steps, by the real roles, up to a state; returns its version."""
    by = {
        "sourcing": "medic01",
        "purchased": "medic01",
        "at_gate": "logistics01",
        "disinfected": "logistics01",
        "delivered": "captain01",
    }
    version = db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [order_id])
    status = db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [order_id])
    while status != upto:
        status = FORWARD[status]
        unit = db.scalar(
            "SELECT h.unit_id FROM medicine_orders m JOIN households h ON h.id = m.household_id WHERE m.id = ?", [order_id]
        )
        who = by[status] if status != "delivered" else f"captain{unit:02d}"
        version = medicine.advance(db, as_user(who), order_id, status, version)["version"]
    return version


def test_every_transition_per_role(db, as_user):
    household = _unserved_household(db, 1)
    order_id = medicine.create_order(db, as_user("captain01"), household, "布洛芬缓释胶囊 0.3g ×1盒")
    checked = 0
    for role, username in USERS.items():
        actor = as_user(username)
        for current in ALL_STATES:
            for target in ALL_STATES:
                version = _set_status(db, order_id, current)
                events = _events(db, order_id)
                call = partial(medicine.advance, db, actor, order_id, target, version, reason="测试原因")
                if (current, target) in ALLOWED[role]:
                    after = call()
                    assert after["status"] == target and after["version"] == version + 1, (role, current, target)
                    assert _events(db, order_id) == events + 1
                    row = db.dicts("SELECT * FROM medicine_events WHERE order_id = ? ORDER BY id DESC LIMIT 1", [order_id])[0]
                    assert (row["from_status"], row["to_status"], row["actor"]) == (current, target, username)
                else:
                    with pytest.raises((PermissionDenied, InvalidInput)):
                        call()
                    assert db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [order_id]) == current
                    assert _events(db, order_id) == events, (role, current, target)
                checked += 1
                # the UI offers exactly the allowed steps
                offered = set(medicine.MACHINE.next_steps(current, actor.role))
                assert offered == {to for (fr, to) in ALLOWED[role] if fr == current}, (role, current)
    assert checked == len(USERS) * len(ALL_STATES) ** 2


def test_step_writes_order_fields_event_and_audit(db, as_user):
    household = _unserved_household(db, 1)
    captain = as_user("captain01")
    order_id = medicine.create_order(
        db,
        captain,
        household,
        "进口胰岛素 300IU ×3支\n\n  二甲双胍片 0.5g  ×3盒 ",
        urgency="critical",
        channel="phone",
        source="校医院代购",
    )
    row = db.dicts("SELECT * FROM medicine_orders WHERE id = ?", [order_id])[0]
    assert json.loads(row["items"]) == ["进口胰岛素 300IU ×3支", "二甲双胍片 0.5g ×3盒"]
    assert (row["status"], row["placed_by"], row["version"], row["urgency"]) == ("requested", "captain01", 1, "critical")
    audits = db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'medicine_order' AND entity_id = ?", [str(order_id)])
    assert audits == 1
    version = _walk(db, as_user, order_id, "delivered")
    row = db.dicts("SELECT * FROM medicine_orders WHERE id = ?", [order_id])[0]
    assert (row["status"], row["updated_by"], version) == ("delivered", "captain01", 6)
    assert row["delivered_at"] == row["updated_at"] == db.now()
    steps = db.rows("SELECT from_status, to_status, actor FROM medicine_events WHERE order_id = ? ORDER BY id", [order_id])
    assert steps == [
        (None, "requested", "captain01"),
        ("requested", "sourcing", "medic01"),
        ("sourcing", "purchased", "medic01"),
        ("purchased", "at_gate", "logistics01"),
        ("at_gate", "disinfected", "logistics01"),
        ("disinfected", "delivered", "captain01"),
    ]
    assert db.scalar("SELECT count(*) FROM audit_log WHERE entity = 'medicine_order' AND entity_id = ?", [str(order_id)]) == 6


def test_cancel_and_fail_need_a_reason(db, as_user):
    order_id = medicine.create_order(db, as_user("captain01"), _unserved_household(db, 1), "阿司匹林 100mg ×1盒")
    with pytest.raises(InvalidInput) as err:
        medicine.advance(db, as_user("captain01"), order_id, "cancelled", 1, reason="  ")
    assert err.value.key == "medicine.error.reason_required"
    assert _events(db, order_id) == 1
    after = medicine.advance(db, as_user("medic01"), order_id, "failed", 1, reason="无购药渠道")
    assert after["status"] == "failed" and after["reason"] == "无购药渠道"
    with pytest.raises(InvalidInput):  # terminal
        medicine.advance(db, as_user("committee"), order_id, "sourcing", 2)


def test_captain_scope(db, as_user):
    captain01, captain02, committee = as_user("captain01"), as_user("captain02"), as_user("committee")
    other = _unserved_household(db, 2)
    with pytest.raises(PermissionDenied):
        medicine.create_order(db, captain01, other, "布洛芬 ×1盒")
    order_id = medicine.create_order(db, captain02, other, "布洛芬 ×1盒")
    version = _walk(db, as_user, order_id, "disinfected")
    for target in ("delivered", "cancelled"):
        with pytest.raises(PermissionDenied):
            medicine.advance(db, captain01, order_id, target, version, reason="x")
    assert db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [order_id]) == "disinfected"
    with pytest.raises(PermissionDenied):
        medicine.get_order(db, captain01, order_id)
    with pytest.raises(PermissionDenied):
        medicine.household_history(db, captain01, other)
    units = {r["unit_id"] for r in medicine.list_orders(db, captain01, medicine.Filters(status="all"), limit=500)[0]}
    assert units == {1}
    assert order_id not in {r["id"] for r in medicine.work_queue(db, captain01)[0]}
    assert order_id in {r["id"] for r in medicine.work_queue(db, committee, limit=100)[0]}
    assert medicine.advance(db, captain02, order_id, "delivered", version)["status"] == "delivered"
    with pytest.raises(PermissionDenied):
        medicine.create_order(db, as_user("logistics01"), other, "布洛芬 ×1盒")


def test_concurrent_double_advance_one_wins(db, as_user):
    """Two people press the same button on the same order at the same moment."""
    outcomes = []
    for n in range(4):
        order_id = medicine.create_order(db, as_user("captain01"), _unserved_household(db, 1), f"药品 {n}")
        version = _walk(db, as_user, order_id, "at_gate")
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def press(username, order_id=order_id, version=version, barrier=barrier, results=results):
            actor = as_user(username)
            barrier.wait()
            try:
                results[username] = medicine.advance(db, actor, order_id, "disinfected", version)
            except StaleEdit as exc:
                results[username] = exc

        threads = [threading.Thread(target=press, args=(u,)) for u in ("logistics01", "committee")]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        wins = [u for u, r in results.items() if isinstance(r, dict)]
        losses = [r for r in results.values() if isinstance(r, StaleEdit)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert losses[0].key == "medicine.error.already_moved"
        assert wins[0] in losses[0].params["who"]
        assert db.scalar("SELECT count(*) FROM medicine_events WHERE order_id = ? AND to_status = 'disinfected'", [order_id]) == 1
        assert db.scalar("SELECT version FROM medicine_orders WHERE id = ?", [order_id]) == version + 1
        outcomes.append(wins[0])
    assert len(outcomes) == 4


def test_stale_version_names_who_moved_it(db, as_user):
    order_id = medicine.create_order(db, as_user("captain01"), _unserved_household(db, 1), "药品")
    medicine.advance(db, as_user("medic01"), order_id, "sourcing", 1)
    with pytest.raises(StaleEdit) as err:
        medicine.advance(db, as_user("committee"), order_id, "sourcing", 1)
    assert err.value.key == "medicine.error.already_moved"
    assert "张敏" in err.value.params["who"] and "medic01" in err.value.params["who"]
    assert _events(db, order_id) == 2


def test_kpi_households_served_and_open(db, as_user):
    captain = as_user("captain01")
    before = kpi.compute(db)
    assert before["medicine_households_served"] == 108
    unit1 = kpi.compute(db, units=(1,))["medicine_households_served"]
    unit2 = kpi.compute(db, units=(2,))["medicine_households_served"]
    household = _unserved_household(db, 1)
    order_id = medicine.create_order(db, captain, household, "胰岛素 ×1支", urgency="urgent")
    mid = kpi.compute(db)
    assert mid["medicine_orders_open"] == before["medicine_orders_open"] + 1
    assert mid["medicine_urgent_open"] == before["medicine_urgent_open"] + 1
    _walk(db, as_user, order_id, "delivered")
    after = kpi.compute(db)
    assert after["medicine_households_served"] == 109
    assert after["medicine_orders_open"] == before["medicine_orders_open"]
    assert after["medicine_urgent_open"] == before["medicine_urgent_open"]
    # a second delivery to the same household does not count it twice
    again = medicine.create_order(db, captain, household, "布洛芬 ×1盒")
    _walk(db, as_user, again, "delivered")
    assert kpi.compute(db)["medicine_households_served"] == 109
    assert kpi.compute(db, units=(1,))["medicine_households_served"] == unit1 + 1
    assert kpi.compute(db, units=(2,))["medicine_households_served"] == unit2


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"items": "  \n \n"}, "medicine.error.no_items"),
        ({"items": "x" * 201}, "medicine.error.items_too_long"),
        ({"items": "\n".join(f"药{i}" for i in range(31))}, "medicine.error.items_too_long"),
        ({"urgency": "whenever"}, "medicine.error.urgency"),
        ({"channel": "pigeon"}, "medicine.error.channel"),
        ({"household_id": None}, "medicine.error.household"),
    ],
)
def test_bad_input_writes_nothing(db, as_user, kwargs, key):
    args = {"household_id": _unserved_household(db, 1), "items": "布洛芬 ×1盒", **kwargs}
    orders = db.scalar("SELECT count(*) FROM medicine_orders")
    audits = db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(InvalidInput) as err:
        medicine.create_order(db, as_user("captain01"), args.pop("household_id"), args.pop("items"), **args)
    assert err.value.key == key
    assert db.scalar("SELECT count(*) FROM medicine_orders") == orders
    assert db.scalar("SELECT count(*) FROM audit_log") == audits


def test_resident_must_live_in_the_household(db, as_user):
    household = _unserved_household(db, 1)
    stranger = db.scalar("SELECT min(id) FROM residents WHERE household_id <> ?", [household])
    with pytest.raises(InvalidInput) as err:
        medicine.create_order(db, as_user("captain01"), household, "药", resident_id=stranger)
    assert err.value.key == "medicine.error.resident"
    with pytest.raises(NotFound):
        medicine.create_order(db, as_user("committee"), 999_999_999, "药")


def test_work_queue_order_and_paging(db, as_user):
    captain = as_user("captain01")
    rows, total = medicine.work_queue(db, captain)
    assert total == 2 and [r["id"] for r in rows] == [109, 110]  # urgent before normal
    household = _unserved_household(db, 1)
    critical = medicine.create_order(db, captain, household, "胰岛素", urgency="critical")
    normal = medicine.create_order(db, captain, household, "布洛芬", urgency="normal")
    rows, total = medicine.work_queue(db, captain)
    assert [r["id"] for r in rows] == [critical, 109, 110, normal]
    page, total = medicine.work_queue(db, captain, limit=2, offset=2)
    assert total == 4 and [r["id"] for r in page] == [110, normal]
    medic_rows, _ = medicine.work_queue(db, as_user("medic01"), limit=100)
    assert {r["status"] for r in medic_rows} == {"requested", "sourcing"}
    logistics_rows, _ = medicine.work_queue(db, as_user("logistics01"), limit=100)
    assert {r["status"] for r in logistics_rows} == {"purchased", "at_gate"}


def test_list_filters_and_paging(db, as_user):
    committee = as_user("committee")
    rows, total = medicine.list_orders(db, committee, medicine.Filters(status="all"), limit=50, offset=100)
    assert total == 122 and len(rows) == 22
    assert medicine.list_orders(db, committee, medicine.Filters(status="all"), limit=50, offset=500)[1] == 122
    assert medicine.list_orders(db, committee, medicine.Filters(status="open"))[1] == 14
    assert medicine.list_orders(db, committee, medicine.Filters(status="delivered"))[1] == 108
    insulin, n = medicine.list_orders(db, committee, medicine.Filters(status="all", search="胰岛素"))
    assert n == 1 and insulin[0]["urgency"] == "critical"
    unit1 = medicine.list_orders(db, committee, medicine.Filters(status="open", unit_id=1))[0]
    assert {r["id"] for r in unit1} == {109, 110}
    with pytest.raises(InvalidInput):
        medicine.list_orders(db, committee, medicine.Filters(status="bogus"))


def test_overdue_limits_from_settings(db, as_user):
    committee = as_user("committee")
    assert medicine.limits(db) == {"critical": 2.0, "urgent": 4.0, "normal": 24.0}
    rows, total = medicine.overdue(db, committee)
    assert total == 11 and rows[0]["id"] == 116  # the critical one, 24.7 h against 2 h
    assert all(r["age_hours"] > r["limit_hours"] for r in rows)
    medicine.set_limits(db, committee, {"normal": 48, "urgent": 16})
    assert medicine.limits(db) == {"critical": 2.0, "urgent": 16.0, "normal": 48.0}
    assert medicine.overdue(db, committee)[1] == 2  # 116 (critical) and 118 (urgent, 27.2 h)
    with pytest.raises(PermissionDenied):
        medicine.set_limits(db, as_user("medic01"), {"normal": 1})
    with pytest.raises(InvalidInput):
        medicine.set_limits(db, committee, {"normal": -1})
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'medicine.limits'") == 1


def test_household_history(db, as_user):
    frame = medicine.household_history(db, as_user("captain01"), 1)
    assert list(frame["订单号"]) == [109]
    assert frame.loc[0, "状态"] == "待采购" and "硝苯地平" in frame.loc[0, "药品"]
    created = db.scalar("SELECT created_at FROM medicine_orders WHERE id = 109").astimezone(clock.TZ)
    assert frame.loc[0, "下单时间"] == created.strftime("%Y-%m-%d %H:%M") and frame.loc[0, "送达时间"] == ""
    insulin_house = db.scalar("SELECT household_id FROM medicine_orders WHERE items LIKE '%胰岛素%'")
    frame = medicine.household_history(db, as_user("medic01"), insulin_house, lang="en")
    assert list(frame["Status"]) == ["Delivered"] and list(frame["Urgency"]) == ["Critical"]
    assert frame.loc[0, "Delivered at"] == "2022-01-06 06:20"  # requested 01-05 10:20, 20 h
    with pytest.raises(NotFound):
        medicine.household_history(db, as_user("committee"), 999_999_999)


def test_export_is_scoped_and_audited(db, as_user):
    with pytest.raises(PermissionDenied):
        medicine.export_frame(db, as_user("captain01"))
    frame = medicine.export_frame(db, as_user("medic01"), medicine.Filters(status="all"))
    assert len(frame) == 122 and "药品" in frame.columns
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'medicine.export' AND actor = 'medic01'") == 1
    overdue = medicine.export_frame(db, as_user("committee"), medicine.Filters(status="open", overdue_only=True), "en")
    assert len(overdue) == 11 and overdue["Overdue"].all()


# -- cached reads stay fresh after a write and move on with the clock ---------------------------------
def test_cached_lists_counts_and_queue_are_fresh_after_writes(db, as_user, monkeypatch):
    committee, medic = as_user("committee"), as_user("medic01")
    counts = medicine.status_counts(db, committee)
    _, total = medicine.list_orders(db, committee, medicine.Filters(status="open"))
    _, queued = medicine.work_queue(db, medic, limit=5)
    household = _unserved_household(db, 1)
    new = medicine.create_order(db, committee, household, "布洛芬 ×1盒", urgency="critical")
    assert medicine.status_counts(db, committee)["requested"] == counts.get("requested", 0) + 1
    rows, after = medicine.list_orders(db, committee, medicine.Filters(status="open"))
    assert after == total + 1 and rows[0]["id"] == new
    first, more = medicine.work_queue(db, medic, limit=50)
    assert more == queued + 1
    mine = next(r for r in first if r["id"] == new)
    medicine.advance(db, medic, new, "sourcing", mine["version"])
    assert medicine.status_counts(db, committee)["sourcing"] == counts.get("sourcing", 0) + 1
    assert next(r for r in medicine.work_queue(db, medic, limit=50)[0] if r["id"] == new)["status"] == "sourcing"
    # the same query a few hours later: ages and the overdue flag follow the clock (cached per minute)
    age = next(r for r in medicine.list_orders(db, committee)[0] if r["id"] == new)["age_hours"]
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T15:00:00+08:00")
    later = next(r for r in medicine.list_orders(db, committee)[0] if r["id"] == new)
    assert later["age_hours"] == pytest.approx(age + 6) and later["overdue"]
    assert new in [r["id"] for r in medicine.overdue(db, committee)[0]]
