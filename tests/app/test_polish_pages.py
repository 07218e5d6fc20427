"""Issue 16 (minor): what the pages say and offer, per role, in Chinese."""

from __future__ import annotations

from .helpers import app_as


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
    assert f"const text = {json.dumps(at.code[0].value, ensure_ascii=False)};" in button  # exactly the text shown
    assert "已复制" in button and "navigator.clipboard.writeText" in button and 'execCommand("copy")' in button
