"""Testing rounds: scheduling, marking with scope and versions, the board's arithmetic, lists and notices."""

import random
from datetime import date

import pytest

from qinyuan import kpi
from qinyuan import testing as tst
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit

ROUND = 4  # the demo's active round (today)


def _open_house(db, actor, unit_id=1):
    return next(h for h in tst.unit_households(db, actor, ROUND, unit_id) if h["open"])


def _versions(house):
    return {r["resident_id"]: r["version"] for r in house["residents"]}


@pytest.mark.parametrize("seed", range(20))
def test_plan_never_exceeds_capacity_and_assigns_every_unit_once(seed):
    rng = random.Random(seed)
    capacity = rng.randrange(80, 300)
    loads = [(uid, (uid - 1) // 3 + 1, rng.randrange(0, capacity + 1)) for uid in range(1, rng.randrange(3, 120))]
    plan = tst.plan_slots(loads, capacity, sites=rng.randrange(1, 4), max_slots=400)
    assert sorted(plan) == [u for u, _, _ in loads]
    used = {}
    for uid, _, load in loads:
        used[plan[uid]] = used.get(plan[uid], 0) + load
    assert max(used.values()) <= capacity


def test_plan_keeps_a_building_together_when_it_fits():
    loads = [(1, 1, 50), (2, 1, 50), (3, 1, 50), (4, 2, 100), (5, 2, 100), (6, 2, 100), (7, 3, 10)]
    plan = tst.plan_slots(loads, capacity=200, sites=1, max_slots=10)
    assert plan[1] == plan[2] == plan[3] == (0, 0)
    assert len({plan[4], plan[5], plan[6]}) == 2  # building 2 (300) cannot fit one slot: split, never over
    assert plan[4] == plan[5]
    with pytest.raises(InvalidInput) as too_big:
        tst.plan_slots([(1, 1, 201)], capacity=200, sites=1, max_slots=10)
    assert too_big.value.key == "testing.error.unit_over_capacity"
    with pytest.raises(InvalidInput) as short:
        tst.plan_slots([(1, 1, 150), (2, 2, 150)], capacity=200, sites=1, max_slots=1)
    assert short.value.key == "testing.error.day_too_short"


def test_schedule_on_the_demo_world(db, as_user):
    committee = as_user("committee")
    summary = tst.schedule(db, committee, ROUND)
    assert summary["units"] == 51
    assert db.scalar("SELECT count(*) FROM test_slots WHERE round_id = ?", [ROUND]) == 51
    assert db.scalar("SELECT count(DISTINCT unit_id) FROM test_slots WHERE round_id = ?", [ROUND]) == 51
    loads = tst.slot_loads(db, ROUND)
    assert loads["expected"].max() <= 260 and loads["units"].sum() == 51
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'testing.schedule'") == 1
    with pytest.raises(PermissionDenied):
        tst.schedule(db, as_user("captain01"), ROUND)


def test_move_slot_refuses_over_capacity(db, as_user):
    committee = as_user("committee")
    tst.schedule(db, committee, ROUND)
    loads = tst.slot_loads(db, ROUND)
    full = loads.sort_values("expected").iloc[-1]
    table = tst.slot_table(db, committee, ROUND)
    mover = table[(table["slot_start"] != full["slot_start"]) | (table["site"] != full["site"])].sort_values("expected").iloc[-1]
    with pytest.raises(InvalidInput) as exc:
        tst.move_slot(
            db, committee, ROUND, int(mover["unit_id"]), full["slot_start"].to_pydatetime(), full["site"], int(mover["version"])
        )
    assert exc.value.key == "testing.error.over_capacity"
    late = loads["slot_start"].max().to_pydatetime()
    tst.move_slot(
        db, committee, ROUND, int(mover["unit_id"]), late.replace(hour=late.hour + 3), full["site"], int(mover["version"])
    )
    with pytest.raises(StaleEdit):
        tst.move_slot(db, committee, ROUND, int(mover["unit_id"]), late, full["site"], int(mover["version"]))


def test_board_matches_kpi_and_marking_moves_it(db, as_user):
    captain = as_user("captain01")
    whole = tst.totals(tst.board(db, as_user("committee"), ROUND))
    figures = kpi.compute(db)
    assert whole["coverage"] == figures["current_round_coverage"]
    assert whole["open"] == figures["residents_pending"]
    assert whole["home_done"] == figures["home_samplings_done"]
    unit = tst.board(db, captain, ROUND)
    assert list(unit["unit_id"]) == [1]
    row = unit.iloc[0]
    assert row["residents"] == row["accounted"] + row["pending"] + row["home_needed"]
    assert row["accounted"] == row["tested"] + row["home_done"] + row["away"] + row["exempt"]
    before = tst.totals(unit)
    house = _open_house(db, captain)
    opened = sum(r["status"] == "pending" for r in house["residents"])
    assert tst.mark_household(db, captain, ROUND, house["id"], "tested", versions=_versions(house)) == opened
    after = tst.totals(tst.board(db, captain, ROUND))
    assert after["accounted"] == before["accounted"] + opened
    assert after["coverage"] == round(after["accounted"] / after["residents"], 4) > before["coverage"]
    assert kpi.compute(db, units=(1,))["current_round_coverage"] == after["coverage"]


def test_captain_cannot_mark_outside_their_units(db, as_user):
    captain = as_user("captain01")
    other = _open_house(db, as_user("committee"), unit_id=2)
    before = db.scalar("SELECT count(*) FROM test_results WHERE status = 'tested' AND round_id = ?", [ROUND])
    with pytest.raises(PermissionDenied):
        tst.mark_household(db, captain, ROUND, other["id"], "tested")
    with pytest.raises(PermissionDenied):
        tst.mark_resident(db, captain, ROUND, other["residents"][0]["resident_id"], "tested")
    assert db.scalar("SELECT count(*) FROM test_results WHERE status = 'tested' AND round_id = ?", [ROUND]) == before
    with pytest.raises(PermissionDenied):
        tst.unit_households(db, captain, ROUND, 2)


def test_versions_guard_against_lost_updates(db, as_user):
    captain = as_user("captain01")
    house = _open_house(db, captain)
    seen = _versions(house)
    pending = next(r for r in house["residents"] if r["status"] == "pending")
    tst.mark_resident(
        db, as_user("committee"), ROUND, pending["resident_id"], "away", "回老家", expected_version=pending["version"]
    )
    with pytest.raises(StaleEdit):
        tst.mark_household(db, captain, ROUND, house["id"], "tested", versions=seen)
    with pytest.raises(StaleEdit):
        tst.mark_resident(db, captain, ROUND, pending["resident_id"], "pending", expected_version=pending["version"])


def test_whole_household_keeps_residents_accounted_otherwise(db, as_user):
    captain = as_user("captain01")
    house = next(h for h in tst.unit_households(db, captain, ROUND, 1) if len(h["residents"]) >= 2 and h["open"] >= 2)
    first, second = house["residents"][0], house["residents"][1]
    tst.mark_resident(db, captain, ROUND, first["resident_id"], "away", "出差", expected_version=first["version"])
    tst.mark_household(db, captain, ROUND, house["id"], "tested")
    status = dict(
        db.rows(
            "SELECT resident_id, status FROM test_results WHERE round_id = ? AND resident_id IN (?, ?)",
            [ROUND, first["resident_id"], second["resident_id"]],
        )
    )
    assert status == {first["resident_id"]: "away", second["resident_id"]: "tested"}
    audit = db.dicts("SELECT * FROM audit_log WHERE action = 'testing.mark' ORDER BY id")
    assert len(audit) == 2 and all(a["actor"] == "captain01" for a in audit)


def test_state_rules_reason_and_closed_rounds(db, as_user):
    captain, medic = as_user("captain01"), as_user("medic01")
    frame, total = tst.pending_list(db, medic, ROUND, statuses=("home_sampling_needed",))
    assert total > 0
    row = frame.iloc[0]
    if row["unit_id"] != 1:
        captain = as_user(f"captain{int(row['unit_id']):02d}")
    with pytest.raises(PermissionDenied):
        tst.mark_resident(db, captain, ROUND, int(row["resident_id"]), "sampled_at_home")
    assert (
        tst.mark_resident(db, medic, ROUND, int(row["resident_id"]), "sampled_at_home", expected_version=int(row["version"])) == 1
    )
    _, after = tst.pending_list(db, medic, ROUND, statuses=("home_sampling_needed",))
    assert after == total - 1
    pending = next(r for r in _open_house(db, as_user("captain01"))["residents"] if r["status"] == "pending")
    with pytest.raises(InvalidInput) as exc:
        tst.mark_resident(db, as_user("captain01"), ROUND, pending["resident_id"], "exempt")
    assert exc.value.key == "testing.error.reason_required"
    with pytest.raises(InvalidInput):
        tst.mark_resident(db, as_user("captain01"), ROUND, pending["resident_id"], "vanished")
    with pytest.raises(InvalidInput) as closed:
        tst.mark_resident(db, as_user("committee"), 3, pending["resident_id"], "pending")
    assert closed.value.key == "testing.error.round_closed"


def test_create_round_puts_everyone_in_it(db, as_user):
    committee = as_user("committee")
    rid = tst.create_round(db, committee, date(2022, 1, 13), ["北门广场", "南门停车场"], 30, 260, "08:00")
    active = db.scalar("SELECT count(*) FROM residents WHERE active")
    assert db.scalar("SELECT count(*) FROM test_results WHERE round_id = ?", [rid]) == active
    home = db.scalar("SELECT count(*) FROM test_results WHERE round_id = ? AND status = 'home_sampling_needed'", [rid])
    assert home == db.scalar(
        "SELECT count(*) FROM residents WHERE active AND tags && CAST(? AS VARCHAR[])",
        [["dialysis", "chemo", "disability", "elderly_alone"]],
    )
    assert tst.get_round(db, rid)["round_no"] == 5
    assert tst.schedule(db, committee, rid)["units"] == 51
    with pytest.raises(InvalidInput):
        tst.create_round(db, committee, date(2022, 1, 14), [], 30, 260)
    with pytest.raises(InvalidInput):
        tst.create_round(db, committee, date(2022, 1, 14), ["x"], 30, 260, "25:00")
    with pytest.raises(PermissionDenied):
        tst.create_round(db, as_user("captain01"), date(2022, 1, 14), ["x"])
    version = tst.get_round(db, rid)["version"]
    tst.set_round_status(db, committee, rid, "active", version)
    with pytest.raises(InvalidInput):
        tst.set_round_status(db, committee, rid, "planned", version + 1)


def test_pending_list_and_door_to_door(db, as_user):
    captain = as_user("captain01")
    frame, total = tst.pending_list(db, captain, ROUND, page=1, page_size=5)
    expected = db.scalar(
        """SELECT count(*) FROM test_results tr JOIN residents r ON r.id = tr.resident_id
                            JOIN households h ON h.id = r.household_id
                            WHERE tr.round_id = ? AND h.unit_id = 1 AND tr.status IN ('pending', 'home_sampling_needed')""",
        [ROUND],
    )
    assert total == expected and len(frame) == min(5, expected)
    assert set(frame["unit_id"]) == {1} and "tags" in frame.columns
    logistics_like = as_user("member001")
    with pytest.raises(PermissionDenied):
        tst.pending_list(db, logistics_like, ROUND)
    sheet = tst.door_to_door(db, captain, ROUND, lang="zh")
    assert len(sheet) == expected and list(sheet.columns)[:3] == ["楼栋", "单元", "房号"]
    page = tst.door_to_door_html(db, captain, ROUND, lang="zh").decode("utf-8")
    assert "1号楼1单元" in page and f"未落实 {expected} 人" in page and "<table>" in page


def test_notice_text_in_both_languages(db, as_user):
    captain = as_user("captain01")
    zh = tst.notice_text(db, captain, ROUND, 1, "zh")
    en = tst.notice_text(db, captain, ROUND, 1, "en")
    assert "1号楼1单元" in zh and "08:00" in zh and "北门广场" in zh and "身份证" in zh
    assert "Bldg 1 Unit 1" in en and "08:00" in en and "ID card" in en and "home" in en
    with pytest.raises(PermissionDenied):
        tst.notice_text(db, as_user("captain02"), ROUND, 1, "zh")


def test_board_summary_lists_the_worst_when_many_and_is_fresh_after_a_mark(db, as_user):
    committee, captain = as_user("committee"), as_user("captain01")
    whole = tst.board(db, committee, ROUND)
    summary = tst.board_summary(db, committee, ROUND)
    assert summary["unit_count"] == len(whole) == 51 and summary["building_count"] == 17
    assert list(summary["units"]["unit_id"]) == list(whole["unit_id"])  # all fit: the board's own order
    assert summary["totals"] == tst.totals(whole)
    small = tst.board_summary(db, committee, ROUND, limit=5)
    assert len(small["units"]) == 5 and len(small["buildings"]) == 5 and small["unit_count"] == 51
    assert list(small["units"]["coverage"]) == sorted(whole["coverage"])[:5]
    house = _open_house(db, captain)
    opened = sum(r["status"] in tst.UNACCOUNTED for r in house["residents"])
    assert tst.mark_household(db, captain, ROUND, house["id"], "tested", versions=_versions(house)) == opened
    after = tst.board_summary(db, committee, ROUND)
    assert after["totals"]["accounted"] == summary["totals"]["accounted"] + opened
    unit1 = lambda s: s["units"].set_index("unit_id").loc[1, "accounted"]  # noqa: E731
    assert unit1(after) == unit1(summary) + opened
    assert tst.board_summary(db, captain, ROUND)["totals"]["accounted"] == tst.totals(tst.board(db, captain, ROUND))["accounted"]


def test_pending_page_and_count_are_fresh_after_a_mark(db, as_user):
    committee, captain = as_user("committee"), as_user("captain01")
    first, total = tst.pending_list(db, committee, ROUND, page=1, page_size=20)
    mine, mine_total = tst.pending_list(db, captain, ROUND, page=1, page_size=20)
    household = int(first.iloc[0]["household_id"])
    gone = set(first.loc[first["household_id"] == household, "resident_id"])
    assert tst.mark_household(db, committee, ROUND, household, "tested") == len(gone) >= 1
    again, total2 = tst.pending_list(db, committee, ROUND, page=1, page_size=20)
    assert total2 == total - len(gone) and not gone & set(again["resident_id"])
    mine2, mine_total2 = tst.pending_list(db, captain, ROUND, page=1, page_size=20)
    assert set(first["unit_id"].iloc[:1]) == {1} and mine_total2 == mine_total - len(gone)
    assert not gone & set(mine2["resident_id"])


def test_expected_by_unit_for_a_captains_units_matches_the_compound_and_is_fresh(db, as_user):
    captain = as_user("captain01")
    whole = tst.expected_by_unit(db, ROUND)
    mine = tst.expected_by_unit(db, ROUND, (1,))
    assert len(whole) == 51 and list(mine["unit_id"]) == [1]
    assert int(mine.iloc[0]["expected"]) == int(whole.set_index("unit_id").loc[1, "expected"]) > 0
    assert int(tst.slot_table(db, captain, ROUND).iloc[0]["expected"]) == int(mine.iloc[0]["expected"])
    one = tst.slot_table(db, as_user("committee"), ROUND, unit_id=1)
    assert list(one["unit_id"]) == [1] and int(one.iloc[0]["expected"]) == int(mine.iloc[0]["expected"])
    with pytest.raises(PermissionDenied):
        tst.slot_table(db, as_user("captain02"), ROUND, unit_id=1)
    house = _open_house(db, captain)
    resident = next(r for r in house["residents"] if r["status"] == "pending")
    tst.mark_resident(db, captain, ROUND, resident["resident_id"], "away", expected_version=resident["version"])
    assert int(tst.expected_by_unit(db, ROUND, (1,)).iloc[0]["expected"]) == int(mine.iloc[0]["expected"]) - 1
    assert int(tst.expected_by_unit(db, ROUND).set_index("unit_id").loc[1, "expected"]) == int(mine.iloc[0]["expected"]) - 1
    assert int(tst.slot_table(db, captain, ROUND).iloc[0]["expected"]) == int(mine.iloc[0]["expected"]) - 1


@pytest.mark.parametrize("statuses", [tst.UNACCOUNTED, ("home_sampling_needed",), ("pending",)])
def test_pending_pages_read_through_the_board_match_the_whole_sorted_list(db, as_user, statuses):
    committee = as_user("committee")
    whole, total = tst.pending_list(db, committee, ROUND, statuses=statuses, page=1, page_size=20_000)  # read directly
    assert total == len(whole) > 0
    last = -(-total // 20)
    for page in sorted({1, 2, 7, last - 1, last, last + 1} - {0}):
        frame, n = tst.pending_list(db, committee, ROUND, statuses=statuses, page=page, page_size=20)
        assert n == total
        assert list(frame["resident_id"]) == list(whole["resident_id"].iloc[(page - 1) * 20 : page * 20])
