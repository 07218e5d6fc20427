"""A team picker that stays small at any size: every team in one list up to TEAM_LIST_LIMIT teams;
beyond (a 100x compound has thousands) a search box and the first TEAM_CHOICES matches."""

from __future__ import annotations

import streamlit as st

from .. import teams
from ..access import Actor
from ..db import Database
from .common import t

TEAM_LIST_LIMIT = 60
TEAM_CHOICES = 50


def team_picker(
    db: Database,
    actor: Actor,
    label: str,
    key: str,
    *,
    allow_none: bool = False,
    none_label: str | None = None,
    exclude: int | None = None,
    container=None,
) -> int | None:
    """The picked team id (None for "all" when allow_none). The options are ids; the names come
    from the same query, so the list and its labels always agree."""
    box = container if container is not None else st
    if teams.team_count(db, actor) <= TEAM_LIST_LIMIT:
        options = teams.team_options(db, actor)
    else:
        search = box.text_input(t("roster.team_search"), key=f"{key}_q", max_chars=40)
        current = st.session_state.get(key)
        options = teams.team_options(
            db, actor, search=search, limit=TEAM_CHOICES, include=current if isinstance(current, int) else None
        )
    names = dict(options)
    ids = [i for i in names if i != exclude]
    if allow_none:
        ids = [None, *ids]
    if not ids:
        box.caption(t("common.none"))
        return None
    return box.selectbox(
        label, ids, key=key, format_func=lambda i: (none_label or t("common.all")) if i is None else names.get(i, str(i))
    )
