"""Navigation per role: a user is offered only their pages, at fixed URL paths."""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from .. import access
from . import auth, door
from .common import demo_banner, get_db, language_switch, setup_page, t

ROOT = Path(__file__).resolve().parents[2]
ICONS = {
    "overview": ":material/dashboard:",
    "households": ":material/home:",
    "testing": ":material/biotech:",
    "roster": ":material/groups:",
    "duty": ":material/schedule:",
    "medicine": ":material/medication:",
    "emergencies": ":material/emergency:",
    "supplies": ":material/inventory_2:",
    "admin": ":material/admin_panel_settings:",
}
# The page a role lands on after login: members check their duty first.
LANDING = {"member": "duty"}


def _page(name: str, landing: str) -> st.Page:
    return st.Page(
        ROOT / "pages" / f"{name}.py", title=t(f"page.{name}"), icon=ICONS[name], url_path=name, default=name == landing
    )


def _door_pages() -> list[st.Page]:
    """The door page as the default page and at /door too: a default page's address is the root, so a card's
    /door?k=… link was "not found" (Streamlit's English box over the household's page) once the server had
    served any logged-in page."""

    def door_at_its_address() -> None:
        door.page()

    return [
        st.Page(ROOT / "pages" / "door.py", title=t("door.title"), url_path="household", default=True),
        st.Page(door_at_its_address, title=t("door.title"), url_path="door"),
    ]


def _login_pages() -> list[st.Page]:
    """Logged out, every page's address shows the login (then that page): a link to /testing opened logged out
    showed Streamlit's English "Page not found" over the form, which it also made untouchable."""

    def at(name: str):
        def view() -> None:
            auth.login_view()

        view.__name__ = f"login_{name}"
        return view

    return [
        st.Page(auth.login_view, title=t("page.login"), icon=":material/login:", url_path="login", default=True),
        *(st.Page(at(name), title=t("page.login"), url_path=name) for name in access.PAGES),
    ]


def main() -> None:
    log = os.environ.get("QINYUAN_RUN_LOG")  # ops/benchmark: one line per script run with its duration
    if not log:
        _main()
        return
    started = time.perf_counter()
    try:
        _main()
    finally:
        actor = st.session_state.get("_qy_actor")
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{time.time():.3f}\t{actor.role if actor else '-'}\t{time.perf_counter() - started:.4f}\n")


def _main() -> None:
    if door.is_door_request():  # a household's door card: its own page only, before and without any login
        st.navigation(_door_pages(), position="hidden").run()
        return
    setup_page()
    st.session_state[auth.VIA_APP] = True
    actor = auth.current_actor()
    st.session_state["_qy_actor"] = actor
    if actor is None:  # the login page has its own language switch
        st.navigation(_login_pages(), position="hidden").run()
        return
    if auth.must_change_password(actor):
        st.navigation([st.Page(auth.password_view, title=t("page.password"), default=True)], position="hidden").run()
        return
    language_switch()
    auth.sidebar(actor)
    demo_banner(get_db())
    landing = LANDING.get(actor.role, "overview")
    st.navigation([_page(name, landing) for name in access.pages_for(actor)]).run()
