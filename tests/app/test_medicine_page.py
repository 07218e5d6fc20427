"""The medicine page in AppTest: the captain's queue and phone form, stale clicks, the committee's view."""

from __future__ import annotations

import pytest

from qinyuan import medicine, users

from .helpers import L, app_as, texts


def _db_do(fn):
    """Change the database behind the page's back (another user), then let go of it."""
    from qinyuan.ui.common import get_db

    return fn(get_db())


def _status(order_id):
    return _db_do(lambda db: db.scalar("SELECT status FROM medicine_orders WHERE id = ?", [order_id]))


def test_captain_queue_shows_own_units_with_one_button(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")
    assert not at.exception
    shown = texts(at)
    assert "#109" in shown and "#110" in shown
    assert "#111" not in shown and "#116" not in shown  # other units
    buttons = [b for b in at.button if b.key and b.key.startswith("med_go_")]
    assert [b.key for b in buttons] == ["med_go_110"]  # 110 is disinfected: the captain's step
    assert buttons[0].label == L("medicine.step.delivered")
    assert "等待校医院接单采购" in shown  # 109 waits for the clinic
    assert "超时未完成" not in shown  # the overdue panel is the committee's/medic's


def test_captain_delivers_and_the_list_refreshes(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")
    at.button(key="med_go_110").click().run()
    assert not at.exception
    assert "订单 #110：已送达" in texts(at)
    assert _status(110) == "delivered"
    assert not [b for b in at.button if b.key == "med_go_110"]


def test_stale_click_says_who_moved_it_and_applies_nothing(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")

    def deliver_by_committee(db):
        actor = users.actor_for(db, "committee")
        medicine.advance(db, actor, 110, "delivered", db.scalar("SELECT version FROM medicine_orders WHERE id = 110"))

    _db_do(deliver_by_committee)
    at.button(key="med_go_110").click().run()
    assert not at.exception
    shown = texts(at)
    assert "刚刚已由 李抗（党委组织部）（committee） 处理" in shown
    events = _db_do(lambda db: db.scalar("SELECT count(*) FROM medicine_events WHERE order_id = 110 AND to_status = 'delivered'"))
    assert events == 1


def test_captain_records_a_phone_order(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")
    at.button_group(key="med_view").set_value("new").run()
    assert not at.exception
    household_id = _db_do(lambda db: db.scalar("SELECT id FROM households WHERE unit_id = 1 AND room = '203'"))
    at.selectbox(key="med_room_0").set_value(household_id).run()
    assert at.selectbox(key="med_resident_0").value is None  # resident optional
    at.text_area(key="med_items_0").input("硝苯地平控释片 30mg ×2盒\n二甲双胍片 0.5g ×3盒").run()
    at.button_group(key="med_urgency_0").set_value("urgent").run()
    at.button(key="med_submit_0").click().run()
    assert not at.exception
    assert "已登记订单 #" in texts(at)
    row = _db_do(lambda db: db.dicts("SELECT * FROM medicine_orders WHERE placed_by = 'captain01' ORDER BY id DESC LIMIT 1")[0])
    assert row["household_id"] == household_id and row["urgency"] == "urgent" and row["channel"] == "phone"
    assert row["items"] == '["硝苯地平控释片 30mg ×2盒", "二甲双胍片 0.5g ×3盒"]'
    assert f"#{row['id']}" in texts(at)  # back on the queue, the new order is listed


def test_empty_items_are_refused_in_chinese(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")
    at.button_group(key="med_view").set_value("new").run()
    at.selectbox(key="med_room_0").set_value(1).run()
    before = _db_do(lambda db: db.scalar("SELECT count(*) FROM medicine_orders"))
    at.button(key="med_submit_0").click().run()
    assert "请填写药品" in texts(at)
    assert _db_do(lambda db: db.scalar("SELECT count(*) FROM medicine_orders")) == before


@pytest.mark.parametrize("lang,overdue", [("zh", "11 单超过时限未完成"), ("en", "11 orders past their time limit")])
def test_committee_sees_overdue_first_and_all_orders(demo_path, lang, overdue):
    at = app_as(demo_path, "committee", page="medicine", lang=lang)
    assert not at.exception
    assert overdue in texts(at)
    at.button_group(key="med_view").set_value("all").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert len(frame) == 14  # open orders by default
    at.selectbox(key="med_f_status").set_value("all").run()
    assert len(at.dataframe[0].value) == 50  # one page of 122
    assert "122" in texts(at)
    at.number_input(key="med_list_page").set_value(3).run()
    assert len(at.dataframe[0].value) == 22  # the last page
    at.text_input(key="med_f_search").input("胰岛素").run()  # filters shrink the list: back to page 1
    assert len(at.dataframe[0].value) == 1


def test_logistics_cannot_create_and_sees_its_queue(demo_path):
    at = app_as(demo_path, "logistics01", page="medicine")
    assert not at.exception
    assert "new" not in at.button_group(key="med_view").options
    labels = {b.label for b in at.button if b.key and b.key.startswith("med_go_")}
    assert labels == {"药已到门岗", "消毒完成"}


def test_committee_changes_limits(demo_path):
    at = app_as(demo_path, "committee", page="medicine")
    at.button_group(key="med_view").set_value("settings").run()
    at.number_input(key="med_limit_normal").set_value(72.0)
    next(b for b in at.button if b.label == L("medicine.save")).click().run()
    assert not at.exception
    assert "时限已保存" in texts(at)
    assert _db_do(lambda db: db.setting("medicine_limit_hours_normal")) == "72"


def test_cancel_needs_a_reason_then_cancels(demo_path):
    at = app_as(demo_path, "captain01", page="medicine")
    assert [b.label for b in at.button if b.key == "med_cancelled_109"] == [L("medicine.step.cancelled")]
    assert not [b for b in at.button if b.key == "med_failed_109"]  # failing is the clinic's/logistics' call
    at.button(key="med_cancelled_109").click().run()
    assert "取消或无法完成时请填写原因" in texts(at)
    assert _status(109) == "requested"
    at.text_input(key="med_reason_109").input("居民已自行购到").run()
    at.button(key="med_cancelled_109").click().run()
    assert _status(109) == "cancelled"
    assert _db_do(lambda db: db.scalar("SELECT reason FROM medicine_orders WHERE id = 109")) == "居民已自行购到"


@pytest.mark.parametrize("username,exports", [("committee", True), ("medic01", True), ("captain01", False)])
def test_export_buttons_only_for_export_roles(demo_path, username, exports):
    at = app_as(demo_path, username, page="medicine")
    view = "history" if username.startswith("captain") else "all"
    at.button_group(key="med_view").set_value(view).run()
    assert not at.exception
    keys = {e.key for e in at.get("download_button")} if at.get("download_button") else set()
    assert ({"med_csv", "med_xlsx"} <= keys) is exports
