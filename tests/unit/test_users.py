"""Accounts: throttling with a time window, cookie revocation, temporary passwords, deactivation."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt
import pytest
import streamlit as st

from qinyuan import clock, logins, users
from qinyuan.errors import InvalidInput, PermissionDenied, StaleEdit
from qinyuan.ui import auth

KEY = secrets.token_hex(32)
PASSWORD = "qinyuan2022"


# -- throttling: tests/unit/test_logins.py ----------------------------------------------------------
def test_failures_and_successes_are_audited(db):
    logins.attempt(db, "member002", "wrong-password", "198.51.100.7")
    logins.attempt(db, "member002", PASSWORD, "198.51.100.7")
    actions = db.rows("SELECT action, entity_id FROM audit_log WHERE action LIKE 'login.%' ORDER BY id")
    assert actions == [("login.failed", "member002"), ("login.ok", "member002")]


# -- revocation -------------------------------------------------------------------------------------
def _cookie(db, username: str, hours: float = 12) -> dict:
    """The payload of the cookie the app sets for a user logged in now."""
    st.session_state["username"] = username
    model = auth.make_authenticator(db, KEY, hours).cookie_controller.cookie_model
    model.exp_date = model._set_exp_date()
    return jwt.decode(model._token_encode(), KEY, algorithms=["HS256"])


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setattr(st, "session_state", {})
    monkeypatch.setenv("QINYUAN_COOKIE_HOURS", "12")


@pytest.mark.usefixtures("session")
def test_logout_revokes_cookies_issued_before(db, fake_clock):
    token = _cookie(db, "captain01")
    fake_clock(seconds=5)
    assert not auth.token_refused(db, token)
    users.revoke_tokens(db, "captain01", "logout")
    assert auth.token_refused(db, token)
    fake_clock(seconds=5)
    assert not auth.token_refused(db, _cookie(db, "captain01"))  # a new login works


@pytest.mark.usefixtures("session")
def test_a_revoked_cookie_stays_refused_when_the_cookie_lifetime_is_lowered(db, fake_clock, monkeypatch):
    """Regression: the issue time was derived as exp_date - cookie_hours, so lowering cookie_hours
    (12 -> 1) made a cookie issued before a logout look issued after it, and it worked again."""
    token = _cookie(db, "captain01", hours=12)
    fake_clock(minutes=30)
    users.revoke_tokens(db, "captain01", "logout")
    assert auth.token_refused(db, token)
    monkeypatch.setenv("QINYUAN_COOKIE_HOURS", "1")
    assert auth.token_refused(db, token)


@pytest.mark.usefixtures("session")
def test_a_cookie_without_our_issue_time_is_refused(db):
    legacy = {"username": "captain01", "exp_date": (clock.real_now() + timedelta(hours=12)).timestamp()}
    assert auth.token_refused(db, legacy)


@pytest.mark.usefixtures("session")
def test_password_change_revokes_and_clears_the_forced_change(db, fake_clock, as_user):
    committee = as_user("committee")
    temp = users.reset_password(db, committee, "member003")
    assert users.account(db, "member003")["must_change_password"]
    assert users.check_password(temp, users.account(db, "member003")["password_hash"])
    assert not users.check_password(PASSWORD, users.account(db, "member003")["password_hash"])
    fake_clock(seconds=2)
    token = _cookie(db, "member003")
    fake_clock(seconds=2)
    with pytest.raises(InvalidInput, match="error.password_wrong"):
        users.change_password(db, "member003", "not-it", "new-password-1")
    with pytest.raises(InvalidInput, match="error.password_short"):
        users.change_password(db, "member003", temp, "short")
    with pytest.raises(InvalidInput, match="error.password_same"):
        users.change_password(db, "member003", temp, temp)
    assert not auth.token_refused(db, token)
    users.change_password(db, "member003", temp, "new-password-1")
    account = users.account(db, "member003")
    assert not account["must_change_password"]
    assert users.check_password("new-password-1", account["password_hash"])
    assert auth.token_refused(db, token)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'user.change_password' AND entity_id = 'member003'") == 1


@pytest.mark.usefixtures("session")
def test_reset_password_revokes_existing_cookies(db, fake_clock, as_user):
    token = _cookie(db, "captain05")
    fake_clock(seconds=1)
    users.reset_password(db, as_user("committee"), "captain05")
    assert auth.token_refused(db, token)


# -- temporary passwords and account management ------------------------------------------------
def test_created_account_has_a_temporary_password_and_team_units(db, as_user):
    committee = as_user("committee")
    temp = users.create_user(db, committee, "Captain99", "新队长", "captain", team_id=7)
    assert len(temp) >= 12
    account = users.account(db, "captain99")
    assert account["must_change_password"] and account["active"]
    assert temp not in account["password_hash"] and users.check_password(temp, account["password_hash"])
    actor = users.actor_for(db, "captain99")
    assert actor.role == "captain" and actor.unit_ids == frozenset({7})
    audit = db.dicts("SELECT after FROM audit_log WHERE action = 'user.create' AND entity_id = 'captain99'")
    assert audit and "password_hash" not in audit[0]["after"] and temp not in audit[0]["after"]
    with pytest.raises(InvalidInput, match="error.username_taken"):
        users.create_user(db, committee, "captain99", "x", "captain", team_id=7)
    with pytest.raises(InvalidInput, match="error.team_required"):
        users.create_user(db, committee, "member999", "x", "member")
    with pytest.raises(InvalidInput, match="error.username_format"):
        users.create_user(db, committee, "9 bad", "x", "medic")
    with pytest.raises(InvalidInput, match="error.team_unknown"):
        users.create_user(db, committee, "member998", "x", "member", team_id=999)
    assert users.account(db, "member998") is None


def test_only_committee_manages_accounts(db, as_user):
    for name in ("captain01", "member001", "medic01", "logistics01"):
        actor = as_user(name)
        with pytest.raises(PermissionDenied):
            users.create_user(db, actor, "sneaky", "x", "committee")
        with pytest.raises(PermissionDenied):
            users.reset_password(db, actor, "committee")
        with pytest.raises(PermissionDenied):
            users.update_user(db, actor, "captain02", active=False)
        with pytest.raises(PermissionDenied):
            users.audit_log(db, actor)
    assert users.account(db, "sneaky") is None


@pytest.mark.usefixtures("session")
def test_deactivation_ends_logins_and_reactivation_restores(db, fake_clock, as_user):
    committee = as_user("committee")
    token = _cookie(db, "member010")
    fake_clock(seconds=1)
    version = users.account(db, "member010")["version"]
    users.update_user(db, committee, "member010", active=False, expected_version=version)
    assert users.actor_for(db, "member010") is None
    assert "member010" not in users.credentials(db)["usernames"]
    assert auth.token_refused(db, token)
    with pytest.raises(StaleEdit):
        users.update_user(db, committee, "member010", active=True, expected_version=version)
    users.update_user(db, committee, "member010", active=True)
    assert users.actor_for(db, "member010") is not None
    assert auth.token_refused(db, token)  # the old cookie stays dead
    with pytest.raises(InvalidInput, match="error.self_deactivate"):
        users.update_user(db, committee, "committee", active=False)


def test_role_and_team_changes_move_the_scope(db, as_user):
    committee = as_user("committee")
    users.update_user(db, committee, "member001", team_id=3)
    assert users.actor_for(db, "member001").unit_ids == frozenset({3})
    users.update_user(db, committee, "member001", role="captain")
    actor = users.actor_for(db, "member001")
    assert actor.role == "captain" and actor.unit_ids == frozenset({3})
    users.update_user(db, committee, "member001", role="medic", team_id=None)
    assert users.actor_for(db, "member001").scope() is None
    with pytest.raises(InvalidInput, match="error.team_required"):
        users.update_user(db, committee, "member001", role="member")
    with pytest.raises(InvalidInput, match="admin.error_self_role"):
        users.update_user(db, committee, "committee", role="medic")
    n = db.scalar("SELECT count(*) FROM audit_log WHERE action = 'user.update' AND entity_id = 'member001'")
    assert n == 3


def test_temporary_passwords_are_random_and_easy_to_read_out():
    seen = {users.temporary_password() for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p) == 12 and not set(p) & set("0O1lI-_") for p in seen)
    users.validate_password(next(iter(seen)))  # acceptable as a password


def test_reset_password_lifts_a_login_lock(db, as_user):
    for _ in range(5):
        logins.attempt(db, "captain11", "wrong-password", "203.0.113.66")
    assert logins.attempt(db, "captain11", PASSWORD, "203.0.113.66").throttled
    temp = users.reset_password(db, as_user("committee"), "captain11")
    assert logins.attempt(db, "captain11", temp, "203.0.113.66").ok


def test_a_compound_wide_role_has_no_team(db, as_user):
    """The rule lived in the admin page: the service stored a team for a medic (issue 18 item 4)."""
    committee = as_user("committee")
    users.create_user(db, committee, "medic77", "新医生", "medic", team_id=7)
    assert users.account(db, "medic77")["team_id"] is None
    users.update_user(db, committee, "member001", role="logistics")  # the member's team is not kept
    assert users.account(db, "member001")["team_id"] is None
    users.update_user(db, committee, "member001", team_id=3)  # nor can one be given afterwards
    assert users.account(db, "member001")["team_id"] is None
    users.update_user(db, committee, "member001", role="member", team_id=3)
    assert users.account(db, "member001")["team_id"] == 3
