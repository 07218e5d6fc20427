"""Duty in a real browser: member001 on a phone sees today's shift and checks in; the board shows it
to the member and to the committee on a laptop. Screenshots at both sizes."""

import re

import pytest
from playwright.sync_api import expect

from qinyuan.db import Database

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def member_name(demo_template):
    db = Database.open(demo_template)
    try:
        return db.scalar("SELECT v.name FROM users u JOIN volunteers v ON v.id = u.volunteer_id WHERE u.username = 'member001'")
    finally:
        db.close()


def _north_gate(page):
    return page.locator(".qy-card[data-post='gate_north']")


def test_member_checks_in_on_a_phone_and_the_board_shows_it(server, phone, laptop, member_name):
    login(phone, server.url, "member001", path="/duty")
    card = phone.locator(".qy-card").first
    expect(card).to_contain_text("北门值守", timeout=20_000)
    expect(card).to_contain_text("08:00–13:00")
    expect(card).to_contain_text("今天")
    expect(card).to_contain_text("队长")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "duty_my_duty_member_phone")

    phone.get_by_role("button", name="签到", exact=True).click()
    expect(phone.get_by_text("已签到，辛苦了！")).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    expect(phone.locator(".qy-card").first).to_contain_text("已签到")
    expect(phone.get_by_role("button", name="签退")).to_be_visible()
    screenshot(phone, "duty_checked_in_member_phone")

    phone.get_by_role("tab", name="现在在岗").click()
    expect(_north_gate(phone)).to_contain_text(re.compile(f"{member_name}\\s*已签到"))
    expect(_north_gate(phone)).to_contain_text("到岗 1/2")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "duty_board_member_phone")

    login(laptop, server.url, "committee", path="/duty")
    board = _north_gate(laptop)
    expect(board).to_contain_text(re.compile(f"{member_name}\\s*已签到"), timeout=20_000)
    expect(laptop.locator(".qy-badge.qy-short").first).to_be_visible()
    assert no_horizontal_scroll(laptop)
    screenshot(laptop, "duty_board_committee_laptop")
    laptop.get_by_role("tab", name="排班").click()
    wait_for_app(laptop)
    screenshot(laptop, "duty_plan_committee_laptop")


@pytest.mark.parametrize("device,username", [("phone", "member001"), ("phone", "captain01"), ("laptop", "committee")])
def test_roster_fits_the_screen(server, request, device, username):
    page = request.getfixturevalue(device)
    login(page, server.url, username, path="/roster")
    expect(page.get_by_role("heading", name="队员")).to_be_visible(timeout=20_000)
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    screenshot(page, f"roster_{username}_{device}")


def test_captain_plans_on_a_phone(server, phone):
    login(phone, server.url, "captain01", path="/duty")
    phone.get_by_role("tab", name="排班").click()
    expect(phone.get_by_text("北门值守 · 每班需 2 人")).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "duty_plan_captain_phone")
