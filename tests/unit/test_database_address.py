"""The app opens QINYUAN_DB as given when it is a server URL: making it an absolute path turned
postgresql://… into a DuckDB file named ./postgresql:/postgres@host:port/db and every write failed as "busy"."""

import os

from qinyuan.ui.common import database_address


def test_a_server_url_is_opened_as_given(monkeypatch):
    monkeypatch.setenv("QINYUAN_DB", "postgresql://postgres@127.0.0.1:5432/qinyuan")
    assert database_address() == "postgresql://postgres@127.0.0.1:5432/qinyuan"


def test_a_file_is_opened_by_its_absolute_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QINYUAN_DB", "data/qinyuan.duckdb")
    assert database_address() == os.path.join(str(tmp_path), "data", "qinyuan.duckdb")
