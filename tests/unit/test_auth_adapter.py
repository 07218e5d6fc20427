"""Contract test of the login adapter (issue 18 item 1): qinyuan/ui/authlib.py is the only place that
touches streamlit-authenticator and extra-streamlit-components, and every library name it touches
(calls, replaces, or relies on inside) is pinned here by its signature and a hash of its source.

When an upgrade fails this test: read the named function's new source, re-check the adapter code the
message names (and tests/e2e/test_auth.py), then update the pin. Do not just update the pin."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest
import streamlit as st

from qinyuan.ui import authlib

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = {"streamlit-authenticator": "0.4.2", "extra-streamlit-components": "0.1.81"}
SA, STX = "streamlit_authenticator", "extra_streamlit_components.CookieManager"

# (module:qualified name, parameters, sha256 of inspect.getsource()[:16], what in authlib depends on it)
CONTRACT = [
    (
        f"{SA}:Authenticate.__init__",
        "self, credentials, cookie_name='some_cookie_name', cookie_key='some_key', cookie_expiry_days=30.0, "
        "validator=None, auto_hash=True, api_key=None, **kwargs",
        "605668c017fbbf3e",
        "build(): positional credentials/name/key/days, auto_hash, login_sleep_time kwarg; builds the controllers",
    ),
    (
        f"{SA}:Authenticate.login",
        "self, location='main', max_concurrent_users=None, max_login_attempts=None, fields=None, captcha=False, "
        "single_session=False, clear_on_submit=False, key='Login', callback=None",
        "b964dd7d41731244",
        "login_form/login_from_cookie and build()'s login replacement: how it reads the cookie, sleeps "
        "(login_sleep_time), calls authentication_controller.login and set_cookie, its form labels (e2e)",
    ),
    (
        f"{SA}:Authenticate.logout",
        "self, button_name='Logout', location='main', key='Logout', use_container_width=False, callback=None",
        "783362b48d264fb7",
        "log_out (unrendered: logout + delete cookie) and logout_button (callback(info))",
    ),
    (
        f"{SA}.controllers.authentication_controller:AuthenticationController.login",
        "self, username=None, password=None, max_concurrent_users=None, max_login_attempts=None, token=None, "
        "single_session=False, callback=None, captcha=False, entered_captcha=None",
        "6dd357378abd3185",
        "build(): replaced per instance; enter_with_token calls the class's method with token=",
    ),
    (
        f"{SA}.controllers.authentication_controller:AuthenticationController.logout",
        "self, callback=None",
        "a90b822b840a3ec8",
        "log_out",
    ),
    (
        f"{SA}.controllers.cookie_controller:CookieController.__init__",
        "self, cookie_name=None, cookie_key=None, cookie_expiry_days=None, path=None",
        "e92aed7b4a227c47",
        "build(): reaches the model as cookie_controller.cookie_model",
    ),
    (f"{SA}.controllers.cookie_controller:CookieController.set_cookie", "self", "f3951b9de3e4ffce", "set_cookie"),
    (
        f"{SA}.controllers.cookie_controller:CookieController.get_cookie",
        "self",
        "a6be4e37936c0a78",
        "the token path of build()'s login replacement",
    ),
    (f"{SA}.controllers.cookie_controller:CookieController.delete_cookie", "self", "fa81719b4044d8be", "log_out"),
    (
        f"{SA}.models.cookie_model:CookieModel.__init__",
        "self, cookie_name=None, cookie_key=None, cookie_expiry_days=None, path=None",
        "b686141e48144958",
        "QuietCookieManager (built through stx.CookieManager()); encode/decode use cookie_key, token, exp_date",
    ),
    (
        f"{SA}.models.cookie_model:CookieModel.get_cookie",
        "self",
        "78d7d40e369e36fc",
        "decode (reads the request cookie, calls _token_decode, checks exp_date; the 'logout' session key)",
    ),
    (
        f"{SA}.models.cookie_model:CookieModel.set_cookie",
        "self",
        "c85567ded9fee44f",
        "encode (exp_date set before _token_encode; cookie_manager.set)",
    ),
    (f"{SA}.models.cookie_model:CookieModel.delete_cookie", "self", "2b58bb68623c6cc5", "QuietCookieManager.delete"),
    (
        f"{SA}.models.cookie_model:CookieModel._token_encode",
        "self",
        "59211bb9774aa7cf",
        "build()'s encode replaces it: keep its claims and algorithm",
    ),
    (
        f"{SA}.models.cookie_model:CookieModel._token_decode",
        "self",
        "9faa3a7b8a0e0169",
        "build()'s decode replaces it: keep what get_cookie expects back",
    ),
    (
        f"{SA}.models.authentication_model:AuthenticationModel.__init__",
        "self, credentials=None, auto_hash=True, path=None, api_key=None, secret_key='some_key', server_url=None, validator=None",
        "c2a26164ef8d9728",
        "SESSION_KEYS (initialised here), users.credentials() format",
    ),
    (
        f"{SA}.models.authentication_model:AuthenticationModel.login",
        "self, username, password, max_concurrent_users=None, max_login_attempts=None, token=None, "
        "single_session=False, callback=None",
        "6afd4ccafb5d2181",
        "enter_with_token (token path sets STATUS/USERNAME, raises LoginError for unknown users)",
    ),
    (
        f"{SA}.models.authentication_model:AuthenticationModel.logout",
        "self, callback=None",
        "6f60b1d85770863e",
        "log_out, logout_button callback info, IGNORE_COOKIE set to True",
    ),
    (
        f"{STX}:CookieManager.__init__",
        "self, key='init'",
        "8ded77bf41e8d735",
        "QuietCookieManager.__init__ replaces it (cookie_manager, cookies attributes)",
    ),
    (
        f"{STX}:CookieManager.set",
        "self, cookie, val, key='set', path='/', expires_at=None, max_age=None, domain=None, secure=None, same_site='strict'",
        "a2d6d76c8c94bf85",
        "QuietCookieManager inherits it (uses cookie_manager, cookies)",
    ),
    (f"{STX}:CookieManager.delete", "self, cookie, key='delete'", "8f59f7a50bd4b9e1", "QuietCookieManager.delete replaces it"),
]


def _resolve(name: str):
    module, qualified = name.split(":")
    obj = importlib.import_module(module)
    for part in qualified.split("."):
        obj = getattr(obj, part)
    return obj


def _parameters(fn) -> str:
    out = []
    for p in inspect.signature(fn).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name + ("" if p.default is p.empty else "=" + repr(p.default)))
    return ", ".join(out)


def _digest(fn) -> str:
    return hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:16]


def check(name: str, parameters: str, digest: str, depends: str) -> None:
    try:
        fn = _resolve(name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"login library upgrade: {name} is gone ({exc}); re-check qinyuan/ui/authlib.py: {depends}")
    found = _parameters(fn)
    assert found == parameters, (
        f"login library upgrade: the signature of {name} changed\n  was: {parameters}\n"
        f"  now: {found}\nre-check qinyuan/ui/authlib.py: {depends}"
    )
    assert _digest(fn) == digest, (
        f"login library upgrade: the source of {name} changed (sha {_digest(fn)}, "
        f"pinned {digest}); read it and re-check qinyuan/ui/authlib.py: {depends}"
    )


def test_pinned_versions():
    for dist, version in VERSIONS.items():
        assert importlib.metadata.version(dist) == version, (
            f"{dist} is no longer {version}: run this file, re-check each name it reports, then update the pins"
        )


@pytest.mark.parametrize("name, parameters, digest, depends", CONTRACT, ids=[c[0].split(":")[1] for c in CONTRACT])
def test_touched_name_unchanged(name, parameters, digest, depends):
    check(name, parameters, digest, depends)


def test_the_contract_notices_a_change(monkeypatch):
    """The check itself can fail: a changed source, signature or a vanished name each fail it."""
    from streamlit_authenticator.models.cookie_model import CookieModel

    name, parameters, digest, depends = next(c for c in CONTRACT if c[0].endswith("CookieModel._token_encode"))

    def _token_encode(self) -> str:  # noqa: ARG001 - same signature as the library's, other source
        return "changed"

    monkeypatch.setattr(CookieModel, "_token_encode", _token_encode)
    with pytest.raises(AssertionError, match="source of .*_token_encode changed"):
        check(name, parameters, digest, depends)
    monkeypatch.setattr(CookieModel, "_token_encode", lambda self, extra: "changed")  # noqa: ARG005 - a changed signature
    with pytest.raises(AssertionError, match="signature of .*_token_encode changed"):
        check(name, parameters, digest, depends)
    monkeypatch.delattr(CookieModel, "_token_encode")
    with pytest.raises(pytest.fail.Exception, match="_token_encode is gone"):
        check(name, parameters, digest, depends)


def test_private_names_and_session_keys_exist():
    import extra_streamlit_components as stx
    from extra_streamlit_components.CookieManager import _component_func
    from streamlit_authenticator.models.authentication_model import AuthenticationModel
    from streamlit_authenticator.utilities.exceptions import LoginError

    assert callable(_component_func) and issubclass(LoginError, Exception)
    assert stx.CookieManager is authlib.QuietCookieManager  # installed by importing the adapter
    init = inspect.getsource(AuthenticationModel.__init__)
    for key in (authlib.STATUS, authlib.USERNAME, authlib.IGNORE_COOKIE):
        assert f"st.session_state['{key}']" in init, f"the library no longer initialises session key {key!r}"


def test_our_login_takes_every_call_the_library_makes(monkeypatch):
    """The replacement login accepts the view's password call and the cookie path's token call, routing
    each to our callbacks; the class's own login stays reachable for enter()."""
    monkeypatch.setattr(st, "session_state", {})
    seen = []
    made = authlib.build(
        {"usernames": {"ann": {"password": "x", "name": "Ann"}}},
        "c",
        "k" * 32,
        12,
        claims=dict,
        password_login=lambda _a, u, p: seen.append(("password", u, p)) or True,
        accept_token=lambda token: seen.append(("token", token["username"])) or False,
    )
    login = made.authentication_controller.login
    assert (
        login("ann", "pw", None, None, single_session=False, callback=None, captcha=False, entered_captcha=None) is True
    )  # as Authenticate.login calls it
    assert login(token={"username": "ann"}) is None
    assert seen == [("password", "ann", "pw"), ("token", "ann")]
    assert st.session_state[authlib.IGNORE_COOKIE] is True  # a refused cookie is ignored
    assert authlib.enter(made, "ann") and authlib.is_logged_in() and authlib.username() == "ann"
    assert not authlib.enter(made, "nobody") and st.session_state[authlib.STATUS] is False


def test_only_the_adapter_touches_the_libraries():
    """No other module imports the libraries, names their private members or their session keys."""
    pattern = re.compile(
        r"streamlit_authenticator|extra_streamlit_components|stauth|\bstx\b|_component_func"
        r"|_token_(en|de)code|cookie_controller|authentication_controller"
        r"|authentication_status|session_state(\.get\(|\[)[\"']logout[\"']"
    )
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "qinyuan").rglob("*.py")]
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in files
        if path.name != "authlib.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"login library touched outside qinyuan/ui/authlib.py: {offenders}"
