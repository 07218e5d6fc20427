"""Supplies in a real browser: a member ticks a room on a phone and the building's bar moves."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _bar(page, prefix, visible=True):
    bars = page.locator("[data-testid='stProgress']").filter(has_text=prefix)
    return bars.filter(visible=True).first if visible else bars.first


def test_member_ticks_a_room_on_a_phone(server, phone):
    login(phone, server.url, "member001", path="/supplies")
    wait_for_app(phone)
    unit_bar = _bar(phone, "1号楼1单元：")  # no building bar repeating it: the member sees only this unit
    expect(unit_bar).to_contain_text("已送 14 / 18 户")
    expect(_bar(phone, "1号楼：")).to_have_count(0)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "supplies_member_tick_before_phone")
    room = phone.get_by_role("button", name="503", exact=True)
    box = room.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 90  # a thumb-sized target, three a row
    room.click()
    expect(phone.get_by_text("503 已登记送达。")).to_be_visible(timeout=15_000)
    expect(unit_bar).to_contain_text("已送 15 / 18 户")
    expect(phone.get_by_role("button", name="✓ 503", exact=True)).to_be_disabled()  # in its place, greyed
    expect(phone.get_by_role("button", name="撤销 503 的登记")).to_be_visible()
    expect(phone.get_by_text("已送 15 户：谁送的、何时送的")).to_be_visible()
    wait_for_app(phone)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "supplies_member_tick_after_phone")
    # the progress tab of the same member shows the same building moving
    phone.get_by_role("tab", name="蔬菜发放").click()
    expect(phone.get_by_text(re.compile("待送户数"))).to_be_visible()
    expect(_bar(phone, "1号楼：")).to_contain_text("已送 15 / 18 户")
    screenshot(phone, "supplies_member_progress_phone")
    chart = phone.locator("[data-testid='stVegaLiteChart']").filter(visible=True).first
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    phone.get_by_text("尚未送达的住户").filter(visible=True).first.scroll_into_view_if_needed()
    phone.screenshot(path=str(screenshot(phone, "supplies_member_waiting_phone")))
    assert no_horizontal_scroll(phone)


def test_committee_progress_on_a_laptop(server, laptop):
    login(laptop, server.url, "committee", path="/supplies")
    wait_for_app(laptop)
    expect(_bar(laptop, "1号楼：")).to_be_visible()
    expect(laptop.locator("[data-testid='stVegaLiteChart'], .vega-embed").first).to_be_visible(timeout=15_000)
    assert no_horizontal_scroll(laptop)
    screenshot(laptop, "supplies_committee_progress_laptop")
    laptop.get_by_text("尚未送达的住户").first.scroll_into_view_if_needed()
    laptop.screenshot(path=str(screenshot(laptop, "supplies_committee_waiting_laptop")))
    laptop.get_by_role("tab", name="团购订单").click()
    expect(laptop.get_by_role("button", name="到门岗").first).to_be_visible()
    laptop.screenshot(path=str(screenshot(laptop, "supplies_committee_groceries_laptop")))
    laptop.get_by_role("tab", name="物资库存").click()
    expect(laptop.get_by_text("出入库记录")).to_be_visible()
    screenshot(laptop, "supplies_committee_stock_laptop")


def test_captain_groceries_and_stock_on_a_phone(server, phone):
    login(phone, server.url, "captain01", path="/supplies")
    wait_for_app(phone)
    phone.get_by_role("tab", name="物资库存").click()
    expect(phone.get_by_text("队长只读")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "supplies_captain_stock_phone")
    phone.get_by_role("tab", name="团购订单").click()
    expect(phone.get_by_text("1号楼1单元").filter(visible=True).first).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "supplies_captain_groceries_phone")
    phone.get_by_role("tab", name="搬运任务").click()
    expect(phone.get_by_text("米面油分装至各单元")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "supplies_captain_carrying_phone")
