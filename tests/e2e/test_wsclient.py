"""The benchmark's headless session client (bench/wsclient.py) against a real `streamlit run`: it logs in
through the form, carries the login cookie into a new session, opens pages from the navigation, presses a
captain's button and sees the outcome in the deltas, and keeps a household's door page with its refreshing
fragment. Behaviour only: the benchmark times it, this test never does."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil

import pytest

from bench.wsclient import NotFound, Session
from qinyuan import access, door
from qinyuan.db import Database
from tests.support.server import Server

from .conftest import DEMO_PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(demo_template, tmp_path_factory):
    """A server on a demo copy where one household of unit 1 got its door card: (server, token)."""
    path = str(tmp_path_factory.mktemp("wsclient") / "qinyuan.duckdb")
    shutil.copy(demo_template, path)
    db = Database.open(path)
    hid = db.scalar(
        "SELECT h.id FROM households h JOIN residents r ON r.household_id = h.id JOIN test_results t ON "
        "t.resident_id = r.id WHERE h.unit_id = 1 AND t.status = 'pending' ORDER BY h.id LIMIT 1"
    )
    token = door.reissue(db, access.SYSTEM, hid)
    db.close()
    srv = Server(path)
    yield srv, token
    srv.stop()


def _headings(s: Session) -> list[str]:
    return [n.text() for n in s.walk() if n.kind == "heading"]


def _run(coro):
    """The client's coroutine on a thread of its own: Playwright's sync API (the other browser tests of this
    process) keeps an event loop running in this thread, where asyncio.run() refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, 120)).result()


def test_login_then_mark_a_resident_then_other_pages(world):
    srv, _token = world

    async def journey():
        async with Session(srv.url, "/", query="lang=zh") as s:
            assert s.find("button", "登录")
            await s.login("captain01", DEMO_PASSWORD)
            assert s.find("button", "退出登录"), "logged in: the sidebar has the logout button"
            assert s.cookies.get("qinyuan_auth"), "the cookie manager's cookie was taken like a browser takes it"
            with pytest.raises(NotFound):
                s.find("text_input", "密码")

            await s.open_page("testing")
            assert "核酸检测" in s.text()
            await s.select("视图", "登记结果")
            room = s.find("selectbox", "房号")
            assert room.proto.options, "the captain's rooms are listed"
            tap = next(b for b in s.find_all("button") if b.key.endswith("_tested") and not b.proto.disabled)
            rid = tap.key.split("_")[2]
            await s.click(key=tap.key)
            assert "：已检测" in s.text(), "the confirmation names the resident and the status"
            done = s.find("button", key=f"ts_tap_{rid}_tested")
            assert done.proto.disabled and done.label.startswith("✓"), "the tapped status is now the current one"
            await s.click(key=f"ts_tap_{rid}_pending")  # undo: the resident is pending again
            assert not s.find("button", key=f"ts_tap_{rid}_tested").proto.disabled

            await s.open_page("总览")  # the captain's landing page: its address is the bare URL
            assert s.find("metric", "住户") and "核酸检测" not in _headings(s)
            assert not s.errors, s.errors
            return dict(s.cookies)

    cookies = _run(journey())

    async def with_cookie():
        async with Session(srv.url, "/emergencies", query="lang=zh", cookies=cookies) as s:
            assert "就医急诊" in _headings(s), "a new session with the cookie opens the page without the form"
            assert not s.find_all("text_input", "用户名")
            await s.rerun()
            assert "就医急诊" in _headings(s), "a rerun stays on the page the address opened (as Navigation says)"
        async with Session(srv.url, "/emergencies", query="lang=zh") as s:
            assert s.find("text_input", "用户名"), "without the cookie: the login form"

    _run(with_cookie())


def test_door_page_asks_and_its_fragment_refreshes(world):
    srv, token = world
    refreshes: list[float] = []

    async def household():
        async with Session(srv.url, "/door", query=f"k={token}", on_auto=refreshes.append) as s:
            assert "1号楼1单元" in s.text()
            assert 30 in [interval for interval, _task in s._autos.values()], "the status block's run_every timer"
            ask = next(b for b in s.find_all("button") if b.key.startswith("door_home_sampling_"))
            await s.click(key=ask.key)
            assert "需要上门采样" in s.text() and "已申请上门" in s.text()
            await s.reload()
            assert "已申请上门" in s.text(), "a reload (a new session) shows the request kept"
            for _ in range(90):  # the fragment reruns on its own after 30 s; nothing else is sent meanwhile
                if refreshes:
                    break
                await asyncio.sleep(0.5)
            assert refreshes, "the fragment's own rerun was sent and its end seen"
            assert "已申请上门" in s.text(), "a fragment run keeps the rest of the page"
            await s.rerun()  # an interaction after a fragment run still ends at its own run
            assert "1号楼1单元" in s.text() and not s.errors, s.errors

    _run(household())
