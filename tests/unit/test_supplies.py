"""Stock: arithmetic from movements, refusal of negative stock, corrections as new movements, tasks."""

import threading

import pytest

from qinyuan import kpi, supplies
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit


def _item(db, code):
    return db.scalar("SELECT id FROM supply_items WHERE code = ?", [code])


def _row(frame, item_id):
    return frame[frame["id"] == item_id].iloc[0]


def test_stock_is_the_sum_of_movements(db, as_user):
    logistics = as_user("logistics01")
    masks = _item(db, "surgical_masks")
    before = _row(supplies.items(db, logistics), masks)
    assert before["stock"] == 240_000 and before["total_in"] == 300_000 and before["total_out"] == 60_000
    supplies.record_movement(db, logistics, masks, "in", 1_000, "市卫健委", "捐赠")
    supplies.record_movement(db, logistics, masks, "out", 2_500, "3号楼", None)
    after = _row(supplies.items(db, logistics), masks)
    assert after["stock"] == 240_000 + 1_000 - 2_500
    assert after["total_in"] == 301_000 and after["total_out"] == 62_500
    assert supplies.stock(db, masks) == 238_500
    # the KPI (supplies moved in) follows the rows
    assert kpi.compute(db)["supplies"]["surgical_masks"] == 301_000


def test_negative_stock_is_refused_and_nothing_is_written(db, as_user):
    logistics = as_user("logistics01")
    grain = _item(db, "grain_oil_portions")
    stock = supplies.stock(db, grain)
    assert stock == 640
    count = db.scalar("SELECT count(*) FROM stock_movements")
    audits = db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(InvalidInput) as info:
        supplies.record_movement(db, logistics, grain, "out", 641, "1号楼")
    assert info.value.key == "supplies.error.negative_stock"
    assert info.value.params["stock"] == "640"
    assert db.scalar("SELECT count(*) FROM stock_movements") == count
    assert db.scalar("SELECT count(*) FROM audit_log") == audits
    supplies.record_movement(db, logistics, grain, "out", 640, "1号楼")  # exactly down to zero is fine
    assert supplies.stock(db, grain) == 0


def test_two_concurrent_withdrawals_cannot_both_pass(db, as_user):
    logistics = as_user("logistics01")
    grain = _item(db, "grain_oil_portions")  # 640 in stock
    outcomes, barrier = [], threading.Barrier(2)

    def take():
        barrier.wait()
        try:
            supplies.record_movement(db, logistics, grain, "out", 400, "各单元")
            outcomes.append("ok")
        except InvalidInput as exc:
            outcomes.append(exc.key)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["ok", "supplies.error.negative_stock"]
    assert supplies.stock(db, grain) == 240


def test_bad_quantities_are_refused(db, as_user):
    logistics = as_user("logistics01")
    masks = _item(db, "surgical_masks")
    for bad in (0, -5, "abc", float("nan"), None):
        with pytest.raises(InvalidInput):
            supplies.record_movement(db, logistics, masks, "in", bad, "x")
    with pytest.raises(InvalidInput) as info:
        supplies.record_movement(db, logistics, masks, "in", 5, "  ")
    assert info.value.key == "supplies.error.missing_counterparty"


def test_correction_is_a_new_movement_and_history_is_kept(db, as_user):
    logistics = as_user("logistics01")
    suits = _item(db, "protective_suits")
    mid = supplies.record_movement(db, logistics, suits, "in", 100, "校疫情防控办")
    stock = supplies.stock(db, suits)
    fix = supplies.correct_movement(db, logistics, mid, 80, "点数有误")
    assert fix != mid
    assert db.one("SELECT quantity, corrects FROM stock_movements WHERE id = ?", [fix]) == (-20.0, mid)
    assert db.scalar("SELECT quantity FROM stock_movements WHERE id = ?", [mid]) == 100.0  # untouched
    assert supplies.stock(db, suits) == stock - 20
    # correcting again to the same right figure adds nothing; to another adds the new difference
    assert supplies.correct_movement(db, logistics, mid, 80, "再核") is None
    supplies.correct_movement(db, logistics, mid, 90, "再核")
    assert supplies.stock(db, suits) == stock - 10
    with pytest.raises(InvalidInput):
        supplies.correct_movement(db, logistics, fix, 5, "x")


def test_correction_cannot_drive_stock_negative(db, as_user):
    logistics = as_user("logistics01")
    grain = _item(db, "grain_oil_portions")
    mid = supplies.record_movement(db, logistics, grain, "out", 600, "各单元")  # 40 left
    with pytest.raises(InvalidInput) as info:
        supplies.correct_movement(db, logistics, mid, -700, "多发了")
    assert info.value.key == "supplies.error.negative_stock"


def test_captain_reads_stock_but_cannot_move_it(db, as_user):
    captain = as_user("captain01")
    assert len(supplies.items(db, captain)) == 7
    with pytest.raises(PermissionDenied):
        supplies.record_movement(db, captain, 1, "out", 1, "1号楼")
    with pytest.raises(PermissionDenied):
        supplies.items(db, as_user("member001"))


def test_carrying_tasks_open_to_done_with_version_check(db, as_user):
    logistics = as_user("logistics01")
    task_id = supplies.add_task(db, logistics, "口罩分装", _item(db, "surgical_masks"), 5000, "物资仓库", "5号楼", "搬运小分队")
    frame = supplies.tasks(db, logistics)
    task = frame[frame["id"] == task_id].iloc[0]
    assert task["status"] == "open"
    supplies.set_task_status(db, logistics, task_id, "done", int(task["version"]))
    assert db.one("SELECT status, done_by FROM carrying_tasks WHERE id = ?", [task_id]) == ("done", "logistics01")
    with pytest.raises(StaleEdit):
        supplies.set_task_status(db, logistics, task_id, "cancelled", int(task["version"]))
    with pytest.raises(InvalidInput):
        supplies.set_task_status(db, logistics, task_id, "cancelled", int(task["version"]) + 1)
    assert len(supplies.carriers(db, logistics)) == kpi.compute(db)["carriers"] == 33


# -- cached reads stay fresh after a write ------------------------------------------------------------
def test_cached_stock_movements_and_tasks_are_fresh_after_writes(db, as_user):
    logistics = as_user("logistics01")
    masks = _item(db, "surgical_masks")
    stock = _row(supplies.items(db, logistics), masks)["stock"]
    _, moves = supplies.movements(db, logistics)
    supplies.record_movement(db, logistics, masks, "in", 7, "市卫健委", "捐赠")
    assert _row(supplies.items(db, logistics), masks)["stock"] == stock + 7
    frame, after = supplies.movements(db, logistics)
    assert after == moves + 1 and frame.iloc[0]["quantity"] == 7
    open_before = int((supplies.tasks(db, logistics)["status"] == "open").sum())
    task = supplies.add_task(db, logistics, "口罩送3号楼", masks, 7, "仓库", "3号楼", "搬运小分队")
    tasks = supplies.tasks(db, logistics)
    assert int((tasks["status"] == "open").sum()) == open_before + 1 and task in set(tasks["id"])
