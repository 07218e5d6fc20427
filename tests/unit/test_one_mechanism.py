"""One pager, one flash message, one escaping helper (issue 18 item 5). The scan fails when a page or a ui module
grows its own page count, page picker, prev/next buttons, message-for-the-next-run or escaping again: use
qinyuan/ui/paging.py (page_count, pager, paged), qinyuan/ui/common.py (flash, show_flash) and qinyuan/ui/safe.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from qinyuan.ui import safe
from qinyuan.ui.paging import page_count

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "qinyuan" / "ui"
SOURCES = sorted([*UI.glob("*.py"), *(ROOT / "pages").glob("*.py")])
HOMES = {"pager": UI / "paging.py", "flash": UI / "common.py", "escaper": UI / "safe.py"}
SIGNS = {
    "pager": [
        r"math\.ceil",
        r"-\(-[^)\n]*//[^)\n]*(?i:page|size)",  # a page count of its own
        r"number_input\([^\n]*(?i:page)",
        r"session_state\.get\([^)\n]*page",  # a picker of its own
        r"button\(t\(\"[\w.]+\.(prev|next)\"\)",
    ],  # prev/next buttons
    "flash": [r"def \w*flash", r"[\"'][^\"'\n]*(?i:flash)[^\"'\n]*[\"']", r"st\.toast\("],
    "escaper": [
        r"\bhtml\.escape\b",
        r"^import html\b",
        r"^from html import",
        r"markupsafe",
        r"escape_markdown",
        r"def (esc|_e|_md|_esc|escape|_escape|escape_\w+)\(",
    ],
}


@pytest.mark.parametrize("kind", SIGNS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_one_place_for_each_mechanism(path, kind):
    if path == HOMES[kind]:
        return
    source = path.read_text(encoding="utf-8")
    found = [m.group(0) for sign in SIGNS[kind] for m in re.finditer(sign, source, re.MULTILINE)]
    assert not found, f"{path.name} has its own {kind}: {found}; use {HOMES[kind].name}"


def test_the_scan_sees_each_old_mechanism():
    """The signs match what the nine page counts, three pagers, five flashes and the private escaper looked like."""
    old = {
        "pager": [
            "pages = max(1, math.ceil(total / size))",
            "pages = -(-n_shifts // duty.PLAN_PAGE)",
            'page = st.number_input(t("roster.page"), min_value=1, max_value=pages, key="roster_page")',
            'page = int(st.session_state.get("ts_home_page", 1))',
            'c2.button(t("households.next"))',
        ],
        "flash": ['FLASH = "_qy_door_flash"', 'st.session_state["hh_flash"] = msg', "def _flash() -> None:", "st.toast(success)"],
        "escaper": ["def esc(text) -> str:", "return html.escape(text)", "import html"],
    }
    for kind, lines in old.items():
        for line in lines:
            assert any(re.search(sign, line, re.MULTILINE) for sign in SIGNS[kind]), (kind, line)


@pytest.mark.parametrize(("total", "size", "pages"), [(0, 20, 1), (1, 20, 1), (20, 20, 1), (21, 20, 2), (1512, 20, 76)])
def test_page_count(total, size, pages):
    assert page_count(total, size) == pages


def test_md_missing_value_is_our_dash_and_text_is_still_escaped():
    assert safe.md(None, none="—") == "—"
    assert safe.md("**x**", none="—") == r"\*\*x\*\*"
    assert safe.md(None) == ""


def _flash_app():
    import streamlit as st

    from qinyuan.ui.common import flash, show_flash

    show_flash()
    show_flash("task")
    if st.button("go", key="go"):
        flash("saved **1**")
        flash("refused", "error")
        flash("task done", where="task")
        st.rerun()


def test_flash_shows_once_on_the_next_run_in_order_and_per_view():
    at = AppTest.from_function(_flash_app, default_timeout=30).run()
    assert not at.success and not at.error
    at.button(key="go").click().run()
    assert [s.value for s in at.success] == ["saved **1**", "task done"]
    assert [e.value for e in at.error] == ["refused"]
    at.run()
    assert not at.success and not at.error  # once


def test_flash_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        from qinyuan.ui.common import flash

        flash("x", "sparkles")
