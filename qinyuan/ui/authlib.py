"""The one place that touches streamlit-authenticator 0.4.2 and extra-streamlit-components 0.1.81.

Nothing else in the project imports either library, names their private members or reads their
session keys. tests/unit/test_auth_adapter.py pins every name used here (signature, and source for
what is replaced or relied on inside): an upgrade that changes one fails that test, naming what to
re-check here. Our own rules (throttle, revocation, messages) live in auth.py.

Public API used: Authenticate(...), .login(location=...), .logout(location=...),
.cookie_controller.set_cookie(), .authentication_controller.login(token=...) (its documented
re-authentication path), LoginError and the documented session keys. Internals touched, because the
library has no hook for them (each pinned by the contract test):

1. stx.CookieManager is replaced by QuietCookieManager (uses the private _component_func): the
   library's manager renders a cookie-reading component that reruns the script once loaded (~2 s
   after the page appears), dropping a login typed at once. The library reads the cookie from the
   request (st.context.cookies) anyway; the set/delete components still render.
2. CookieModel._token_encode: the token also carries claims of ours (the issue time).
3. CookieModel._token_decode: only an HS256 token with a string username and a numeric expiry is
   a cookie (the library let alg none, HS512 or garbage crash the page).
4. The instance attribute authentication_controller.login: the library's login form and cookie
   path call it; ours sends passwords to our own check and tokens through our revocation check.
5. The session key "logout" (undocumented): True makes the library ignore the cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import extra_streamlit_components as stx
import jwt
import streamlit as st
import streamlit_authenticator as stauth
from extra_streamlit_components.CookieManager import _component_func
from streamlit_authenticator.utilities.exceptions import LoginError

# The library's session keys (the first two documented, "logout" not).
STATUS = "authentication_status"
USERNAME = "username"
IGNORE_COOKIE = "logout"
SESSION_KEYS = frozenset({STATUS, USERNAME, IGNORE_COOKIE, "name", "email", "roles", "password_hint", "failed_login_attempts"})

Authenticator = stauth.Authenticate


class QuietCookieManager(stx.CookieManager):
    """The library's cookie manager without its cookie-reading component (touch point 1)."""

    def __init__(self, key: str = "init"):  # noqa: ARG002 - the library calls CookieManager(key=...)
        self.cookie_manager = _component_func
        self.cookies = {}

    def delete(self, cookie, key="delete"):
        if cookie:
            self.cookie_manager(method="delete", cookie=cookie, key=key, default=False)
            self.cookies.pop(cookie, None)


stx.CookieManager = QuietCookieManager  # the library's CookieModel builds stx.CookieManager()


def build(
    credentials: dict,
    cookie_name: str,
    key: str,
    hours: float,
    *,
    claims: Callable[[], dict],
    password_login: Callable[[Authenticator, str | None, str | None], bool | None],
    accept_token: Callable[[dict], bool],
) -> Authenticator:
    """An authenticator whose cookies carry claims() besides the library's, that decodes cookies
    strictly, sends typed passwords to password_login(authenticator, username, password) (which calls
    enter() on success) and lets in
    a cookie only when accept_token(token) says so (else the cookie is ignored for the session)."""
    authenticator = stauth.Authenticate(credentials, cookie_name, key, hours / 24.0, auto_hash=False, login_sleep_time=0)
    model = authenticator.cookie_controller.cookie_model

    def encode() -> str:  # touch point 2
        return jwt.encode(
            {"username": st.session_state[USERNAME], "exp_date": model.exp_date, **claims()}, model.cookie_key, algorithm="HS256"
        )

    def decode() -> dict | bool:  # touch point 3
        try:
            payload = jwt.decode(model.token, model.cookie_key, algorithms=["HS256"])
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return False
        fine = (
            isinstance(payload, dict)
            and isinstance(payload.get("username"), str)
            and isinstance(payload.get("exp_date"), (int, float))
        )
        return payload if fine else False

    def login(
        username: str | None = None, password: str | None = None, *_ignored: Any, token: dict | None = None, **_ignored_too: Any
    ) -> bool | None:  # touch point 4
        if token:
            if not accept_token(token):
                ignore_cookie()
                return None
            return enter_with_token(authenticator, token)
        return password_login(authenticator, username, password)

    model._token_encode = encode
    model._token_decode = decode
    authenticator.authentication_controller.login = login
    return authenticator


def enter_with_token(authenticator: Authenticator, token: dict) -> None:
    """The library's own re-authentication (sets its session keys); LoginError if the user is not
    in the credentials."""
    controller = authenticator.authentication_controller
    type(controller).login(controller, token=token)  # the class's method, not our replacement


def enter(authenticator: Authenticator, username: str) -> bool:
    """Log username in after our own password check; False when the account vanished meanwhile."""
    try:
        enter_with_token(authenticator, {"username": username})
    except LoginError:
        mark_failed()
        return False
    return True


def login_form(authenticator: Authenticator, key: str, fields: dict[str, str]) -> None:
    authenticator.login(location="main", key=key, fields=fields)


def login_from_cookie(authenticator: Authenticator) -> None:
    """Accept a valid cookie (renders nothing)."""
    authenticator.login(location="unrendered")


def set_cookie(authenticator: Authenticator) -> None:
    authenticator.cookie_controller.set_cookie()


def log_out(authenticator: Authenticator) -> None:
    """End the session and delete its cookie (no button)."""
    if is_logged_in():
        authenticator.logout(location="unrendered")


def logout_button(authenticator: Authenticator, label: str, key: str, callback: Callable[[str | None], None]) -> None:
    """A sidebar logout button; callback(username) runs before the session ends."""
    authenticator.logout(label, location="sidebar", key=key, callback=lambda info: callback(info.get("username")))


def is_logged_in() -> bool:
    return bool(st.session_state.get(STATUS))


def username() -> str:
    return st.session_state.get(USERNAME) or ""


def mark_failed() -> None:
    """A refused login: the library's status says so (the form stays)."""
    st.session_state[STATUS] = False


def mark_nobody() -> None:
    """Nobody logged in, nothing refused (a login that could not be recorded)."""
    st.session_state[STATUS] = None


def ignore_cookie() -> None:
    """The library ignores the browser's cookie for the rest of this session (touch point 5)."""
    st.session_state[IGNORE_COOKIE] = True


def end_session() -> None:
    """Log out this session without a rerun of the library's logout (its cookie is void anyway)."""
    mark_nobody()
    ignore_cookie()
