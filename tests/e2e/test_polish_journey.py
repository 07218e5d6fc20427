"""Issue 16 (minor) in a real browser: logout on a phone, the notice's copy button, 44 px tap targets, and a
screenshot of every page touched (iPhone 13 and laptop)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e
MIN_TAP = 44


def _covered(page, locator) -> bool:
    """Is something else drawn over the centre of this element?"""
    box = locator.bounding_box()
    return not page.evaluate(
        "([x, y, id]) => { const hit = document.elementFromPoint(x, y); return !!hit && !!hit.closest(`[aria-label='${id}']`); }",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, "用户名"],
    )


def test_after_logout_on_a_phone_the_login_form_is_free(server, phone):
    login(phone, server.url, "captain01")
    phone.locator("[data-testid='stExpandSidebarButton']").click()
    sidebar = phone.locator("section[data-testid='stSidebar']")
    expect(sidebar.get_by_text("退出登录")).to_be_visible(timeout=10_000)
    sidebar.get_by_text("退出登录").click()
    user = phone.get_by_label("用户名", exact=True)
    expect(user).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    expect(sidebar).to_be_hidden(timeout=10_000)
    assert not _covered(phone, user)
    screenshot(phone, "polish_after_logout_phone")
    user.fill("captain01")  # and it works
    phone.get_by_label("密码", exact=True).fill("qinyuan2022")
    phone.get_by_role("button", name="登录").click()
    expect(user).to_have_count(0, timeout=20_000)


def test_the_notice_copies_with_one_big_tap(server, browser, playwright_instance):
    context = browser.new_context(**playwright_instance.devices["iPhone 13"], permissions=["clipboard-read", "clipboard-write"])
    phone = context.new_page()
    try:
        login(phone, server.url, "captain01", path="/testing")
        phone.locator("[data-testid='stRadio']").filter(has_text="群通知").get_by_text("群通知", exact=True).click()
        wait_for_app(phone)
        frame = phone.frame_locator("iframe[title='st.iframe'], iframe").first
        button = frame.get_by_role("button", name="复制通知")
        expect(button).to_be_visible(timeout=20_000)
        box = phone.locator("iframe").first.bounding_box()
        assert box["height"] >= MIN_TAP and box["width"] >= 300
        screenshot(phone, "polish_notice_phone")
        button.click()
        expect(frame.get_by_role("button", name="✓ 已复制，去单元群粘贴")).to_be_visible(timeout=5_000)
        copied = phone.evaluate("navigator.clipboard.readText()")
        shown = phone.locator("[data-testid='stCode'] code").first.inner_text()
        assert copied.strip() == shown.strip() and "核酸检测通知" in copied
        screenshot(phone, "polish_notice_copied_phone")
    finally:
        context.close()


def test_phone_links_are_big_enough_to_tap(server, phone):
    login(phone, server.url, "captain01", path="/roster")
    tel = phone.locator("a[href^='tel:']")
    expect(tel.first).to_be_visible(timeout=20_000)
    for link in tel.all()[:5]:
        box = link.bounding_box()
        assert box["height"] >= MIN_TAP and box["width"] >= MIN_TAP, box


def test_a_tag_s_remove_cross_is_big_enough_to_tap(server, phone):
    login(phone, server.url, "committee", path="/roster")
    skills = phone.locator("[data-testid='stMultiSelect']").first
    skills.scroll_into_view_if_needed()
    if skills.locator("[data-tag]").count() == 0:
        skills.locator("input").click()
        phone.get_by_role("option").first.click()
        phone.keyboard.press("Escape")
        wait_for_app(phone)
    cross = skills.locator("[data-testid='stMultiSelectTagsContainer'] [data-tag] > button").first
    expect(cross).to_be_visible(timeout=15_000)  # a loaded machine draws the new tag late
    box = cross.bounding_box()
    assert box["width"] >= MIN_TAP and box["height"] >= MIN_TAP, box
    assert no_horizontal_scroll(phone)
    screenshot(phone, "polish_roster_phone")


PHONE_PAGES = [
    ("captain01", "/"),
    ("captain01", "/testing"),
    ("captain01", "/medicine"),
    ("captain01", "/emergencies"),
    ("captain01", "/supplies"),
    ("member001", "/duty"),
    ("medic01", "/testing"),
]
LAPTOP_PAGES = [
    ("committee", "/"),
    ("committee", "/admin"),
    ("committee", "/duty"),
    ("committee", "/supplies"),
    ("medic01", "/emergencies"),
    ("committee", "/medicine"),
]


@pytest.mark.parametrize("username,path", PHONE_PAGES)
def test_screens_on_a_phone(server, phone, username, path):
    login(phone, server.url, username, path=path)
    wait_for_app(phone)
    assert no_horizontal_scroll(phone)
    screenshot(phone, f"polish_{username}_{path.strip('/') or 'overview'}_phone")


@pytest.mark.parametrize("username,path", LAPTOP_PAGES)
def test_screens_on_a_laptop_and_toolbars_clear_of_widgets(server, laptop, username, path):
    login(laptop, server.url, username)
    laptop.goto(f"{server.url}{path}?lang=zh")  # /admin has its own 用户名 fields: log in first, then go there
    wait_for_app(laptop)
    screenshot(laptop, f"polish_{username}_{path.strip('/') or 'overview'}_laptop")
    widgets = [
        w.bounding_box()
        for w in laptop.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").all()
        if w.is_visible()
    ]
    for target in laptop.locator("[data-testid='stVegaLiteChart'], [data-testid='stDataFrame']").all()[:6]:
        if not target.is_visible():
            continue
        target.hover()
        for button in laptop.locator("[data-testid='stElementToolbar'] button").all():
            box = button.bounding_box() if button.is_visible() else None
            if not box:
                continue
            assert box["height"] >= MIN_TAP - 12, box  # a mouse: 32 px; phones get 44 (CSS)
            overlaps = [
                w
                for w in widgets
                if w
                and not (
                    box["x"] > w["x"] + w["width"]
                    or box["x"] + box["width"] < w["x"]
                    or box["y"] > w["y"] + w["height"]
                    or box["y"] + box["height"] < w["y"]
                )
            ]
            assert not overlaps, (box, overlaps)
