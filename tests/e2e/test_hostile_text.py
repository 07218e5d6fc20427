"""Issue 14 item 5 in a real browser: on a database whose every free-text column carries Markdown, KaTeX
and HTML, no page builds an image, link, bold or KaTeX element out of it."""

from __future__ import annotations

import shutil

import pytest

from tests.hostile import poison
from tests.support.server import Server

from .conftest import login, screenshot, wait_for_app

# The DOM a hostile value would build if it were rendered raw.
FOUND = """() => ({
  img: document.querySelectorAll("img[src*='evil'], img[src='x']").length,
  link: document.querySelectorAll("a[href*='evil']:not([href^='#'])").length,  // a heading's own anchor is fine
  katex: document.querySelectorAll('.katex').length,
  bold: [...document.querySelectorAll('strong, b')].filter(e => e.textContent.trim() === 'b').length,
})"""
CLEAN = {"img": 0, "link": 0, "katex": 0, "bold": 0}
VISITS = {
    "committee": ("overview", "households", "duty", "supplies", "admin"),
    "captain01": ("overview", "households", "roster", "testing", "medicine", "emergencies"),
    "member001": ("duty", "roster", "overview"),
}


@pytest.fixture(scope="module")
def hostile_server(demo_template, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("hostile-e2e") / "qinyuan.duckdb")
    shutil.copy(demo_template, path)
    poison(path)
    srv = Server(path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("username", list(VISITS))
def test_no_page_builds_markup_from_user_text(hostile_server, laptop, username):
    login(laptop, hostile_server.url, username)
    for page in VISITS[username]:
        laptop.goto(f"{hostile_server.url}/{page}?lang=zh")
        wait_for_app(laptop)
        assert laptop.get_by_text("evil.example", exact=False).count() > 0, page  # the text is there, as text
        assert laptop.evaluate(FOUND) == CLEAN, (username, page)
        screenshot(laptop, f"hostile-{username}-{page}")


def test_phone_cards_show_hostile_text_as_text(hostile_server, phone):
    login(phone, hostile_server.url, "captain01")
    for page in ("roster", "overview"):
        phone.goto(f"{hostile_server.url}/{page}?lang=zh")
        wait_for_app(phone)
        assert phone.evaluate(FOUND) == CLEAN, page
        screenshot(phone, f"hostile-phone-{page}")
