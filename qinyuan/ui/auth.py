"""Login gate around streamlit-authenticator, with what it lacks: accounts in DuckDB, a secret
cookie key, our own password check (logins.attempt: throttled per username and client), strict
cookie decoding, cookie revocation, and forced password changes. Every touch point on the library
(its internals, its session keys) is in the adapter authlib.py; this module holds our rules."""

from __future__ import annotations

import dataclasses
import functools
import os
from datetime import datetime
from pathlib import Path

import streamlit as st

from .. import access, clock, logins, users
from ..access import Actor
from ..db import Database
from ..errors import QinyuanError
from . import authlib, safe
from .common import get_db, language_switch, setup_page, t
from .login_throttle import wait_text

COOKIE_NAME = "qinyuan_auth"
KNOWN_BAD_KEYS = {"some_key", "abcdef", "random_signature_key", "changeme", "secret"}
MIN_KEY_LENGTH = 32
MIN_KEY_DISTINCT = 12  # 64 random hex digits show all 16 but for one time in ten million
ROOT = Path(__file__).resolve().parents[2]
_NOT_SOURCE = {"data", "test-artifacts", "node_modules", "__pycache__", "tmp"}
_SOURCE_SUFFIXES = {".py", ".md", ".toml", ".txt", ".json", ".sql", ".cfg", ".ini", ".yml", ".yaml", ".sh", ""}
_AUTH = "_qy_authenticator"
_ISSUED = "_qy_issued_at"
_MSG = "_qy_login_msg"
_SET_COOKIE = "_qy_set_cookie"


class ConfigError(RuntimeError):
    pass


def _config(env: str, secret: str, default=None):
    """A setting from the environment, else from .streamlit/secrets.toml, else the default."""
    value = os.environ.get(env)
    if value is not None:
        return value
    try:
        return st.secrets.get(secret, default)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return default


def cookie_key() -> str:
    key = _config("QINYUAN_COOKIE_KEY", "cookie_key")
    if not key or _key_weak(str(key)):
        raise ConfigError("cookie key missing, short, of few distinct characters, published, or found in the code")
    return str(key)


@functools.cache
def _key_weak(key: str) -> bool:
    return len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_DISTINCT or key in KNOWN_BAD_KEYS or _in_repository(key)


def _in_repository(key: str) -> bool:
    """Is the key written anywhere in the project's own files (code, docs, settings; not the git-ignored
    secrets file that should hold it)? A key anyone with the code can read signs anyone's cookie."""
    secrets_file = ROOT / ".streamlit" / "secrets.toml"
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _NOT_SOURCE and (not d.startswith(".") or d == ".streamlit")]
        for name in files:
            path = Path(folder) / name
            if path == secrets_file or path.suffix not in _SOURCE_SUFFIXES:
                continue
            try:
                if key in path.read_text(encoding="utf-8", errors="ignore"):
                    return True
            except OSError:
                continue
    return False


def cookie_hours() -> float:
    return float(_config("QINYUAN_COOKIE_HOURS", "cookie_hours", 12))


def proxy_hops() -> int:
    """How many reverse proxies stand in front of the server, each appending to X-Forwarded-For
    (0, the default: the header is ignored, anyone could write it)."""
    return int(_config("QINYUAN_PROXY_HOPS", "proxy_hops", 0))


def client_address() -> str:
    """Where a login comes from, for the throttle: the address the last trusted proxy saw, else the
    connection's own address ("local" on localhost, where Streamlit gives none)."""
    hops = proxy_hops()
    if hops:
        forwarded = (st.context.headers or {}).get("X-Forwarded-For")
        chain = [part.strip() for part in forwarded.split(",") if part.strip()] if isinstance(forwarded, str) else []
        if len(chain) >= hops:
            return chain[-hops]
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "local"  # not a string outside a real server


def _issued_at(token: dict) -> datetime | None:
    """When the cookie was issued: our own signed "issued" claim (see _stamp_issue_time).

    The library's token holds only username and exp_date. Deriving the issue time as
    exp_date - cookie_hours was wrong whenever cookie_hours is lowered after a cookie was issued
    (12 h -> 1 h made a cookie issued before a logout look issued after it, and it worked again)."""
    try:
        return datetime.fromtimestamp(float(token["issued"]), tz=clock.TZ)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def token_refused(db: Database, token: dict) -> bool:
    """A cookie is refused when it carries no issue time, its user is gone or inactive, or it was
    issued before the user's tokens_valid_after (logout, password change, reset, deactivation,
    role or team change)."""
    issued = _issued_at(token)
    return issued is None or users.token_revoked(db, str(token.get("username", "")), issued)


def make_authenticator(db: Database, key: str, hours: float) -> authlib.Authenticator:
    """The library's authenticator on our accounts: cookies carry a signed issue time (see _issued_at),
    typed passwords go to our throttled check, revoked cookies are refused."""
    return authlib.build(
        users.credentials(db),
        COOKIE_NAME,
        key,
        hours,
        claims=lambda: {"issued": clock.real_now().timestamp()},
        password_login=functools.partial(_password_login, db),
        accept_token=functools.partial(_accept, db),
    )


def _accept(db: Database, token: dict) -> bool:
    if token_refused(db, token):
        return False
    st.session_state[_ISSUED] = _issued_at(token)
    return True


def _password_login(
    db: Database, authenticator: authlib.Authenticator, username: str | None, password: str | None
) -> bool | None:
    """Our password check (logins.attempt: throttled per username and client, counted before bcrypt);
    a success logs in through the library's cookie path."""
    if not (username or "").strip() or not users.normalise_password(password):
        st.session_state[_MSG] = ("login.empty", {})
        return None
    outcome = logins.attempt(db, username, password, client_address())
    if outcome.ok:
        if not authlib.enter(authenticator, outcome.username):  # deactivated between the check and now
            st.session_state[_MSG] = ("login.failed", {})
            return False
        st.session_state[_ISSUED] = clock.real_now()
        st.session_state[_SET_COOKIE] = True
        st.session_state.pop(_MSG, None)
        return True
    authlib.mark_failed()
    st.session_state[_MSG] = _refusal(db, outcome)
    return False


def _refusal(db: Database, outcome: logins.Outcome) -> tuple[str, dict]:
    if outcome.error:
        return outcome.error, {}
    if outcome.throttled:
        return ("login.locked", {"wait": wait_text(outcome.wait)})
    if outcome.wait:
        return ("login.failed_wait", {"wait": wait_text(outcome.wait)})
    if outcome.left:
        first = logins.Throttle.from_settings(db).delay_seconds
        return ("login.failed_left", {"left": outcome.left, "wait": wait_text(first)})
    return ("login.failed", {})


@st.fragment
def _cookie_host(db: Database, key: str, hours: float) -> None:
    authenticator = make_authenticator(db, key, hours)
    st.session_state[_AUTH] = authenticator
    if st.session_state.get(_SET_COOKIE) and authlib.is_logged_in():
        st.session_state[_SET_COOKIE] = False
        authlib.set_cookie(authenticator)


def authenticator() -> authlib.Authenticator:
    return st.session_state[_AUTH]


def login_view() -> None:
    """The login page. Drawn after st.navigation has been called, so a fresh server's switch from
    the pages/ folder to navigation cannot remount the form while someone types."""
    st.title(t("app.title"))
    st.caption(t("app.tagline"))
    st.html(
        "<style>[data-testid='stForm'] {max-width: 30rem;}"
        " [data-testid='stForm'] [data-testid='stElementContainer']:has([data-testid='stFormSubmitButton']),"
        " [data-testid='stForm'] [data-testid='stElementContainer']:has([data-testid='stFormSubmitButton']) div,"
        " [data-testid='stForm'] [data-testid='stFormSubmitButton'] button {width: 100%;}"
        # logged out the sidebar is empty: left open by a logout on a phone it covered this form
        " section[data-testid='stSidebar'], [data-testid='stExpandSidebarButton'] {display: none !important;}</style>"
    )
    language_switch(st)
    try:
        authlib.login_form(
            authenticator(),
            "login",
            {
                "Form name": t("login.title"),
                "Username": t("login.username"),
                "Password": t("login.password"),
                "Login": t("login.submit"),
            },
        )
    except QinyuanError as exc:  # a login that cannot be recorded (disk full...) is no login
        authlib.mark_nobody()
        st.session_state[_MSG] = (exc.key, exc.params)
    message = st.session_state.get(_MSG)
    if message:
        st.error(t(message[0], **message[1]), icon=":material/lock:")
    if authlib.is_logged_in() and _current_actor(get_db()) is not None:
        st.rerun()


def _logout(db: Database, username: str) -> None:
    users.revoke_tokens(db, username, "logout")


def _current_actor(db: Database) -> Actor | None:
    if not authlib.is_logged_in():
        return None
    username = authlib.username()
    issued = st.session_state.get(_ISSUED)
    if issued is None or users.token_revoked(db, username, issued):
        authlib.log_out(authenticator())
        st.session_state.pop(_ISSUED, None)
        st.session_state[_MSG] = ("login.revoked", {})
        return None
    actor = users.actor_for(db, username)
    return None if actor is None else dataclasses.replace(actor, issued_at=issued)  # every write checks it


def current_actor() -> Actor | None:
    """Who is logged in, as the database says now; None when nobody (or a revoked cookie) is.
    Renders nothing but the hidden cookie component; called once per script run."""
    db = get_db()
    try:
        key = cookie_key()
    except ConfigError:
        st.error(t("login.no_cookie_key"))
        st.stop()
    _cookie_host(db, key, cookie_hours())
    authlib.login_from_cookie(authenticator())  # accepts a valid, unrevoked cookie
    return _current_actor(db)


def must_change_password(actor: Actor) -> bool:
    return bool(users.account(get_db(), actor.username)["must_change_password"])


def password_view() -> None:
    actor = st.session_state.get("_qy_actor")
    if actor is None:
        st.stop()
    if must_change_password(actor):
        st.info(t("login.must_change"))
    password_form(get_db(), actor)


def sidebar(actor: Actor) -> None:
    db = get_db()
    with st.sidebar:
        st.markdown(f"**{safe.md(actor.display_name or actor.username)}** · {t('role.' + actor.role)}")
        st.caption(actor.username)
        with st.expander(t("login.change_my_password"), icon=":material/key:"):
            password_form(db, actor, key="password_change_sidebar", title=False)
        authlib.logout_button(
            authenticator(), t("app.logout"), "qy_logout", lambda username: _logout(db, username or actor.username)
        )
    if not authlib.is_logged_in():
        st.rerun()


def password_form(db: Database, actor: Actor, key: str = "password_change", title: bool = True) -> None:
    """Users change their own password; every cookie they hold, this one included, then ends."""
    with st.form(key, clear_on_submit=True):
        if title:
            st.subheader(t("page.password"))
        old = st.text_input(t("login.old_password"), type="password", key=f"{key}_old")
        new = st.text_input(t("login.new_password"), type="password", key=f"{key}_new")
        again = st.text_input(t("login.new_password_again"), type="password", key=f"{key}_again")
        submitted = st.form_submit_button(t("common.save"), type="primary", width="stretch")
    if submitted:
        if new != again:
            st.error(t("error.password_mismatch"))
            return
        from .common import attempt

        if attempt(lambda: users.change_password(db, actor.username, old, new) or True):
            # Every cookie, this one included, is now void: log in again with the new password.
            st.session_state.pop(_ISSUED, None)
            authlib.end_session()
            st.session_state[_MSG] = ("login.password_changed", {})
            st.rerun()


VIA_APP = "_qy_via_app"


def guard(page: str) -> Actor:
    """First lines of every page script. Through app.py the actor is resolved already; opened
    directly by URL (a fresh server serves pages/ before any st.navigation) it logs in here."""
    if st.session_state.get(VIA_APP):
        actor = st.session_state.get("_qy_actor")
    else:
        setup_page()
        # Streamlit's own pages/ menu would list every page, whatever the role: hide it.
        st.html("<style>[data-testid='stSidebarNav'], [data-testid='stSidebarNavSeparator'] {display: none;}</style>")
        actor = current_actor()
        if actor is None:
            login_view()
        elif must_change_password(actor):
            st.session_state["_qy_actor"] = actor
            password_view()
            actor = None
    if actor is None:
        st.stop()
    if not access.can_view_page(actor, page):
        st.error(t("error.permission"))
        st.stop()
    return actor
