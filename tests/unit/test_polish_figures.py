"""Numbers as shown: no -0.0, no 'since yesterday' for a round that started today, bad news coloured as
such, new orders numbered after the existing ones."""

from __future__ import annotations

from qinyuan import groceries, medicine, overview
from qinyuan.ui.widgets import fmt_delta


def test_a_change_that_rounds_to_nothing_is_not_shown():
    assert fmt_delta("current_round_coverage", -0.0004) is None  # was "-0.0%"
    assert fmt_delta("medicine_median_hours_to_delivery", -0.04) is None  # was "-0.0"
    assert fmt_delta("current_round_coverage", 0.0123) == "+1.2%"
    assert fmt_delta("medicine_median_hours_to_delivery", -1.26) == "-1.3"
    assert fmt_delta("households", -2) == "-2"
    assert fmt_delta("households", 0) is None


def test_a_round_that_started_today_has_no_change_since_yesterday(db):
    """The demo's round 4 starts on the demo day: its coverage was not 'up 40% on yesterday'."""
    _, deltas = overview.with_deltas(db)
    assert all(deltas[key] is None for key in overview.ROUND_KEYS), deltas


def test_more_emergencies_are_bad_news():
    assert {"emergency_cases_open", "emergency_cases_total"} <= set(overview.WORSE_WHEN_UP)


def test_a_new_medicine_order_is_numbered_after_the_existing_ones(db, as_user):
    last = db.scalar("SELECT max(id) FROM medicine_orders")
    household = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    assert medicine.create_order(db, as_user("captain01"), household, "布洛芬 ×1盒") == last + 1


def test_a_new_grocery_order_is_numbered_after_the_existing_ones(db, as_user):
    last = db.scalar("SELECT max(id) FROM grocery_orders")
    assert groceries.create_order(db, as_user("logistics01"), 1, "蔬菜", unit_id=1) == last + 1


def test_a_new_order_has_not_waited_minus_zero_hours(db, as_user, monkeypatch):
    """Ages count to the current minute: an order placed at 09:00:30 was 'waiting -0.0 hours' at 09:00."""
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T09:00:30+08:00")
    household = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    captain = as_user("captain01")
    order_id = medicine.create_order(db, captain, household, "布洛芬 ×1盒")
    rows, _ = medicine.work_queue(db, captain, limit=50)
    age = next(r["age_hours"] for r in rows if r["id"] == order_id)
    assert age >= 0 and f"{age:.1f}" == "0.0"
