"""A captain's day on an iPhone 13 (issue 16)."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, wait_for_app

pytestmark = pytest.mark.e2e


def _view(page, label):
    page.locator("[data-testid='stRadio']").first.get_by_text(label, exact=True).click()
    wait_for_app(page)


def test_home_sampling_for_the_next_room_after_a_whole_household(server, phone):
    """Issue 16 #1 reproduced on the old expander + dropdown + Save panel."""
    login(phone, server.url, "captain01", path="/testing")
    _view(phone, "登记结果")
    phone.get_by_role("button", name="全户已检测").click()
    expect(phone.get_by_text(re.compile(r"已登记 \d+ 人"))).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    phone.locator("[data-testid='stExpander'] summary").first.click()
    box = phone.locator("[data-testid='stExpander']").first.locator("[data-testid='stSelectbox']")
    box.click()
    phone.get_by_role("option", name="需入户采样").click()
    wait_for_app(phone)
    expect(phone.get_by_role("button", name="保存")).to_be_visible(timeout=5_000)
