"""AppTest of the household's door page: every door action, the neutral page, no staff menu."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from qinyuan import access, door
from qinyuan.db import Database

from .helpers import ROOT, L, texts


@pytest.fixture
def linked(demo_path):
    """(path, household id, token): a household of unit 1 with a fresh link, a pending resident this round."""
    db = Database.open(demo_path)
    hid = db.scalar("""SELECT min(h.id) FROM households h JOIN residents r ON r.household_id = h.id
                       JOIN test_results tr ON tr.resident_id = r.id
                       WHERE h.unit_id = 1 AND tr.status = 'pending' AND tr.round_id =
                             (SELECT max(id) FROM test_rounds WHERE status = 'active')""")
    token = door.reissue(db, access.SYSTEM, hid)
    db.close()
    return demo_path, hid, token


def door_app(path: str, token: str | None, lang: str = "zh") -> AppTest:
    os.environ["QINYUAN_DB"] = path
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params["lang"] = lang
    if token is not None:
        at.query_params["k"] = token
    at.run()
    return at


def _db(path):
    return Database.open(path)


def test_door_shows_only_the_household_without_login_or_menu(linked):
    path, hid, token = linked
    at = door_app(path, token)
    assert not at.exception
    shown = texts(at)
    db = _db(path)
    room = db.scalar("SELECT room FROM households WHERE id = ?", [hid])
    full_names = [r[0] for r in db.rows("SELECT name FROM residents WHERE household_id = ? AND active", [hid])]
    db.close()
    assert room in shown and "第" in shown
    assert not any(name in shown for name in full_names if len(name) > 1), "full names shown"
    assert not at.sidebar.button and "login" not in shown.lower()
    assert not [f for f in at.text_input if f.label in (L("login.username"), L("login.username", "en"))]


@pytest.mark.parametrize("token", ["", "x" * 30, "<script>alert(1)</script>", "a" * 200])
def test_bad_links_get_the_same_neutral_page(linked, token):
    path, _hid, _good = linked
    at = door_app(path, token)
    assert not at.exception
    assert at.subheader[0].value.endswith("链接无效")
    assert len(at.expander) == 0 and "号楼" not in texts(at)


def test_page_script_opened_by_url_needs_only_the_link(linked):
    """pages/door.py served by its URL on a fresh server (before any st.navigation): no link, neutral page;
    with the link, the household; never a login or a staff menu."""
    path, hid, token = linked
    os.environ["QINYUAN_DB"] = path
    bare = AppTest.from_file(str(ROOT / "pages" / "door.py"), default_timeout=30)
    bare.run()
    assert bare.subheader[0].value.endswith("链接无效") and not bare.text_input
    linked_page = AppTest.from_file(str(ROOT / "pages" / "door.py"), default_timeout=30)
    linked_page.query_params["k"] = token
    linked_page.run()
    assert not linked_page.exception and "号楼" in linked_page.subheader[0].value


def test_reissued_card_shows_nothing(linked):
    path, hid, token = linked
    db = _db(path)
    door.reissue(db, access.SYSTEM, hid)
    db.close()
    at = door_app(path, token)
    assert at.subheader[0].value.endswith("链接无效")


def _submit(at, form_key):
    button = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{form_key}"))
    button.click().run()
    assert not at.exception


def test_request_medicine_is_an_online_order(linked):
    path, hid, token = linked
    at = door_app(path, token)
    at.text_area(key="door_med_items").input("胰岛素 诺和锐 3支")
    at.radio(key="door_med_urgency").set_value("critical")
    at.text_input(key="door_med_phone").input("13800138000")
    _submit(at, "door_medicine")
    assert "已提交" in texts(at) and "胰岛素" in texts(at)
    db = _db(path)
    row = db.one("SELECT channel, urgency, placed_by FROM medicine_orders WHERE household_id = ? ORDER BY id DESC LIMIT 1", [hid])
    db.close()
    assert row == ("online", "critical", f"household:{hid}")


def test_medicine_without_phone_gets_a_clear_message(linked):
    path, hid, token = linked
    at = door_app(path, token)
    at.text_area(key="door_med_items").input("阿莫西林")
    _submit(at, "door_medicine")
    assert "电话" in " ".join(e.value for e in at.error)


def test_urgent_help_is_an_emergency_case(linked):
    path, hid, token = linked
    at = door_app(path, token)
    assert "120" in texts(at)
    at.text_area(key="door_urgent_what").input("老人胸闷气短")
    at.text_input(key="door_urgent_phone").input("13800138000")
    _submit(at, "door_urgent")
    assert "已报告" in texts(at)
    db = _db(path)
    assert (
        db.scalar("SELECT reported_by FROM emergency_cases WHERE household_id = ? ORDER BY id DESC LIMIT 1", [hid])
        == f"household:{hid}"
    )
    db.close()


def test_help_request_and_cancel(linked):
    path, hid, token = linked
    at = door_app(path, token)
    at.radio(key="door_help_topic").set_value("rubbish")
    _submit(at, "door_help")
    assert "倒垃圾" in texts(at)
    cancel = next(b for b in at.button if b.key and b.key.startswith("door_cancel_help_"))
    cancel.click().run()
    assert not [b for b in at.button if b.key == cancel.key]  # redrawn at once: nothing left to cancel
    db = _db(path)
    assert db.scalar("SELECT status FROM door_requests WHERE household_id = ? ORDER BY id DESC LIMIT 1", [hid]) == "cancelled"
    db.close()


def test_away_and_home_sampling_reach_the_captain(linked):
    path, hid, token = linked
    at = door_app(path, token)
    button = next(b for b in at.button if b.key and b.key.startswith("door_away_"))
    button.click().run()
    assert not at.exception
    db = _db(path)
    assert db.scalar("SELECT kind FROM door_requests WHERE household_id = ?", [hid]) == "away"
    db.close()
    assert any(b.key and b.key.startswith("door_home_sampling_") for b in at.button)


def test_grocery_order_from_the_offer(linked):
    path, hid, token = linked
    at = door_app(path, token)
    at.number_input[0].set_value(2)
    _submit(at, "door_grocery")
    db = _db(path)
    row = db.one("SELECT items, created_by FROM grocery_orders WHERE household_id = ? ORDER BY id DESC LIMIT 1", [hid])
    db.close()
    assert row[1] == f"household:{hid}" and "×2" in row[0]


def test_update_is_a_proposal_not_a_ledger_change(linked):
    path, hid, token = linked
    db = _db(path)
    before = db.one("SELECT occupants, version FROM households WHERE id = ?", [hid])
    db.close()
    at = door_app(path, token)
    at.number_input(key="door_upd_occupants").set_value(5)
    at.text_area(key="door_upd_living").input("父母、我和孩子")
    _submit(at, "door_update")
    assert "等待队长确认" in texts(at)
    db = _db(path)
    assert db.one("SELECT occupants, version FROM households WHERE id = ?", [hid]) == before
    assert db.scalar("SELECT kind FROM door_requests WHERE household_id = ?", [hid]) == "update"
    db.close()


def test_text_is_not_rendered_as_markdown(linked):
    path, hid, token = linked
    at = door_app(path, token)
    at.radio(key="door_help_topic").set_value("question")
    at.text_area(key="door_help_detail").input("**bold** [x](http://evil)")
    _submit(at, "door_help")
    shown = [m.value for m in at.markdown if "bold" in m.value]
    assert shown and all("\\*\\*bold\\*\\*" in v and "\\[x\\]" in v for v in shown)


def test_english(linked):
    path, _hid, token = linked
    at = door_app(path, token, lang="en")
    assert "Testing round" in texts(at) and "Ambulance" in texts(at)
