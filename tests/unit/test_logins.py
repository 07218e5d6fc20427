"""Login throttling (issue 14): an attacker cannot lock a user out, bursts cannot pass the limit, the
password rules, forged cookies, the dummy hash for unknown names, bounded audit rows, weak cookie keys."""

from __future__ import annotations

import contextlib
import secrets
import threading

import bcrypt
import jwt
import pytest
import streamlit as st

from qinyuan import logins, users
from qinyuan.db import Database, Tx
from qinyuan.errors import InvalidInput, NotFound, PermissionDenied
from qinyuan.ui import auth
from tests.support.threads import run_together

KEY = secrets.token_hex(32)
PASSWORD = "qinyuan2022"
ATTACKER, HOME = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def form(db, monkeypatch):
    """The login form's submit as the app wires it (auth wraps the library), from a chosen client."""
    monkeypatch.setattr(st, "session_state", {})
    where = {"client": ATTACKER}
    monkeypatch.setattr(auth, "client_address", lambda: where["client"], raising=False)
    login = auth.make_authenticator(db, KEY, 12).authentication_controller.login

    def submit(username: str, password: str, client: str = ATTACKER):
        where["client"] = client
        return login(username, password)

    return submit


class SlowBcrypt:
    """bcrypt.checkpw that holds every wrong password until released, so a burst is truly simultaneous."""

    def __init__(self, monkeypatch):
        self.real = bcrypt.checkpw
        self.entered = 0
        self.finished = 0
        self.lock = threading.Condition()
        self.release = threading.Event()
        monkeypatch.setattr(bcrypt, "checkpw", self)

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        if password != PASSWORD.encode():
            with self.lock:
                self.entered += 1
                self.lock.notify_all()
            self.release.wait(30)
        return self.real(password, hashed)

    def wait_until(self, condition, timeout: float = 30) -> bool:
        with self.lock:
            return self.lock.wait_for(condition, timeout)


def _burst(submit, n: int, username: str, password: str, slow: SlowBcrypt) -> tuple[list, list[threading.Thread]]:
    results: list = []

    def one():
        outcome = submit(username, password)
        with slow.lock:
            results.append(outcome)
            slow.finished += 1
            slow.lock.notify_all()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    return results, threads


# -- item 1: nobody can lock a user out --------------------------------------------------------------
def test_an_attacker_from_one_client_cannot_lock_the_real_user_out(form):
    for _ in range(30):
        assert not form("committee", "guess-" + secrets.token_hex(3))
    assert st.session_state["_qy_login_msg"][0] == "login.locked"
    assert not form("committee", PASSWORD)  # from the attacker's client even the right one waits
    assert form("committee", PASSWORD, client=HOME)  # the real user, elsewhere, gets in
    assert st.session_state["authentication_status"] is True and st.session_state["username"] == "committee"


def test_the_wait_starts_after_five_failures_and_doubles(db, fake_clock):
    for left in (4, 3, 2, 1):
        outcome = logins.attempt(db, "captain01", "wrong-password", ATTACKER)
        assert (outcome.ok, outcome.left, outcome.wait) == (False, left, 0)
    outcome = logins.attempt(db, "captain01", "wrong-password", ATTACKER)
    assert outcome.wait == 30 and not outcome.throttled
    refused = logins.attempt(db, "captain01", PASSWORD, ATTACKER)
    assert refused.throttled and refused.wait == 30 and not refused.ok
    fake_clock(seconds=31)
    assert logins.attempt(db, "captain01", "wrong-password", ATTACKER).wait == 60
    fake_clock(seconds=61)
    assert logins.attempt(db, "captain01", "wrong-password", ATTACKER).wait == 120
    fake_clock(seconds=121)
    assert logins.attempt(db, "captain01", PASSWORD, ATTACKER).ok  # the waiting passed: the right one works
    assert logins.attempt(db, "captain01", "wrong-password", ATTACKER).left == 4  # and the count starts again


def test_waits_are_capped_at_the_window_and_old_failures_are_forgotten(db, fake_clock):
    throttle = logins.Throttle()
    assert throttle.delay(4, 5) is None
    assert [throttle.delay(n, 5).total_seconds() for n in range(5, 12)] == [30, 60, 120, 240, 480, 900, 900]
    for _ in range(5):
        logins.attempt(db, "medic01", "wrong-password", ATTACKER)
    fake_clock(minutes=15, seconds=1)
    assert logins.attempt(db, "medic01", "wrong-password", ATTACKER).left == 4
    assert db.scalar("SELECT count(*) FROM login_failures") == 1  # the old ones were purged


def test_password_spraying_from_one_client_is_stopped(db):
    names = [f"captain{n:02d}" for n in range(1, 41)]
    checked = [logins.attempt(db, name, "summer2022", ATTACKER) for name in names]
    assert sum(not o.throttled for o in checked) == 20  # the client's limit, whatever the usernames
    assert all(o.throttled for o in checked[21:])
    assert logins.attempt(db, "captain40", PASSWORD, HOME).ok  # other clients are not affected


def test_the_numbers_are_settings(db):
    db.write(
        None,
        lambda tx: (
            tx.set_setting("login_max_failures", "2"),
            tx.set_setting("login_delay_seconds", "7"),
            tx.audit("settings", "settings", "x"),
        ),
    )
    logins.attempt(db, "medic01", "wrong-password", ATTACKER)
    assert logins.attempt(db, "medic01", "wrong-password", ATTACKER).wait == 7


# -- item 4: the check and the count are one step ---------------------------------------------------
def test_25_simultaneous_submits_check_no_more_than_the_limit(db, form, monkeypatch):
    slow = SlowBcrypt(monkeypatch)
    results, threads = _burst(form, 25, "committee", "wrong-password", slow)
    assert slow.wait_until(lambda: slow.entered + slow.finished >= 25)
    slow.release.set()
    for thread in threads:
        thread.join(30)
    assert slow.entered == 5  # five passwords were looked at; twenty were refused before bcrypt
    assert results.count(False) == 25
    assert db.scalar("SELECT count(*) FROM login_failures WHERE username = 'committee'") == 5


def test_the_right_password_is_refused_while_a_burst_has_used_up_the_limit(form, monkeypatch):
    slow = SlowBcrypt(monkeypatch)
    _, threads = _burst(form, 6, "committee", "wrong-password", slow)
    assert slow.wait_until(lambda: slow.entered + slow.finished >= 6 or slow.entered >= 6, timeout=30)
    try:
        assert not form("committee", PASSWORD)  # five wrong ones are still being checked: this one waits
    finally:
        slow.release.set()
        for thread in threads:
            thread.join(30)
    assert form("committee", PASSWORD, client=HOME)


def test_concurrent_claims_from_threads_on_the_service(db, monkeypatch):
    """Many threads straight into the service: as many checks as the limit, the rest refused."""
    checks = []
    real = users.check_password
    monkeypatch.setattr(users, "check_password", lambda p, h: checks.append(1) or real(p, h))
    outcomes: list = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(logins.attempt(db, "captain02", "nope-nope", ATTACKER)))
        for _ in range(25)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 25 and len(checks) == 5
    assert sum(o.throttled for o in outcomes) == 20


@pytest.mark.postgres_only  # two app processes can share a PostgreSQL database; a DuckDB file has one
def test_two_replicas_on_one_server_check_no_more_than_the_limit_together(db, demo_path, monkeypatch):
    """Two app processes (two Database objects on one PostgreSQL database: own pools, own claim locks) take one
    client's burst. Each claim of one replica meets a claim of the other between its count and its insert
    (a barrier), the moment where both would count the same rows: still five passwords are checked in all."""
    other = Database.open(demo_path)
    checks = []
    real_check, real_wait = users.check_password, logins._wait
    monkeypatch.setattr(users, "check_password", lambda p, h: checks.append(1) or real_check(p, h))
    meet = threading.Barrier(2, timeout=3)  # broken for good once a replica has to wait for the other's claim

    def wait_then_meet(reader, *args):
        found = real_wait(reader, *args)
        if isinstance(reader, Tx):
            with contextlib.suppress(threading.BrokenBarrierError):
                meet.wait()
        return found

    monkeypatch.setattr(logins, "_wait", wait_then_meet)
    outcomes: list = []
    try:
        run_together(
            [
                lambda r=replica: outcomes.append(logins.attempt(r, "captain02", "nope-nope", ATTACKER))
                for _ in range(12)
                for replica in (db, other)
            ]
        )
    finally:
        other.close()
    assert len(outcomes) == 24 and len(checks) == 5
    assert db.scalar("SELECT count(*) FROM login_failures WHERE username = 'captain02'") == 5


# -- item 6: passwords ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "new,key",
    [
        (" padded-pass-9", "error.password_edge_space"),
        ("padded-pass-9 ", "error.password_edge_space"),
        (" " * 8, "error.password_edge_space"),
        ("沁园" * 13, "error.password_long"),  # 26 characters, 78 bytes: more than bcrypt reads
        ("password", "error.password_common"),
        ("12345678", "error.password_common"),
        ("Password1", "error.password_common"),
        ("aaaaaaaaaa", "error.password_common"),
        ("member003", "error.password_username"),
        ("my-member003-pw", "error.password_username"),
    ],
)
def test_a_new_password_is_refused_with_a_clear_reason(db, new, key):
    with pytest.raises(InvalidInput, match=key):
        users.change_password(db, "member003", PASSWORD, new)
    assert users.check_password(PASSWORD, users.account(db, "member003")["password_hash"])


def test_a_long_chinese_password_that_fits_is_accepted_and_logs_in(db):
    new = "沁园红先锋队守护每一户人家平安过冬"  # 17 characters, 51 bytes
    users.change_password(db, "member004", PASSWORD, new)
    assert logins.attempt(db, "member004", new, HOME).ok


def test_spaces_at_the_ends_are_treated_alike_at_change_and_login(db):
    users.change_password(db, "member005", f" {PASSWORD} ", "new-secret-42")  # the old one as typed with spaces
    assert logins.attempt(db, "member005", "  new-secret-42 ", HOME).ok


def test_a_too_long_password_at_login_is_a_message_not_a_crash(db, form):
    assert not form("committee", "沁" * 25)
    assert st.session_state["_qy_login_msg"] == ("error.password_long", {})
    assert db.scalar("SELECT count(*) FROM login_failures") == 0


# -- low items -------------------------------------------------------------------------------------------
def _forged(payload: dict, key: str, algorithm: str) -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        _forged({"username": "committee", "exp_date": 4e9, "issued": 1e9}, "", "none"),
        _forged({"username": "committee", "exp_date": 4e9, "issued": 1e9}, KEY + KEY, "HS512"),
        _forged({"username": "committee"}, KEY, "HS256"),  # our key, but no expiry
        _forged({"username": ["committee"], "exp_date": 4e9}, KEY, "HS256"),
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        "",
    ],
)
def test_a_forged_or_malformed_cookie_is_no_cookie(db, monkeypatch, token):
    monkeypatch.setattr(st, "session_state", {"logout": None})
    model = auth.make_authenticator(db, KEY, 12).cookie_controller.cookie_model
    model.token = token
    assert model._token_decode() is False


def test_an_unknown_username_costs_the_same_bcrypt_as_a_known_one(db, form, monkeypatch):
    seen = []
    real = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda p, h: seen.append(h) or real(p, h))
    assert not form("nobody-here", "whatever-pw")
    assert len(seen) == 1  # the dummy hash was compared
    stored = users.account(db, "committee")["password_hash"].encode()
    assert seen[0][:7] == stored[:7]  # same algorithm and cost
    assert not form("committee", "whatever-pw")
    assert len(seen) == 2


def test_failed_logins_of_unknown_names_add_one_audit_row_per_client_and_window(db, form, fake_clock):
    for n in range(15):
        form(f"nobody{n}", "whatever-pw")
    rows = db.rows("SELECT action, entity_id FROM audit_log WHERE action LIKE 'login.failed%'")
    assert rows == [("login.failed_unknown", ATTACKER)]
    form("nobody-else", "whatever-pw", client=HOME)
    fake_clock(minutes=16)
    form("nobody-later", "whatever-pw")
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'login.failed_unknown'") == 3
    form("captain03", "whatever-pw")  # a real account's failure is audited each time, with its client
    row = db.one("SELECT entity_id, after FROM audit_log WHERE action = 'login.failed'")
    assert row[0] == "captain03" and ATTACKER in row[1]


def test_unlock_forgets_the_failures_and_is_audited(db, as_user):
    for client in (ATTACKER, HOME):
        for _ in range(6):
            logins.attempt(db, "captain09", "wrong-password", client)
    assert logins.attempt(db, "captain09", PASSWORD, ATTACKER).throttled
    committee = as_user("committee")
    assert {r["client"] for r in logins.throttled(db, committee)} == {ATTACKER, HOME}
    assert logins.unlock(db, committee, "captain09") == 10
    assert logins.attempt(db, "captain09", PASSWORD, ATTACKER).ok
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'login.unlock' AND entity_id = 'captain09'") == 1
    with pytest.raises(NotFound):
        logins.unlock(db, committee, "nobody")
    with pytest.raises(PermissionDenied):
        logins.unlock(db, as_user("captain01"), "captain09")


@pytest.mark.parametrize(
    "key",
    [
        "a" * 32,
        " " * 40,
        "test-cookie-key-" + "x" * 40,
        "bench-cookie-key-" + "b" * 40,
        users.TEMP_ALPHABET,  # random-looking, but written in qinyuan/users.py
    ],
)
def test_weak_or_published_cookie_keys_are_refused(monkeypatch, key):
    auth._key_weak.cache_clear()
    monkeypatch.setenv("QINYUAN_COOKIE_KEY", key)
    with pytest.raises(auth.ConfigError):
        auth.cookie_key()


def test_a_generated_cookie_key_is_accepted(monkeypatch):
    key = secrets.token_hex(32)
    monkeypatch.setenv("QINYUAN_COOKIE_KEY", key)
    assert auth.cookie_key() == key
