"""In a big compound the unit picker asks for the building first instead of listing every unit."""

from qinyuan.ui import widgets

from .helpers import app_as


def test_small_compound_lists_units(demo_path):
    at = app_as(demo_path, "committee", page="emergencies")
    at.radio(key="em_view").set_value("report").run()
    assert len(at.selectbox(key="em_r_unit").options) == 51
    assert not [n for n in at.number_input if n.key == "em_r_unit_building"]


def test_big_compound_picks_building_first(demo_path, monkeypatch):
    monkeypatch.setattr(widgets, "UNIT_LIST_LIMIT", 10)
    at = app_as(demo_path, "committee", page="emergencies")
    at.radio(key="em_view").set_value("report").run()
    building = at.number_input(key="em_r_unit_building")
    assert building.value == 1
    assert at.selectbox(key="em_r_unit").options == ["1号楼1单元", "1号楼2单元", "1号楼3单元"]
    building.set_value(7).run()
    assert at.selectbox(key="em_r_unit").options == ["7号楼1单元", "7号楼2单元", "7号楼3单元"]


def test_a_captain_is_never_asked_for_a_building(demo_path, monkeypatch):
    monkeypatch.setattr(widgets, "UNIT_LIST_LIMIT", 0)
    at = app_as(demo_path, "captain01", page="emergencies")
    at.radio(key="em_view").set_value("report").run()
    assert at.selectbox(key="em_r_unit").options == ["1号楼1单元"]
    assert not [n for n in at.number_input if n.key == "em_r_unit_building"]
