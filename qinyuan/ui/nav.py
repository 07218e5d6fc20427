"""Navigation per role: a user is offered only their pages, at fixed URL paths."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from .. import access
from . import auth
from .common import demo_banner, get_db, language_switch, setup_page, t

ROOT = Path(__file__).resolve().parents[2]
ICONS = {"overview": "📊", "households": "🏠", "testing": "🧪", "roster": "👥", "duty": "🕘", "medicine": "💊",
         "emergencies": "🚑", "supplies": "📦", "admin": "🔐"}


def _page(name: str) -> st.Page:
    return st.Page(ROOT / "pages" / f"{name}.py", title=t(f"page.{name}"), icon=ICONS[name],
                   url_path=None if name == "overview" else name, default=name == "overview")


def main() -> None:
    setup_page()
    st.session_state[auth.VIA_APP] = True
    language_switch()
    actor = auth.current_actor()
    st.session_state["_qy_actor"] = actor
    if actor is None:
        st.navigation([st.Page(auth.login_view, title=t("page.login"), url_path="login", default=True)],
                      position="hidden").run()
        return
    if auth.must_change_password(actor):
        st.navigation([st.Page(auth.password_view, title=t("page.password"), default=True)], position="hidden").run()
        return
    auth.sidebar(actor)
    demo_banner(get_db())
    pages = [_page(name) for name in access.pages_for(actor)]
    st.navigation(pages).run()
