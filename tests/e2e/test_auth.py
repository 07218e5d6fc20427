"""Login, logout, throttling and cookie revocation in real Chromium against a real `streamlit run`."""

from __future__ import annotations

import re
import shutil
import time
import urllib.request

import jwt
import pytest
from playwright.sync_api import Page, expect

from qinyuan.db import Database
from tests.support.server import Server

from .conftest import DEMO_PASSWORD, login, no_horizontal_scroll, screenshot, server_on_copy, wait_for_app

pytestmark = pytest.mark.e2e

PAGE_PATHS = ["/households", "/testing", "/roster", "/duty", "/medicine", "/emergencies", "/supplies", "/admin"]
COOKIE = "qinyuan_auth"
PHONE_NUMBER = re.compile(r"1[3-9]\d{9}|1[3-9]\d\*{4}\d{4}")


@pytest.fixture(scope="module")
def fresh_server(demo_template, tmp_path_factory):
    """A server nobody has visited yet: Streamlit still serves pages/ by URL before any st.navigation."""
    with server_on_copy(demo_template, tmp_path_factory, "e2e_fresh") as srv:
        yield srv


def _login_form_and_no_data(page: Page, lang: str = "zh") -> None:
    wait_for_app(page)
    labels = ("用户名", "密码") if lang == "zh" else ("Username", "Password")
    expect(page.get_by_label(labels[0], exact=True)).to_be_visible(timeout=20_000)
    expect(page.get_by_label(labels[1], exact=True)).to_be_visible()
    for testid in ("stMetric", "stDataFrame", "stTable", "stTabs"):
        expect(page.locator(f"[data-testid='{testid}']")).to_have_count(0)
    expect(page.locator("[data-testid='stSidebarNav']:visible")).to_have_count(0)
    body = page.locator("[data-testid='stApp']").inner_text()
    assert not PHONE_NUMBER.search(body), body[:500]
    assert "沁园红第" not in body  # no team, household or resident names


def _open_sidebar(page: Page) -> None:
    sidebar = page.locator("[data-testid='stSidebar']")
    if sidebar.count() and sidebar.get_attribute("data-collapsed") == "false":
        return
    page.locator("[data-testid='stExpandSidebarButton'], [data-testid='stSidebarCollapsedControl'] button").first.click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")


def _logout(page: Page) -> None:
    _open_sidebar(page)
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="退出登录").click()
    expect(page.get_by_label("用户名")).to_be_visible(timeout=20_000)


def _auth_cookie(page: Page, timeout: float = 20) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == COOKIE]
        if found:
            return found[0]
        time.sleep(0.25)
    raise AssertionError("the login cookie was never set")


def _with_cookie(browser, base_url: str, cookie: dict) -> Page:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(base_url + "/")
    wait_for_app(page)
    return page


def _logged_in(page: Page) -> bool:
    page.wait_for_timeout(500)
    wait_for_app(page)
    return page.get_by_label("用户名").count() == 0 and page.locator("[data-testid='stMetric']").count() > 0


def test_every_page_url_opened_first_shows_only_the_login(fresh_server, browser, playwright_instance):
    context = browser.new_context(**playwright_instance.devices["iPhone 13"])
    try:
        for path in PAGE_PATHS:
            page = context.new_page()
            page.goto(fresh_server.url + path)
            _login_form_and_no_data(page)
            page.close()
    finally:
        context.close()
    # the first login still works on this server, from a page URL
    context = browser.new_context(**playwright_instance.devices["iPhone 13"])
    try:
        page = context.new_page()
        login(page, fresh_server.url, "committee", path="/households")
        expect(page.get_by_role("heading", name="住户台账")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize(
    "username,sees,hidden",
    [
        ("member001", "值守排班", "账号与审计"),
        ("captain01", "住户台账", "账号与审计"),
        ("committee", "账号与审计", None),
    ],
)
def test_login_on_a_phone_and_logout(server, phone, username, sees, hidden):
    login(phone, server.url, username)
    expect(phone.locator("[data-testid='stMetric']").first).to_be_attached()
    assert no_horizontal_scroll(phone)
    _open_sidebar(phone)
    nav = phone.locator("[data-testid='stSidebarNav']")
    expect(nav).to_contain_text(sees)
    if hidden:
        expect(nav).not_to_contain_text(hidden)
    screenshot(phone, f"auth_{username}_phone_menu")
    _logout(phone)
    _login_form_and_no_data(phone)
    phone.goto(server.url + "/")  # a reload does not bring the session back
    _login_form_and_no_data(phone)


def test_a_member_cannot_open_admin_by_url(server, phone):
    login(phone, server.url, "member001")
    phone.goto(server.url + "/admin")
    wait_for_app(phone)
    phone.wait_for_timeout(500)
    body = phone.locator("[data-testid='stApp']").inner_text()
    assert "账号与审计" not in body and "审计日志" not in body
    screenshot(phone, "auth_member_admin_url_phone")
    expect(phone.get_by_label("用户名", exact=True)).to_have_count(0)  # still logged in (the cookie holds) ...
    expect(phone.get_by_role("heading", name="值守排班")).to_be_visible()  # ... and back on their own landing page


def _attempt(page: Page, username: str, password: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_five_wrong_passwords_pause_this_client_even_for_the_right_one(server, phone):
    phone.goto(server.url + "/?lang=zh")
    wait_for_app(phone)
    for left in (4, 3, 2, 1):  # each message differs, so each attempt is seen to be processed
        _attempt(phone, "captain07", "wrong-password")
        expect(phone.get_by_text(f"再错 {left} 次")).to_be_visible(timeout=20_000)
    _attempt(phone, "captain07", "wrong-password")
    expect(phone.get_by_text(re.compile("失败次数过多，请 30 秒后再试"))).to_be_visible(timeout=20_000)
    phone.reload()  # a fresh session, the right password: still locked
    wait_for_app(phone)
    _attempt(phone, "captain07", DEMO_PASSWORD)
    expect(phone.get_by_text(re.compile("已暂停登录"))).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    expect(phone.get_by_label("用户名")).to_be_visible()
    expect(phone.locator("[data-testid='stMetric']")).to_have_count(0)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "auth_locked_phone")
    # another username is not affected
    _attempt(phone, "captain08", DEMO_PASSWORD)
    expect(phone.get_by_label("用户名")).to_have_count(0, timeout=20_000)


def _copied_login_cookie(laptop, browser, url: str, username: str) -> dict:
    """Log in and copy the login cookie; control: the copy logs another browser in."""
    login(laptop, url, username)
    cookie = _auth_cookie(laptop)
    check = _with_cookie(browser, url, cookie)
    assert _logged_in(check), "control: the copied cookie must log in first"
    check.context.close()
    return cookie


def _cookie_refused(browser, url: str, cookie: dict) -> None:
    stale = _with_cookie(browser, url, cookie)
    try:
        _login_form_and_no_data(stale)
    finally:
        stale.context.close()


def test_an_old_cookie_stops_working_after_logout(server, browser, laptop):
    cookie = _copied_login_cookie(laptop, browser, server.url, "captain02")
    _logout(laptop)
    _cookie_refused(browser, server.url, cookie)


def test_an_old_cookie_stops_working_after_a_password_change(server, browser, laptop):
    cookie = _copied_login_cookie(laptop, browser, server.url, "captain04")
    _open_sidebar(laptop)
    sidebar = laptop.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("修改我的密码").click()
    sidebar.get_by_label("当前密码").fill(DEMO_PASSWORD)
    sidebar.get_by_label("新密码（至少 8 位）").fill("sidebar-new-pw-4")
    sidebar.get_by_label("再次输入新密码").fill("sidebar-new-pw-4")
    sidebar.get_by_role("button", name="保存").click()
    expect(laptop.get_by_text("密码已修改，请用新密码重新登录。")).to_be_visible(timeout=20_000)
    _login_form_and_no_data(laptop)
    _cookie_refused(browser, server.url, cookie)
    login(laptop, server.url, "captain04", password="sidebar-new-pw-4")  # the new password works


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_english_login_page(server, request, device):
    page = request.getfixturevalue(device)
    page.goto(server.url + "/?lang=en")
    _login_form_and_no_data(page, lang="en")
    expect(page.get_by_role("button", name="Login")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"auth_login_en_{device}")
    page.goto(server.url + "/")
    _login_form_and_no_data(page)
    screenshot(page, f"auth_login_zh_{device}")


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_admin_page_screens(server, request, device):
    page = request.getfixturevalue(device)
    login(page, server.url, "committee")
    page.goto(server.url + "/admin")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="账号与审计")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"admin_accounts_{device}")
    page.get_by_label("搜索账号").fill("captain03")
    page.get_by_label("搜索账号").press("Enter")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"\(captain03\)"))).to_be_visible()
    page.get_by_role("button", name="重置密码").click()
    wait_for_app(page)
    code = page.locator("[data-testid='stCode']")
    expect(code).to_have_count(1, timeout=20_000)
    assert len(code.inner_text().strip()) >= 12
    code.scroll_into_view_if_needed()
    assert no_horizontal_scroll(page)
    screenshot(page, f"admin_reset_{device}")
    page.get_by_role("tab", name="审计日志").click()
    wait_for_app(page)
    expect(page.locator("[data-testid='stDataFrame']").last).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"admin_audit_{device}")


@pytest.mark.parametrize("alg", ["none", "HS512"])
def test_a_forged_cookie_is_no_cookie(server, browser, alg):
    """A cookie signed with alg none or HS512 used to crash the page for that browser."""
    now = time.time()
    token = jwt.encode(
        {"username": "committee", "exp_date": now + 3600, "issued": now}, "" if alg == "none" else "k" * 64, algorithm=alg
    )
    page = _with_cookie(browser, server.url, {"name": COOKIE, "value": token, "url": server.url})
    try:
        _login_form_and_no_data(page)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        login(page, server.url, "captain12")  # and the form works
    finally:
        page.context.close()


# -- issue 14: nobody can lock a user out; a burst cannot pass the limit ----------------------------------
ATTACKER, HOME = "203.0.113.66", "198.51.100.7"


@pytest.fixture(scope="module")
def proxied_server(demo_template, tmp_path_factory):
    """A server told it stands behind one reverse proxy (X-Forwarded-For names the client), so each
    browser context can be its own client; waits of 5 minutes, so none passes during the test."""
    path = tmp_path_factory.mktemp("e2e_proxied") / "qinyuan.duckdb"
    shutil.copy(demo_template, path)
    db = Database.open(str(path))
    db.write(None, lambda tx: (tx.set_setting("login_delay_seconds", "300"), tx.audit("settings", "settings", "test")))
    db.close()
    srv = Server(path, env={"QINYUAN_PROXY_HOPS": "1"})
    try:
        yield srv
    finally:
        srv.stop()


def _client_page(browser, url: str, address: str) -> Page:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, extra_http_headers={"X-Forwarded-For": address})
    page = context.new_page()
    page.goto(url + "/?lang=zh")
    wait_for_app(page)
    return page


def _submit_together(pages: list[Page], username: str, password: str) -> list[str]:
    """Fill every form first, then press every Login at once; each page's message afterwards."""
    for page in pages:
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
    for page in pages:
        page.get_by_role("button", name="登录").click(no_wait_after=True)
    messages = []
    for page in pages:
        alert = page.locator("[data-testid='stAlertContentError']")
        expect(alert).to_have_count(1, timeout=30_000)
        messages.append(alert.inner_text())
    return messages


def test_a_concurrent_attack_on_the_form_cannot_lock_the_committee_out(proxied_server, browser):
    url = proxied_server.url
    attackers = [_client_page(browser, url, ATTACKER) for _ in range(8)]
    try:
        messages = _submit_together(attackers, "committee", "wrong-password")
        assert sum("已暂停登录" in m for m in messages) >= 3, messages  # 8 at once, 5 checked at most
        for page in attackers:  # fresh forms, the right password, all at once: still refused
            page.reload()
            wait_for_app(page)
        messages = _submit_together(attackers, "committee", DEMO_PASSWORD)
        assert all("已暂停登录" in m for m in messages), messages
        for page in attackers:
            expect(page.get_by_label("用户名")).to_be_visible()
        screenshot(attackers[0], "auth_throttled_attacker_laptop")
    finally:
        for page in attackers:
            page.context.close()
    home = _client_page(browser, url, HOME)  # the real committee, from its own client: in at once
    try:
        login(home, url, "committee")
        home.goto(url + "/admin")
        wait_for_app(home)
        home.locator("[data-testid='stExpander'] summary").filter(has_text="登录限速（").click()
        expect(home.locator("[data-testid='stDataFrame']").first).to_be_visible()
        home.get_by_label("搜索账号").fill("committee")
        home.get_by_label("搜索账号").press("Enter")
        wait_for_app(home)
        expect(home.get_by_text(re.compile("次失败登录"))).to_be_visible()
        assert no_horizontal_scroll(home)
        screenshot(home, "admin_login_throttle_laptop")
        home.get_by_role("button", name="解除登录限速").click()
        wait_for_app(home)
        expect(home.get_by_text(re.compile("次失败登录"))).to_have_count(0, timeout=20_000)
    finally:
        home.context.close()
    again = _client_page(browser, url, ATTACKER)  # unlocked: the attacker's client may try again
    try:
        login(again, url, "committee", path="/")
    finally:
        again.context.close()


def test_the_asgi_entry_sends_the_security_headers_and_serves_the_same_app(demo_template, tmp_path_factory, browser):
    """`streamlit run serve.py` (st.App with a middleware): every HTTP answer forbids framing by other
    sites; the app behaves as under app.py (a page URL opened first shows only the login; the login works)."""
    path = tmp_path_factory.mktemp("e2e_asgi") / "qinyuan.duckdb"
    shutil.copy(demo_template, path)
    srv = Server(path, script="serve.py")
    try:
        for url_path in ("/", "/households", "/_stcore/health"):
            with urllib.request.urlopen(srv.url + url_path, timeout=20) as answer:
                assert answer.headers["X-Frame-Options"] == "SAMEORIGIN", url_path
                assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'self'", url_path
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        try:
            page = context.new_page()
            page.goto(srv.url + "/households")
            _login_form_and_no_data(page)
            login(page, srv.url, "captain05", path="/households")
            expect(page.get_by_role("heading", name="住户台账")).to_be_visible()
            _auth_cookie(page)  # the cookie component (a same-origin frame) still works
        finally:
            context.close()
    finally:
        srv.stop()
