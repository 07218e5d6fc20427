"""Testing day in a real browser: captain01 on a phone marks a household tested and the board's
coverage for unit 1 moves; the household ledger fits a phone; the committee's board on a laptop."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import login, metric, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _view(page, label):
    page.locator("[data-testid='stRadio']").first.get_by_text(label, exact=True).click()
    wait_for_app(page)


def _numbers(page):
    coverage = float(metric(page, "本轮覆盖率").inner_text().rstrip("%"))
    accounted, residents = (int(x) for x in re.findall(r"\d+", metric(page, "已落实 / 应检").inner_text().replace(",", "")))
    return coverage, accounted, residents


def test_captain_marks_a_household_and_unit_coverage_moves(server, phone):
    login(phone, server.url, "captain01", path="/testing")
    expect(metric(phone, "本轮覆盖率")).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    coverage, accounted, residents = _numbers(phone)
    assert residents > 0 and accounted < residents
    assert coverage == pytest.approx(round(100 * accounted / residents, 1), abs=0.051)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "testing_board_captain_phone")

    _view(phone, "登记结果")
    expect(phone.get_by_role("button", name="全户已检测")).to_be_visible(timeout=20_000)
    open_here = phone.locator("[data-testid='stMarkdown']").filter(has_text="待检测").count()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "testing_mark_captain_phone")
    phone.get_by_role("button", name="全户已检测").click()
    done = re.compile(r"全户 (\d+) 人：已检测")
    expect(phone.get_by_text(done)).to_be_visible(timeout=20_000)
    marked = int(done.search(phone.get_by_text(done).first.inner_text()).group(1))
    assert marked >= 1 and open_here >= 1

    _view(phone, "看板")
    expect(metric(phone, "本轮覆盖率")).to_be_visible(timeout=20_000)
    coverage2, accounted2, residents2 = _numbers(phone)
    assert residents2 == residents
    assert accounted2 == accounted + marked
    assert coverage2 > coverage
    assert coverage2 == pytest.approx(round(100 * accounted2 / residents2, 1), abs=0.051)

    _view(phone, "群通知")
    expect(phone.locator("[data-testid='stCode']")).to_contain_text("1号楼1单元", timeout=20_000)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "testing_notice_captain_phone")


def test_household_ledger_on_a_phone(server, phone):
    login(phone, server.url, "captain01", path="/households")
    expect(phone.get_by_text(re.compile(r"第 1 / 1 页（共 18 条）"))).to_be_visible(timeout=20_000)
    wait_for_app(phone)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "households_list_captain_phone")
    phone.get_by_role("button", name="登记走访").first.click()
    wait_for_app(phone)
    expect(phone.get_by_role("button", name="保存走访")).to_be_visible(timeout=20_000)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "households_visit_captain_phone")


def test_committee_board_on_a_laptop(server, laptop):
    login(laptop, server.url, "committee", path="/testing")
    expect(metric(laptop, "本轮覆盖率")).to_be_visible(timeout=20_000)
    expect(laptop.get_by_role("heading", name="按楼栋")).to_be_visible()
    wait_for_app(laptop)
    assert no_horizontal_scroll(laptop)
    screenshot(laptop, "testing_board_committee_laptop")
    laptop.goto(f"{server.url}/households?lang=zh")
    expect(laptop.get_by_text(re.compile(r"共 1,?512 条"))).to_be_visible(timeout=20_000)
    wait_for_app(laptop)
    assert no_horizontal_scroll(laptop)
    screenshot(laptop, "households_list_committee_laptop")


def test_committee_imports_a_gbk_ledger_in_the_browser(server, laptop, tmp_path):
    bad = tmp_path / "坏台账.csv"
    bad.write_bytes(
        "楼号,单元,房号,联系人,联系电话,居住人数\r\n1,1,101,重复户,13800138000,2\r\n1,1,990,王五,123,2\r\n".encode("gbk")
    )
    login(laptop, server.url, "committee", path="/households")
    laptop.locator("[data-testid='stRadio']").first.get_by_text("导入", exact=True).click()
    wait_for_app(laptop)
    laptop.locator("input[type='file']").set_input_files(str(bad))
    # the office's own file with two bad rows: named, nothing written unless the user imports only the good rows
    expect(laptop.get_by_text("有 2 个问题（见下表）", exact=False)).to_be_visible(timeout=20_000)
    expect(laptop.get_by_role("button", name=re.compile("^导入 \\d+ 户$"))).to_have_count(0)
    wait_for_app(laptop)
    screenshot(laptop, "households_import_errors_committee_laptop")

    laptop.locator("input[type='file']").set_input_files(str(ROOT / "data" / "sample_households_gbk.csv"))
    expect(laptop.get_by_role("button", name="导入 4 户")).to_be_visible(timeout=20_000)
    laptop.get_by_role("button", name="导入 4 户").click()
    expect(laptop.get_by_text("已新增 4 户、10 名住户", exact=False)).to_be_visible(timeout=20_000)
    wait_for_app(laptop)
    screenshot(laptop, "households_import_done_committee_laptop")
