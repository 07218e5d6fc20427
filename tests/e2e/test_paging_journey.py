"""The one pager in a real browser (issue 18 item 5): the committee pages through the household ledger on a phone
with the page number input, and the list and its caption follow; the page fits the phone's width."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _first_card(page) -> str:
    return page.locator("[data-testid='stMarkdown']").filter(has_text=" · ").first.inner_text()


def test_committee_pages_through_households_on_a_phone(server, phone):
    login(phone, server.url, "committee", path="/households")
    expect(phone.get_by_text(re.compile(r"第 1 / 76 页（共 1,?512 条）"))).to_be_visible(timeout=20_000)
    first = _first_card(phone)
    picker = phone.get_by_label("页码")
    picker.fill("2")
    picker.press("Enter")
    wait_for_app(phone)
    expect(phone.get_by_text(re.compile(r"第 2 / 76 页（共 1,?512 条）"))).to_be_visible(timeout=20_000)
    assert _first_card(phone) != first
    assert no_horizontal_scroll(phone)
    screenshot(phone, "paging_households_committee_phone")
