"""The overview per role in a real browser, at phone and laptop size: what needs doing leads the
page, the figures and charts fit a phone without horizontal scrolling, the briefing is one click."""

import pytest
from playwright.sync_api import expect

from .conftest import login, metric, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _full_screenshot(page, name: str) -> None:
    """Streamlit scrolls inside its own container, so a full-page shot shows one screen: grow the
    viewport to the content's height first (same width), shoot, and put it back."""
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(document.body.scrollHeight, ...Array.from(document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stAppViewContainer], [data-testid=stMainBlockContainer]'), e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 80, 16000)})
    page.wait_for_timeout(800)
    screenshot(page, name)
    page.set_viewport_size(size)


def _open_overview(page) -> None:
    """Members land on their duty page: open the overview from the menu (the sidebar is folded on a phone)."""
    sidebar = page.locator("[data-testid='stSidebar']")
    if sidebar.get_attribute("data-collapsed") != "false":
        page.locator("[data-testid='stExpandSidebarButton'], [data-testid='stSidebarCollapsedControl'] button").first.click()
        expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_role("link", name="总览").click()
    wait_for_app(page)


def _charts_drawn(page) -> None:
    expect(page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first).to_be_visible(
        timeout=20_000
    )


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_committee_overview(server, request, device):
    page = request.getfixturevalue(device)
    login(page, server.url, "committee")
    expect(page.get_by_text("需要立即处理")).to_be_visible()
    expect(page.get_by_text("急诊超过 60 分钟未更新：3 例")).to_be_visible()
    expect(metric(page, "送药上门户数")).to_have_text("108")
    _charts_drawn(page)
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    _full_screenshot(page, f"overview_journey_committee_{device}")


def test_committee_makes_the_briefing(server, laptop):
    page = laptop
    login(page, server.url, "committee")
    page.get_by_role("button", name="中文简报").click()
    area = page.get_by_label("简报文本（可复制到微信群）")
    expect(area).to_be_visible(timeout=60_000)
    expect(area).to_have_value(__import__("re").compile("51 支服务队、338 名队员、值守 122 人次、为 108 户送药上门"))
    with page.expect_download(timeout=120_000) as info:  # the PDF (with its charts) is built when tapped
        page.get_by_role("button", name="下载 PDF").click()
    path = info.value.path()
    with open(path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    area.scroll_into_view_if_needed()
    screenshot(page, "overview_journey_briefing_laptop")


def test_committee_opens_a_unit_from_the_heatmap_picker(server, phone):
    page = phone
    login(page, server.url, "committee")
    picker = page.locator("[data-testid='stSelectbox']").filter(has_text="查看单元详情").locator("input")
    picker.click()
    picker.fill("5号楼2单元")
    page.get_by_role("option", name="5号楼2单元", exact=True).click()
    expect(page.get_by_text("5号楼2单元 · 队长")).to_be_visible(timeout=20_000)
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    _full_screenshot(page, "overview_journey_unit_phone")


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_captain_overview_leads_with_todo(server, request, device):
    page = request.getfixturevalue(device)
    login(page, server.url, "captain01")
    expect(page.get_by_text("今日待办")).to_be_visible()
    expect(page.get_by_text("爱心蔬菜未送达：4 户")).to_be_visible()
    expect(page.get_by_text("药品待送上门（已消毒）：1 单")).to_be_visible()
    expect(page.get_by_role("button", name="中文简报")).to_have_count(0)
    _charts_drawn(page)
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    _full_screenshot(page, f"overview_journey_captain01_{device}")


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_member_sees_team_and_next_shift(server, request, device):
    page = request.getfixturevalue(device)
    login(page, server.url, "member001")
    _open_overview(page)
    expect(page.get_by_text("正在值守：北门值守，08:00–13:00")).to_be_visible()
    expect(metric(page, "本队成员")).to_have_text("7")
    expect(page.get_by_text("需要立即处理")).to_have_count(0)
    wait_for_app(page)
    assert no_horizontal_scroll(page)
    _full_screenshot(page, f"overview_journey_member001_{device}")


def test_committee_taps_a_unit_in_the_heatmap(server, laptop):
    page = laptop
    login(page, server.url, "committee")
    chart = page.locator("[data-testid='stVegaLiteChart']").last
    chart.scroll_into_view_if_needed()
    expect(chart.locator("canvas, svg").first).to_be_visible(timeout=20_000)
    page.wait_for_timeout(500)
    box = chart.bounding_box()
    # the first row (unit 1-1), first column; rows are 21 px high under the column labels
    chart.click(position={"x": box["width"] * 0.3, "y": 30})
    expect(page.get_by_text("1号楼1单元 · 队长")).to_be_visible(timeout=20_000)
