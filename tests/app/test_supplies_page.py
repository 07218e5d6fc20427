"""The supplies page per role: tabs in the right order, ticking a room, read-only stock for captains."""

import pytest

from .helpers import L, app_as, texts


def _bars(at) -> list[str]:
    return [e.proto.text for e in at.get("progress")]


def _tab_labels(at):
    return [tab.label for tab in at.tabs]


@pytest.mark.parametrize(
    "username,tabs",
    [
        ("member001", ["逐户打勾", "蔬菜发放"]),
        ("captain01", ["逐户打勾", "蔬菜发放", "团购订单", "物资库存", "搬运任务"]),
        ("logistics01", ["蔬菜发放", "逐户打勾", "团购订单", "物资库存", "搬运任务"]),
        ("committee", ["蔬菜发放", "逐户打勾", "团购订单", "物资库存", "搬运任务"]),
    ],
)
def test_tabs_per_role(demo_path, username, tabs):
    at = app_as(demo_path, username, page="supplies")
    assert not at.exception, at.exception
    assert _tab_labels(at) == tabs


def test_member_ticks_a_room_and_progress_moves(demo_path):
    at = app_as(demo_path, "member001", page="supplies")
    assert _bars(at)[0] == "1号楼1单元：已送 14 / 18 户"
    waiting = [b for b in at.button if b.key and b.key.startswith("qy_tick_2_") and not b.disabled]
    assert len(waiting) == 4  # unit 1 still waits for 4 households of batch 2
    assert not any(
        b.key and b.key.startswith("qy_tick_2_") and b.key.split("_")[-1] in ("1", "2") and not b.disabled for b in at.button
    )
    waiting[0].click().run()
    assert not at.exception
    assert _bars(at) == ["1号楼1单元：已送 15 / 18 户", "1号楼：已送 15 / 18 户"]  # unit (tick tab), building (progress tab)
    assert any("已登记送达" in s.value for s in at.success)
    assert len([b for b in at.button if b.key and b.key.startswith("qy_tick_2_") and not b.disabled]) == 3


def test_member_sees_only_their_units_waiting(demo_path):
    at = app_as(demo_path, "member001", page="supplies", lang="en")
    assert not at.exception
    assert "Building 1: 14 / 18 households" in _bars(at)
    frames = [df.value for df in at.dataframe]
    waiting = next(f for f in frames if "Room" in f.columns)
    assert sorted(waiting["Room"]) == ["503", "601", "602", "603"]


def test_captain_reads_stock_without_forms(demo_path):
    at = app_as(demo_path, "captain01", page="supplies")
    assert not at.exception
    assert "队长只读" in texts(at)
    assert "qy_move" not in [f.key for f in at.main.get("form")]  # logistics has it (next test)
    assert "登记" not in [b.label for b in at.button]


def test_logistics_negative_stock_shows_a_clear_message(demo_path):
    at = app_as(demo_path, "logistics01", page="supplies")
    assert not at.exception
    assert "qy_move" in [f.key for f in at.main.get("form")]
    form_number = [n for n in at.number_input if n.label == L("supplies.quantity")][0]
    form_number.set_value(10_000.0)
    direction = [r for r in at.radio if r.label == L("supplies.direction")][0]
    direction.set_value("out")
    [ti for ti in at.text_input if ti.label == L("supplies.counterparty")][0].input("1号楼")
    item = [s for s in at.selectbox if s.label == L("supplies.item") and s.options and "米面油（份）" in s.options][0]
    item.set_value(7)
    [b for b in at.button if b.label == L("supplies.record")][0].click().run()
    assert not at.exception
    assert any("库存不足" in e.value and "640" in e.value for e in at.error)


def test_logistics_moves_a_grocery_order_one_step(demo_path):
    at = app_as(demo_path, "logistics01", page="supplies")
    step = [b for b in at.button if b.key and b.key.startswith("qy_g_") and b.key.endswith("_at_gate")][0]
    order_id = step.key.split("_")[2]
    step.click().run()
    assert not at.exception
    assert any(f"#{order_id}" in s.value for s in at.success)


def test_second_phone_tapping_a_ticked_room_gets_a_message_not_an_error(demo_path):
    member = app_as(demo_path, "member001", page="supplies")
    captain = app_as(demo_path, "captain01", page="supplies")  # loaded while 503 still waits
    key = next(b.key for b in member.button if b.key and b.key.startswith("qy_tick_2_") and not b.disabled)
    member.button(key=key).click().run()
    captain.button(key=key).click().run()
    assert not captain.exception
    assert any("已由 杨欣晓 于 09:00 登记，不重复计数" in w.value for w in captain.warning)
    assert "1号楼1单元：已送 15 / 18 户" in _bars(captain)


def test_logistics_closes_a_carrying_task(demo_path):
    at = app_as(demo_path, "logistics01", page="supplies")
    done = at.button(key="qy_task_20_done")
    done.click().run()
    assert not at.exception
    assert any("#20" in s.value for s in at.success)
    assert not [b for b in at.button if b.key == "qy_task_20_done"]
