"""Thin pages (issue 18 item 4): a page under pages/ is guard -> services -> qinyuan.ui widgets. Streamlit serves
every file there by URL, so each guards itself first; its logic lives in qinyuan/ui where it can be tested and kept
short. Decisions, HTML and SQL in a page are the signs that logic has leaked back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[2] / "pages").glob("*.py"))
MAX_LINES = 30
MAX_DECISIONS = 6  # duty and emergencies choose their tabs/views in the page; nothing more
DECISIONS = (ast.If, ast.For, ast.While, ast.Try, ast.BoolOp, ast.IfExp, ast.comprehension, ast.Match)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_page_is_thin(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert len(source.splitlines()) <= MAX_LINES, "move the page's logic into qinyuan/ui"
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
    assert sum(isinstance(n, DECISIONS) for n in ast.walk(tree)) <= MAX_DECISIONS
    assert "unsafe_allow_html" not in source and "<div" not in source, "HTML cards belong in qinyuan/ui"
    assert not any(word in source for word in ("SELECT ", "UPDATE ", "INSERT ")), "SQL belongs in the services"


@pytest.mark.parametrize("path", [p for p in PAGES if p.stem != "door"], ids=lambda p: p.stem)
def test_page_guards_itself_before_anything_else(path):
    """door.py is the household's QR page: no login by design (qinyuan/ui/door.py checks the link)."""
    first = next(
        n
        for n in ast.parse(path.read_text(encoding="utf-8")).body
        if not isinstance(n, (ast.Import, ast.ImportFrom)) and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    )  # the docstring
    assert isinstance(first, ast.Assign) and isinstance(first.value, ast.Call)
    assert getattr(first.value.func, "id", None) == "guard"
