"""Issue 14, low items: a second server on the same database file, and a full disk, are said plainly in the
user's language (the login fails with that message), never a generic English error or a traceback."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from qinyuan.db import Tx

from .helpers import app_as, texts

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(120)"


@pytest.fixture
def held(demo_path):
    """The database file held by another process, as a second server would."""
    other = subprocess.Popen([sys.executable, "-c", HOLD, demo_path], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        yield demo_path
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("lang,words", [("zh", "另一个服务占用"), ("en", "Another server is using the database")])
def test_a_second_server_is_told_in_the_users_language(held, lang, words):
    at = app_as(held, None, lang=lang)
    assert not at.exception, at.exception
    assert words in texts(at)


def test_login_fails_with_disk_full_when_it_cannot_be_recorded(demo_path, monkeypatch):
    at = app_as(demo_path, None)

    def full(*_args, **_kwargs):
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    monkeypatch.setattr(Tx, "audit", full)
    at.text_input[0].input("captain01")
    at.text_input[1].input("qinyuan2022")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "磁盘已满" in texts(at)
    assert not at.session_state["authentication_status"]
    assert not at.metric  # still on the login page
