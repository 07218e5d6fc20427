"""A captain's, the clinic's and a member's day on an iPhone 13 (issue 16): every task counted in taps
(a tap = a click, a pick in a list, a field typed into, or the phone's back gesture) and seconds.
Targets: a resident's test status in 1 tap after picking the room; any to-do line to its action in 1 tap;
the clinic's new event on the captain's open case page within 15 s, without a reload."""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import ARTEFACTS, login, no_horizontal_scroll, screenshot, wait_for_app, wait_for_own_rerun, watch_reruns

pytestmark = pytest.mark.e2e
LIVE_TARGET = 15  # seconds: the clinic's event on the captain's page
TASKS: dict[str, dict] = {}


def settle(page: Page) -> None:
    """After a tap: the run it starts (if it starts within a second), then the app idle (no fixed sleep)."""
    with contextlib.suppress(Exception):
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=1_000)
    wait_for_app(page)


def shot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport first."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 120, 6000))})
    wait_for_app(page)
    screenshot(page, name)
    page.set_viewport_size(size)


class Taps:
    """Counts what the user does on one phone, per task."""

    def __init__(self, page: Page, who: str):
        self.page, self.who, self.n = page, who, 0

    def tap(self, target: Locator) -> None:
        target.click()
        self.n += 1
        settle(self.page)

    def type(self, target: Locator, text: str) -> None:
        target.fill(text)
        self.n += 1

    def back(self) -> None:
        self.page.go_back()
        self.n += 1
        settle(self.page)

    def menu(self, page_title: str) -> None:
        """The sidebar menu on a phone: open it, tap the page."""
        self.tap(
            self.page.locator("[data-testid='stExpandSidebarButton'], [data-testid='stSidebarCollapsedControl'] button").first
        )
        self.tap(self.page.locator("[data-testid='stSidebarNav']").get_by_text(page_title, exact=True))

    @contextlib.contextmanager
    def task(self, name: str):
        start_n, started = self.n, time.monotonic()
        yield
        TASKS[f"{self.who}: {name}"] = {"taps": self.n - start_n, "seconds": round(time.monotonic() - started, 1)}
        shot(self.page, f"day_{self.who}_{len(TASKS):02d}")
        assert no_horizontal_scroll(self.page), name


def _phone(browser, playwright_instance) -> Page:
    return browser.new_context(**playwright_instance.devices["iPhone 13"]).new_page()


def _todo(page: Page, href: str) -> Locator:
    return page.locator(f"a[href*='{href}']").first


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "captain_day_taps.json").write_text(json.dumps(TASKS, ensure_ascii=False, indent=1), encoding="utf-8")


def test_a_captains_clinics_and_members_day(server, browser, playwright_instance):
    captain = _phone(browser, playwright_instance)
    login(captain, server.url, "captain01")
    me = Taps(captain, "captain")
    expect(captain.get_by_text("今日待办")).to_be_visible(timeout=20_000)
    shot(captain, "day_captain_00_todo")

    with me.task("to-do line -> resident's test status"):
        line = _todo(captain, "testing?room=")
        room = re.search(r"(\d+)室", line.inner_text()).group(1)
        me.tap(line)
        expect(captain.get_by_text("逐人登记：点一下状态即保存。")).to_be_visible()
        assert me.n == 1  # the room is picked already
        row = (
            captain.locator("[class*='st-key-ts_res_']")
            .filter(has=captain.get_by_role("button", name="已检测", disabled=False))
            .first
        )
        name = row.locator("strong").first.inner_text()
        me.tap(row.get_by_role("button", name="需入户采样"))
        expect(captain.get_by_text(f"{room} 室 {name}：需入户采样")).to_be_visible()
    assert TASKS["captain: to-do line -> resident's test status"]["taps"] == 2  # 1 to the room, 1 for the status

    with me.task("correct a resident's status"):
        row = (
            captain.locator("[class*='st-key-ts_res_']")
            .filter(has=captain.get_by_role("button", name="已检测", disabled=False))
            .first
        )
        if row.count():
            name = row.locator("strong").first.inner_text()
            me.tap(row.get_by_role("button", name="已检测"))
            expect(captain.get_by_text(f"{room} 室 {name}：已检测")).to_be_visible()
    with me.task("back to the to-do"):
        me.back()
        expect(captain.get_by_text("今日待办")).to_be_visible()

    with me.task("to-do line -> medicine to the door"):
        me.tap(_todo(captain, "medicine?order="))
        order = re.search(r"#(\d+)", captain.get_by_text("待办打开的订单").inner_text()).group(1)
        me.tap(captain.locator(f"[class*='st-key-med_card_{order}']").get_by_role("button", name="已送到家"))
        expect(captain.get_by_text(f"订单 #{order}：已送达")).to_be_visible()
    me.back()

    with me.task("to-do line -> vegetables, two rooms 1.5 s apart"):
        me.tap(_todo(captain, "supplies?unit="))
        rooms = captain.locator("[class*='st-key-qy_rooms'] button:not([disabled])")
        first, second = rooms.nth(0).inner_text(), rooms.nth(1).inner_text()
        done = captain.locator("[class*='st-key-qy_rooms'] button[disabled]")
        ticked = done.count()
        rooms.nth(1).scroll_into_view_if_needed()
        tap, aim = rooms.nth(0).bounding_box(), rooms.nth(1).bounding_box()  # both before the first tap
        captain.mouse.click(tap["x"] + tap["width"] / 2, tap["y"] + tap["height"] / 2)
        captain.wait_for_timeout(1500)  # the second tap: 1.5 s later, at the same spot on the glass
        captain.mouse.click(aim["x"] + aim["width"] / 2, aim["y"] + aim["height"] / 2)
        me.n += 2
        settle(captain)
        expect(done.filter(has_text=f"✓ {first}")).to_have_count(1)
        expect(done.filter(has_text=f"✓ {second}")).to_have_count(1)  # not its neighbour
        expect(done).to_have_count(ticked + 2)
        expect(captain.get_by_role("button", name=f"撤销 {second} 的登记")).to_be_visible()
    me.back()

    with me.task("report a critical case"):
        me.menu("就医急诊")
        me.tap(captain.locator("[data-testid='stMain'] [data-testid='stRadio']").first.get_by_text("上报", exact=True))
        me.tap(captain.locator("[data-testid='stSelectbox']").filter(has_text="房号"))
        me.tap(captain.get_by_role("option", name="201", exact=True))
        me.type(captain.get_by_label("发生了什么"), "胸闷气短")
        me.tap(captain.locator("[data-testid='stRadio']").filter(has_text="严重程度").get_by_text("危急", exact=True))
        me.tap(captain.get_by_role("button", name="立即上报"))
        expect(captain.get_by_role("heading").filter(has_text="病例 #5 · 已上报")).to_be_visible()
    assert "case=5" in captain.url

    clinic = _phone(browser, playwright_instance)
    login(clinic, server.url, "medic01")
    doc = Taps(clinic, "clinic")
    shot(clinic, "day_clinic_00_attention")
    with doc.task("attention: new critical case -> clinic contacted"):
        doc.tap(clinic.locator("a[href*='emergencies?case=5']").first)
        written = time.monotonic()  # the clinic's tap that writes the event
        doc.tap(clinic.get_by_role("button", name="记录：已联系校医院"))
        expect(clinic.get_by_role("heading").filter(has_text="病例 #5 · 已联系校医院")).to_be_visible()
    # the captain's page, left open: the clinic's event shows up on its own
    expect(captain.get_by_role("heading").filter(has_text="病例 #5 · 已联系校医院")).to_be_visible(timeout=30_000)
    seen = round(time.monotonic() - written, 1)
    # The page refreshes every 12 s: shown without a reload is the test; the seconds go to the report
    # (a speed target is not asserted here: on a loaded machine it belongs to `make bench`).
    TASKS["captain: clinic's event on the open case page, no reload"] = {
        "taps": 0,
        "seconds": seen,
        "within_target": seen <= LIVE_TARGET,
    }
    shot(captain, "day_captain_case_live")

    with me.task("reload keeps the case open"):
        captain.reload()
        wait_for_app(captain)
        expect(captain.get_by_role("heading").filter(has_text="病例 #5 · 已联系校医院")).to_be_visible()

    with doc.task("attention: new urgent order -> start sourcing"):
        doc.back()
        doc.tap(clinic.locator("a[href*='medicine?order=']").first)
        order = re.search(r"#(\d+)", clinic.get_by_text("待办打开的订单").inner_text()).group(1)
        doc.tap(clinic.locator(f"[class*='st-key-med_card_{order}']").get_by_role("button", name="接单，开始采购"))
        expect(clinic.get_by_text(f"订单 #{order}：采购中")).to_be_visible()

    with doc.task("home sampling: one resident"):
        doc.menu("核酸检测")
        doc.tap(clinic.locator("[data-testid='stMain'] [data-testid='stRadio']").first.get_by_text("入户采样", exact=True))
        doc.tap(clinic.get_by_role("button", name="已入户采样").first)
        expect(clinic.get_by_text(re.compile(r"已登记 1 人"))).to_be_visible()

    member = _phone(browser, playwright_instance)
    login(member, server.url, "member001")
    crew = Taps(member, "member")
    with crew.task("my duty today"):
        expect(member.get_by_text("北门", exact=False).first).to_be_visible()
    with crew.task("tick a vegetable room"):
        crew.menu("物资与蔬菜")
        rooms = member.locator("[class*='st-key-qy_rooms'] button:not([disabled])")
        room = rooms.first.inner_text()
        crew.tap(rooms.first)
        expect(member.locator("[class*='st-key-qy_rooms'] button[disabled]").filter(has_text=f"✓ {room}")).to_have_count(1)


def test_a_note_being_typed_survives_the_case_page_refreshing(server, phone):
    login(phone, server.url, "captain01")
    phone.goto(f"{server.url}/emergencies?case=5")
    wait_for_app(phone)
    watch_reruns(phone)
    note = phone.get_by_label("说明（可选）")
    note.fill("家属已到楼下")
    # the live fragment reruns on its own (every 12 s): wait for one run, seen however short it is
    wait_for_own_rerun(phone)
    expect(note).to_have_value("家属已到楼下")
    phone.get_by_role("button", name="只加备注").click()
    expect(phone.get_by_text("家属已到楼下").first).to_be_visible()


def test_the_committees_attention_on_a_laptop(server, laptop):
    login(laptop, server.url, "committee")
    expect(laptop.get_by_text("需要立即处理")).to_be_visible(timeout=20_000)
    expect(laptop.locator("a[href*='medicine?order=']").first).to_be_visible()  # the critical order nobody sources yet
    assert no_horizontal_scroll(laptop)
    shot(laptop, "day_committee_attention_laptop")
    laptop.goto(f"{server.url}/testing")
    wait_for_app(laptop)
    laptop.locator("[data-testid='stMain'] [data-testid='stRadio']").first.get_by_text("登记结果", exact=True).click()
    settle(laptop)
    expect(laptop.get_by_text("逐人登记：点一下状态即保存。")).to_be_visible()
    shot(laptop, "day_committee_marking_laptop")
