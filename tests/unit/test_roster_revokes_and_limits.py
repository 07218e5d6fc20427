"""Issue 14, low items: roster paths end running logins like /admin does; text fields have length limits;
a full disk is a clear message, not a traceback."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from qinyuan import clock, groceries, teams, users
from qinyuan.db import Tx
from qinyuan.errors import InvalidInput, QinyuanError


def _volunteer(db, username):
    return users.account(db, username)["volunteer_id"]


def _version(db, volunteer_id):
    return db.scalar("SELECT version FROM volunteers WHERE id = ?", [volunteer_id])


@pytest.fixture
def issued():
    """When a cookie was issued: a second ago."""
    return clock.real_now() - timedelta(seconds=1)


def test_moving_a_member_ends_their_logins(db, as_user, issued):
    vid = _volunteer(db, "member001")
    assert not users.token_revoked(db, "member001", issued)
    teams.move_member(db, as_user("committee"), vid, 3, _version(db, vid))
    assert users.token_revoked(db, "member001", issued)


def test_making_a_captain_ends_both_accounts_logins(db, as_user, issued):
    vid = _volunteer(db, "member001")
    teams.make_captain(db, as_user("committee"), vid, _version(db, vid))
    assert users.account(db, "member001")["role"] == "captain"
    assert users.token_revoked(db, "member001", issued)
    assert users.token_revoked(db, "captain01", issued)  # the old captain, now a member


def test_a_reactivated_accounts_old_cookie_stays_dead(db, as_user, issued):
    vid = _volunteer(db, "member001")
    committee = as_user("committee")
    teams.deactivate(db, committee, vid, _version(db, vid))
    assert users.token_revoked(db, "member001", issued)
    users.update_user(db, committee, "member001", active=True)
    assert users.token_revoked(db, "member001", issued)


def test_department_display_name_and_supplier_contact_have_limits(db, as_user):
    committee = as_user("committee")
    vid = _volunteer(db, "member001")
    with pytest.raises(InvalidInput) as err:
        teams.update_contact(db, committee, vid, _version(db, vid), department="部" * 61)
    assert err.value.key == "safety.department_long"
    with pytest.raises(InvalidInput) as err:
        teams.add_member(db, committee, 1, "新人", department="x" * 61)
    assert err.value.key == "safety.department_long"
    with pytest.raises(InvalidInput) as err:
        users.update_user(db, committee, "member001", display_name="名" * 41)
    assert err.value.key == "safety.display_name_long"
    with pytest.raises(InvalidInput) as err:
        users.create_user(db, committee, "member999", "名" * 41, "member", team_id=1)
    assert err.value.key == "safety.display_name_long"
    for contact, phone, key in (("人" * 41, None, "safety.contact_long"), (None, "1" * 21, "safety.phone_long")):
        with pytest.raises(InvalidInput) as err:
            groceries.add_supplier(db, committee, "新供应商", contact, phone)
        assert err.value.key == key
    assert users.account(db, "member999") is None
    assert not db.scalar("SELECT count(*) FROM suppliers WHERE name = '新供应商'")
    teams.update_contact(db, committee, vid, _version(db, vid), department="部" * 60)  # at the limit: fine


def test_a_full_disk_is_a_clear_error(db, as_user, monkeypatch):
    def full(tx, *_args, **_kwargs):
        if tx.db.backend == "postgres":
            import psycopg

            raise psycopg.errors.DiskFull("could not extend file: No space left on device")
        raise duckdb.IOException('IO Error: Could not write file "qinyuan.duckdb.wal": No space left on device')

    monkeypatch.setattr(Tx, "audit", full)
    with pytest.raises(QinyuanError) as err:
        users.log_view(db, as_user("committee"), "database", "x", what="test")
    assert err.value.key == "safety.disk_full"
