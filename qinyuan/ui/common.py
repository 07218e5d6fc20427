"""Shared UI plumbing: the database handle, language, messages and page chrome."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .. import i18n
from ..backends import is_server
from ..db import Database, default_path
from ..errors import DatabaseBusy, QinyuanError
from ..states import Machine
from . import safe

LANG_KEY = "_qy_lang"


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Database:
    return Database.open(path, create=True)


def handle(path: str) -> Database:
    """This process's Database for a file path or a postgresql:// address (a file by its absolute path)."""
    return _open(path if is_server(path) else os.path.abspath(path))


def get_db() -> Database:
    """One Database per process (DuckDB lets one process hold the file; on PostgreSQL a connection pool). When
    it cannot be opened (another server holds the file, the disk is full, the database server is unreachable or
    not migrated) the page says so in the user's language and stops."""
    try:
        return handle(default_path())
    except DatabaseBusy:
        problem = t("safety.db_held")
    except QinyuanError as exc:
        problem = error_text(exc)
    st.error(problem, icon=":material/database:")
    st.stop()


def lang() -> str:
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = i18n.normalise(st.query_params.get("lang", i18n.DEFAULT_LANG))
    return st.session_state[LANG_KEY]


def t(key: str, **params) -> str:
    return i18n.t(key, lang(), **params)


def state_label(machine: Machine, state: str) -> str:
    """A status word: the one catalogue entry of that state of that machine."""
    return machine.label(state, lang())


def entity_label(entity: str) -> str:
    """What the audit log calls a kind of record, in the user's language (the code itself if unnamed)."""
    key = f"audit.entity.{entity}"
    text = t(key)
    return entity if text == key else text


def error_text(exc: Exception) -> str:
    """A domain error in the user's language, for st.error and friends (Markdown): its parameters may be
    what the user typed (a room, a name), so they are escaped."""
    params = {k: v if isinstance(v, (int, float)) else safe.md(v) for k, v in getattr(exc, "params", {}).items()}
    return i18n.t(getattr(exc, "key", "error.generic"), lang(), **params)


_FLASH = "_qy_flash"
_FLASH_SHOW = {
    "success": (st.success, ":material/check_circle:"),
    "info": (st.info, ":material/info:"),
    "warning": (st.warning, ":material/warning:"),
    "error": (st.error, ":material/error:"),
}


def _flash_key(where: str | None) -> str:
    """One queue of messages per page (the running page's script), or per view of a page (`where`)."""
    if where is None:
        ctx = get_script_run_ctx()
        where = ctx.page_script_hash if ctx is not None else ""
    return f"{_FLASH}:{where}"


def flash(message: str, kind: str = "success", where: str | None = None) -> None:
    """Keep a message for the next run of this page (it survives st.rerun and callbacks): the one flash of
    the app. kind: success | info | warning | error. Messages are Markdown: user text in them goes through
    safe.md (error_text does that for domain errors)."""
    if kind not in _FLASH_SHOW:
        raise ValueError(f"flash kind {kind!r}")
    st.session_state.setdefault(_flash_key(where), []).append((kind, message))


def show_flash(where: str | None = None) -> None:
    """Show (once) the messages left for this page by flash(), in the order they were left."""
    for kind, message in st.session_state.pop(_flash_key(where), []):
        show, icon = _FLASH_SHOW[kind]
        show(message, icon=icon)


def attempt(fn: Callable[[], Any], success: str | None = None) -> Any:
    """Run a service call; a domain error becomes a clear message in the user's language."""
    try:
        result = fn()
    except QinyuanError as exc:
        st.error(error_text(exc), icon="⚠️")
        return None
    if success:
        st.toast(success, icon="✅")
    return result


CSS = """
<style>
  .block-container {padding-top: 4rem; padding-left: 1rem; padding-right: 1rem; max-width: 1200px;}
  div[data-testid="stMetric"] {background: #fff5f5; border: 1px solid #f3d0d0; border-radius: 8px; padding: 6px 10px;}
  div[data-testid="stMetricValue"] {font-size: 1.5rem;}
  /* tap targets of at least 44 px: a tag's remove cross, phone links, the chart/table toolbar (kept clear of
     the widget above it, whose chevron it covered) */
  div[data-testid="stMultiSelectTagsContainer"] [data-tag] > button {min-width: 44px; min-height: 44px;
    margin: -12px -10px -12px -4px; display: inline-flex; align-items: center; justify-content: center;}
  div[data-testid="stMultiSelectTagsContainer"] [data-tag] > button svg {width: .8em; height: .8em;}
  div[data-testid="stMultiSelectTagsContainer"] [data-tag] {overflow: visible;}
  a[href^="tel:"] {display: inline-flex; align-items: center; min-height: 44px; min-width: 44px; padding: 0 4px;}
  div[data-testid="stElementToolbar"] button, div[data-testid="stElementToolbarButton"] button {min-width: 44px; min-height: 44px;}
  div[data-testid="stElementContainer"]:has(> div[data-testid="stElementToolbar"]),
  div[data-testid="stElementContainer"]:has(div[data-testid="stVegaLiteChart"]),
  div[data-testid="stElementContainer"]:has(div[data-testid="stDataFrame"]) {margin-top: 2.5rem;}
  @media (max-width: 640px) {
    .block-container {padding-left: .6rem; padding-right: .6rem;}
    div[data-testid="stMetricValue"] {font-size: 1.25rem;}
    div[data-testid="stHorizontalBlock"] {flex-wrap: wrap; gap: .5rem;}
    div[data-testid="stHorizontalBlock"] > div[data-testid="stColumn"] {min-width: calc(50% - .5rem) !important; flex: 1 1 calc(50% - .5rem) !important;}
  }
</style>
"""


def setup_page() -> None:
    st.set_page_config(
        page_title=i18n.t("app.title", lang()), page_icon=":material/flag:", layout="wide", initial_sidebar_state="auto"
    )
    st.html(CSS)


def language_switch(where=None) -> None:
    current = lang()
    where = where or st.sidebar
    choice = where.radio(
        t("app.language"),
        i18n.LANGS,
        index=i18n.LANGS.index(current),
        horizontal=True,
        format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        key=f"_qy_lang_radio_{'main' if where is st else 'side'}",
    )
    if choice != current:
        st.session_state[LANG_KEY] = choice
        st.query_params["lang"] = choice
        st.rerun()


def demo_banner(db: Database) -> None:
    if db.demo_date:
        st.caption(":material/science: " + t("app.demo_banner", date=db.demo_date.isoformat()))
