"""Deep links between pages: a to-do or attention line opens its action with the room, order or case
already picked. The link carries query params; the target page takes each one once on arrival."""

from __future__ import annotations

import streamlit as st


def arrived(name: str) -> int | None:
    """The id a link brought for `name` (then removed from the URL, so picking something else sticks)."""
    raw = st.query_params.get(name)
    if raw is None:
        return None
    del st.query_params[name]
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def link(page: str, label: str, params: dict | None = None, icon: str | None = None) -> None:
    """One tap to an action: a full-width link to pages/<page>.py with its query params."""
    st.page_link(f"pages/{page}.py", label=label, icon=icon, width="stretch",
                 query_params={k: str(v) for k, v in (params or {}).items()})
