"""Shared fixtures: a demo database built once per test session and copied per test; actors."""

from __future__ import annotations

import os
import secrets
import shutil

import pytest

from qinyuan import demo, users
from qinyuan.db import Database

# A fixed moment of the demo day for every test (09:00 Shanghai, 2022-01-10).
DEMO_NOW = "2022-01-10T09:00:00+08:00"
os.environ.setdefault("QINYUAN_NOW", DEMO_NOW)
os.environ["QINYUAN_STRICT"] = "1"  # programming mistakes raise: a missing placeholder, an undeclared written table
os.environ.setdefault("QINYUAN_COOKIE_KEY", secrets.token_hex(32))  # per run: the repository holds no usable key


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("template") / "demo.duckdb")
    db = Database.open(path, create=True)
    demo.build(db)
    db.close()
    return path


@pytest.fixture
def demo_path(demo_template, tmp_path) -> str:
    """A private copy of the demo database for one test."""
    path = str(tmp_path / "qinyuan.duckdb")
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def db(demo_path):
    database = Database.open(demo_path)
    yield database
    database.close()


@pytest.fixture
def empty_db(tmp_path):
    database = Database.open(str(tmp_path / "empty.duckdb"), create=True)
    yield database
    database.close()


@pytest.fixture
def as_user(db):
    """as_user('captain01') -> the Actor as the database defines it."""

    def make(username: str):
        actor = users.actor_for(db, username)
        assert actor is not None, username
        return actor

    return make
