"""Issue 14 item 7: every view and export that shows special-needs tags leaves an audit row saying whose."""

from __future__ import annotations

import pytest

from qinyuan import households as hh
from qinyuan import teams
from qinyuan import testing as tst


def _views(db, what="view.%"):
    return db.dicts("SELECT actor, action, entity, entity_id, after FROM audit_log WHERE action LIKE ? ORDER BY id", [what])


def _tagged_household(db, unit_id):
    return db.scalar(
        """SELECT min(h.id) FROM households h JOIN residents r ON r.household_id = h.id
                        WHERE h.unit_id = ? AND r.active AND array_length(r.tags, 1) > 0""",
        [unit_id],
    )


@pytest.mark.parametrize("username", ["committee", "captain01", "medic01"])
def test_the_households_list_with_tags_is_audited(db, as_user, username):
    actor = as_user(username)
    frame, _ = hh.list_households(db, actor, hh.Filters(unit_id=1))
    assert any(len(t) for t in frame["tags"])
    rows = _views(db, "view.medical_tags")
    assert rows and rows[-1]["actor"] == username and rows[-1]["entity_id"] == "1"
    assert _tagged_household(db, 1) and str(_tagged_household(db, 1)) in rows[-1]["after"]


def test_logistics_sees_no_tags_and_leaves_no_view_row(db, as_user):
    frame, _ = hh.list_households(db, as_user("logistics01"), hh.Filters(unit_id=1))
    assert "tags" not in frame.columns
    assert not _views(db)


def test_the_visit_view_with_tags_is_audited(db, as_user):
    house = hh.household(db, as_user("captain01"), _tagged_household(db, 1))
    assert any(r.get("tags") for r in house["residents"])
    rows = _views(db, "view.medical_tags")
    assert [(r["entity"], r["entity_id"]) for r in rows] == [("household", str(house["id"]))]


def test_the_households_export_is_audited(db, as_user):
    hh.export_frame(db, as_user("committee"), hh.Filters(unit_id=1))
    assert [r["entity_id"] for r in _views(db, "view.medical_export")] == ["1"]


def test_the_home_sampling_list_and_door_to_door_export_are_audited(db, as_user):
    medic = as_user("medic01")
    round_id = 4  # the demo's active round
    frame, _ = tst.pending_list(db, medic, round_id, statuses=("home_sampling_needed",))
    assert len(frame) and any(len(t) for t in frame["tags"])
    assert len(_views(db, "view.medical_tags")) == 1
    unit = int(frame.iloc[0]["unit_id"])
    captain = as_user(f"captain{unit:02d}")
    tst.door_to_door(db, captain, round_id)
    rows = _views(db, "view.medical_tags")
    assert len(rows) == 2 and rows[-1]["actor"] == captain.username and rows[-1]["entity_id"] == str(round_id)


def test_the_roster_export_is_audited(db, as_user):
    teams.export_frame(db, as_user("captain01"))
    rows = _views(db, "view.roster_export")
    assert len(rows) == 1 and rows[0]["actor"] == "captain01"


def test_the_same_view_again_is_one_row_not_one_per_rerun(db, as_user, monkeypatch):
    """A page refreshing itself (fragments every 10-15 s) or rerun by any tap showed the same tags again:
    each rerun wrote an audit row (and a commit). The same session seeing the same data is one row."""
    from qinyuan import users

    actor = as_user("committee")
    for _ in range(5):
        hh.list_households(db, actor, hh.Filters(unit_id=1))
    assert len(_views(db, "view.medical_tags")) == 1
    hh.list_households(db, actor, hh.Filters(unit_id=2))  # other households shown: recorded
    assert len(_views(db, "view.medical_tags")) == 2
    monkeypatch.setattr(users, "VIEW_REPEAT_SECONDS", 0)  # after the window the same view is recorded again
    hh.list_households(db, actor, hh.Filters(unit_id=1))
    assert len(_views(db, "view.medical_tags")) == 3
