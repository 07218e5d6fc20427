"""Shared fixtures: a demo database built once per test session and copied per test; actors."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from qinyuan import demo, status_checks, users
from qinyuan.db import Database

# A fixed moment of the demo day for every test (09:00 Shanghai, 2022-01-10).
DEMO_NOW = "2022-01-10T09:00:00+08:00"
os.environ.setdefault("QINYUAN_NOW", DEMO_NOW)
os.environ["QINYUAN_STRICT"] = "1"  # programming mistakes raise: a missing placeholder, an undeclared written table
os.environ.setdefault("QINYUAN_COOKIE_KEY", secrets.token_hex(32))  # per run: the repository holds no usable key


# QINYUAN_TEST_BACKEND=postgres runs the same tests on PostgreSQL: a throwaway server started by the test
# session (or the one at QINYUAN_TEST_PG), the demo copied per test from a template database.
BACKEND = os.environ.get("QINYUAN_TEST_BACKEND", "duckdb")
ON_POSTGRES = BACKEND == "postgres"


def pytest_configure(config):
    config.addinivalue_line("markers", "duckdb_only: about the DuckDB file itself (its lock, its WAL, copying it)")
    config.addinivalue_line("markers", "postgres_only: about the PostgreSQL server itself")


def pytest_collection_modifyitems(items):
    skip = "duckdb_only" if ON_POSTGRES else "postgres_only"
    reason = f"not on {BACKEND}"
    for item in items:
        if item.get_closest_marker(skip):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def pg_server():
    """The address of a PostgreSQL server for this test session (its `postgres` database)."""
    given = os.environ.get("QINYUAN_TEST_PG")
    if given:
        yield given
        return
    from deploy import pgtemp

    folder = tempfile.mkdtemp(prefix="qy-test-pg-")  # not under pytest's folder: the server user must reach it
    url = pgtemp.start(folder)
    try:
        yield url
    finally:
        for left in Database.still_open():  # their listeners would try to reconnect to a stopped server
            if left.backend == "postgres":
                left.close()
        pgtemp.stop(folder, mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)


class PgDatabases:
    """Creates and drops databases on the test server."""

    def __init__(self, admin_url: str):
        import psycopg

        self.admin_url = admin_url
        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.count = 0
        self.made: list[str] = []

    def url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def create(self, template: str | None = None) -> str:
        self.count += 1
        name = f"qy_{os.getpid()}_{self.count}"
        if template:  # a template must have no sessions: close what this process still holds on it
            for left in Database.still_open():
                if left.path == self.url(template):
                    left.close()
        self.conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        for left in Database.still_open():  # a page's cached handle: close it before its database goes
            if left.path == self.url(name):
                left.close()
        self.conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if name in self.made:
            self.made.remove(name)


@pytest.fixture(scope="session")
def pg_databases(pg_server):
    databases = PgDatabases(pg_server)
    yield databases
    for name in databases.made:  # what a module-wide copy left behind
        databases.drop(name)


def pg_copy_of(pg_databases, duckdb_path: str, name: str | None = None) -> str:
    """A new server database holding what a DuckDB file holds; returns its name."""
    from qinyuan.backup import to_server

    name = name or pg_databases.create()
    source = Database.open(duckdb_path)
    try:
        to_server(source, pg_databases.url(name))
    finally:
        source.close()
    return name


@pytest.fixture(scope="session")
def demo_file_template(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("template") / "demo.duckdb")
    db = Database.open(path, create=True)
    demo.build(db)
    db.close()
    return path


@pytest.fixture(scope="session")
def demo_template(demo_file_template, request) -> str:
    """The demo database every test copies: a DuckDB file, or on PostgreSQL a template database's name."""
    if not ON_POSTGRES:
        return demo_file_template
    return pg_copy_of(request.getfixturevalue("pg_databases"), demo_file_template)


@pytest.fixture
def demo_path(demo_template, tmp_path, request) -> str:
    """A private copy of the demo database for one test: a file path, or a postgresql:// address."""
    if not ON_POSTGRES:
        path = str(tmp_path / "qinyuan.duckdb")
        shutil.copy(demo_template, path)
        return path
    databases = request.getfixturevalue("pg_databases")
    name = databases.create(template=demo_template)
    request.addfinalizer(lambda: databases.drop(name))
    return databases.url(name)


@pytest.fixture(scope="session")
def clone(request):
    """clone(source, folder) -> a new copy of a database: a file copied into folder, or on PostgreSQL a server
    database made from the source as its template (dropped at the end of the session)."""

    def make(source: str, folder) -> str:
        if not ON_POSTGRES:
            path = str(Path(folder) / f"copy-{uuid.uuid4().hex[:8]}.duckdb")
            shutil.copy(source, path)
            return path
        databases = request.getfixturevalue("pg_databases")
        return databases.url(databases.create(template=source.rsplit("/", 1)[-1]))

    return make


@pytest.fixture
def db(demo_path):
    database = Database.open(demo_path)
    yield database
    database.close()


@pytest.fixture
def new_location(tmp_path, request):
    """new_location("name") -> where a new, empty database can be made: a file path, or on PostgreSQL the
    address of a new empty server database (dropped after the test)."""

    def make(name: str = "new") -> str:
        if not ON_POSTGRES:
            return str(tmp_path / f"{name}.duckdb")
        databases = request.getfixturevalue("pg_databases")
        created = databases.create()
        request.addfinalizer(lambda: databases.drop(created))
        return databases.url(created)

    return make


@pytest.fixture
def empty_path(new_location) -> str:
    return new_location("empty")


def open_new(location: str) -> Database:
    """A new database at a location from new_location, migrated (on PostgreSQL migrating is explicit)."""
    database = Database.open(location, create=True, migrate=not ON_POSTGRES)
    if ON_POSTGRES:
        database.migrate(create=True)
        status_checks.ensure(database)
    return database


@pytest.fixture
def empty_db(empty_path):
    database = open_new(empty_path)
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
