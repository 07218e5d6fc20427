"""Issue 14 item 5: user text never renders as Markdown, KaTeX or HTML. Every page, every role, on a
database whose every free-text column carries links, images, KaTeX, bold and HTML."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from google.protobuf.message import Message

from qinyuan import access, i18n
from qinyuan.ui.common import get_db
from tests.hostile import poison, raw_hits

from .helpers import app_as

USERS = {"committee": "committee", "captain": "captain01", "member": "member001", "medic": "medic01", "logistics": "logistics01"}
# Plain-text places: widget values and selectbox/multiselect options are shown as typed, never as Markdown.
PLAIN_FIELDS = {"value", "default", "placeholder", "raw_values", "raw_value", "data", "form_id", "id"}
PLAIN_OPTIONS = {"selectbox", "multiselect", "text", "code", "json", "arrow_data_frame", "dataframe"}


@pytest.fixture(scope="module")
def hostile_path(demo_template, tmp_path_factory, clone):
    path = clone(demo_template, tmp_path_factory.mktemp("hostile"))
    poison(path)
    return path


def _strings(message: Message, skip_options: bool):
    for field, value in message.ListFields():
        if field.name in PLAIN_FIELDS or (skip_options and field.name == "options"):
            continue
        values = value if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Message)) else [value]
        for item in values:
            if isinstance(item, Message):
                yield from _strings(item, skip_options)
            elif isinstance(item, str):
                yield field.name, item


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def leaks(at) -> list[str]:
    """Every rendered string that still carries a raw marker, with where it was found."""
    found = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if not isinstance(proto, Message):
            continue
        kind = getattr(node, "type", "")
        if kind in PLAIN_OPTIONS and kind not in ("selectbox", "multiselect"):
            continue
        is_html = kind in ("html",) or getattr(proto, "allow_html", False)
        for field, text in _strings(proto, kind in PLAIN_OPTIONS):
            hits = raw_hits(text, html=is_html)
            if hits:
                found.append(f"{kind}.{field}: {hits} in {text[:160]!r}")
    return found


PAIRS = [(role, page) for page, roles in access.PAGES.items() for role in roles]


@pytest.mark.parametrize("role,page", PAIRS, ids=[f"{r}-{p}" for r, p in PAIRS])
def test_no_user_text_renders_as_markup(hostile_path, tmp_path, role, page, clone):
    path = clone(hostile_path, tmp_path)
    at = app_as(path, USERS[role], page=page)
    assert not at.exception, at.exception
    assert leaks(at) == []


VIEWS = {
    "households": ("hh_view", "households.view.", ("list", "visit")),
    "emergencies": ("em_view", "emergency.tab.", ("board", "report", "special")),
    "medicine": ("med_view", "medicine.view.", ("queue", "new", "history", "all")),
    "testing": ("ts_view", "testing.view.", ("board", "mark", "home", "schedule", "notice")),
}


def _show(at, key, label, view) -> bool:
    """Switch the page's view if this role has it (through the switcher's state)."""
    group = next((g for g in [*at.get("button_group"), *at.radio] if getattr(g, "key", None) == key), None)
    if group is None or i18n.t(label + view) not in list(group.options):
        return False
    at.session_state[key] = view
    at.run()
    return True


def _open_first(at, prefix):
    button = next((b for b in at.button if b.key and b.key.startswith(prefix)), None)
    if button is not None:
        button.click().run()
        return True
    return False


@pytest.mark.parametrize(
    "role,page",
    [
        ("committee", "households"),
        ("captain", "households"),
        ("medic", "emergencies"),
        ("captain", "emergencies"),
        ("captain", "medicine"),
        ("logistics", "medicine"),
        ("medic", "testing"),
        ("captain", "testing"),
    ],
)
def test_every_view_and_detail_of_a_page_escapes_user_text(hostile_path, tmp_path, role, page, clone):
    """Each view of the page's switcher, the first record's detail, the first room of a form."""
    path = clone(hostile_path, tmp_path)
    key, label, views = VIEWS[page]
    at = app_as(path, USERS[role], page=page)
    first_room = get_db().scalar("SELECT min(id) FROM households WHERE unit_id = 1")
    seen = []
    for view in views:
        if page == "medicine":  # AppTest cannot switch a segmented control afterwards: start on the view
            at = app_as(path, USERS[role], page=page, state={key: view})
        elif not _show(at, key, label, view):
            continue
        assert not at.exception, at.exception
        seen += leaks(at)
        for prefix in ("hh_open_", "em_open_", "md_open_"):
            if _open_first(at, prefix):
                assert not at.exception, at.exception
                seen += leaks(at)
        for room_key in ("em_r_room", "med_room_0"):
            if any(box.key == room_key for box in at.selectbox):
                at.session_state[room_key] = first_room
                at.run()
                assert not at.exception, at.exception
                seen += leaks(at)
    assert seen == []
