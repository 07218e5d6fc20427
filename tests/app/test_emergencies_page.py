"""The emergencies page in AppTest: board, report, case timeline, special residents, the view log."""

import pytest

from qinyuan.db import Database

from .helpers import L, app_as, texts


def count(path, sql, params=()):
    db = Database.open(path)
    try:
        return db.scalar(sql, params)
    finally:
        db.close()


def first_household(path, unit_id):
    return count(path, "SELECT id FROM households WHERE unit_id = ? ORDER BY length(room), room LIMIT 1", [unit_id])


def button(at, label_start):
    return next(b for b in at.button if str(b.label).startswith(label_start))


def case_views(path, username, case_id):
    return count(
        path,
        "SELECT count(*) FROM audit_log WHERE actor = ? AND entity = 'emergency_case' AND entity_id = ? "
        "AND action = 'view.medical'",
        [username, str(case_id)],
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_board_lists_open_cases_for_committee(demo_path, lang):
    at = app_as(demo_path, "committee", page="emergencies", lang=lang)
    assert not at.exception
    labels = [str(b.label) for b in at.button]
    assert (
        L("emergency.board.open", lang, id=2) in labels
        and any(lb.endswith("#3") for lb in labels)
        and any(lb.endswith("#4") for lb in labels)
    )
    assert ("2号楼2单元" if lang == "zh" else "Bldg 2 Unit 2") in texts(at)  # case 2 is in unit 5
    assert ("超过 60 分钟未更新" if lang == "zh" else "over 60 min") in texts(at)


def test_opening_a_case_logs_one_view_and_rerun_does_not_spam(demo_path):
    at = app_as(demo_path, "medic01", page="emergencies")
    assert case_views(demo_path, "medic01", 2) == 0
    button(at, "查看 / 更新 #2").click().run()
    assert not at.exception
    assert "老人摔倒" in texts(at)
    assert case_views(demo_path, "medic01", 2) == 1
    at.run()
    at.run()
    assert case_views(demo_path, "medic01", 2) == 1
    button(at, "← 返回列表").click().run()
    button(at, "查看 / 更新 #2").click().run()
    assert case_views(demo_path, "medic01", 2) == 2


def test_leaving_the_page_and_coming_back_logs_the_next_view(demo_path):
    at = app_as(demo_path, "medic01", page="emergencies")
    button(at, "查看 / 更新 #3").click().run()
    assert case_views(demo_path, "medic01", 3) == 1
    at.switch_page("pages/overview.py")
    at.query_params.clear()  # the browser clears query params (the open case) on a page change; AppTest does not
    at.run()
    at.switch_page("pages/emergencies.py").run()
    assert not at.exception
    assert "孕妇" not in texts(at)  # back on the board, not silently in the detail
    button(at, "查看 / 更新 #3").click().run()
    assert case_views(demo_path, "medic01", 3) == 2


def test_medic_records_a_step_and_is_not_offered_the_permit(demo_path):
    at = app_as(demo_path, "medic01", page="emergencies")
    button(at, "查看 / 更新 #2").click().run()
    labels = [str(b.label) for b in at.button]
    assert "记录：已上门处置" in labels
    assert not any("出门已批准" in lb for lb in labels)
    at.text_input(key="em_note_2").input("校医院已到")
    button(at, "记录：已上门处置").click().run()
    assert not at.exception
    assert count(demo_path, "SELECT status FROM emergency_cases WHERE id = 2") == "treated_on_site"
    assert count(demo_path, "SELECT note FROM emergency_events WHERE case_id = 2 ORDER BY id DESC LIMIT 1") == "校医院已到"
    assert "校医院已到" in texts(at)


def test_captain_reports_a_case_from_the_form(demo_path):
    at = app_as(demo_path, "captain01", page="emergencies")
    assert not [b for b in at.button if str(b.label).startswith(L("emergency.board.open", id=""))]  # nothing open in unit 1
    at.radio(key="em_view").set_value("report").run()
    assert list(at.selectbox(key="em_r_unit").options) == ["1号楼1单元"]
    at.button(key="em_r_submit").click().run()
    assert "请先选择房号" in texts(at)
    at.selectbox(key="em_r_room").set_value(first_household(demo_path, 1)).run()
    at.text_area(key="em_r_what").input("高压220，胸闷气短")
    at.text_input(key="em_r_bp").input("220/120")
    at.radio(key="em_r_severity").set_value("critical")
    at.button(key="em_r_submit").click().run()
    assert not at.exception
    case_id = count(demo_path, "SELECT max(id) FROM emergency_cases")
    assert case_id == 5  # numbered after the demo's four cases, not from 1000 (issue 16)
    assert count(demo_path, "SELECT vitals FROM emergency_cases WHERE id = ?", [case_id]) == "BP 220/120"
    assert f"病例 #{case_id}" in texts(at)  # the new case opens at once
    assert case_views(demo_path, "captain01", case_id) == 1


def test_bad_blood_pressure_is_refused_in_chinese(demo_path):
    at = app_as(demo_path, "captain01", page="emergencies")
    at.radio(key="em_view").set_value("report").run()
    at.selectbox(key="em_r_room").set_value(first_household(demo_path, 1)).run()
    at.text_area(key="em_r_what").input("头晕")
    at.text_input(key="em_r_bp").input("220")
    at.radio(key="em_r_severity").set_value("urgent")
    at.button(key="em_r_submit").click().run()
    assert "血压请按" in texts(at)
    assert count(demo_path, "SELECT count(*) FROM emergency_cases") == 4


def test_special_residents_list_and_detail_are_logged(demo_path):
    at = app_as(demo_path, "captain12", page="emergencies")
    at.radio(key="em_view").set_value("special").run()
    assert not at.exception
    assert (
        count(
            demo_path,
            "SELECT count(*) FROM audit_log WHERE actor = 'captain12' AND entity = 'unit' "
            "AND entity_id = '12' AND action = 'view.medical_list'",
        )
        == 1
    )
    detail = button(at, "详情 · ")
    detail.click().run()
    assert not at.exception
    assert "病史" in texts(at)
    assert (
        count(
            demo_path,
            "SELECT count(*) FROM audit_log WHERE actor = 'captain12' AND entity = 'resident' AND action = 'view.medical'",
        )
        == 1
    )


def test_member_cannot_open_the_page(demo_path):
    at = app_as(demo_path, "member001")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/emergencies.py")


@pytest.mark.parametrize("username", ["committee", "captain05", "medic01"])
@pytest.mark.parametrize("view", ["report", "special"])
def test_every_view_renders_for_every_role_in_english(demo_path, username, view):
    # AppTest formats option labels outside the script (in Chinese), so open the view in one run
    at = app_as(demo_path, username, lang="en")
    at.session_state["em_view"] = view
    at.switch_page("pages/emergencies.py").run()
    assert not at.exception
    assert "Unit" in [w.label for w in at.selectbox]


def test_typed_text_is_shown_as_typed_not_as_markup(demo_path):
    from qinyuan import emergencies, users

    db = Database.open(demo_path)
    try:
        actor = users.actor_for(db, "captain01")
        household_id = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
        case_id = emergencies.report_case(db, actor, household_id, None, "**胸闷** [点我](http://evil.example)", "urgent")
    finally:
        db.close()
    at = app_as(demo_path, "captain01", page="emergencies")
    button(at, f"查看 / 更新 #{case_id}").click().run()
    shown = [str(m.value) for m in at.markdown if "胸闷" in str(m.value)]
    assert shown and "\\*\\*胸闷\\*\\*" in shown[0] and "\\]\\(http" in shown[0]
