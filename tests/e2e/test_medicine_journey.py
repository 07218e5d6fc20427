"""A phone call to the resident's door, in real browsers: captain01 records a phone order on a phone,
the clinic (medic01) sources and buys it, logistics01 receives and disinfects it at the gate,
captain01 delivers it, and the committee's overview counts one more household served."""

from __future__ import annotations

import re
import time

import duckdb
import pytest
from playwright.sync_api import Page, expect

from .conftest import login, metric, no_horizontal_scroll, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def _unserved_room(demo_template: str) -> str:
    con = duckdb.connect(demo_template, read_only=True)
    try:
        return con.execute("""SELECT room FROM households h WHERE unit_id = 1 AND NOT EXISTS
                              (SELECT 1 FROM medicine_orders m WHERE m.household_id = h.id)
                              ORDER BY length(room), room LIMIT 1""").fetchone()[0]
    finally:
        con.close()


def _open(page: Page, url: str, username: str) -> None:
    """Log in on the overview, then open /medicine (a deep link before login shows 'page not found')."""
    login(page, url, username)
    page.goto(f"{url}/medicine?lang=zh")
    wait_for_app(page)


def _step(page: Page, order_id: int, label: str) -> None:
    """Press the one big button of this order's card, and see the step confirmed."""
    card = page.locator(f".st-key-med_card_{order_id}")
    card.get_by_role("button", name=label).click()
    expect(page.get_by_text(f"订单 #{order_id}：")).to_be_visible(timeout=20_000)
    wait_for_app(page)


@pytest.fixture
def new_page(browser, playwright_instance):
    contexts = []

    def make(device: str) -> Page:
        options = playwright_instance.devices["iPhone 13"] if device == "phone" else {"viewport": {"width": 1366, "height": 900}}
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_phone_order_to_the_door(server, demo_template, phone, new_page):
    room = _unserved_room(demo_template)

    # committee: the figure before
    committee = new_page("laptop")
    login(committee, server.url, "committee")
    expect(metric(committee, "送药上门户数")).to_have_text("108")

    # captain01 on a phone: the queue, then a phone order
    _open(phone, server.url, "captain01")
    expect(phone.locator(".st-key-med_card_110")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "medicine_captain_queue_phone")

    started = time.monotonic()
    phone.get_by_role("radio", name="＋ 新订单").click()
    wait_for_app(phone)
    phone.locator("[data-testid='stSelectbox']").filter(has_text="房号").click()
    phone.keyboard.type(room)
    phone.get_by_role("option", name=re.compile(rf"^{room} ·")).click()
    wait_for_app(phone)
    phone.get_by_label("药品（每行一种：名称 规格 数量）").fill("门冬胰岛素注射液 300IU ×3支\n一次性针头 ×1盒")
    phone.get_by_role("radio", name=re.compile("加急")).click()
    wait_for_app(phone)
    screenshot(phone, "medicine_new_order_phone")
    assert no_horizontal_scroll(phone)
    phone.get_by_role("button", name="登记订单").click()
    confirmed = phone.get_by_text(re.compile(r"已登记订单 #\d+"))
    expect(confirmed).to_be_visible(timeout=20_000)
    elapsed = time.monotonic() - started
    order_id = int(re.search(r"#(\d+)", confirmed.inner_text()).group(1))
    print(f"phone order recorded in {elapsed:.1f} s (scripted), order #{order_id}")
    assert elapsed < 30
    wait_for_app(phone)
    expect(phone.locator(f".st-key-med_card_{order_id}")).to_contain_text("等待校医院接单采购")

    # the clinic sources and buys it (laptop)
    medic = new_page("laptop")
    _open(medic, server.url, "medic01")
    expect(medic.get_by_text(re.compile(r"单超过时限未完成"))).to_be_visible()
    screenshot(medic, "medicine_medic_queue_laptop")
    _step(medic, order_id, "接单，开始采购")
    _step(medic, order_id, "药已购到")

    # logistics receives it at the gate and disinfects it (phone)
    gate = new_page("phone")
    _open(gate, server.url, "logistics01")
    _step(gate, order_id, "药已到门岗")
    _step(gate, order_id, "消毒完成")
    assert no_horizontal_scroll(gate)
    screenshot(gate, "medicine_logistics_phone")

    # captain01 carries it to the door
    phone.reload()
    wait_for_app(phone)
    card = phone.locator(f".st-key-med_card_{order_id}")
    expect(card).to_contain_text("已消毒")
    screenshot(phone, "medicine_captain_deliver_phone")
    _step(phone, order_id, "已送到家")
    expect(phone.locator(f".st-key-med_card_{order_id}")).to_have_count(0)
    phone.get_by_role("radio", name="记录").click()
    wait_for_app(phone)
    phone.locator("[data-testid='stSelectbox']").filter(has_text="状态").click()
    phone.get_by_role("option", name="已送达").click()
    wait_for_app(phone)
    expect(phone.locator(f".st-key-med_card_{order_id}")).to_contain_text("用时")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "medicine_captain_history_phone")

    # the committee: one more household served; the order list on a laptop
    # the overview shows it at once: the delivery's commit drops the cached figures (db.cached), no timed cache
    committee.reload()
    wait_for_app(committee)
    expect(metric(committee, "送药上门户数")).to_have_text("109")
    committee.goto(f"{server.url}/medicine?lang=zh")
    wait_for_app(committee)
    committee.get_by_role("radio", name="全部订单").click()
    wait_for_app(committee)
    expect(committee.locator("[data-testid='stDataFrame']")).to_be_visible()
    screenshot(committee, "medicine_committee_all_laptop")
