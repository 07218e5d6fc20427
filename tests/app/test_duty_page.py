"""The duty page per role: My duty first for a member (check in from the card), the board, the planner."""

from datetime import date

from qinyuan import clock
from qinyuan.db import Database

from .helpers import L, app_as, texts


def _db(path):
    return Database.open(path)


def test_member_lands_on_my_duty_and_checks_in(demo_path):
    at = app_as(demo_path, "member001", page="duty")
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [L("duty.tab.mine"), L("polish.tab.team"), L("duty.tab.board")]
    mine = "\n".join(str(m.value) for m in at.tabs[0].markdown)
    assert "北门值守" in mine and "08:00–13:00" in mine and "今天" in mine
    db = _db(demo_path)
    captain_phone = db.scalar("SELECT v.phone FROM teams t JOIN volunteers v ON v.id = t.captain_id WHERE t.id = 1")
    db.close()
    assert captain_phone in mine
    assert "排班" not in [tab.label for tab in at.tabs]
    check_in = next(b for b in at.button if b.label == L("duty.check_in"))
    check_in.click().run()
    assert not at.exception
    assert "已签到，辛苦了！" in texts(at)
    assert any(b.label == L("duty.check_out") for b in at.button)
    db = _db(demo_path)
    status = db.scalar(
        """SELECT a.status FROM shift_assignments a JOIN shifts s ON s.id = a.shift_id
                          JOIN users u ON u.volunteer_id = a.volunteer_id
                          WHERE u.username = 'member001' AND s.day = ?""",
        [date(2022, 1, 10)],
    )
    db.close()
    assert status == "checked_in"


def test_my_duty_in_english(demo_path):
    at = app_as(demo_path, "member001", page="duty", lang="en")
    assert not at.exception
    assert [tab.label for tab in at.tabs][0] == "My duty"
    assert "North gate" in texts(at)
    assert any(b.label == "Check in" for b in at.button)


def test_committee_sees_board_and_planner_not_my_duty(demo_path):
    at = app_as(demo_path, "committee", page="duty")
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [L("duty.tab.board"), L("duty.tab.plan")]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["现在"] == "09:00"
    assert metrics["缺员岗位"] == "2"
    assert "缺 1 人" in texts(at)
    assert any(b.label == L("duty.plan.copy", day=L("duty.date", m=1, d=10)) for b in at.button)


def test_captain_plans_own_team_only(demo_path):
    at = app_as(demo_path, "captain01", page="duty")
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [L("duty.tab.mine"), L("polish.tab.team"), L("duty.tab.board"), L("duty.tab.plan")]
    db = _db(demo_path)
    team1 = {r[0] for r in db.rows("SELECT id FROM volunteers WHERE team_id = 1 AND active")}
    shift = db.scalar("SELECT id FROM shifts WHERE post_id = 1 AND start_at = ?", [clock.at(date(2022, 1, 10), 18)])
    db.close()
    pick = at.selectbox(key=f"pick_{shift}")
    assert set(pick.options[1:]) and all(o.endswith(" · 1") for o in pick.options[1:])
    assert len(pick.options) - 1 == len(team1)
    pick.set_value(sorted(team1)[-1]).run()
    next(b for b in at.button if b.key == f"add_{shift}").click().run()
    assert not at.exception
    db = _db(demo_path)
    assert (
        db.scalar("SELECT count(*) FROM shift_assignments WHERE shift_id = ? AND volunteer_id = ?", [shift, sorted(team1)[-1]])
        == 1
    )
    db.close()


def test_logistics_reads_the_plan_without_planning(demo_path):
    at = app_as(demo_path, "logistics01", page="duty")
    assert not at.exception
    assert not any(b.label in (L("duty.plan.assign"), L("duty.plan.remove")) for b in at.button)
    assert at.dataframe  # the day's summary per post


def test_committee_plans_people_of_any_team(demo_path):
    at = app_as(demo_path, "committee", page="duty")
    db = _db(demo_path)
    shift = db.scalar("SELECT id FROM shifts WHERE post_id = 1 AND start_at = ?", [clock.at(date(2022, 1, 10), 18)])
    team40 = db.scalar("SELECT id FROM volunteers WHERE team_id = 40 AND NOT is_captain ORDER BY id LIMIT 1")
    db.close()
    at.selectbox(key="plan_team").set_value(40).run()
    pick = at.selectbox(key=f"pick_{shift}")
    assert all(o.endswith(" · 40") for o in pick.options[1:])
    pick.set_value(team40).run()
    next(b for b in at.button if b.key == f"add_{shift}").click().run()
    assert not at.exception
    db = _db(demo_path)
    assert db.scalar("SELECT count(*) FROM shift_assignments WHERE shift_id = ? AND volunteer_id = ?", [shift, team40]) == 1
    db.close()


def test_a_post_with_many_shifts_shows_one_at_a_time(demo_path, monkeypatch):
    """Beyond FOCUS_OVER shifts on the page (a 100x compound has hundreds a day) the planner lists
    them in a picker and draws the controls of the picked one only."""
    from qinyuan.ui import duty as view

    monkeypatch.setattr(view, "FOCUS_OVER", 1)
    at = app_as(demo_path, "captain01", page="duty")
    assert not at.exception
    db = _db(demo_path)
    shifts = [r[0] for r in db.rows("SELECT id FROM shifts WHERE post_id = 1 AND day = ? ORDER BY start_at", [date(2022, 1, 10)])]
    db.close()
    focus = at.selectbox(key="plan_focus_1")
    assert len(focus.options) == len(shifts) == 3 and focus.options[0].startswith("08:00–13:00")

    def drawn():
        return [s for s in shifts if any(b.key == f"add_{s}" for b in at.button)]

    assert drawn() == [shifts[0]]
    focus.set_value(shifts[2]).run()
    assert not at.exception and drawn() == [shifts[2]]
