"""Donated vegetables: coverage arithmetic, per-building progress, scope of ticking, double ticks."""

import threading
from datetime import date

import pytest

from qinyuan import donations, kpi
from qinyuan.db import Database, Tx
from qinyuan.errors import InvalidInput, PermissionDenied
from tests.support.threads import run_together


def _waiting_in_unit(db, batch_id, unit_id):
    return [
        r[0]
        for r in db.rows(
            """SELECT h.id FROM households h WHERE h.unit_id = ? AND NOT EXISTS
           (SELECT 1 FROM donation_deliveries d WHERE d.batch_id = ? AND d.household_id = h.id) ORDER BY h.id""",
            [unit_id, batch_id],
        )
    ]


def test_demo_batches_and_coverage_arithmetic(db, as_user):
    committee = as_user("committee")
    assert donations.latest_batch(db) == 2
    assert donations.coverage(db, committee, 1) == (1512, 1512, 1.0)
    served, total, share = donations.coverage(db, committee, 2)
    assert (served, total) == (1500, 1512)
    assert share == pytest.approx(1500 / 1512)
    assert kpi.compute(db)["donation_batch_coverage"] == round(share, 4)
    waiting, count = donations.waiting(db, committee, 2, size=100)
    assert count == 12 and len(waiting) == 12
    assert (waiting["unit_id"] == 1).sum() == 4
    # the member's scope: unit 1 only (18 households, 4 waiting)
    member = as_user("member001")
    assert donations.coverage(db, member, 2) == (14, 18, pytest.approx(14 / 18))
    frame, count = donations.waiting(db, member, 2)
    assert count == 4 and set(frame["unit_id"]) == {1}


def test_building_progress_sums_to_the_coverage(db, as_user):
    committee = as_user("committee")
    frame = donations.building_progress(db, committee, 2)
    assert len(frame) == 17
    assert frame["households"].sum() == 1512 and frame["served"].sum() == 1500 and frame["waiting"].sum() == 12
    b1 = frame[frame["building"] == 1].iloc[0]
    assert (int(b1["households"]), int(b1["served"])) == (54, 49)  # units 1-3: 4 + 1 waiting
    units = donations.unit_progress(db, committee, 2, building=1)
    assert list(units["waiting"]) == [4, 0, 1]


def test_tick_moves_unit_building_and_kpi(db, as_user):
    member = as_user("member001")
    hid = _waiting_in_unit(db, 2, 1)[0]
    before = kpi.compute(db)["vegetable_portions_distributed"]
    result = donations.tick(db, member, 2, hid)
    assert result.ticked and result.by == "member001"
    assert donations.coverage(db, member, 2)[0] == 15
    b1 = donations.building_progress(db, as_user("committee"), 2)
    assert int(b1[b1["building"] == 1].iloc[0]["served"]) == 50
    assert kpi.compute(db)["vegetable_portions_distributed"] == before + 1
    assert db.one("SELECT actor, action FROM audit_log WHERE entity = 'donation_deliveries' ORDER BY id DESC LIMIT 1") == (
        "member001",
        "donation.tick",
    )
    tp = donations.throughput(db, member, 2, date(2022, 1, 10))
    assert tp.to_dict("records") == [{"hour": 9, "households": 1}]


def test_captain_ticks_only_their_units(db, as_user):
    captain = as_user("captain01")
    other = _waiting_in_unit(db, 2, 3)[0]  # unit 3 belongs to team 3
    with pytest.raises(PermissionDenied):
        donations.tick(db, captain, 2, other)
    with pytest.raises(PermissionDenied):
        donations.rooms(db, captain, 2, 3)
    assert db.scalar("SELECT count(*) FROM donation_deliveries WHERE batch_id = 2 AND household_id = ?", [other]) == 0
    donations.tick(db, as_user("captain03"), 2, other)
    # a member of another team neither
    with pytest.raises(PermissionDenied):
        donations.tick(db, as_user("member001"), 2, _waiting_in_unit(db, 2, 12)[0])
    assert set(donations.unit_progress(db, captain, 2)["unit_id"]) == {1}


def test_second_tap_reports_who_ticked(db, as_user):
    member, captain = as_user("member001"), as_user("captain01")
    hid = _waiting_in_unit(db, 2, 1)[0]
    assert donations.tick(db, member, 2, hid).ticked
    again = donations.tick(db, captain, 2, hid)
    assert not again.ticked and again.by == "member001" and again.at_local == "09:00"
    assert db.scalar("SELECT count(*) FROM donation_deliveries WHERE batch_id = 2 AND household_id = ?", [hid]) == 1


@pytest.mark.parametrize("replicas", [1, pytest.param(2, marks=pytest.mark.postgres_only)])
def test_double_tick_by_two_people_at_once_counts_once(demo_path, as_user, replicas):
    """Two phones, two threads, one room: one delivery row, one audit row, one 'already' answer. Also when the
    phones reach two app processes (two Database objects on one PostgreSQL database: no shared process lock)."""
    member, captain = as_user("member001"), as_user("captain01")
    db = Database.open(demo_path)
    other = Database.open(demo_path) if replicas == 2 else db
    try:
        for round_ in range(4):
            hid = _waiting_in_unit(db, 2, 1)[0]
            served_before = donations.coverage(db, member, 2)[0]
            barrier, results, errors = threading.Barrier(2), [], []

            def tap(replica, actor, hid=hid, barrier=barrier, results=results, errors=errors):
                barrier.wait()
                try:
                    results.append(donations.tick(replica, actor, 2, hid))
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)

            threads = [threading.Thread(target=tap, args=pair) for pair in ((db, member), (other, captain))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert not errors, errors
            assert sorted(r.ticked for r in results) == [False, True], round_
            winner = next(r for r in results if r.ticked)
            loser = next(r for r in results if not r.ticked)
            assert loser.by == winner.by
            assert donations.coverage(db, member, 2)[0] == served_before + 1
            assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'donation.tick' AND entity_id = ?", [f"2:{hid}"]) == 1
    finally:
        if other is not db:
            other.close()
        db.close()


def test_untick_own_only_and_manager_any(db, as_user):
    member, captain, logistics = as_user("member001"), as_user("captain01"), as_user("logistics01")
    hid = _waiting_in_unit(db, 2, 1)[0]
    donations.tick(db, member, 2, hid)
    with pytest.raises(InvalidInput):
        donations.untick(db, captain, 2, hid)
    assert donations.untick(db, member, 2, hid)
    assert not donations.untick(db, member, 2, hid)
    donations.tick(db, member, 2, hid)
    assert donations.untick(db, logistics, 2, hid)


def test_batches_future_and_exhausted(db, as_user):
    logistics = as_user("logistics01")
    future = donations.create_batch(db, logistics, "某公司", "爱心蔬菜包", 2, date(2022, 1, 12))
    with pytest.raises(InvalidInput) as info:
        donations.tick(db, logistics, future, 1)
    assert info.value.key == "donation.error.not_started"
    small = donations.create_batch(db, logistics, "某公司", "鸡蛋", 1, date(2022, 1, 10))
    assert donations.latest_batch(db) == small
    donations.tick(db, logistics, small, 1)
    with pytest.raises(InvalidInput) as info:
        donations.tick(db, logistics, small, 2)
    assert info.value.key == "donation.error.exhausted"
    assert kpi.compute(db)["donation_batch_coverage"] == round(1 / 1512, 4)
    with pytest.raises(InvalidInput):
        donations.create_batch(db, logistics, "", "x", 10, date(2022, 1, 12))
    with pytest.raises(PermissionDenied):
        donations.create_batch(db, as_user("captain01"), "x", "y", 10, date(2022, 1, 12))


@pytest.mark.postgres_only  # two app processes can share a PostgreSQL database; a DuckDB file has one
def test_the_last_portion_goes_once_when_two_replicas_tick_at_once(db, demo_path, as_user, monkeypatch):
    """One portion left, two rooms ticked at once on two app processes (two Database objects, no shared process
    lock). The first tick ready to write waits until the other has finished, so each has counted the portions
    before the other wrote: still one gets the portion and the other hears the batch is used up."""
    logistics = as_user("logistics01")
    batch = donations.create_batch(db, logistics, "某公司", "鸡蛋", 1, date(2022, 1, 10))
    other = Database.open(demo_path)
    lock, first, other_done = threading.Lock(), [True], threading.Event()
    real_insert = Tx.insert

    def insert_after_the_other(tx, table, values, returning="id"):
        if table == "donation_deliveries":
            with lock:
                mine, first[0] = first[0], False
            if mine:
                other_done.wait(3)  # 3 s when the other waits for this one's transaction instead
        return real_insert(tx, table, values, returning)

    monkeypatch.setattr(Tx, "insert", insert_after_the_other)
    ticked, refused = [], []

    def tap(replica, hid):
        try:
            ticked.append(donations.tick(replica, logistics, batch, hid))
        except InvalidInput as exc:
            refused.append(exc.key)
        finally:
            other_done.set()

    rooms = _waiting_in_unit(db, batch, 1)[:2]
    try:
        run_together([lambda: tap(db, rooms[0]), lambda: tap(other, rooms[1])])
    finally:
        other.close()
    assert (len(ticked), refused) == (1, ["donation.error.exhausted"])
    assert db.scalar("SELECT coalesce(sum(portions), 0) FROM donation_deliveries WHERE batch_id = ?", [batch]) == 1


# -- cached reads stay fresh after a write ------------------------------------------------------------
def test_cached_progress_reads_are_fresh_after_tick_and_untick(db, as_user):
    committee, member = as_user("committee"), as_user("member001")
    hid = _waiting_in_unit(db, 2, 1)[0]
    before = {
        "coverage": donations.coverage(db, committee, 2),
        "batches": donations.batches(db, committee).set_index("id").loc[2, "served"],
        "building": donations.building_progress(db, committee, 2)["served"].sum(),
        "unit": donations.unit_progress(db, committee, 2).set_index("unit_id").loc[1, "served"],
        "waiting": donations.waiting(db, committee, 2, size=100)[1],
        "hours": donations.throughput(db, committee, 2)["households"].sum(),
    }
    room = donations.rooms(db, member, 2, 1).set_index("household_id")
    assert room.loc[hid, "delivered_by"] is None
    donations.tick(db, member, 2, hid)
    assert donations.coverage(db, committee, 2)[0] == before["coverage"][0] + 1
    assert donations.batches(db, committee).set_index("id").loc[2, "served"] == before["batches"] + 1
    assert donations.building_progress(db, committee, 2)["served"].sum() == before["building"] + 1
    assert donations.unit_progress(db, committee, 2).set_index("unit_id").loc[1, "served"] == before["unit"] + 1
    one = donations.unit_progress(db, committee, 2, unit_id=1)
    assert list(one["unit_id"]) == [1] and one["served"].item() == before["unit"] + 1
    waiting, total = donations.waiting(db, committee, 2, size=100)
    assert total == before["waiting"] - 1 and hid not in set(waiting["household_id"])
    assert donations.rooms(db, member, 2, 1).set_index("household_id").loc[hid, "delivered_by"] == "member001"
    assert donations.throughput(db, committee, 2, date(2022, 1, 10))["households"].sum() >= 1
    donations.untick(db, member, 2, hid)
    assert donations.coverage(db, committee, 2) == before["coverage"]
    assert donations.waiting(db, committee, 2, size=100)[1] == before["waiting"]
