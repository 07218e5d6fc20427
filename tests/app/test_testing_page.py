"""The testing page per role: the board moves when a captain marks a household; home sampling; scheduling; notices."""

from .helpers import L, app_as, texts


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_captain_marks_a_household_and_the_board_moves(demo_path):
    at = app_as(demo_path, "captain01", page="testing")
    assert not at.exception
    before = _metric(at, "本轮覆盖率")
    open_before = int(_metric(at, "未落实人数").replace(",", ""))
    assert "2号楼" not in texts(at)  # the board shows only the captain's unit
    assert "1号楼1单元：08:00–08:30 · 北门广场" in texts(at)  # and its slot
    at.radio(key="ts_view").set_value("mark").run()
    assert not at.exception
    assert "home" not in at.radio(key="ts_view").options and L("testing.view.home") not in at.radio(key="ts_view").options
    _button(at, L("testing.mark_household_tested")).click().run()
    assert not at.exception
    assert any("全户" in s.value and s.value.endswith("：已检测") for s in at.success)
    at.radio(key="ts_view").set_value("board").run()
    after = _metric(at, "本轮覆盖率")
    open_after = int(_metric(at, "未落实人数").replace(",", ""))
    assert open_after < open_before
    assert float(after.rstrip("%")) > float(before.rstrip("%"))


def test_captain_notice_in_english(demo_path):
    at = app_as(demo_path, "captain01", page="testing", lang="en")
    at.radio(key="ts_view").set_value("notice").run()
    assert not at.exception
    assert "Bldg 1 Unit 1" in at.code[0].value
    at.radio(key="ts_notice_lang").set_value("zh").run()
    assert "1号楼1单元" in at.code[0].value


def test_medic_works_the_home_sampling_list(demo_path):
    at = app_as(demo_path, "medic01", page="testing")
    at.radio(key="ts_view").set_value("home").run()
    assert not at.exception
    count = next(c.value for c in at.caption if c.value.startswith("待入户采样"))
    _button(at, L("polish.mark_sampled_at_home")).click().run()
    assert not at.exception
    after = next(c.value for c in at.caption if c.value.startswith("待入户采样"))
    assert int(after.split()[1]) == int(count.split()[1]) - 1


def test_committee_schedules_the_round(demo_path):
    at = app_as(demo_path, "committee", page="testing")
    at.radio(key="ts_view").set_value("schedule").run()
    assert not at.exception
    _button(at, L("testing.schedule_go")).click().run()
    assert not at.exception
    assert any("51 个单元" in s.value for s in at.success)
    assert "各时段人数" in texts(at)
    rows = len(at.dataframe[0].value)
    at.selectbox(key="ts_move_unit").set_value(2).run()  # the unit first (outside the form), then its new time
    when = next(s for s in at.selectbox if s.label == L("common.time"))
    when.select_index(len(when.options) - 1)
    _button(at, L("common.save")).click().run()
    assert not at.exception
    assert any("已保存" in s.value for s in at.success)
    assert len(at.dataframe[0].value) == rows + 1  # the unit now has a slot of its own, after the last one


def test_committee_prepares_the_door_to_door_list_for_one_unit(demo_path):
    at = app_as(demo_path, "committee", page="testing")
    assert "1号楼" in texts(at) or any("1号楼" in str(df.value) for df in at.dataframe)
    at.selectbox(key="ts_door_unit").set_value(2).run()
    assert not at.get("download_button")
    _button(at, L("testing.door.prepare")).click().run()
    assert not at.exception
    assert [b.proto.label for b in at.get("download_button")] == [L("testing.door.html"), L("common.export_csv")]


def test_member_cannot_open_testing(demo_path):
    import pytest

    at = app_as(demo_path, "member001")
    with pytest.raises(ValueError):
        at.switch_page("pages/testing.py")
