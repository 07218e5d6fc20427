"""AppTest as the real server runs a multipage app.

AppTest resets Streamlit's pages mode before every run, and with a pages/ folder beside app.py it then
runs the requested page script alone (the pages-folder mode a fresh server uses before st.navigation).
The real server, once app.py has called st.navigation, runs app.py on every rerun: navigation, the
login check, the sidebar, then the page. `whole_script_reruns()` makes AppTest do the same."""

from __future__ import annotations


def whole_script_reruns() -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    if getattr(app_test.PagesManager, "whole_script", False):
        return

    class WholeScript(PagesManager):
        whole_script = True

        def __init__(self, *args, **kwargs):
            PagesManager.uses_pages_directory = False
            super().__init__(*args, **kwargs)

    app_test.PagesManager = WholeScript
