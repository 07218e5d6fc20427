"""Issue 14 item 2 through the page: a button drawn before the account was deactivated writes nothing."""

from __future__ import annotations

from qinyuan import users
from qinyuan.ui.common import get_db

from .helpers import app_as


def test_a_tick_button_clicked_after_deactivation_writes_nothing(demo_path):
    at = app_as(demo_path, "member001", page="supplies")
    buttons = [b for b in at.button if b.key and b.key.startswith("qy_tick_2_") and not b.disabled]  # rooms still to tick
    assert buttons
    db = get_db()  # the app's own connection (one process holds the file)
    before = db.scalar("SELECT count(*) FROM donation_deliveries WHERE delivered_by = 'member001'")
    users.update_user(db, users.actor_for(db, "committee"), "member001", active=False)
    buttons[0].click().run()
    assert not at.exception
    assert db.scalar("SELECT count(*) FROM donation_deliveries WHERE delivered_by = 'member001'") == before
    assert not any("已登记送达" in s.value for s in at.success)
