"""AppTest helpers: run app.py (or a page) as a logged-in user on a private demo database."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from qinyuan.i18n import t
from tests.support.apptest import whole_script_reruns

# Every rerun runs app.py as the real server does (navigation, login check, sidebar, then the page),
# not the page script alone as AppTest would with a pages/ folder beside app.py.
whole_script_reruns()

ROOT = Path(__file__).resolve().parents[2]


def app_as(
    db_path: str, username: str | None, page: str | None = None, lang: str = "zh", timeout: float = 30, state: dict | None = None
) -> AppTest:
    """AppTest of app.py logged in as username (None: logged out). page: switch to pages/<page>.py.
    state: session state set before the first run (e.g. a view a segmented control would pick)."""
    os.environ["QINYUAN_DB"] = db_path
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params["lang"] = lang
    if username:
        at.session_state["authentication_status"] = True
        at.session_state["username"] = username
        at.session_state["name"] = username
        at.session_state["logout"] = None
        at.session_state["_qy_issued_at"] = datetime.now().astimezone() + timedelta(seconds=1)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


def L(key: str, lang: str = "zh", **params) -> str:
    """What the user reads for a catalogue key (zh unless told), through the app's own t(): tests find
    widgets by their label without typing the Chinese again, and follow a catalogue change."""
    return t(key, lang, **params)


def texts(at: AppTest) -> str:
    """Everything rendered as text, for 'is this shown?' assertions."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)
