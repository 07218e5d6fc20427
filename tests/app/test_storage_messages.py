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


@pytest.mark.duckdb_only  # one process holds a DuckDB file
@pytest.mark.parametrize("lang,words", [("zh", "另一个服务占用"), ("en", "Another server is using the database")])
def test_a_second_server_is_told_in_the_users_language(held, lang, words):
    at = app_as(held, None, lang=lang)
    assert not at.exception, at.exception
    assert words in texts(at)


def test_login_fails_with_disk_full_when_it_cannot_be_recorded(demo_path, monkeypatch):
    at = app_as(demo_path, None)

    def full(self, *_args, **_kwargs):
        if self.db.backend == "postgres":
            import psycopg

            raise psycopg.errors.DiskFull("could not extend file: No space left on device")
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    monkeypatch.setattr(Tx, "audit", full)
    at.text_input[0].input("captain01")
    at.text_input[1].input("qinyuan2022")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "磁盘已满" in texts(at)
    assert not at.session_state["authentication_status"]
    assert not at.metric  # still on the login page


@pytest.mark.postgres_only
@pytest.mark.parametrize("lang,words", [("zh", "python -m qinyuan migrate"), ("en", "run python -m qinyuan migrate first")])
def test_an_unmigrated_server_database_is_refused_with_what_to_do(empty_path, lang, words):
    at = app_as(empty_path, None, lang=lang)
    assert not at.exception, at.exception
    assert words in texts(at)
    assert not at.text_input  # no login form on a database the app cannot use


def test_an_unreachable_server_is_said_plainly():
    from deploy.pgtemp import free_port

    at = app_as(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", None)
    assert not at.exception, at.exception
    assert "连不上数据库服务器" in texts(at)
