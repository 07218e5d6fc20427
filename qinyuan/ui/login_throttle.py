"""The committee's view of login throttling on /admin: who failed from where, and an audited unlock.
Self-contained: the admin page calls throttled_list() once and account_throttle() under an account."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import logins
from ..access import Actor
from ..db import Database
from . import safe
from .common import attempt, flash, t


def wait_text(seconds: int) -> str:
    """A wait in seconds as the user reads it: seconds under a minute and a half, else minutes."""
    return t("login.wait_seconds", n=seconds) if seconds < 90 else t("login.wait_minutes", n=-(-seconds // 60))


def throttled_list(db: Database, actor: Actor) -> None:
    """Every (username, address) with failed logins in the window, and how long each must still wait."""
    minutes = logins.Throttle.from_settings(db).window_minutes
    rows = logins.throttled(db, actor)
    with st.expander(t("security.throttled_title", minutes=minutes), icon=":material/shield_lock:"):
        if not rows:
            st.caption(t("security.none_throttled"))
            return
        frame = pd.DataFrame(rows)[["username", "client", "failures", "latest", "wait"]]
        frame["latest"] = pd.to_datetime(frame["latest"], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%H:%M:%S")
        frame.columns = [
            t("security.col_username"),
            t("security.col_client"),
            t("security.col_failures"),
            t("security.col_latest"),
            t("security.col_wait"),
        ]
        st.dataframe(frame, hide_index=True, width="stretch")


def account_throttle(db: Database, actor: Actor, username: str) -> None:
    """Under one account on /admin: its failed logins, and a button that forgets them (audited)."""
    rows = [r for r in logins.throttled(db, actor) if r["username"] == username]
    if not rows:
        return
    longest = max(r["wait"] for r in rows)
    waiting = t("security.user_waiting", wait=wait_text(longest)) if longest else t("security.user_not_waiting")
    st.warning(
        t(
            "security.user_throttled",
            n=sum(r["failures"] for r in rows),
            clients=len(rows),
            minutes=logins.Throttle.from_settings(db).window_minutes,
            waiting=waiting,
        ),
        icon=":material/lock:",
    )
    if st.button(t("security.unlock"), key=f"adm_unlock_{username}", width="stretch"):
        count = attempt(lambda: logins.unlock(db, actor, username))
        if count is not None:
            flash(t("security.unlocked", username=safe.md(username), n=count))
            st.rerun()
