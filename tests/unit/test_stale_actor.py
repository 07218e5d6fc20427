"""Issue 14 item 2: a write re-reads its actor inside the transaction, so an actor captured when a page
was drawn (a button callback's args) cannot write after deactivation, logout or a role change."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from qinyuan import access, clock, donations, i18n, users
from qinyuan.errors import PermissionDenied


def _session_actor(db, username):
    """What the login gate hands a page: the account as the database says, with its session's issue time."""
    return dataclasses.replace(users.actor_for(db, username), issued_at=clock.real_now() - timedelta(seconds=5))


def _waiting(db, unit_id):
    return db.scalar(
        """SELECT min(h.id) FROM households h WHERE h.unit_id = ? AND NOT EXISTS
                        (SELECT 1 FROM donation_deliveries d WHERE d.batch_id = 2 AND d.household_id = h.id)""",
        [unit_id],
    )


def _ticks_by(db, username):
    return db.scalar("SELECT count(*) FROM donation_deliveries WHERE delivered_by = ?", [username])


def test_a_deactivated_accounts_old_actor_writes_nothing(db, as_user):
    member = _session_actor(db, "member001")
    unit = sorted(member.unit_ids)[0]
    before = _ticks_by(db, "member001")
    users.update_user(db, as_user("committee"), "member001", active=False)
    for _ in range(3):  # the attack: many triggers in one message after the deactivation
        with pytest.raises(PermissionDenied) as caught:
            donations.tick(db, member, 2, _waiting(db, unit))
        assert caught.value.key == "error.session_ended"
    assert _ticks_by(db, "member001") == before
    assert "登录已失效" in i18n.error_text(caught.value, "zh")


def test_an_actor_built_without_a_session_is_also_refused_once_deactivated(db, as_user):
    member = as_user("member001")
    users.update_user(db, as_user("committee"), "member001", active=False)
    with pytest.raises(PermissionDenied):
        donations.tick(db, member, 2, _waiting(db, sorted(member.unit_ids)[0]))


def test_a_logged_out_session_cannot_write_but_a_new_login_can(db):
    member = _session_actor(db, "member001")
    unit = sorted(member.unit_ids)[0]
    users.revoke_tokens(db, "member001", "logout")
    with pytest.raises(PermissionDenied):
        donations.tick(db, member, 2, _waiting(db, unit))
    again = dataclasses.replace(member, issued_at=clock.real_now() + timedelta(seconds=1))
    assert donations.tick(db, again, 2, _waiting(db, unit)).ticked


def test_a_moved_members_old_actor_acts_with_the_new_scope(db, as_user):
    """Without a session time (code-built actor) the write still uses the team the database says now."""
    member = as_user("member001")
    old_unit = sorted(member.unit_ids)[0]
    users.update_user(db, as_user("committee"), "member001", team_id=3)
    with pytest.raises(PermissionDenied):
        donations.tick(db, member, 2, _waiting(db, old_unit))
    assert donations.tick(db, member, 2, _waiting(db, 3)).ticked


def test_set_up_actors_without_an_account_still_write(db):
    def fn(tx):
        tx.audit("test.setup", "settings", None)
        return tx.actor

    assert db.write(access.SYSTEM, fn) is access.SYSTEM
    assert db.write(None, fn) is None


def test_other_actor_kinds_get_their_own_hook(db, monkeypatch):
    seen = []
    monkeypatch.setitem(access._RELOAD, "household", lambda _tx, actor: seen.append(actor) or actor)
    door = access.Actor("household:1", "household", kind="household")

    def fn(tx):
        tx.audit("test.door", "households", 1)

    db.write(door, fn)
    assert seen == [door]
