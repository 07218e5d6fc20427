"""Special residents: who sees medical detail, the view log, edits, and treatment trips."""

from datetime import date

import pytest

from qinyuan import kpi, medical
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit


def special_in(db, unit_id):
    return db.scalar(
        "SELECT min(r.id) FROM residents r JOIN households h ON h.id = r.household_id WHERE h.unit_id = ? AND array_length(r.tags, 1) > 0",
        [unit_id],
    )


def views(db, actor, entity, entity_id):
    return db.scalar(
        "SELECT count(*) FROM audit_log WHERE actor = ? AND entity = ? AND entity_id = ? AND action LIKE 'view.%'",
        [actor, entity, str(entity_id)],
    )


def test_medical_detail_only_for_medic_committee_and_own_captain(db, as_user):
    rid = special_in(db, 12)
    for username in ("medic01", "committee", "captain12"):
        detail = medical.resident_medical(db, as_user(username), rid)
        assert detail["tags"] and "medical_notes" in detail
    for username in ("captain01", "member001", "logistics01"):
        with pytest.raises(PermissionDenied):
            medical.resident_medical(db, as_user(username), rid)
        with pytest.raises(PermissionDenied):
            medical.special_residents(db, as_user(username), 12)
    with pytest.raises(PermissionDenied):
        medical.units_overview(db, as_user("member001"))
    assert [u["unit_id"] for u in medical.units_overview(db, as_user("captain12"))] == [12]
    assert len(medical.units_overview(db, as_user("medic01"))) == 51


def test_every_view_of_medical_detail_is_logged(db, as_user):
    rid = special_in(db, 12)
    medic = as_user("medic01")
    medical.resident_medical(db, medic, rid)
    medical.resident_medical(db, medic, rid)
    assert views(db, "medic01", "resident", rid) == 2
    medical.resident_medical(db, medic, rid, log=False)  # a rerun of a view already logged
    assert views(db, "medic01", "resident", rid) == 2
    medical.special_residents(db, as_user("captain12"), 12)
    assert views(db, "captain12", "unit", 12) == 1
    refused_before = db.scalar("SELECT count(*) FROM audit_log WHERE actor = 'captain01'")
    with pytest.raises(PermissionDenied):
        medical.resident_medical(db, as_user("captain01"), rid)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE actor = 'captain01'") == refused_before
    action = db.scalar("SELECT action FROM audit_log WHERE actor = 'medic01' AND entity = 'resident' LIMIT 1")
    assert action == "view.medical"


def test_members_see_only_the_priority_flag(db, as_user):
    household_id = db.scalar(
        "SELECT household_id FROM residents r JOIN households h ON h.id = r.household_id "
        "WHERE h.unit_id = 1 AND array_length(r.tags, 1) > 0 LIMIT 1"
    )
    rows = medical.support_flags(db, as_user("member001"), household_id)
    assert any(r["needs_priority_support"] for r in rows)
    assert all(set(r) == {"id", "name", "needs_priority_support"} for r in rows)
    with pytest.raises(PermissionDenied):  # member001 is in team 1: unit 1 only
        medical.support_flags(db, as_user("member001"), db.scalar("SELECT min(id) FROM households WHERE unit_id = 2"))


def test_special_list_by_unit_with_next_trip(db, as_user):
    medic = as_user("medic01")
    unit = next(u for u in medical.units_overview(db, medic) if u["trips"] > 0)
    rows = medical.special_residents(db, medic, unit["unit_id"])
    assert len(rows) == unit["special"]
    with_trip = [r for r in rows if r["next_day"]]
    assert with_trip
    for r in with_trip:
        assert date(2022, 1, 10) <= r["next_day"] <= date(2022, 1, 16)


def test_trips_next_7_days_match_the_kpi_and_respect_scope(db, as_user):
    committee = as_user("committee")
    rows, total = medical.upcoming_trips(db, committee, limit=10)
    assert total == kpi.compute(db)["treatment_trips_next_7_days"] > 0
    assert len(rows) == min(10, total)
    assert [(r["day"], r["depart_time"]) for r in rows] == sorted((r["day"], r["depart_time"]) for r in rows)
    for r in rows:
        weekdays = db.rows("SELECT weekdays FROM treatments WHERE resident_id = ?", [r["resident_id"]])
        assert r["day"].isoweekday() in {day for (days,) in weekdays for day in days}
    unit_id = rows[0]["unit_id"]
    captain = as_user(f"captain{unit_id:02d}")
    own, own_total = medical.upcoming_trips(db, captain)
    assert own_total == kpi.compute(db, units=captain.scope())["treatment_trips_next_7_days"]
    assert {r["unit_id"] for r in own} == {unit_id}
    with pytest.raises(PermissionDenied):
        medical.upcoming_trips(db, as_user("captain01" if unit_id != 1 else "captain02"), unit_id)


def test_edit_profile_with_version_check_and_audit(db, as_user):
    rid = special_in(db, 1)
    captain = as_user("captain01")
    version = db.scalar("SELECT version FROM residents WHERE id = ?", [rid])
    with pytest.raises(InvalidInput, match="due_date_missing"):
        medical.update_profile(
            db,
            captain,
            rid,
            tags=["pregnancy"],
            medical_notes=None,
            due_date=None,
            emergency_contact=None,
            expected_version=version,
        )
    with pytest.raises(InvalidInput, match="medical.error.tag"):
        medical.update_profile(
            db, captain, rid, tags=["vip"], medical_notes=None, due_date=None, emergency_contact=None, expected_version=version
        )
    medical.update_profile(
        db,
        captain,
        rid,
        tags=["pregnancy", "chronic"],
        medical_notes="孕32周，妊娠高血压",
        due_date=date(2022, 3, 1),
        emergency_contact="王五 13800000000",
        expected_version=version,
    )
    row = db.one("SELECT tags, due_date, version FROM residents WHERE id = ?", [rid])
    assert row == (["chronic", "pregnancy"], date(2022, 3, 1), version + 1)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'medical.update' AND entity_id = ?", [str(rid)]) == 1
    with pytest.raises(StaleEdit):
        medical.update_profile(
            db,
            as_user("medic01"),
            rid,
            tags=[],
            medical_notes=None,
            due_date=None,
            emergency_contact=None,
            expected_version=version,
        )
    with pytest.raises(PermissionDenied):
        medical.update_profile(
            db,
            as_user("captain02"),
            rid,
            tags=[],
            medical_notes=None,
            due_date=None,
            emergency_contact=None,
            expected_version=version + 1,
        )


def test_treatments_add_and_end(db, as_user):
    rid = special_in(db, 1)
    captain = as_user("captain01")
    before = kpi.compute(db)["treatment_trips_next_7_days"]
    for bad, key in [
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": [8]}, "weekdays"),
        ({"depart_time": "7.30"}, "depart_time"),
        ({"destination": " "}, "destination"),
        ({"kind": "spa"}, "treatment_kind"),
    ]:
        args = {"kind": "dialysis", "weekdays": [1, 3, 5], "depart_time": "07:30", "destination": "西京医院", **bad}
        with pytest.raises(InvalidInput, match=key):
            medical.add_treatment(db, captain, rid, **args)
    tid = medical.add_treatment(
        db, captain, rid, kind="dialysis", weekdays=[1, 3, 5], depart_time="07:30", destination="西京医院"
    )
    assert kpi.compute(db)["treatment_trips_next_7_days"] == before + 3  # Mon 10, Wed 12, Fri 14 January
    medical.end_treatment(db, captain, tid, 1)
    assert kpi.compute(db)["treatment_trips_next_7_days"] == before
    with pytest.raises(PermissionDenied):
        medical.add_treatment(
            db, as_user("captain02"), rid, kind="chemo", weekdays=[2], depart_time="08:00", destination="肿瘤医院"
        )
