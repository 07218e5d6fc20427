"""The overview in a real browser, at laptop and phone size."""

import pytest
from playwright.sync_api import expect

from .conftest import login, metric, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_overview_shows_the_record_figures(server, request, device):
    page = request.getfixturevalue(device)
    login(page, server.url, "committee")
    expect(metric(page, "服务队")).to_have_text("51")
    expect(metric(page, "队员")).to_have_text("338")
    expect(metric(page, "送药上门户数")).to_have_text("108")
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    screenshot(page, f"overview_committee_{device}")


def test_login_typed_at_once_on_a_fresh_page(server, phone):
    """The cookie component must not eat a login typed the moment the form appears."""
    login(phone, server.url, "captain02")
    expect(phone.locator("[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl']").first).to_be_attached()
