"""Emergency cases: event-order rules, who may do what, the version check, the board and the view log."""

import pytest

from qinyuan import emergencies as em
from qinyuan import kpi
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit


def household_in(db, unit_id):
    return db.one(
        "SELECT h.id, min(r.id) FROM households h JOIN residents r ON r.household_id = h.id "
        "WHERE h.unit_id = ? GROUP BY h.id ORDER BY h.id LIMIT 1",
        [unit_id],
    )


def new_case(db, actor, unit_id=1, severity="critical"):
    household_id, resident_id = household_in(db, unit_id)
    return em.report_case(db, actor, household_id, resident_id, "高压220，胸闷", severity, "BP 220/120")


def status(db, case_id):
    return db.one("SELECT status, version FROM emergency_cases WHERE id = ?", [case_id])


def views(db, actor, entity, entity_id):
    return db.scalar(
        "SELECT count(*) FROM audit_log WHERE actor = ? AND entity = ? AND entity_id = ? AND action LIKE 'view.%'",
        [actor, entity, str(entity_id)],
    )


# -- the rules table --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "current,kind,history,key",
    [
        ("left_for_hospital", "returned", None, None),
        ("treated_on_site", "returned", ["reported", "treated_on_site"], "emergency.error.needs.returned"),
        ("reported", "exit_permit_granted", ["reported"], "emergency.error.needs.exit_permit_granted"),
        ("transfer_advised", "left_for_hospital", ["reported", "transfer_advised"], "emergency.error.needs.left_for_hospital"),
        (
            "exit_permit_requested",
            "left_for_hospital",
            ["reported", "exit_permit_requested"],
            "emergency.error.needs.left_for_hospital",
        ),
        ("closed", "note", ["reported", "closed"], "emergency.error.closed"),
        ("closed", "clinic_contacted", ["reported", "closed"], "emergency.error.closed"),
        ("clinic_contacted", "reported", ["reported"], "emergency.error.reported_twice"),
        (
            "at_hospital",
            "clinic_contacted",
            ["reported", "exit_permit_granted", "left_for_hospital"],
            "emergency.error.order.at_hospital",
        ),
    ],
)
def test_event_order_rules(current, kind, history, key):
    if key is None:
        em.check_event(current, kind, "captain", history or [])
        return
    with pytest.raises(InvalidInput) as err:
        em.check_event(current, kind, "committee", history)
    assert err.value.key == key


def test_every_status_of_the_machine_is_an_event_kind_and_closed_is_terminal():
    assert set(em.CASE.states) == set(em.EVENT_KINDS)
    assert em.next_steps("closed", "committee") == []
    # only the committee is offered the permit
    assert "exit_permit_granted" in em.next_steps("exit_permit_requested", "committee")
    assert "exit_permit_granted" not in em.next_steps("exit_permit_requested", "medic")
    assert "exit_permit_granted" not in em.next_steps("exit_permit_requested", "captain")
    # leaving for hospital is only ever offered after a granted permit
    for source, targets in em.CASE.transitions.items():
        if "left_for_hospital" in targets:
            assert source in ("exit_permit_granted", "escort_assigned")


def test_vitals_text_validates_blood_pressure():
    assert em.vitals_text("220/120", 96, 36.8, 97) == "BP 220/120 · P 96 · T 36.8 · SpO2 97%"
    assert em.vitals_text("", None, None) is None
    for bad in ("220", "120/220", "abc/def", "999/99"):
        with pytest.raises(InvalidInput, match="emergency.error.bp"):
            em.vitals_text(bad)


# -- the whole record timeline through the services --------------------------------------------------
def test_the_record_case_replayed_by_captain_medic_and_committee(db, as_user):
    captain, medic, committee = as_user("captain01"), as_user("medic01"), as_user("committee")
    case_id = new_case(db, captain)
    assert status(db, case_id)[0] == "reported"
    steps = [
        (captain, "clinic_contacted"),
        (medic, "treated_on_site"),
        (medic, "note"),
        (medic, "transfer_advised"),
        (captain, "exit_permit_requested"),
        (committee, "exit_permit_granted"),
        (captain, "escort_assigned"),
        (captain, "left_for_hospital"),
        (captain, "at_hospital"),
        (captain, "returned"),
        (medic, "closed"),
    ]
    for actor, kind in steps:
        before_status, version = status(db, case_id)
        em.add_event(db, actor, case_id, kind, "说明" if kind == "note" else None, expected_version=version)
        now_status, now_version = status(db, case_id)
        assert now_status == (before_status if kind == "note" else kind)
        assert now_version == version + 1
    events = db.rows("SELECT kind, actor FROM emergency_events WHERE case_id = ? ORDER BY id", [case_id])
    assert [k for k, _ in events] == ["reported", *[k for _, k in steps]]
    assert ("exit_permit_granted", "committee") in events
    audits = db.rows(
        "SELECT action FROM audit_log WHERE entity = 'emergency_case' AND entity_id = ? AND action LIKE 'emergency.%'",
        [str(case_id)],
    )
    assert len(audits) == 1 + len(steps)
    assert db.scalar("SELECT closed_at IS NOT NULL FROM emergency_cases WHERE id = ?", [case_id])
    with pytest.raises(InvalidInput, match="emergency.error.closed"):
        em.add_event(db, medic, case_id, "note", "太晚了")


def test_impossible_order_is_refused_and_nothing_is_written(db, as_user):
    captain = as_user("captain01")
    case_id = new_case(db, captain)
    events = db.scalar("SELECT count(*) FROM emergency_events")
    audits = db.scalar("SELECT count(*) FROM audit_log")
    with pytest.raises(InvalidInput, match="needs.returned"):
        em.add_event(db, captain, case_id, "returned")
    with pytest.raises(InvalidInput, match="needs.left_for_hospital"):
        em.add_event(db, captain, case_id, "left_for_hospital")
    assert db.scalar("SELECT count(*) FROM emergency_events") == events
    assert db.scalar("SELECT count(*) FROM audit_log") == audits
    assert status(db, case_id) == ("reported", 1)


def test_stale_version_is_refused(db, as_user):
    captain, medic = as_user("captain01"), as_user("medic01")
    case_id = new_case(db, captain)
    em.add_event(db, medic, case_id, "clinic_contacted", expected_version=1)
    with pytest.raises(StaleEdit):
        em.add_event(db, captain, case_id, "clinic_contacted", expected_version=1)
    assert db.scalar("SELECT count(*) FROM emergency_events WHERE case_id = ?", [case_id]) == 2


def test_report_validation(db, as_user):
    captain = as_user("captain01")
    household_id, resident_id = household_in(db, 1)
    with pytest.raises(InvalidInput, match="summary_required"):
        em.report_case(db, captain, household_id, resident_id, "  ", "critical")
    with pytest.raises(InvalidInput, match="severity"):
        em.report_case(db, captain, household_id, resident_id, "摔倒", "deadly")
    other_resident = household_in(db, 2)[1]
    with pytest.raises(InvalidInput, match="emergency.error.resident"):
        em.report_case(db, captain, household_id, other_resident, "摔倒", "urgent")


# -- permissions ------------------------------------------------------------------------------------
def test_member_gets_nothing(db, as_user):
    member = as_user("member001")
    household_id, resident_id = household_in(db, 1)
    with pytest.raises(PermissionDenied):
        em.open_board(db, member)
    with pytest.raises(PermissionDenied):
        em.closed_cases(db, member)
    with pytest.raises(PermissionDenied):
        em.case_detail(db, member, 1)
    with pytest.raises(PermissionDenied):
        em.report_case(db, member, household_id, resident_id, "摔倒", "urgent")
    with pytest.raises(PermissionDenied):
        em.add_event(db, member, 2, "note", "看看")
    assert views(db, "member001", "emergency_case", 1) == 0


def test_captain_gets_nothing_outside_their_units(db, as_user):
    captain = as_user("captain01")
    assert em.open_board(db, captain) == []  # open demo cases are in units 5, 20 and 33
    assert em.closed_cases(db, captain)[1] == 0
    with pytest.raises(PermissionDenied):
        em.case_detail(db, captain, 2)
    with pytest.raises(PermissionDenied):
        em.add_event(db, captain, 2, "treated_on_site")
    with pytest.raises(PermissionDenied):
        em.report_case(db, captain, household_in(db, 5)[0], None, "摔倒", "urgent")
    own = new_case(db, captain)
    assert [r["id"] for r in em.open_board(db, captain)] == [own]
    captain5 = as_user("captain05")
    assert [r["id"] for r in em.open_board(db, captain5)] == [2]
    em.add_event(db, captain5, 2, "note", "家属已到")


def test_only_committee_grants_exit_permits(db, as_user):
    captain, medic, committee = as_user("captain01"), as_user("medic01"), as_user("committee")
    case_id = new_case(db, captain)
    em.add_event(db, captain, case_id, "exit_permit_requested")
    for actor in (captain, medic):
        with pytest.raises(PermissionDenied):
            em.add_event(db, actor, case_id, "exit_permit_granted")
    assert status(db, case_id)[0] == "exit_permit_requested"
    em.add_event(db, committee, case_id, "exit_permit_granted")
    assert status(db, case_id)[0] == "exit_permit_granted"


# -- board, detail, view log, kpis --------------------------------------------------------------------
def test_board_shows_times_last_actor_and_stale_flag(db, as_user):
    committee = as_user("committee")
    board = em.open_board(db, committee)
    assert [r["unit_id"] for r in board] == [5, 20, 33]  # critical, urgent, routine
    by_unit = {r["unit_id"]: r for r in board}
    assert by_unit[33]["last_actor"] == "medic01"
    assert by_unit[5]["minutes_since_report"] > by_unit[5]["minutes_since_update"] > 60
    assert all(r["stale"] for r in board)
    fresh = new_case(db, as_user("captain01"), severity="routine")
    board = em.open_board(db, committee)
    row = next(r for r in board if r["id"] == fresh)
    assert row["minutes_since_update"] == 0 and not row["stale"] and row["last_actor"] == "captain01"
    em.set_stale_minutes(db, committee, 600)
    assert em.stale_minutes(db) == 600
    assert [r["stale"] for r in em.open_board(db, committee)] == [False, True, False, False]
    with pytest.raises(PermissionDenied):
        em.set_stale_minutes(db, as_user("medic01"), 30)
    with pytest.raises(InvalidInput):
        em.set_stale_minutes(db, committee, 1)


def test_record_case_timeline_and_detail_view_is_logged(db, as_user):
    committee = as_user("committee")
    case = em.case_detail(db, committee, 1)
    assert case["unit_id"] == 12 and case["status"] == "closed" and case["vitals"] == "BP 220/120"
    kinds = [e["kind"] for e in case["events"]]
    assert kinds == list(em.EVENT_KINDS)
    assert case["events"][0]["ts"].isoformat() == "2022-01-04T20:30:00+08:00"  # shown in Shanghai time
    assert case["medical_notes"].startswith("高血压")
    assert views(db, "committee", "emergency_case", 1) == 1
    em.case_detail(db, committee, 1, log=False)
    assert views(db, "committee", "emergency_case", 1) == 1
    em.case_detail(db, as_user("captain12"), 1)
    assert views(db, "captain12", "emergency_case", 1) == 1


def test_kpis_follow_the_rows(db, as_user):
    before = kpi.compute(db)
    assert (before["emergency_cases_open"], before["emergency_cases_total"]) == (3, 4)
    case_id = new_case(db, as_user("captain01"))
    after = kpi.compute(db)
    assert (after["emergency_cases_open"], after["emergency_cases_total"]) == (4, 5)
    em.add_event(db, as_user("medic01"), case_id, "closed")
    assert kpi.compute(db)["emergency_cases_open"] == 3


def test_board_is_paged_in_sql_and_the_summary_counts_all(db, as_user):
    committee = as_user("committee")
    for unit in (1, 2, 3):
        new_case(db, as_user(f"captain{unit:02d}"), unit_id=unit, severity="routine")
    assert em.board_summary(db, committee) == {"open": 6, "stale": 3, "stale_minutes": 60}
    first, second = em.open_board(db, committee, limit=4), em.open_board(db, committee, limit=4, offset=4)
    assert len(first) == 4 and len(second) == 2
    assert [r["id"] for r in first + second] == [r["id"] for r in em.open_board(db, committee)]
    assert em.board_summary(db, as_user("captain01")) == {"open": 1, "stale": 0, "stale_minutes": 60}


# -- cached board reads stay fresh after a write and move on with the clock ---------------------------
def test_cached_board_is_fresh_after_writes_and_follows_the_clock(db, as_user, monkeypatch):
    committee, medic = as_user("committee"), as_user("medic01")
    summary = em.board_summary(db, committee)
    first = em.open_board(db, committee, limit=8)
    fresh = new_case(db, as_user("captain01"), severity="routine")
    assert em.board_summary(db, committee)["open"] == summary["open"] + 1
    row = next(r for r in em.open_board(db, committee, limit=8) if r["id"] == fresh)
    assert row["last_actor"] == "captain01" and row["events"] == 1 and len(first) == summary["open"]
    em.add_event(db, medic, fresh, em.NOTE, "已电话联系")
    row = next(r for r in em.open_board(db, committee, limit=8) if r["id"] == fresh)
    assert row["last_actor"] == "medic01" and row["events"] == 2
    # the same queries later on: minutes and the stale flag follow the clock (cached per minute)
    stale = em.board_summary(db, committee)["stale"]
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T23:00:00+08:00")
    row = next(r for r in em.open_board(db, committee, limit=8) if r["id"] == fresh)
    assert row["stale"] and row["minutes_since_update"] == 14 * 60
    assert em.board_summary(db, committee)["stale"] == stale + 1
