"""AppTest of the staff side of household doors: to-do, urgent reports, proposals and cards on /households."""

from __future__ import annotations

import pytest

from qinyuan import access, door
from qinyuan.db import Database

from .helpers import app_as, texts


@pytest.fixture
def asked(demo_path):
    """A household of unit 1 that asked for help, reported someone unwell and proposed a change."""
    db = Database.open(demo_path)
    hid = db.scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    actor = door.open_link(db, door.reissue(db, access.SYSTEM, hid))
    door.ask_help(db, actor, hid, "carry", "两箱矿泉水搬上楼")
    door.report_urgent(db, actor, hid, "老人发烧39度", "13800138000")
    door.propose_update(db, actor, hid, occupants=4, living="女儿回来了")
    db.close()
    return demo_path, hid


def test_captain_sees_and_moves_household_requests(asked):
    path, hid = asked
    at = app_as(path, "captain01")
    assert not at.exception
    shown = texts(at)
    assert "住户申请" in shown and "两箱矿泉水搬上楼" in shown and "老人发烧39度" in shown
    assert "住户报告的紧急情况" in at.subheader[0].value  # someone unwell: on top, before the to-do
    take = next(b for b in at.button if b.key and b.key.startswith("door_staff_") and b.key.endswith("_in_progress"))
    take.click().run()
    assert not at.exception
    # the list is redrawn at once: the request now offers "done", no longer "take"
    keys = [b.key for b in at.button if b.key and b.key.startswith("door_staff_")]
    assert not [k for k in keys if k.endswith("_in_progress")] and [k for k in keys if k.endswith("_done")]
    db = Database.open(path)
    assert db.scalar("SELECT status FROM door_requests WHERE kind = 'help' AND household_id = ?", [hid]) == "in_progress"
    db.close()


def test_captain_passes_door_medicine_to_the_clinic(asked):
    path, hid = asked
    db = Database.open(path)
    actor = door.open_link(db, door.reissue(db, access.SYSTEM, hid))
    oid = door.request_medicine(db, actor, hid, "胰岛素 诺和锐", "urgent", "13800138000")
    db.close()
    at = app_as(path, "captain01")
    at.button(key=f"door_med_ok_{oid}").click().run()
    assert not at.exception
    assert not [b for b in at.button if b.key == f"door_med_ok_{oid}"]  # redrawn at once: passed on


def test_other_units_captain_sees_none_of_it(asked):
    path, _hid = asked
    shown = texts(app_as(path, "captain02"))
    assert "两箱矿泉水搬上楼" not in shown and "老人发烧39度" not in shown


def test_clinic_sees_urgent_reports_first(asked):
    path, _hid = asked
    at = app_as(path, "medic01")
    assert not at.exception
    assert "住户报告的紧急情况" in at.subheader[0].value
    assert "老人发烧39度" in " ".join(e.value for e in at.error)


def test_committee_counts_by_kind_and_state(asked):
    path, _hid = asked
    at = app_as(path, "committee")
    assert not at.exception
    assert "住户申请（按类型与状态）" in [e.label for e in at.expander]


def test_captain_confirms_a_proposal_on_households(asked):
    path, hid = asked
    at = app_as(path, "captain01", page="households")
    assert not at.exception
    assert "女儿回来了" in texts(at)
    confirm = next(b for b in at.button if b.key and b.key.startswith("door_prop_") and b.key.endswith("_1"))
    confirm.click().run()
    assert not at.exception
    db = Database.open(path)
    assert db.scalar("SELECT occupants FROM households WHERE id = ?", [hid]) == 4
    assert db.scalar("SELECT status FROM door_requests WHERE kind = 'update'") == "confirmed"
    db.close()


def test_captain_prints_cards_and_old_links_stop(asked):
    path, hid = asked
    db = Database.open(path)
    old = door.reissue(db, access.SYSTEM, hid)
    db.close()
    at = app_as(path, "captain01", page="households")
    assert at.button(key="door_cards_print").disabled  # nothing is replaced by one stray tap
    at.checkbox(key="door_cards_sure").check().run()
    at.button(key="door_cards_print").click().run()
    assert not at.exception
    assert "户新门卡" in texts(at)
    db = Database.open(path)
    assert door.open_link(db, old) is None
    db.close()
