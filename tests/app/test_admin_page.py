"""The admin page (committee): accounts, temporary passwords, the audit log; the sidebar password change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qinyuan import logins, users
from qinyuan.db import Database
from qinyuan.ui import authlib

from .helpers import L, app_as, texts

ROOT = Path(__file__).resolve().parents[2]


def _db(path: str) -> Database:
    """The app's own process-wide connection (DuckDB lets one process hold the file once)."""
    from qinyuan.ui.common import handle

    return handle(path)


def _codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_renders_in_both_languages(demo_path, lang):
    at = app_as(demo_path, "committee", page="admin", lang=lang)
    assert not at.exception
    assert L("page.admin", lang) in texts(at)
    assert L("admin.tab_audit", lang) in [t.label for t in at.tabs]
    assert not _codes(at)  # no password anywhere until one is made


def test_create_account_shows_the_temporary_password_once(demo_path):
    at = app_as(demo_path, "committee", page="admin")
    form = [w for w in at.text_input if w.form_id == "adm_create"]
    form[0].input("captain52")
    form[1].input("新队长")
    role, team = [s for s in at.selectbox if s.form_id == "adm_create"]
    role.set_value("captain")
    team.set_value(7)
    next(b for b in at.button if b.key.startswith("FormSubmitter:adm_create")).click().run()
    assert not at.exception and not at.error
    codes = _codes(at)
    assert len(codes) == 1
    db = _db(demo_path)
    account = users.account(db, "captain52")
    assert account["role"] == "captain" and account["team_id"] == 7 and account["must_change_password"]
    assert users.check_password(codes[0], account["password_hash"])
    assert users.actor_for(db, "captain52").unit_ids == frozenset({7})
    at.run()  # the next run no longer shows it
    assert not _codes(at)


def test_bad_new_account_gets_a_message_and_nothing_is_written(demo_path):
    at = app_as(demo_path, "committee", page="admin")
    form = [w for w in at.text_input if w.form_id == "adm_create"]
    form[0].input("member500")
    form[1].input("Someone")
    role, _team = [s for s in at.selectbox if s.form_id == "adm_create"]
    role.set_value("member")  # no team
    next(b for b in at.button if b.key.startswith("FormSubmitter:adm_create")).click().run()
    assert "队长和队员必须指定所属服务队。" in [e.value for e in at.error]
    assert users.account(_db(demo_path), "member500") is None


def test_reset_password_and_deactivate(demo_path):
    at = app_as(demo_path, "committee", page="admin")
    at.text_input(key="adm_q").input("captain03").run()
    assert at.selectbox(key="adm_pick").value == "captain03"
    at.button(key="adm_reset").click().run()
    assert not at.exception
    temp = _codes(at)
    assert len(temp) == 1
    db = _db(demo_path)
    assert users.check_password(temp[0], users.account(db, "captain03")["password_hash"])
    at.button(key="adm_deactivate").click().run()
    assert not at.exception and not at.error
    assert users.account(db, "captain03")["active"] is False
    assert users.actor_for(db, "captain03") is None
    at.button(key="adm_reactivate").click().run()
    assert users.account(db, "captain03")["active"] is True
    actions = [r[0] for r in db.rows("SELECT action FROM audit_log WHERE entity_id = 'captain03' ORDER BY id")]
    assert actions[-3:] == ["user.reset_password", "user.update", "user.update"]


def test_the_committee_sees_throttled_logins_and_unlocks_an_account(demo_path):
    db = _db(demo_path)
    for client in ("203.0.113.66", "198.51.100.7"):
        for _ in range(6):
            logins.attempt(db, "captain09", "wrong-password", client)
    assert logins.attempt(db, "captain09", "qinyuan2022", "203.0.113.66").throttled
    at = app_as(demo_path, "committee", page="admin")
    listed = [d.value for d in at.dataframe if "地址" in d.value.columns]
    assert listed and set(listed[0]["地址"]) == {"203.0.113.66", "198.51.100.7"}
    at.text_input(key="adm_q").input("captain09").run()
    assert any("10 次失败登录" in w.value and "2 个地址" in w.value for w in at.warning)
    at.button(key="adm_unlock_captain09").click().run()
    assert not at.exception and not at.error
    assert not [w for w in at.warning if "失败登录" in w.value]
    assert logins.attempt(db, "captain09", "qinyuan2022", "203.0.113.66").ok
    row = db.one("SELECT actor, before FROM audit_log WHERE action = 'login.unlock' AND entity_id = 'captain09'")
    assert row[0] == "committee" and '"failures": 10' in row[1]


def test_change_role_and_team(demo_path):
    at = app_as(demo_path, "committee", page="admin")
    at.text_input(key="adm_q").input("member001").run()
    role, team = [s for s in at.selectbox if s.form_id == "adm_edit_member001"]
    role.set_value("captain")
    team.set_value(5)
    next(b for b in at.button if b.key.startswith("FormSubmitter:adm_edit_member001")).click().run()
    assert not at.exception and not at.error
    actor = users.actor_for(_db(demo_path), "member001")
    assert actor.role == "captain" and actor.unit_ids == frozenset({5})


def test_audit_log_filters_by_user(demo_path):
    db = _db(demo_path)
    logins.attempt(db, "captain09", "wrong-password", "local")
    at = app_as(demo_path, "committee", page="admin")
    at.selectbox(key="adm_audit_user").set_value("system").run()
    frames = [d.value for d in at.dataframe]
    audit = frames[-1]
    assert len(audit) >= 1 and set(audit.iloc[:, 1]) == {"system"}
    at.selectbox(key="adm_audit_user").set_value(None).run()
    at.selectbox(key="adm_audit_entity").set_value("user").run()
    audit = [d.value for d in at.dataframe][-1]
    assert set(audit.iloc[:, 3]) == {"账号"}  # the record kind named, not its code
    at.button(key="adm_audit_csv_prepare").click().run()
    assert not at.exception


def test_audit_dates_filter_in_the_service(db, as_user):
    from datetime import date

    committee = as_user("committee")
    everything = users.audit_count(db, committee)
    assert everything > 0
    assert users.audit_count(db, committee, since=date(2022, 1, 10), until=date(2022, 1, 10)) == everything
    assert users.audit_count(db, committee, until=date(2022, 1, 9)) == 0
    assert users.audit_count(db, committee, since=date(2022, 1, 11)) == 0


def test_admin_page_opened_directly_by_a_captain_shows_no_accounts(demo_path):
    """The page guards itself even when reached without app.py's navigation."""
    os.environ["QINYUAN_DB"] = demo_path
    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "captain01"
    at.session_state["logout"] = None
    from datetime import datetime, timedelta

    at.session_state["_qy_issued_at"] = datetime.now().astimezone() + timedelta(seconds=1)
    at.run()
    assert not at.exception
    assert "您没有权限执行此操作。" in [e.value for e in at.error]
    assert not at.dataframe and not at.tabs


def _change(at: AppTest, old: str, new: str, again: str) -> AppTest:
    fields = [f for f in at.text_input if f.form_id == "password_change"]
    for field, value in zip(fields, (old, new, again), strict=True):
        field.input(value)
    next(b for b in at.button if b.form_id == "password_change").click().run()
    return at


def test_temporary_password_forces_a_change_first(demo_path):
    db = _db(demo_path)
    temp = users.reset_password(db, users.actor_for(db, "committee"), "member002")
    at = app_as(demo_path, "member002")
    assert not at.exception
    assert "首次登录请先修改临时密码。" in [i.value for i in at.info]
    assert not at.metric  # no data before the change
    _change(at, temp, "a-new-secret-1", "a-new-secret-2")
    assert "两次输入的新密码不一致。" in [e.value for e in at.error]
    _change(at, "wrong-old-pw", "a-new-secret-1", "a-new-secret-1")
    assert "当前密码不正确。" in [e.value for e in at.error]
    assert users.check_password(temp, users.account(db, "member002")["password_hash"])
    _change(at, temp, "a-new-secret-1", "a-new-secret-1")
    assert not at.exception
    account = users.account(db, "member002")
    assert users.check_password("a-new-secret-1", account["password_hash"]) and not account["must_change_password"]
    assert "用户名" in [w.label for w in at.text_input]  # back at the login form
    assert "密码已修改，请用新密码重新登录。" in texts(at)
    assert not at.metric


def test_bad_new_passwords_get_a_clear_message_not_a_crash(demo_path):
    db = _db(demo_path)
    temp = users.reset_password(db, users.actor_for(db, "committee"), "member006")
    at = app_as(demo_path, "member006")
    for new, said in (
        ("沁" * 25, "密码过长"),
        (" " * 8, "开头和结尾不能是空格"),
        ("12345678", "太常见"),
        ("member006!", "不能包含用户名"),
    ):
        _change(at, temp, new, new)
        assert not at.exception, new
        assert any(said in e.value for e in at.error), (new, [e.value for e in at.error])
    assert users.check_password(temp, users.account(db, "member006")["password_hash"])


def test_every_logged_in_user_has_a_change_password_entry(demo_path):
    for username in ("member001", "captain01", "medic01", "logistics01", "committee"):
        at = app_as(demo_path, username)
        keys = [f.key for f in at.sidebar.text_input]
        assert keys == ["password_change_sidebar_old", "password_change_sidebar_new", "password_change_sidebar_again"]


def test_no_widget_key_collides_with_the_login_library_state(demo_path):
    """Regression: the logout button had key 'logout', the library's own session key, so pressing
    'log out' raised StreamlitWidgetAlreadyInstantiatedError instead of logging out (the browser
    test tests/e2e/test_auth.py presses it; AppTest cannot press sidebar buttons of this app)."""
    reserved = authlib.SESSION_KEYS
    assert {"logout", "name", "username", "authentication_status", "email", "roles"} <= reserved
    for username in ("committee", "member001"):
        at = app_as(demo_path, username)
        keys = {w.key for kind in ("button", "text_input", "radio", "selectbox", "checkbox") for w in getattr(at, kind)}
        assert any(b.label == L("app.logout") for b in at.sidebar.button)
        assert not keys & reserved, keys & reserved


def test_backup_download_is_prepared_and_audited(demo_path):
    at = app_as(demo_path, "committee", page="admin")
    assert not at.get("download_button")  # nothing is built until asked
    at.button(key="adm_backup").click().run()
    assert not at.exception, at.exception
    buttons = at.get("download_button")
    infos = [i.value for i in at.info]
    try:
        import qinyuan.backup  # noqa: F401
    except ImportError:
        assert "本版本尚未提供备份功能。" in infos
        return
    assert len(buttons) == 1, infos
    db = _db(demo_path)
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'view.backup' AND actor = 'committee'") == 1


@pytest.mark.parametrize("key", ["short-key", "some_key", "x" * 31, "a" * 32, " " * 40, users.TEMP_ALPHABET])
def test_the_app_refuses_to_start_without_a_safe_cookie_key(demo_path, monkeypatch, key):
    monkeypatch.setenv("QINYUAN_COOKIE_KEY", key)
    at = app_as(demo_path, None)
    assert not at.exception
    assert any("Cookie 密钥" in e.value for e in at.error)
    assert not at.text_input and not at.metric
