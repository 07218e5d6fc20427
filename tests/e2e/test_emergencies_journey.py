"""A night emergency on phones: captain01 reports, medic01 follows, the committee grants the exit
permit, the captain brings the resident back and closes the case. Separate browser contexts."""

import time

import pytest
from playwright.sync_api import Page, expect

from qinyuan.db import Database

from .conftest import login, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _phone(browser, playwright_instance):
    return browser.new_context(**playwright_instance.devices["iPhone 13"])


def _view(page: Page, label: str) -> None:
    page.locator("[data-testid='stRadio']").first.get_by_text(label, exact=True).click()
    wait_for_app(page)


def _shot(page: Page, name: str) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 120, 5000))})
    page.wait_for_timeout(300)
    screenshot(page, name)
    page.set_viewport_size(size)


def _click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    wait_for_app(page)


def _step(page: Page, kind: str, note: str | None = None) -> None:
    """Record one step of case #5: wait until the last step's rerun has drawn the new buttons, tap once, see it."""
    wait_for_app(page)
    if note:
        page.get_by_label("说明（可选）").fill(note)
    _click(page, f"记录：{kind}")
    expect(page.get_by_role("heading").filter(has_text=f"病例 #5 · {kind}")).to_be_visible()
    wait_for_app(page)


def test_special_residents_on_a_phone(server, phone):
    login(phone, server.url, "captain12", path="/emergencies")
    _view(phone, "特殊人员")
    expect(phone.get_by_text("查看医疗信息会记入审计日志", exact=False)).to_be_visible()
    assert no_horizontal_scroll(phone)
    _shot(phone, "emergencies_special_list_phone")
    phone.get_by_role("button", name="详情 · ").first.click()
    wait_for_app(phone)
    expect(phone.get_by_text("紧急联系人", exact=False).first).to_be_visible()
    assert no_horizontal_scroll(phone)
    _shot(phone, "emergencies_special_phone")


def test_treatment_trips_for_the_whole_compound_on_a_laptop(server, laptop):
    login(laptop, server.url, "medic01", path="/emergencies")
    _view(laptop, "特殊人员")
    laptop.locator("[data-testid='stRadio']").filter(has_text="范围").get_by_text("全部单元", exact=True).click()
    wait_for_app(laptop)
    expect(laptop.get_by_text("共 47 次")).to_be_visible()  # = the treatment_trips_next_7_days KPI
    _shot(laptop, "emergencies_trips_laptop")


def test_night_emergency_reported_followed_and_closed_from_phones(server, browser, playwright_instance):
    contexts = []
    try:
        # 1. captain01 reports from a phone, in well under a minute
        ctx = _phone(browser, playwright_instance)
        contexts.append(ctx)
        captain = ctx.new_page()
        login(captain, server.url, "captain01", path="/emergencies")
        expect(captain.get_by_text("进行中 0 起", exact=False)).to_be_visible()
        started = time.monotonic()
        _view(captain, "上报")
        captain.locator("[data-testid='stSelectbox']").filter(has_text="房号").click()
        captain.get_by_role("option", name="201", exact=True).click()
        wait_for_app(captain)
        captain.get_by_label("发生了什么").fill("高压220，胸闷气短")
        captain.get_by_label("血压（高/低）").fill("220/120")
        captain.locator("[data-testid='stRadio']").filter(has_text="严重程度").get_by_text("危急", exact=True).click()
        wait_for_app(captain)
        _shot(captain, "emergencies_report_phone")
        assert no_horizontal_scroll(captain)
        _click(captain, "立即上报")
        expect(captain.get_by_text("已上报：病例 #5")).to_be_visible()
        assert time.monotonic() - started < 60
        expect(captain.get_by_text("生命体征：血压 220/120")).to_be_visible()
        _step(captain, "已联系校医院", "已电话联系校医院")
        _shot(captain, "emergencies_case_captain_phone")
        assert no_horizontal_scroll(captain)

        # 2. medic01 on another phone: treats on site, advises transfer, the captain's unit asks for a permit
        ctx = _phone(browser, playwright_instance)
        contexts.append(ctx)
        medic = ctx.new_page()
        login(medic, server.url, "medic01", path="/emergencies")
        expect(medic.get_by_role("button", name="查看 / 更新 #5")).to_be_visible()
        _shot(medic, "emergencies_board_phone")
        assert no_horizontal_scroll(medic)
        _click(medic, "查看 / 更新 #5")
        _step(medic, "已上门处置", "血压回落至170")
        _step(medic, "建议转院")
        _step(medic, "已申请出门")
        expect(medic.get_by_text("等待社区审批出门证")).to_be_visible()
        expect(medic.get_by_role("button", name="记录：出门已批准")).to_have_count(0)

        # 3. the committee, on a laptop, grants the exit permit
        ctx = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(ctx)
        committee = ctx.new_page()
        login(committee, server.url, "committee", path="/emergencies")
        _click(committee, "查看 / 更新 #5")
        _step(committee, "出门已批准")
        _shot(committee, "emergencies_case_committee_laptop")
        _click(committee, "← 返回列表")
        _shot(committee, "emergencies_board_laptop")

        # 4. the captain escorts, brings the resident back and closes the case
        captain.reload()  # the open case is in the URL: a reload returns to it
        wait_for_app(captain)
        expect(captain.get_by_role("heading").filter(has_text="病例 #5 · 出门已批准")).to_be_visible()
        for kind in ("已安排陪同", "已出发去医院", "已到医院", "已返回"):
            _step(captain, kind)
        _step(captain, "已结案", "患者情况稳定")
        expect(captain.get_by_text("病例已结案，不能再添加记录。")).to_be_visible()
        expect(captain.get_by_role("button", name="只加备注")).to_have_count(0)
        _shot(captain, "emergencies_closed_phone")
        assert no_horizontal_scroll(captain)

        # the medic's board no longer lists it
        expect(medic.get_by_role("heading").filter(has_text="病例 #5 · 已结案")).to_be_visible(timeout=30_000)  # live
        _click(medic, "← 返回列表")
        expect(medic.get_by_text("进行中 3 起", exact=False)).to_be_visible()
        expect(medic.get_by_role("button", name="查看 / 更新 #5")).to_have_count(0)
    finally:
        for ctx in contexts:
            ctx.close()
    server.stop()  # the server holds the DuckDB file; the record is read once it is gone (last test of the module)
    db = Database.open(server.db_path)
    try:
        kinds = [r[0] for r in db.rows("SELECT kind FROM emergency_events WHERE case_id = 5 ORDER BY id")]
        assert kinds == [
            "reported",
            "clinic_contacted",
            "treated_on_site",
            "transfer_advised",
            "exit_permit_requested",
            "exit_permit_granted",
            "escort_assigned",
            "left_for_hospital",
            "at_hospital",
            "returned",
            "closed",
        ]
        actors = dict(db.rows("SELECT kind, actor FROM emergency_events WHERE case_id = 5"))
        assert actors["exit_permit_granted"] == "committee" and actors["treated_on_site"] == "medic01"
        assert db.scalar("SELECT status FROM emergency_cases WHERE id = 5") == "closed"
        assert (
            db.scalar(
                "SELECT count(*) FROM audit_log WHERE entity = 'emergency_case' AND entity_id = '5' AND action = 'view.medical'"
            )
            >= 3
        )
    finally:
        db.close()
