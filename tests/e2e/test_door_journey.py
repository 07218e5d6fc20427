"""A household at its own door, in real browsers: on an iPhone 13 the household asks for insulin (urgent);
captain01 sees it in the to-do and passes it on after calling back; the clinic sources it; the household's
page shows each new step without a reload. A reissued card's old link shows nothing, and changing the
link shows no other household."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Page, expect

from qinyuan import access, door
from qinyuan.db import Database
from tests.support.server import Server

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e
FRAGMENT_WAIT = 45_000  # the household's list refreshes every 30 s


@pytest.fixture(scope="module")
def world(demo_template, tmp_path_factory):
    """A server on a demo copy where two households of unit 1 got their cards: (server, links by room)."""
    path = str(tmp_path_factory.mktemp("door") / "qinyuan.duckdb")
    shutil.copy(demo_template, path)
    db = Database.open(path)
    rooms = db.rows("SELECT id, room FROM households WHERE unit_id = 1 ORDER BY length(room), room LIMIT 2")
    tokens = {room: door.reissue(db, access.SYSTEM, hid) for hid, room in rooms}
    db.close()
    srv = Server(path)
    yield srv, tokens, [room for _hid, room in rooms]
    srv.stop()


def _door(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/door?k={token}&lang=zh")
    wait_for_app(page)


def _form(page: Page, label: str):
    return page.locator("[data-testid='stForm']").filter(has=page.get_by_label(label, exact=True))


def test_insulin_from_the_door_to_the_clinic(world, phone, browser, playwright_instance):
    server, tokens, (first, second) = world
    _door(phone, server.url, tokens[second])
    expect(phone.get_by_role("heading", name=re.compile(rf"1号楼1单元 {second}"))).to_be_visible()
    expect(phone.locator("[data-testid='stSidebar']")).to_be_hidden()
    expect(phone.get_by_text("登录")).to_have_count(0)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "door_home_phone")

    phone.get_by_text("买药", exact=True).click()
    form = _form(phone, "药品（每行一种：名称、规格、数量）")
    form.get_by_label("药品（每行一种：名称、规格、数量）").fill("门冬胰岛素 诺和锐 300IU ×3支")
    form.get_by_text("加急", exact=True).click()
    form.get_by_label("回电号码").fill("13800138000")
    screenshot(phone, "door_medicine_form_phone")
    form.get_by_role("button", name="提交购药申请").click()
    expect(phone.get_by_text(re.compile("已提交"))).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    expect(phone.get_by_text("已收到，等待校医院采购", exact=True)).to_be_visible()
    screenshot(phone, "door_requested_phone")

    # captain01 on a phone: the overview shows the household's request; called back, passed on
    captain_context = browser.new_context(**playwright_instance.devices["iPhone 13"])
    captain = captain_context.new_page()
    try:
        login(captain, server.url, "captain01")
        card = captain.locator("[class*='st-key-door_med_']").filter(has_text="诺和锐")
        expect(card).to_be_visible()
        card.scroll_into_view_if_needed()
        assert no_horizontal_scroll(captain)
        screenshot(captain, "door_captain_todo_phone")
        card.get_by_role("button", name="已回电，转校医院").click()
        wait_for_app(captain)
        expect(captain.locator("[class*='st-key-door_med_']").filter(has_text="诺和锐")).to_have_count(0, timeout=20_000)
    finally:
        captain_context.close()

    # the household's page shows the new step on its own (no reload)
    expect(phone.get_by_text("队长已回电确认，已转校医院", exact=True)).to_be_visible(timeout=FRAGMENT_WAIT)

    # the clinic sources it on /medicine
    clinic_context = browser.new_context(viewport={"width": 1366, "height": 900})
    clinic = clinic_context.new_page()
    try:
        login(clinic, server.url, "medic01")
        clinic.goto(f"{server.url}/medicine?lang=zh")
        wait_for_app(clinic)
        order = clinic.locator("[class*='st-key-med_card_']").filter(has_text="诺和锐")
        order.get_by_role("button", name="接单，开始采购").click()
        wait_for_app(clinic)
    finally:
        clinic_context.close()
    expect(phone.get_by_text("校医院正在采购", exact=True)).to_be_visible(timeout=FRAGMENT_WAIT)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "door_sourcing_phone")


def test_reissued_card_old_link_shows_nothing(world, phone, laptop):
    server, tokens, (first, _second) = world
    _door(phone, server.url, tokens[first])
    expect(phone.get_by_role("heading", name=re.compile(rf"1号楼1单元 {first}"))).to_be_visible()

    login(laptop, server.url, "captain01")
    laptop.goto(f"{server.url}/households?lang=zh")
    wait_for_app(laptop)
    laptop.get_by_text("门卡（就医明白卡）与住户链接").click()
    laptop.get_by_role("button", name="补发", exact=True).click()
    wait_for_app(laptop)
    new_link = laptop.locator("[data-testid='stCode']").inner_text().strip()
    assert "/door?k=" in new_link
    screenshot(laptop, "door_reissue_laptop")

    phone.reload()
    wait_for_app(phone)
    expect(phone.get_by_text("链接无效")).to_be_visible()
    expect(phone.get_by_text(first)).to_have_count(0)
    screenshot(phone, "door_old_link_phone")

    token = new_link.split("k=", 1)[1]
    _door(phone, server.url, token)
    expect(phone.get_by_role("heading", name=re.compile(rf"1号楼1单元 {first}"))).to_be_visible()


def test_changing_the_link_shows_no_other_household(world, phone):
    server, tokens, (first, second) = world
    token = tokens[second]
    for changed in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], token + "x", "", "../households"):
        _door(phone, server.url, changed)
        expect(phone.get_by_text("链接无效")).to_be_visible()
        expect(phone.get_by_text("号楼")).to_have_count(0)
    # and the staff pages stay behind the login
    phone.goto(f"{server.url}/households?lang=zh")
    wait_for_app(phone)
    expect(phone.get_by_label("用户名", exact=True)).to_be_visible()
    expect(phone.get_by_text(first)).to_have_count(0)


def test_a_door_link_after_staff_have_logged_in_shows_no_page_not_found(world, phone, laptop):
    """Once the server had served a logged-in page, a card's /door?k=… link opened Streamlit's English
    "Page not found" box over the household's page."""
    server, tokens, (_first, second) = world  # the second room's card is never reissued by this module
    login(laptop, server.url, "captain01")
    _door(phone, server.url, tokens[second])
    expect(phone.get_by_role("heading", name=re.compile(rf"1号楼1单元 {second}"))).to_be_visible()
    expect(phone.get_by_text("Page not found")).to_have_count(0)
    expect(phone.locator("[role='dialog']")).to_have_count(0)
    phone.reload()
    wait_for_app(phone)
    expect(phone.get_by_role("heading", name=re.compile(rf"1号楼1单元 {second}"))).to_be_visible()
    expect(phone.get_by_text("Page not found")).to_have_count(0)
