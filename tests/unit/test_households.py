"""The household ledger: scope, masking, filters, pagination, census visits, exports."""

import pytest

from qinyuan import exports
from qinyuan import households as hh
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit


def _unit1_count(db):
    return db.scalar("SELECT count(*) FROM households WHERE unit_id = 1")


def test_captain_sees_only_their_unit_with_phones(db, as_user):
    captain = as_user("captain01")
    frame, total = hh.list_households(db, captain, page_size=500)
    assert total == _unit1_count(db) == len(frame)
    assert set(frame["unit_id"]) == {1}
    assert not frame["phone"].str.contains(r"\*").any()


def test_committee_paginates_in_sql(db, as_user):
    committee = as_user("committee")
    first, total = hh.list_households(db, committee, page=1, page_size=20)
    second, total2 = hh.list_households(db, committee, page=2, page_size=20)
    assert total == total2 == db.scalar("SELECT count(*) FROM households")
    assert len(first) == len(second) == 20
    assert not set(first["id"]) & set(second["id"])
    last, _ = hh.list_households(db, committee, page=(total + 19) // 20, page_size=20)
    assert 0 < len(last) <= 20


def test_member_sees_masked_phones_and_no_medical_tags(db, as_user):
    member = as_user("member001")
    frame, _ = hh.list_households(db, member, hh.Filters(tag="any"), page_size=50)
    assert len(frame) > 0
    assert frame["phone"].str.contains(r"^\d{3}\*{4}\d{4}$").all()
    assert "tags" not in frame.columns and frame["needs_support"].all()
    with pytest.raises(PermissionDenied):
        hh.list_households(db, member, hh.Filters(tag="dialysis"))


def test_logistics_reads_phones_but_not_tags(db, as_user):
    logistics = as_user("logistics01")
    frame, total = hh.list_households(db, logistics, hh.Filters(tag="any"))
    assert total == db.scalar(
        "SELECT count(DISTINCT household_id) FROM residents WHERE active AND coalesce(array_length(tags, 1), 0) > 0"
    )
    assert "tags" not in frame.columns and "notes" not in frame.columns
    house = hh.household(db, logistics, int(frame["id"].iloc[0]))
    assert all("tags" not in r and "medical_notes" not in r for r in house["residents"])
    assert any(r["needs_support"] for r in house["residents"])


def test_filters_tag_not_tested_not_visited_and_search(db, as_user):
    committee = as_user("committee")
    frame, total = hh.list_households(db, committee, hh.Filters(tag="dialysis"), page_size=100)
    assert total == db.scalar("SELECT count(DISTINCT household_id) FROM residents WHERE active AND 'dialysis' = ANY(tags)")
    assert all("dialysis" in list(tags) for tags in frame["tags"])
    frame, total = hh.list_households(db, committee, hh.Filters(not_tested=True), page_size=100)
    assert total > 0 and (frame["unaccounted"] > 0).all()
    frame, total = hh.list_households(db, committee, hh.Filters(not_visited=True), page_size=500)
    cutoff = db.now() - __import__("datetime").timedelta(days=hh.STALE_VISIT_DAYS)
    assert total > 0 and (frame["last_visit_at"] < cutoff).all()
    name = db.scalar(
        "SELECT name FROM residents WHERE household_id = 5 AND id <> (SELECT min(id) FROM residents WHERE household_id = 5)"
    )
    frame, _ = hh.list_households(db, committee, hh.Filters(search=name))
    assert 5 in set(frame["id"])
    frame, _ = hh.list_households(db, committee, hh.Filters(unit_id=2, search="301"))
    assert list(frame["room"]) == ["301"]
    frame, total = hh.list_households(db, committee, hh.Filters(search="%_"))
    assert total == 0


def test_record_visit_updates_household_residents_and_audit(db, as_user):
    captain = as_user("captain01")
    house = hh.household(db, captain, 1)
    first, second = house["residents"][0], house["residents"][1]
    visits = db.scalar("SELECT count(*) FROM census_visits WHERE household_id = 1")
    result = hh.record_visit(
        db,
        captain,
        1,
        expected_version=house["version"],
        occupants=3,
        notes="已走访",
        residents=[
            {"id": first["id"], "version": first["version"], "tags": ["chronic"]},
            {"id": second["id"], "version": second["version"], "moved_out": True},
        ],
        new_residents=[{"name": "新住户", "tags": ["newborn"]}],
    )
    assert result == {"version": house["version"] + 1, "changed": 2, "added": 1}
    after = hh.household(db, captain, 1)
    assert after["occupants"] == 3 and after["last_visit_by"] == "captain01"
    assert {r["name"] for r in after["residents"]} == {first["name"], "新住户"}
    assert db.scalar("SELECT tags FROM residents WHERE id = ?", [first["id"]]) == ["chronic"]
    assert db.scalar("SELECT count(*) FROM census_visits WHERE household_id = 1") == visits + 1
    new_id = db.scalar("SELECT id FROM residents WHERE name = '新住户'")
    assert db.scalar("SELECT status FROM test_results WHERE round_id = 4 AND resident_id = ?", [new_id]) == "pending"
    actions = {r[0] for r in db.rows("SELECT action FROM audit_log WHERE actor = 'captain01'")}
    assert {"household.visit", "resident.update", "resident.create"} <= actions


def test_record_visit_refuses_out_of_scope_stale_and_bad_input(db, as_user):
    captain = as_user("captain01")
    other = db.scalar("SELECT min(id) FROM households WHERE unit_id = 2")
    before = db.scalar("SELECT count(*) FROM census_visits")
    with pytest.raises(PermissionDenied):
        hh.record_visit(db, captain, other, expected_version=1, occupants=2)
    with pytest.raises(StaleEdit):
        hh.record_visit(db, captain, 1, expected_version=99, occupants=2)
    with pytest.raises(InvalidInput):
        hh.record_visit(db, captain, 1, expected_version=1, occupants=hh.MAX_OCCUPANTS + 1)
    rid = db.scalar("SELECT min(id) FROM residents WHERE household_id = 1")
    with pytest.raises(InvalidInput):
        hh.record_visit(db, captain, 1, expected_version=1, occupants=2, residents=[{"id": rid, "version": 1, "tags": ["vip"]}])
    assert db.scalar("SELECT count(*) FROM census_visits") == before
    with pytest.raises(PermissionDenied):
        hh.record_visit(db, as_user("logistics01"), 1, expected_version=1, occupants=2)


def test_medic_reading_medical_notes_is_audited(db, as_user):
    medic = as_user("medic01")
    hid = db.scalar("SELECT min(household_id) FROM residents WHERE medical_notes IS NOT NULL")
    plain = hh.household(db, medic, hid)
    assert all("medical_notes" not in r for r in plain["residents"])
    full = hh.household(db, medic, hid, with_medical_notes=True)
    assert any(r.get("medical_notes") for r in full["residents"])
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'view.medical' AND entity_id = ?", [str(hid)]) == 1


def test_set_tags_checks_scope_and_version(db, as_user):
    rid = db.scalar("SELECT min(id) FROM residents WHERE household_id = 1")
    assert hh.set_tags(db, as_user("captain01"), rid, ["pregnancy"], expected_version=1) == 2
    with pytest.raises(StaleEdit):
        hh.set_tags(db, as_user("captain01"), rid, ["pregnancy"], expected_version=1)
    with pytest.raises(PermissionDenied):
        hh.set_tags(db, as_user("captain02"), rid, [], expected_version=2)


def test_export_is_scoped_masked_and_neutralised(db, as_user):
    with db.bulk() as cur:
        cur.execute("UPDATE households SET contact_name = '=HYPERLINK(1)' WHERE id = 1")
    frame = hh.export_frame(db, as_user("captain01"))
    assert len(frame) == _unit1_count(db)
    data = exports.to_csv_bytes(frame).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in data and "\n=HYPERLINK" not in data and "特殊需求" in data
    with pytest.raises(PermissionDenied):
        hh.export_frame(db, as_user("logistics01"))


def test_medicine_history_comes_from_the_medicine_module_when_it_exists(db, as_user):
    hid = db.scalar("SELECT household_id FROM medicine_orders GROUP BY household_id ORDER BY count(*) DESC LIMIT 1")
    result = hh.medicine_history(db, as_user("committee"), hid)
    try:
        from qinyuan.medicine import household_history  # noqa: F401
    except ImportError:
        assert result is None
    else:
        assert len(result) == db.scalar("SELECT count(*) FROM medicine_orders WHERE household_id = ?", [hid])
