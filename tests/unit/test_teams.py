"""The roster: scope, phone masking, search and paging in SQL, exports, and the committee's and
captains' edits."""

from datetime import date

import pandas as pd
import pytest

from qinyuan import exports, kpi, teams, users
from qinyuan.errors import InvalidInput, NotFound, PermissionDenied, StaleEdit


def _vol(db, username):
    return db.scalar("SELECT volunteer_id FROM users WHERE username = ?", [username])


def _version(db, vid):
    return db.scalar("SELECT version FROM volunteers WHERE id = ?", [vid])


def _phone(db, vid):
    return db.scalar("SELECT phone FROM volunteers WHERE id = ?", [vid])


def test_committee_sees_the_record_teams_captains_and_members(db, as_user):
    committee = as_user("committee")
    frame = teams.teams(db, committee)
    assert len(frame) == 51
    assert frame["members"].sum() == 338
    assert frame["carriers"].sum() == 33
    _, captains = teams.members(db, committee, captains=True)
    _, members = teams.members(db, committee, captains=False)
    assert (captains, members) == (51, 338)
    _, carriers = teams.members(db, committee, skill="carrier")
    assert carriers == 33
    assert frame.loc[frame.team_id == 1, "units"].item() == "1号楼1单元"


def test_paging_happens_in_sql(db, as_user):
    committee = as_user("committee")
    first, total = teams.members(db, committee, page=1, page_size=50)
    second, _ = teams.members(db, committee, page=2, page_size=50)
    assert total == 389 and len(first) == 50 and len(second) == 50
    assert not set(first["id"]) & set(second["id"])
    last, _ = teams.members(db, committee, page=8, page_size=50)
    assert len(last) == 389 - 7 * 50


def test_member_sees_only_their_team_with_masked_phones_except_own_captain(db, as_user):
    member = as_user("member001")
    frame, total = teams.members(db, member)
    assert set(frame["team_id"]) == {1} and total == 8
    assert list(teams.teams(db, member)["team_id"]) == [1]
    captain_id = db.scalar("SELECT captain_id FROM teams WHERE id = 1")
    for row in frame.itertuples():
        full = _phone(db, row.id)
        if row.id in (captain_id, member.volunteer_id):
            assert row.phone == full
        else:
            assert row.phone != full and "****" in row.phone
    assert teams.teams(db, member)["captain_phone"].item() == _phone(db, captain_id)
    assert frame["notes"].isna().all()  # notes are for captains and the committee


def test_member_cannot_search_by_phone_digits(db, as_user):
    other = db.one("SELECT id, phone FROM volunteers WHERE team_id = 1 AND NOT is_captain ORDER BY id DESC LIMIT 1")
    _, found_by_member = teams.members(db, as_user("member001"), search=other[1][3:9])
    _, found_by_committee = teams.members(db, as_user("committee"), search=other[1][3:9])
    assert found_by_member == 0 and found_by_committee >= 1


def test_captain_sees_own_team_phones_but_not_other_teams(db, as_user):
    captain = as_user("captain01")
    frame, _ = teams.members(db, captain)
    assert set(frame["team_id"]) == {1}
    assert all(row.phone == _phone(db, row.id) for row in frame.itertuples())
    with pytest.raises(NotFound):
        teams.member(db, captain, db.scalar("SELECT id FROM volunteers WHERE team_id = 2 LIMIT 1"))


def test_export_is_what_the_user_may_see(db, as_user):
    member_frame = teams.export_frame(db, as_user("member001"), "zh")
    assert len(member_frame) == 8
    assert "备注" not in member_frame.columns
    assert member_frame["电话"].str.contains(r"\*\*\*\*").sum() == 6  # all but self and own captain
    committee_frame = teams.export_frame(db, as_user("committee"), "en", skill="carrier")
    assert len(committee_frame) == 33 and "Notes" in committee_frame.columns
    assert exports.to_csv_bytes(member_frame).startswith(b"\xef\xbb\xbf")
    back = pd.read_excel(__import__("io").BytesIO(exports.to_xlsx_bytes(committee_frame)))
    assert len(back) == 33


def test_committee_adds_a_member_and_bad_input_writes_nothing(db, as_user):
    committee = as_user("committee")
    before = db.scalar("SELECT count(*) FROM volunteers")
    with pytest.raises(InvalidInput) as bad_phone:
        teams.add_member(db, committee, 3, "王新", phone="abc")
    assert bad_phone.value.key == "roster.error.phone"
    with pytest.raises(InvalidInput):
        teams.add_member(db, committee, 3, "   ")
    with pytest.raises(InvalidInput):
        teams.add_member(db, committee, 999, "王新")
    assert db.scalar("SELECT count(*) FROM volunteers") == before
    new_id = teams.add_member(db, committee, 3, " 王新 ", phone="13800001111", skills=["carrier"])
    assert db.one("SELECT team_id, name, skills FROM volunteers WHERE id = ?", [new_id]) == (3, "王新", ["carrier"])
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'roster.add' AND entity_id = ?", [str(new_id)]) == 1
    assert kpi.compute(db)["members"] == 339
    with pytest.raises(PermissionDenied):
        teams.add_member(db, as_user("captain03"), 3, "李四")


def test_move_member_moves_their_account_scope(db, as_user):
    committee = as_user("committee")
    vid = _vol(db, "member002")
    old_team = db.scalar("SELECT team_id FROM volunteers WHERE id = ?", [vid])
    with pytest.raises(StaleEdit):
        teams.move_member(db, committee, vid, 5, _version(db, vid) - 1)
    teams.move_member(db, committee, vid, 5, _version(db, vid))
    moved = users.actor_for(db, "member002")
    assert moved.team_id == 5 and moved.unit_ids == frozenset({5})
    assert old_team != 5
    with pytest.raises(InvalidInput) as captain_move:
        teams.move_member(db, committee, _vol(db, "captain01"), 5, _version(db, _vol(db, "captain01")))
    assert captain_move.value.key == "roster.error.captain_move"
    with pytest.raises(PermissionDenied):
        teams.move_member(db, as_user("captain01"), _vol(db, "member003"), 2, _version(db, _vol(db, "member003")))


def test_make_captain_swaps_roles(db, as_user):
    committee = as_user("committee")
    vid = _vol(db, "member001")
    teams.make_captain(db, committee, vid, _version(db, vid))
    assert db.scalar("SELECT captain_id FROM teams WHERE id = 1") == vid
    assert users.actor_for(db, "member001").role == "captain"
    assert users.actor_for(db, "captain01").role == "member"
    assert db.scalar("SELECT count(*) FROM volunteers WHERE team_id = 1 AND is_captain") == 1
    figures = kpi.compute(db)
    assert (figures["captains"], figures["members"]) == (51, 338)


def test_deactivate_withdraws_future_duty_and_closes_the_account(db, as_user):
    committee = as_user("committee")
    vid = _vol(db, "member001")
    withdrawn = teams.deactivate(db, committee, vid, _version(db, vid))
    assert withdrawn == 1  # the 2022-01-12 shift; today's 08:00 shift has started and stays
    days = [
        r[0]
        for r in db.rows(
            "SELECT s.day FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id WHERE a.volunteer_id = ? AND s.day >= ?",
            [vid, date(2022, 1, 10)],
        )
    ]
    assert days == [date(2022, 1, 10)]
    assert users.actor_for(db, "member001") is None
    _, active = teams.members(db, committee, team_id=1)
    _, everyone = teams.members(db, committee, team_id=1, active=None)
    assert (active, everyone) == (7, 8)
    with pytest.raises(InvalidInput):
        teams.deactivate(db, committee, _vol(db, "captain01"), _version(db, _vol(db, "captain01")))


def test_captain_edits_contact_details_of_own_team_only(db, as_user):
    captain = as_user("captain01")
    vid = _vol(db, "member001")
    teams.update_contact(db, captain, vid, _version(db, vid), phone="13912345678", department="图书馆", notes="夜班可")
    assert db.one("SELECT phone, department, notes FROM volunteers WHERE id = ?", [vid]) == ("13912345678", "图书馆", "夜班可")
    other = db.scalar("SELECT id FROM volunteers WHERE team_id = 2 AND NOT is_captain LIMIT 1")
    with pytest.raises(PermissionDenied):
        teams.update_contact(db, captain, other, _version(db, other), phone="13912345678")
    with pytest.raises(PermissionDenied):
        teams.update_contact(db, as_user("member001"), vid, _version(db, vid), phone="13900000000")
    with pytest.raises(PermissionDenied):  # skills are the committee's
        teams.update_contact(db, captain, vid, _version(db, vid), phone="13912345678", skills=["driver"])
    with pytest.raises(StaleEdit):
        teams.update_contact(db, captain, vid, 1, phone="13912345678")


def test_committee_renames_a_team(db, as_user):
    version = db.scalar("SELECT version FROM teams WHERE id = 7")
    with pytest.raises(PermissionDenied):
        teams.update_team(db, as_user("captain07"), 7, version, name="第七队")
    teams.update_team(db, as_user("committee"), 7, version, name="沁园红第7队（北区）", notes="负责7号楼")
    assert db.one("SELECT name, notes FROM teams WHERE id = 7") == ("沁园红第7队（北区）", "负责7号楼")
    with pytest.raises(StaleEdit):
        teams.update_team(db, as_user("committee"), 7, version, name="x")


# -- cached reads stay fresh after a write ------------------------------------------------------------
def test_cached_team_reads_are_fresh_after_writes(db, as_user):
    committee = as_user("committee")
    assert teams.team_count(db, committee) == 51
    before = teams.teams(db, committee).set_index("team_id")
    options = dict(teams.team_options(db, committee))
    _, total = teams.members(db, committee, team_id=3)
    version = int(before.loc[3, "version"])
    teams.update_team(db, committee, 3, version, name="沁园红第3队（东）")
    assert teams.teams(db, committee).set_index("team_id").loc[3, "team"] == "沁园红第3队（东）"
    assert teams.teams(db, committee, team_id=3)["team"].item() == "沁园红第3队（东）"
    assert dict(teams.team_options(db, committee))[3] == "沁园红第3队（东）" != options[3]
    assert teams.team_options(db, committee, search="第3队（东") == [(3, "沁园红第3队（东）")]
    new_id = teams.add_member(db, committee, 3, "新队员甲", "13900000001")
    frame, after = teams.members(db, committee, team_id=3)
    assert after == total + 1 and new_id in set(frame["id"])
    assert teams.teams(db, committee).set_index("team_id").loc[3, "members"] == before.loc[3, "members"] + 1


def test_team_options_search_limit_and_the_current_choice(db, as_user):
    committee = as_user("committee")
    first = teams.team_options(db, committee, limit=5)
    assert [i for i, _ in first] == [1, 2, 3, 4, 5]
    assert [i for i, _ in teams.team_options(db, committee, limit=5, include=40)] == [40, 1, 2, 3, 4, 5]
    assert teams.team_options(db, committee, search="12") and all(
        "12" in name or i == 12 for i, name in teams.team_options(db, committee, search="12")
    )
    captain = as_user("captain01")
    assert teams.team_options(db, captain, include=40) == teams.team_options(db, captain)  # not theirs: not added
    assert teams.team_count(db, captain) == len(teams.team_options(db, captain))
