"""Duty: my duty, the check-in/out state machine and its time window, scheduling rules (no double
booking, rest warning), planning scope, copying a day, handover notes, the board and the KPIs."""

from datetime import date, timedelta

import pytest

from qinyuan import clock, duty, kpi, teams
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit

TODAY = date(2022, 1, 10)


def _vol(db, username):
    return db.scalar("SELECT volunteer_id FROM users WHERE username = ?", [username])


def _username(db, vid):
    return db.scalar("SELECT username FROM users WHERE volunteer_id = ?", [vid])


def _today_mine(db, actor):
    return next(r for r in duty.my_duty(db, actor) if r["day"] == TODAY)


def _shift(db, post_code, day, hour):
    return db.scalar(
        "SELECT s.id FROM shifts s JOIN duty_posts p ON p.id = s.post_id WHERE p.code = ? AND s.day = ? AND s.start_at = ?",
        [post_code, day, clock.at(day, hour)],
    )


def _assignment(db, aid):
    return duty.find_assignment(db, aid)


def test_my_duty_shows_todays_shift_coworkers_and_captains_phone(db, as_user):
    member = as_user("member001")
    mine = duty.my_duty(db, member)
    assert [(r["day"], duty.hhmm(r["start_at"]), r["name_en"]) for r in mine] == [
        (TODAY, "08:00", "North gate"),
        (TODAY + timedelta(days=2), "08:00", "North gate"),
    ]
    today = mine[0]
    assert duty.hhmm(today["end_at"]) == "13:00"
    captain_phone = db.scalar("SELECT v.phone FROM teams t JOIN volunteers v ON v.id = t.captain_id WHERE t.id = 1")
    assert today["captain_phone"] == captain_phone and "****" not in captain_phone
    expected = {
        r[0]
        for r in db.rows(
            "SELECT v.name FROM shift_assignments a JOIN volunteers v ON v.id = a.volunteer_id "
            "WHERE a.shift_id = ? AND a.volunteer_id <> ?",
            [today["shift_id"], member.volunteer_id],
        )
    }
    assert {c["name"] for c in today["coworkers"]} == expected and expected
    assert today["window"] == "open" and today["next_steps"] == ["checked_in"]
    assert mine[1]["window"] == "early"
    assert duty.my_duty(db, as_user("committee")) == []


def test_check_in_then_out_and_the_kpi_counts_it(db, as_user):
    member = as_user("member001")
    before = kpi.compute(db)["duty_person_times"]
    assert before == 122
    row = _today_mine(db, member)
    duty.check_in(db, member, row["id"], row["version"])
    after_in = _assignment(db, row["id"])
    assert after_in["status"] == "checked_in" and after_in["check_in_at"] == clock.at(TODAY, 9)
    with pytest.raises(InvalidInput) as twice:
        duty.check_in(db, member, row["id"], after_in["version"])
    assert twice.value.key == "error.transition"
    with pytest.raises(StaleEdit):
        duty.check_out(db, member, row["id"], row["version"])
    duty.check_out(db, member, row["id"], after_in["version"], "岗亭钥匙在抽屉")
    done = _assignment(db, row["id"])
    assert done["status"] == "done" and done["handover_note"] == "岗亭钥匙在抽屉"
    assert kpi.compute(db)["duty_person_times"] == before + 1
    assert kpi.compute(db, units=(1,))["duty_person_times"] == 1 + db.scalar(
        "SELECT count(*) FROM shift_assignments a JOIN volunteers v ON v.id = a.volunteer_id "
        "WHERE a.status = 'done' AND v.team_id = 1 AND a.id <> ?",
        [row["id"]],
    )
    actions = [
        r[0]
        for r in db.rows(
            "SELECT action FROM audit_log WHERE entity = 'shift_assignment' AND entity_id = ? ORDER BY id", [str(row["id"])]
        )
    ]
    assert actions == ["duty.checked_in", "duty.done"]
    with pytest.raises(InvalidInput):
        duty.check_out(db, member, row["id"], done["version"])


@pytest.mark.parametrize(
    "now,ok",
    [
        ("2022-01-10T06:59:00+08:00", False),
        ("2022-01-10T07:00:00+08:00", True),
        ("2022-01-10T13:00:00+08:00", True),
        ("2022-01-10T13:01:00+08:00", False),
    ],
)
def test_check_in_window_is_60_minutes_before_start_until_end(db, as_user, monkeypatch, now, ok):
    monkeypatch.setenv("QINYUAN_NOW", now)
    member = as_user("member001")
    row = _today_mine(db, member)
    if ok:
        duty.check_in(db, member, row["id"], row["version"])
        assert _assignment(db, row["id"])["status"] == "checked_in"
    else:
        with pytest.raises(InvalidInput) as refused:
            duty.check_in(db, member, row["id"], row["version"])
        assert refused.value.key in ("duty.error.too_early", "duty.error.too_late")
        assert _assignment(db, row["id"])["status"] == "assigned"


def test_check_in_scope_self_own_team_or_committee(db, as_user):
    row = _today_mine(db, as_user("member001"))
    coworker = db.scalar("SELECT id FROM shift_assignments WHERE shift_id = ? AND id <> ?", [row["shift_id"], row["id"]])
    with pytest.raises(PermissionDenied):
        duty.check_in(db, as_user("member001"), coworker, 1)  # someone else's shift
    with pytest.raises(PermissionDenied):
        duty.check_in(db, as_user("captain02"), row["id"], row["version"])  # another team's captain
    duty.check_in(db, as_user("captain01"), row["id"], row["version"])
    assert _assignment(db, row["id"])["status"] == "checked_in"
    duty.check_in(db, as_user("committee"), coworker, _assignment(db, coworker)["version"])
    assert _assignment(db, coworker)["status"] == "checked_in"


def test_no_double_booking_and_rest_warning(db, as_user):
    committee = as_user("committee")
    vid = _vol(db, "member001")
    same_time = _shift(db, "gate_south", TODAY, 8)
    with pytest.raises(InvalidInput) as double:
        duty.assign(db, committee, same_time, vid)
    assert double.value.key == "duty.error.double_booked"
    overlapping = duty.create_shift(db, committee, 3, TODAY, "12:30", "14:00")
    with pytest.raises(InvalidInput):
        duty.assign(db, committee, overlapping, vid)
    with pytest.raises(InvalidInput) as again:
        duty.assign(db, committee, _shift(db, "gate_north", TODAY, 8), vid)
    assert again.value.key == "duty.error.already_assigned"
    before = db.scalar("SELECT count(*) FROM shift_assignments WHERE volunteer_id = ?", [vid])
    evening = _shift(db, "gate_south", TODAY, 18)  # 5 h after the 13:00 end
    warnings = duty.assign(db, committee, evening, vid)
    assert [w.key for w in warnings if w.key == "duty.warn.rest"] == ["duty.warn.rest"]
    assert warnings[0].params["hours"] == 5.0
    assert db.scalar("SELECT count(*) FROM shift_assignments WHERE volunteer_id = ?", [vid]) == before + 1
    rested = duty.create_shift(db, committee, 3, TODAY + timedelta(days=1), "06:00", "07:00")  # 8 h after 22:00
    assert [w for w in duty.assign(db, committee, rested, vid) if w.key == "duty.warn.rest"] == []


def test_captain_plans_only_own_team_committee_plans_all(db, as_user):
    shift = _shift(db, "patrol_east", TODAY, 13)
    team2 = db.scalar("SELECT id FROM volunteers WHERE team_id = 2 AND NOT is_captain ORDER BY id LIMIT 1")
    team1 = _vol(db, "member003")
    with pytest.raises(PermissionDenied):
        duty.assign(db, as_user("captain01"), shift, team2)
    assert db.scalar("SELECT count(*) FROM shift_assignments WHERE volunteer_id = ? AND shift_id = ?", [team2, shift]) == 0
    duty.assign(db, as_user("captain01"), shift, team1)
    duty.assign(db, as_user("committee"), shift, team2)
    with pytest.raises(PermissionDenied):
        duty.assign(db, as_user("member001"), shift, _vol(db, "member002"))
    with pytest.raises(PermissionDenied):
        duty.create_shift(db, as_user("captain01"), 1, TODAY, "20:00", "22:00")
    people = {p for p, _ in duty.plannable_people(db, as_user("captain01"))}
    assert people == {r[0] for r in db.rows("SELECT id FROM volunteers WHERE team_id = 1 AND active")}
    mine = next(c for c in duty.day_plan(db, as_user("captain01"), TODAY, 4) if c["id"] == shift)["crew"]
    by_id = {c["volunteer_id"]: c for c in mine}
    with pytest.raises(PermissionDenied):  # the committee's booking of another team's member
        duty.unassign(db, as_user("captain01"), by_id[team2]["id"], by_id[team2]["version"])
    duty.unassign(db, as_user("captain01"), by_id[team1]["id"], by_id[team1]["version"])
    assert db.scalar("SELECT count(*) FROM shift_assignments WHERE id = ?", [by_id[team1]["id"]]) == 0


def test_past_shift_and_bad_times_are_refused(db, as_user):
    committee = as_user("committee")
    with pytest.raises(InvalidInput) as past:
        duty.assign(db, committee, _shift(db, "gate_north", date(2022, 1, 9), 8), _vol(db, "member050"))
    assert past.value.key == "duty.error.shift_over"
    for start, end in (("8", "13:00"), ("25:00", "26:00"), ("10:00", "10:00")):
        with pytest.raises(InvalidInput):
            duty.create_shift(db, committee, 1, TODAY, start, end)
    overnight = duty.create_shift(db, committee, 4, TODAY, "22:00", "06:00")
    start, end = db.one("SELECT start_at, end_at FROM shifts WHERE id = ?", [overnight])
    assert end - start == timedelta(hours=8)


def test_copy_day_to_the_next_day(db, as_user):
    source = TODAY + timedelta(days=2)
    target = source + timedelta(days=1)
    n_shifts, n_people = db.one(
        "SELECT count(DISTINCT s.id), count(a.id) FROM shifts s LEFT JOIN shift_assignments a "
        "ON a.shift_id = s.id WHERE s.day = ?",
        [source],
    )
    captain_result = duty.copy_day(db, as_user("captain01"), source)  # captains cannot create shifts
    assert captain_result["shifts_created"] == 0 and captain_result["assignments_copied"] == 0
    assert captain_result["skipped"] == 1  # member001 on the north gate
    result = duty.copy_day(db, as_user("committee"), source)
    assert (result["shifts_created"], result["assignments_copied"], result["skipped"]) == (n_shifts, n_people, 0)
    assert db.scalar("SELECT count(*) FROM shifts WHERE day = ?", [target]) == n_shifts
    assert _shift(db, "gate_north", target, 8) is not None
    again = duty.copy_day(db, as_user("committee"), source)  # nobody is booked twice
    assert (again["shifts_created"], again["assignments_copied"], again["skipped"]) == (0, 0, n_people)
    with pytest.raises(InvalidInput):
        duty.copy_day(db, as_user("committee"), TODAY - timedelta(days=3))
    with pytest.raises(PermissionDenied):
        duty.copy_day(db, as_user("member001"), source)


def test_handover_note_reaches_the_next_shift_at_the_same_post(db, as_user, monkeypatch):
    member = as_user("member001")
    row = _today_mine(db, member)
    with pytest.raises(InvalidInput):
        duty.write_handover(db, member, row["id"], row["version"], "太早")
    duty.check_in(db, member, row["id"], row["version"])
    duty.write_handover(db, member, row["id"], _assignment(db, row["id"])["version"], "北门外卖点已消毒")
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T13:00:00+08:00")
    duty.check_out(db, member, row["id"], _assignment(db, row["id"])["version"])
    assert _assignment(db, row["id"])["handover_note"] == "北门外卖点已消毒"
    afternoon = _shift(db, "gate_north", TODAY, 13)
    next_person = _username(db, db.scalar("SELECT volunteer_id FROM shift_assignments WHERE shift_id = ? LIMIT 1", [afternoon]))
    theirs = _today_mine(db, as_user(next_person))
    assert [n["note"] for n in theirs["handover_in"]] == ["北门外卖点已消毒"]
    other_post = _shift(db, "gate_south", TODAY, 13)
    other = _username(db, db.scalar("SELECT volunteer_id FROM shift_assignments WHERE shift_id = ? LIMIT 1", [other_post]))
    assert _today_mine(db, as_user(other))["handover_in"] == []
    with pytest.raises(InvalidInput):
        duty.write_handover(db, member, row["id"], _assignment(db, row["id"])["version"], "x" * 501)


def test_board_shows_now_next_and_under_staffed_posts(db, as_user):
    committee = as_user("committee")
    member = as_user("member001")
    short = {
        r[0]
        for r in db.rows(
            """SELECT p.id FROM shifts s JOIN duty_posts p ON p.id = s.post_id
           WHERE s.start_at <= ? AND s.end_at > ?
             AND (SELECT count(*) FROM shift_assignments a WHERE a.shift_id = s.id) < p.required""",
            [clock.at(TODAY, 9), clock.at(TODAY, 9)],
        )
    }
    rows = duty.board(db, committee)
    at_posts = duty.board_totals(rows)["checked_in"]  # the demo's morning crews, but the north gate's
    assert {r["id"] for r in rows if r["under_staffed"]} == short and short
    north = next(r for r in rows if r["code"] == "gate_north")
    assert north["checked_in_now"] == 0 and duty.hhmm(north["next"][0]["start_at"]) == "13:00"
    row = _today_mine(db, member)
    duty.check_in(db, member, row["id"], row["version"])
    north = next(r for r in duty.board(db, member) if r["code"] == "gate_north")
    me = db.scalar("SELECT name FROM volunteers WHERE id = ?", [member.volunteer_id])
    assert north["checked_in_now"] == 1
    assert {"name": me, "status": "checked_in"}.items() <= next(c for c in north["crew_now"] if c["name"] == me).items()
    # a member sees names of their own team only; the committee sees everyone
    assert all(c["name"] is None for c in north["crew_now"] if c["team_id"] != 1)
    assert all(c["name"] for r in duty.board(db, committee) for c in r["crew_now"])
    totals = duty.board_totals(duty.board(db, committee))
    assert totals["checked_in"] == at_posts + 1 and totals["under_staffed"] == len(short)


def test_fill_rate_kpi_arithmetic(db, as_user):
    required, filled = db.one(
        """SELECT sum(p.required), sum(least(p.required, (SELECT count(*) FROM shift_assignments a WHERE a.shift_id = s.id)))
           FROM shifts s JOIN duty_posts p ON p.id = s.post_id WHERE s.day = ?""",
        [TODAY],
    )
    assert kpi.compute(db)["duty_fill_rate_today"] == round(filled / required, 4) < 1
    short_shift = next(
        s for s in duty.day_plan(db, as_user("committee"), TODAY) if s["short"] and s["end_at"] > clock.at(TODAY, 9)
    )
    free = db.scalar(
        """SELECT v.id FROM volunteers v WHERE v.active AND NOT EXISTS (
                          SELECT 1 FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
                          WHERE a.volunteer_id = v.id AND s.day BETWEEN ? AND ?) ORDER BY v.id LIMIT 1""",
        [TODAY - timedelta(days=1), TODAY + timedelta(days=1)],
    )
    duty.assign(db, as_user("committee"), short_shift["id"], free)
    assert kpi.compute(db)["duty_fill_rate_today"] == round((filled + 1) / required, 4)


def test_headcount_is_the_committees(db, as_user):
    post = duty.posts(db, as_user("committee"))[0]
    with pytest.raises(PermissionDenied):
        duty.set_required(db, as_user("captain01"), post["id"], 3, post["version"])
    with pytest.raises(InvalidInput):
        duty.set_required(db, as_user("committee"), post["id"], 0, post["version"])
    duty.set_required(db, as_user("committee"), post["id"], 3, post["version"])
    assert duty.posts(db, as_user("member001"))[0]["required"] == 3


def test_copy_day_skips_double_booking_and_warns_about_rest(db, as_user):
    committee = as_user("committee")
    source, target = TODAY + timedelta(days=2), TODAY + timedelta(days=3)
    vid = _vol(db, "member001")
    night = duty.create_shift(db, committee, 3, target, "00:00", "04:00")  # 4 h before the copied 08:00 shift
    duty.assign(db, committee, night, vid)
    clash = duty.create_shift(db, committee, 5, target, "07:00", "09:00")  # overlaps the copied 08:00 shift
    other = _vol(
        db,
        db.scalar(
            "SELECT u.username FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id "
            "JOIN users u ON u.volunteer_id = a.volunteer_id WHERE s.day = ? AND s.post_id = 2 "
            "AND s.start_at = ? LIMIT 1",
            [source, clock.at(source, 8)],
        ),
    )
    duty.assign(db, committee, clash, other)
    result = duty.copy_day(db, committee, source)
    assert result["skipped"] == 1
    assert [w.params["name"] for w in result["warnings"] if w.params.get("hours") == 4.0] == [
        db.scalar("SELECT name FROM volunteers WHERE id = ?", [vid])
    ]
    on_target = db.rows(
        "SELECT s.start_at, s.end_at FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id "
        "WHERE a.volunteer_id = ? AND s.day = ? ORDER BY s.start_at",
        [other, target],
    )
    assert [(duty.hhmm(a), duty.hhmm(b)) for a, b in on_target] == [("07:00", "09:00")]


def test_day_plan_pages_in_sql(db, as_user):
    committee = as_user("committee")
    assert duty.count_shifts(db, committee, TODAY, 1) == 3
    first = duty.day_plan(db, committee, TODAY, 1, page=1, page_size=2)
    second = duty.day_plan(db, committee, TODAY, 1, page=2, page_size=2)
    assert [duty.hhmm(s["start_at"]) for s in first + second] == ["08:00", "13:00", "18:00"]
    assert [len(s["crew"]) for s in first + second] == [s["assigned"] for s in duty.day_plan(db, committee, TODAY, 1)]


# -- cached reads stay fresh after a write ------------------------------------------------------------
def test_cached_plan_reads_are_fresh_after_writes(db, as_user):
    committee = as_user("committee")
    day = TODAY + timedelta(days=1)
    summary = duty.day_summary(db, committee, day).set_index("post_id")
    n = duty.count_shifts(db, committee, day, 4)
    plan = duty.day_plan(db, committee, day, 4)
    new = duty.create_shift(db, committee, 4, day, "21:00", "23:00")
    assert duty.count_shifts(db, committee, day, 4) == n + 1
    assert duty.day_summary(db, committee, day).set_index("post_id").loc[4, "shifts"] == summary.loc[4, "shifts"] + 1
    assert [s["id"] for s in duty.day_plan(db, committee, day, 4)] == [s["id"] for s in plan] + [new]
    vid = _vol(db, "member001")
    duty.assign(db, committee, new, vid)
    assert duty.day_summary(db, committee, day).set_index("post_id").loc[4, "assigned"] == summary.loc[4, "assigned"] + 1
    crew = next(s for s in duty.day_plan(db, committee, day, 4) if s["id"] == new)["crew"]
    assert [c["volunteer_id"] for c in crew] == [vid]
    post = duty.posts(db, committee)[3]
    duty.set_required(db, committee, post["id"], post["required"] + 1, post["version"])
    assert duty.posts(db, committee)[3]["required"] == post["required"] + 1
    assert next(r for r in duty.board(db, committee) if r["id"] == post["id"])["required"] == post["required"] + 1


def test_cached_my_duty_and_board_follow_writes_and_the_clock(db, as_user, monkeypatch):
    member = as_user("member001")
    row = _today_mine(db, member)
    assert row["status"] == "assigned" and row["window"] == "open"
    before = next(r for r in duty.board(db, member, names=2) if r["code"] == "gate_north")
    duty.check_in(db, member, row["id"], row["version"])
    assert _today_mine(db, member)["status"] == "checked_in"
    after = next(r for r in duty.board(db, member, names=2) if r["code"] == "gate_north")
    assert after["checked_in_now"] == before["checked_in_now"] + 1
    assert len(after["crew_now"]) <= 2 and after["crew_now_total"] == after["assigned_now"]
    # the same cache entries, a later minute: the window and the board move on with the clock
    monkeypatch.setenv("QINYUAN_NOW", "2022-01-10T13:30:00+08:00")
    assert _today_mine(db, member)["window"] == "open"  # check-out stays open an hour after the end
    north = next(r for r in duty.board(db, member) if r["code"] == "gate_north")
    assert duty.hhmm(north["now"][0]["start_at"]) == "13:00" and north["checked_in_now"] == 0


def test_cached_plannable_people_follow_the_roster(db, as_user):
    committee = as_user("committee")
    people = dict(duty.plannable_people(db, committee, team_id=2))
    vid = _vol(db, "member001")
    assert vid not in people
    version = db.scalar("SELECT version FROM volunteers WHERE id = ?", [vid])
    teams.move_member(db, committee, vid, 2, version)
    assert vid in dict(duty.plannable_people(db, committee, team_id=2))


def _while_held(monkeypatch, action: str, hold, other):
    """Run hold(); when its transaction writes its audit row (not committed yet), run other() in another
    thread and give it 0.1 s before hold() commits. Returns what other() returned or raised."""
    import threading

    from qinyuan.db import Tx
    from qinyuan.errors import QinyuanError

    done, outcome, real_audit = threading.Event(), {}, Tx.audit

    def run_other():
        try:
            outcome["result"] = other()
        except QinyuanError as exc:
            outcome["result"] = exc
        done.set()

    def audit(self, name, *args, **kwargs):
        if name == action and "thread" not in outcome:
            outcome["thread"] = threading.Thread(target=run_other)
            outcome["thread"].start()
            done.wait(0.1)  # other() commits now, or is held back by a conflict with this transaction
        return real_audit(self, name, *args, **kwargs)

    monkeypatch.setattr(Tx, "audit", audit)
    hold()
    outcome["thread"].join(30)
    return outcome["result"]


def test_copy_day_and_a_single_booking_at_once_never_double_book(db, as_user, monkeypatch):
    """copy_day judges who can be copied, then a planner books one of those people into an overlapping
    shift before the copy commits: the copy touches the people's booking counters, so the booking
    conflicts, retries after the copy and is refused (without that, both committed: a double booking)."""
    conflicts = _conflicts_seen(monkeypatch)
    committee = as_user("committee")
    source, target = TODAY + timedelta(days=2), TODAY + timedelta(days=3)
    other = db.scalar(
        "SELECT a.volunteer_id FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id "
        "WHERE s.day = ? AND s.post_id = 2 AND s.start_at = ? LIMIT 1",
        [source, clock.at(source, 8)],
    )
    clash = duty.create_shift(db, committee, 5, target, "07:00", "09:00")  # overlaps the copied 08:00 shift
    result = _while_held(
        monkeypatch,
        "duty.copy_day",
        lambda: duty.copy_day(db, committee, source),
        lambda: duty.assign(db, committee, clash, other),
    )
    spans = db.rows(
        "SELECT s.start_at, s.end_at FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id "
        "WHERE a.volunteer_id = ? AND s.day = ? ORDER BY s.start_at",
        [other, target],
    )
    overlaps = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a[0] < b[1] and b[0] < a[1]]
    assert not overlaps, spans
    assert isinstance(result, InvalidInput) and result.key == "duty.error.double_booked"
    assert conflicts and set(conflicts) == {"UPDATE volunteers SET booking_lock = booking_lock + 1 WHERE id = ?"}


def _conflicts_seen(monkeypatch) -> list[str]:
    """The statements at which a write transaction met a conflict (DuckDB's write conflict; PostgreSQL's
    40001 under REPEATABLE READ), as they happen."""
    from qinyuan.db import Tx

    conflicts, real_execute = [], Tx.execute

    def execute(self, sql, params=(), *, writes=()):
        try:
            return real_execute(self, sql, params, writes=writes)
        except Exception as exc:
            if self.db.engine.is_conflict(exc):
                conflicts.append(" ".join(sql.split()))
            raise

    monkeypatch.setattr(Tx, "execute", execute)
    return conflicts


def test_two_bookings_of_one_person_at_once_never_double_book(db, as_user, monkeypatch):
    """Two planners book the same person into overlapping shifts at the same moment: the second
    conflicts on the person's booking counter, retries after the first commits, and is refused.
    The guard's UPDATE is where the two meet (on both engines), not some later statement."""
    conflicts = _conflicts_seen(monkeypatch)
    committee = as_user("committee")
    day = TODAY + timedelta(days=3)
    first = duty.create_shift(db, committee, 3, day, "08:00", "12:00")
    second = duty.create_shift(db, committee, 5, day, "10:00", "14:00")
    vid = _vol(db, "member001")
    result = _while_held(
        monkeypatch,
        "duty.assign",
        lambda: duty.assign(db, committee, first, vid),
        lambda: duty.assign(db, committee, second, vid),
    )
    assert isinstance(result, InvalidInput) and result.key == "duty.error.double_booked"
    assert (
        db.scalar("SELECT count(*) FROM shift_assignments WHERE volunteer_id = ? AND shift_id IN (?, ?)", [vid, first, second])
        == 1
    )
    assert conflicts and set(conflicts) == {"UPDATE volunteers SET booking_lock = booking_lock + 1 WHERE id = ?"}
