"""Issue 16 (minor): what the pages say and offer, per role, in Chinese."""

from __future__ import annotations

import re

from .helpers import L, app_as


def _count(at) -> int:
    return int(next(c.value for c in at.caption if c.value.startswith("待入户采样")).split()[1])


def test_the_clinic_finds_a_resident_in_the_home_sampling_list(demo_path):
    """107 people on 6 pages: a building filter and a name/room search; the button says what it does."""
    at = app_as(demo_path, "medic01", page="testing")
    at.radio(key="ts_view").set_value("home").run()
    whole = _count(at)
    assert whole > 20
    labels = {b.label for b in at.button}
    assert "标记为已入户采样" in labels and "已入户采样" not in labels
    at.selectbox(key="ts_home_building").set_value(3).run()
    in_three = _count(at)
    assert 0 < in_three < whole
    assert all(m.value.startswith("**3号楼") for m in at.markdown if m.value.startswith("**") and "号楼" in m.value)
    first = next(m.value for m in at.markdown if m.value.startswith("**3号楼"))
    name = first.split(" · ")[1]
    at.text_input(key="ts_home_search").input(name).run()
    assert not at.exception
    assert 1 <= _count(at) <= in_three
    assert all(name in m.value for m in at.markdown if m.value.startswith("**3号楼"))
    at.text_input(key="ts_home_search").input("%").run()  # a wildcard typed is a character, not "everything"
    assert _count(at) == 0


def _bars(at) -> list[str]:
    return [e.proto.text for e in at.get("progress")]


def test_a_captain_s_tick_panel_does_not_repeat_the_unit_bar_as_the_building_s(demo_path):
    at = app_as(demo_path, "captain01", page="supplies")
    tick_tab = at.tabs[0]
    bars = [e.proto.text for e in tick_tab.get("progress")]
    assert bars == ["1号楼1单元：已送 14 / 18 户"], bars


def test_the_hour_axis_is_in_numeric_order():
    import pandas as pd

    from qinyuan.ui.supplies import hour_chart

    spec = hour_chart(pd.DataFrame({"hour": [8, 2, 17, 9], "households": [5, 1, 3, 4]})).to_dict()
    assert spec["encoding"]["x"]["sort"] == [f"{h:02d}:00" for h in range(2, 18)]


def test_the_chat_group_notice_has_a_big_copy_button(demo_path):
    """st.code's own copy icon is 24 px, shows only after a tap on the text and says nothing when done."""
    import json

    at = app_as(demo_path, "captain01", page="testing")
    at.radio(key="ts_view").set_value("notice").run()
    assert not at.exception
    frames = [f.proto.srcdoc for f in at.get("iframe")]
    button = next(f for f in frames if "qy-copy" in f)
    assert ">复制通知</button>" in button and "min-height:52px" in button
    literal = re.search(r"const text = (.*?);\n", button).group(1)
    assert json.loads(literal) == at.code[0].value  # exactly the text shown (every sign \\u-escaped)
    assert "<" not in literal and "*" not in literal
    assert "已复制" in button and "navigator.clipboard.writeText" in button and 'execCommand("copy")' in button


def _duty_status(demo_path, day="2022-01-10"):
    from qinyuan.db import Database

    db = Database.open(demo_path)
    try:
        return db.scalar(
            """SELECT a.status FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
                            JOIN users u ON u.volunteer_id = a.volunteer_id
                            WHERE u.username = 'member001' AND s.day = ?""",
            [day],
        )
    finally:
        db.close()


def test_checking_out_far_too_early_asks_first_and_the_finished_card_shows_the_note(demo_path):
    """09:00 into an 08:00-13:00 shift: 签退 asks (4 h left); 确定签退 checks out; the card keeps the handover note."""
    at = app_as(demo_path, "member001", page="duty")
    next(b for b in at.button if b.label == L("duty.check_in")).click().run()
    at.text_area(key=next(a.key for a in at.text_area if a.key.endswith("_note"))).input("岗亭钥匙在抽屉里").run()
    next(b for b in at.button if b.label == L("duty.check_out")).click().run()
    assert not at.exception
    assert any("13:00 结束，还有 4 小时 0 分钟" in w.value for w in at.warning)
    assert _duty_status(demo_path) == "checked_in"  # not yet
    next(b for b in at.button if b.label == L("polish.checkout_anyway")).click().run()
    assert not at.exception
    assert _duty_status(demo_path) == "done"
    mine = "\n".join(str(m.value) for m in at.tabs[0].markdown)
    assert "我的交接留言：岗亭钥匙在抽屉里" in mine


def test_a_member_sees_who_of_the_team_is_on_duty_today_and_when_check_in_opens(demo_path):
    at = app_as(demo_path, "member001", page="duty")
    labels = [b.label for b in at.button]
    assert "后天 1月12日 07:00 起可签到" in labels, labels  # not just "07:00 起可签到"
    team = at.tabs[1]
    assert team.label == L("polish.tab.team")
    text = "\n".join(str(m.value) for m in team.markdown)
    assert "北门值守" in text and "08:00–13:00" in text and "本队今天 1 人值班" in "\n".join(c.value for c in team.caption)
