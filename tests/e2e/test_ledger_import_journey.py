"""The office's ledger in a real browser, on a phone and a laptop: upload -> columns (one mapped by hand) ->
fix a flagged row in place -> import -> the ledger lists the households."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from .conftest import ARTEFACTS, login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def office_ledger(tag: str, rooms: tuple[str, str, str]) -> bytes:
    """Title row, blank row, header; 家庭电话 is a column we cannot guess; the last row names unit 9 (none)."""
    book = Workbook()
    ws = book.active
    ws.title = "台账"
    ws.append(["陕西科技大学沁园小区敲门行动台账"])
    ws.append([])
    ws.append(["楼号", "单元", "房号", "户主", "家庭电话", "身份证号"])
    ws.append([1, 1, rooms[0], f"欧阳{tag}甲", "13800138001", "610103"])
    ws.append([1, 2, rooms[1], f"欧阳{tag}乙", "13800138002", "610103"])
    ws.append([1, 9, rooms[2], f"欧阳{tag}丙", "13800138003", "610103"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "device, tag, rooms", [("phone", "手", ("1201", "1202", "1203")), ("laptop", "本", ("1301", "1302", "1303"))]
)
def test_office_ledger_upload_map_fix_import(server, request, device, tag, rooms):
    page = request.getfixturevalue(device)
    login(page, server.url, "committee", path="/households")
    page.locator("[data-testid='stRadio']").first.get_by_text("导入", exact=True).click()
    wait_for_app(page)
    page.locator("input[type='file']").set_input_files(
        files=[{"name": "台账.xlsx", "mimeType": "application/octet-stream", "buffer": office_ledger(tag, rooms)}]
    )
    wait_for_app(page)
    expect(page.get_by_text("已读取的工作表：台账")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("不导入的列：家庭电话、身份证号")).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / f"ledger_import_uploaded_{device}.png"))  # not full-page: that re-lays out the grid
    # the mapping step: 家庭电话 is not guessed; the user makes it the phone
    select = page.get_by_role("combobox", name="家庭电话")
    expect(select).to_have_value("忽略此列")
    expect(page.get_by_role("combobox", name="户主")).to_have_value("户主/联系人")
    option = page.get_by_role("option", name="联系电话", exact=True)
    for _ in range(3):  # a click landing during a rerun does not open the menu: open it again
        select.click()
        try:
            expect(option).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            wait_for_app(page)
    option.click()
    wait_for_app(page)
    expect(page.get_by_role("combobox", name="家庭电话")).to_have_value("联系电话")
    expect(page.get_by_text("不导入的列：身份证号", exact=True)).to_be_visible()  # checked again with the new columns
    wait_for_app(page)
    expect(page.get_by_text("楼栋单元不存在：1 号楼 9 单元").first).to_be_attached()  # a cell of the problems grid
    # fix the flagged row in place: its 单元 cell (row number, 楼号, 单元)
    editor = page.locator("[data-testid='stDataFrame']").filter(has_text="行号").last
    editor.scroll_into_view_if_needed()
    cell = page.locator("textarea.gdg-input")
    for _ in range(4):  # keys sent while the grid is still settling are lost: select and open again
        editor.locator(".dvn-scroller").first.click(position={"x": 20, "y": 35 + 17})  # the row's first cell
        page.wait_for_function("document.activeElement.tagName === 'CANVAS'")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")  # opens the cell's editor
        try:
            expect(cell).to_have_value("9", timeout=3_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    cell.fill("2")
    cell.press("Enter")
    expect(cell).to_have_count(0)
    wait_for_app(page)
    screenshot(page, f"ledger_import_fixing_{device}")
    page.get_by_role("button", name="重新检查修改后的行").click()
    wait_for_app(page)
    go = page.get_by_role("button", name="导入 3 户")
    expect(go).to_be_visible(timeout=20_000)
    assert no_horizontal_scroll(page)
    screenshot(page, f"ledger_import_ready_{device}")
    go.click()
    wait_for_app(page)
    expect(page.get_by_text("已新增 3 户、3 名住户")).to_be_visible(timeout=20_000)
    # the ledger lists them
    page.locator("[data-testid='stRadio']").first.get_by_text("台账", exact=True).click()
    wait_for_app(page)
    page.get_by_label("搜索姓名或房号").fill(f"欧阳{tag}")
    page.keyboard.press("Enter")
    wait_for_app(page)
    for name, room in zip(("甲", "乙", "丙"), rooms, strict=True):
        expect(page.get_by_text(f"欧阳{tag}{name}").first).to_contain_text(room)
    expect(page.get_by_text(f"1号楼2单元 {rooms[2]}").first).to_be_visible()
    screenshot(page, f"ledger_import_listed_{device}")
