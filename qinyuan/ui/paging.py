"""The one pager of the app and the one page-count computation.

A paged list draws `pager(total, size, key)` (the total known first) or `paged(fetch, size, key)` (the
service call returns its page and the total together). Either way the picker is a number input keyed
`key`, shown only when there is more than one page, with the caption "page p of n (N rows)"; a page
beyond the end (the list shrank: filters changed, steps taken) falls back to the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from .common import t


def page_count(total: int, size: int) -> int:
    """Pages needed for `total` rows at `size` a page: at least one, so an empty list is page 1 of 1."""
    return max(1, -(-int(total) // int(size)))


def current_page(key: str, pages: int | None = None) -> int:
    """The page the user picked (read before the picker is drawn), back to 1 when beyond `pages`."""
    page = int(st.session_state.get(key) or 1)
    if pages is not None and not 1 <= page <= pages:
        page = 1
        if key in st.session_state:
            st.session_state[key] = 1
    return page


def _picker(page: int, pages: int, total: int, key: str) -> None:
    if pages > 1:
        if st.session_state.get(key) != page:
            st.session_state[key] = page
        st.number_input(t("paging.page"), min_value=1, max_value=pages, step=1, key=key)
    st.caption(t("common.page_of", page=page, pages=pages, n=total))


def pager(total: int, size: int, key: str) -> int:
    """The picker and caption for a list of `total` rows; returns the page (1-based) to fetch."""
    pages = page_count(total, size)
    page = current_page(key, pages)
    _picker(page, pages, total, key)
    return page


def paged(fetch: Callable[[int, int], tuple[Any, int]], size: int, key: str) -> tuple[Any, int]:
    """One service call `fetch(limit, offset) -> (rows, total)` for the page picked, the first page again
    when the list shrank below it, then the picker and caption. Returns (rows, total)."""
    page = current_page(key)
    rows, total = fetch(size, (page - 1) * size)
    pages = page_count(total, size)
    if page > pages:
        page = 1
        rows, total = fetch(size, 0)
    _picker(page, pages, total, key)
    return rows, total
