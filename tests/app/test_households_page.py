"""The households page per role: scope, masking, the census visit form, import view."""

from qinyuan.db import Database

from .helpers import L, app_as, texts


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_captain_sees_their_unit_only(demo_path):
    at = app_as(demo_path, "captain01", page="households")
    assert not at.exception
    shown = texts(at)
    assert "第 1 / 1 页（共 18 条）" in shown
    assert "1号楼1单元" in shown and "1号楼2单元" not in shown
    assert "****" not in shown  # the captain may call their own households
    assert [r.label for r in at.radio if r.key == "hh_view"] and L("households.view.import") not in at.radio(
        key="hh_view"
    ).options


def test_logistics_reads_without_tags_or_edit(demo_path):
    at = app_as(demo_path, "logistics01", page="households")
    assert not at.exception
    assert all(b.label != L("households.visit_button") for b in at.button)
    assert at.selectbox(key="hh_f_tag").options == [
        L("common.all"),
        L("households.tag_any"),
    ]  # no per-condition filter without medical rights
    at.selectbox(key="hh_f_tag").set_value("any").run()
    shown = texts(at)
    assert "需重点关照" in shown
    assert "透析" not in shown and "慢性病" not in shown and "独居老人" not in shown
    at.text_input(key="hh_f_search").set_value("101").run()
    assert not at.exception


def test_captain_records_a_visit_from_the_form(demo_path):
    at = app_as(demo_path, "captain01", page="households")
    at.radio(key="hh_view").set_value("visit").run()
    assert not at.exception
    assert "走访登记" in texts(at)
    at.number_input[0].set_value(4)
    _button(at, L("households.visit_save")).click().run()
    assert not at.exception, at.exception
    assert "走访已登记。" in texts(at)
    db = Database.open(demo_path)
    try:
        assert (
            db.scalar(
                "SELECT count(*) FROM census_visits WHERE visited_by = 'captain01' AND occupants = 4 "
                "AND visited_at >= '2022-01-10'"
            )
            == 1
        )
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'household.visit'") == 1
    finally:
        db.close()


def test_committee_paginates_and_sees_import(demo_path):
    at = app_as(demo_path, "committee", page="households", lang="en")
    assert not at.exception
    assert "Page 1 of 76 (1,512 rows)" in texts(at) or "Page 1 of 76 (1512 rows)" in texts(at)
    at.number_input(key="hh_page").set_value(2).run()  # the one pager (qinyuan/ui/paging.py)
    assert "Page 2 of 76" in texts(at)
    at.radio(key="hh_view").set_value("import").run()
    assert not at.exception
    assert "at most 5 MB and 20,000 rows" in texts(at)  # the same limit as the uploader and the CLI
