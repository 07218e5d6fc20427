"""Deep links between pages: a to-do or attention line opens its action with the room, order or case
already picked. The link carries query params; the target page takes each one once on arrival."""

from __future__ import annotations

import streamlit as st


def arrived(name: str, page_key: str) -> int | None:
    """The id a link brought for `name`, on arrival only: while `page_key` (a widget of the target page) is
    not in the session yet, i.e. the first run of a visit (Streamlit forgets a page's widgets when another
    page runs). Later runs keep what the user picks; the URL keeps the id, so browser back and reload work."""
    raw = st.query_params.get(name)
    if raw is None or page_key in st.session_state:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def link(page: str, label: str, params: dict | None = None, icon: str | None = None) -> None:
    """One tap to an action: a full-width link to pages/<page>.py with its query params."""
    st.page_link(
        f"pages/{page}.py",
        label=f"{label} ›",
        icon=icon,
        width="stretch",
        query_params={k: str(v) for k, v in (params or {}).items()},
    )
