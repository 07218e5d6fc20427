"""The one owner of storage: the DuckDB file or a PostgreSQL server (qinyuan.backends), migrations, reads, the
read cache, and the write transaction helper."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import errno
import functools
import json
import os
import random
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import access, clock
from .backends import DuckBackend, PgBackend, is_server
from .errors import DatabaseBusy, NotFound, NotMigrated, NotQinyuanDatabase, QinyuanError, ServerUnreachable, StaleEdit

DEFAULT_PATH = "data/qinyuan.duckdb"
MIGRATIONS = Path(__file__).with_name("migrations")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_CACHE_ENTRIES = 512
# What a cached answer is being computed for, and (in a test) every SQL text read while computing it.
_FILLING: contextvars.ContextVar[tuple[str, tuple[str, ...]] | None] = contextvars.ContextVar("qinyuan_filling", default=None)
_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()
READ_LOG: list[tuple[str, tuple[str, ...], str]] | None = None
_PARSER = duckdb.connect(":memory:")
_PARSER_LOCK = threading.Lock()
_WRITES = {duckdb.StatementType.INSERT, duckdb.StatementType.UPDATE, duckdb.StatementType.DELETE}


def strict() -> bool:
    """Under the tests (QINYUAN_STRICT=1) a programming mistake raises instead of being papered over."""
    return os.environ.get("QINYUAN_STRICT") == "1"


@functools.lru_cache(maxsize=4096)
def statement_kind(sql: str) -> str:
    """'read', 'write' (INSERT/UPDATE/DELETE) or 'other', by DuckDB's own parser; one statement per text."""
    with _PARSER_LOCK:
        try:
            statements = _PARSER.extract_statements(sql)
        except duckdb.ParserException:  # PostgreSQL-only syntax (locks, advisory functions): by its first word
            word = sql.split(None, 1)[0].upper() if sql.strip() else ""
            return "read" if word in ("SELECT", "WITH") else "write" if word in ("INSERT", "UPDATE", "DELETE") else "other"
    if len(statements) != 1:
        raise ValueError(f"one SQL statement at a time, got {len(statements)}")
    kind = statements[0].type
    if kind == duckdb.StatementType.SELECT:
        return "read"
    return "write" if kind in _WRITES else "other"


# Tables whose rows are themselves a record and need no audit row of their own: the audit log, and
# login attempts (who, from where, when; kept for the throttle window; the outcomes are audited), and the
# per-key write locks (qinyuan.keylocks: counters bumped to make two writes of one key conflict).
UNAUDITED = frozenset({"audit_log", "login_failures", "write_locks"})


def default_path() -> str:
    return os.environ.get("QINYUAN_DB", DEFAULT_PATH)


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for file in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        found.append((int(file.name[:3]), file.stem, file.read_text(encoding="utf-8")))
    return found


def _statements(sql: str) -> Iterable[str]:
    for part in sql.split(";\n"):
        if part.strip() and not all(line.strip().startswith("--") or not line.strip() for line in part.splitlines()):
            yield part


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"bad identifier {name!r}")
    return name


def contains(text: str) -> str:
    """A LIKE/ILIKE pattern (with ESCAPE '\\') matching values that contain text, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def display_name(path: str) -> str:
    """What to call a database in messages and manifests: a file's name, a server's address without password."""
    if is_server(path):
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(path)
        return f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return os.path.basename(path)


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


class Database:
    """The process-wide store: a DuckDB file (one process holds it) or a PostgreSQL server (shared by several
    app processes and the CLI). Every thread or script run works on its own cursor."""

    def __init__(self, engine: DuckBackend | PgBackend, path: str):
        self.engine = engine
        self.backend = engine.name  # "duckdb" or "postgres"
        self.path = path
        self._settings_lock = threading.Lock()
        self._settings: dict[str, str] | None = None
        # Read cache, exact rather than timed: every committed write bumps the generation of the tables it
        # touched, and every cached answer that read them is recomputed on next use. On PostgreSQL the other
        # processes' writes arrive by pg_notify (qinyuan.backends.PgBackend.listen).
        self._cache_lock = threading.Lock()
        self._generations: dict[str, int] = {}
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._domain_tables: tuple[str, ...] | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (DuckDB-only code: the demo builder, scale-up)."""
        if not isinstance(self.engine, DuckBackend):
            raise TypeError("a DuckDB connection was asked of a PostgreSQL database")
        return self.engine.con

    @property
    def name(self) -> str:
        return display_name(self.path)

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | None = None, *, create: bool = False, migrate: bool = True) -> Database:
        """A DuckDB file (created with create=True, migrated on open) or, for a postgresql:// address, the
        server database: never migrated on open (that is `python -m qinyuan migrate`, once, before the app
        processes start); with migrate=True an unmigrated or older schema is refused."""
        path = str(path or default_path())
        if is_server(path):
            return cls._open_server(path, check=migrate)
        if path != ":memory:" and not create and not os.path.exists(path):
            raise NotFound("error.db_missing", path=path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(path)
        except duckdb.IOException as exc:
            text = str(exc).lower()
            if "lock" in text:
                raise DatabaseBusy(path=path) from None
            raise NotQinyuanDatabase(path=path) from None
        except duckdb.Error:
            raise NotQinyuanDatabase(path=path) from None
        con.execute("SET GLOBAL TimeZone = 'Asia/Shanghai'")  # every cursor, not just this connection
        db = cls(DuckBackend(con), path)
        _OPEN.add(db)
        if migrate:
            db.migrate(create=create)
        return db

    @classmethod
    def _open_server(cls, url: str, *, check: bool) -> Database:
        import psycopg
        import psycopg_pool

        try:
            engine = PgBackend(url)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            raise ServerUnreachable(where=display_name(url)) from None
        db = cls(engine, url)
        _OPEN.add(db)
        try:
            if check:
                have, want = db.schema_version_or_zero(), max(v for v, _, _ in migrations())
                if have < want:
                    raise NotMigrated(have=have, want=want)
            engine.listen(db._heard, lambda: db._touched({"*"}, heard=True))
        except BaseException:
            engine.close()
            raise
        return db

    def close(self) -> None:
        _OPEN.discard(self)
        self.engine.close()

    @staticmethod
    def still_open() -> list[Database]:
        """Every Database of this process not closed yet (tests close what a page left open)."""
        return list(_OPEN)

    def _table_names(self, cur) -> set[str]:
        return {
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        }

    def migrate(self, *, create: bool = False, upto: int | None = None) -> list[int]:
        """Apply numbered migrations not yet applied; each in its own transaction. Idempotent. On PostgreSQL
        under an advisory lock, so two processes starting together apply each migration once."""
        with self.engine.cursor() as cur, self.engine.migration_lock(cur):
            tables = self._table_names(cur)
            if "schema_migrations" not in tables:
                if not create:
                    raise NotQinyuanDatabase(path=self.name)
                cur.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)")
            done = {r[0] for r in cur.execute("SELECT version FROM schema_migrations").fetchall()}
            applied = []
            for version, name, sql in migrations():
                if version in done or (upto is not None and version > upto):
                    continue
                cur.begin()
                try:
                    for statement in _statements(sql):
                        cur.execute(statement)
                    cur.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
                    cur.commit()
                except Exception:
                    cur.rollback()
                    raise
                applied.append(version)
        if applied:
            # Schema changes go into the main file now, not only the WAL: DuckDB cannot always replay
            # an ALTER TABLE from the WAL after a crash (seen with 1.4.4).
            self.engine.checkpoint()
        self.forget_settings()
        with self._cache_lock:
            self._domain_tables = None
        return applied

    def schema_version(self) -> int:
        return self.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")

    def schema_version_or_zero(self) -> int:
        with self.engine.cursor() as cur:
            if "schema_migrations" not in self._table_names(cur):
                return 0
        return int(self.schema_version())

    # -- settings and clock --------------------------------------------------
    def settings(self) -> dict[str, str]:
        with self._settings_lock:
            if self._settings is None:
                self._settings = dict(self.rows("SELECT key, value FROM settings"))
            return dict(self._settings)

    def setting(self, key: str, default: str | None = None) -> str | None:
        return self.settings().get(key, default)

    def forget_settings(self) -> None:
        with self._settings_lock:
            self._settings = None

    @property
    def demo_date(self) -> date | None:
        value = self.setting("demo_date")
        return date.fromisoformat(value) if value else None

    def now(self) -> datetime:
        return clock.now(self.demo_date)

    def today(self) -> date:
        return self.now().date()

    # -- reads ---------------------------------------------------------------
    def _read(self, fetch: Callable, sql: str, params: Iterable[Any] = ()):
        filling = _FILLING.get()
        if READ_LOG is not None and filling is not None:
            READ_LOG.append((*filling, sql))
        with self.engine.cursor() as cur:
            return fetch(cur.execute(sql, _params(params)))

    def df(self, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        return self._read(lambda r: r.df(), sql, params)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self._read(lambda r: r.fetchall(), sql, params)

    def one(self, sql: str, params: Iterable[Any] = ()) -> tuple | None:
        return self._read(lambda r: r.fetchone(), sql, params)

    def dicts(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        def fetch(result):
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

        return self._read(fetch, sql, params)

    def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    # -- cached reads --------------------------------------------------------
    def generation(self, tables: Iterable[str]) -> tuple[int, ...]:
        with self._cache_lock:
            return (self._generations.get("*", 0), *(self._generations.get(t, 0) for t in tables))

    def cached(self, name: str, key: tuple, tables: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """compute() once per (name, key) until a committed write touches one of `tables`.
        Callers get their own copy, so changing a returned frame never changes the cache."""
        full = (name, key, tables, self.generation(tables))
        with self._cache_lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return _fresh(self._cache[full])
        filling = _FILLING.set((name, tables))
        try:
            value = compute()
        finally:
            _FILLING.reset(filling)
        with self._cache_lock:
            self._cache[full] = value
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return _fresh(value)

    def cached_read(self, name: str, tables: tuple[str, ...], how: str, sql: str, params: Iterable[Any] = ()) -> Any:
        """self.<how>(sql, params) (df, dicts, rows, one, scalar) through the read cache: the SQL text and
        its parameters are the key, `tables` every table the SQL reads."""
        params = list(params)
        return self.cached(name, (sql, tuple(params)), tables, lambda: getattr(self, how)(sql, params))

    def invalidate(self, tables: Iterable[str] | None = None) -> None:
        """As if a write had touched these tables (default: all of the compound's data); the benchmark
        measures pages as the first run after writes sees them."""
        self._touched(set(self.domain_tables() if tables is None else tables))

    def domain_tables(self) -> tuple[str, ...]:
        """Every table of the compound's data: not the bookkeeping that a login or any write touches
        (audit log, login failures, accounts, migrations), so those do not empty a cache of figures."""
        with self._cache_lock:
            known = self._domain_tables
        if known is None:
            known = tuple(
                r[0]
                for r in self.rows(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_name NOT IN ('audit_log', 'login_failures', 'write_locks', 'users', 'schema_migrations') ORDER BY 1"
                )
            )
            with self._cache_lock:
                self._domain_tables = known
        return known

    def _touched(self, tables: set[str], *, heard: bool = False) -> None:
        with self._cache_lock:
            for table in tables:
                self._generations[table] = self._generations.get(table, 0) + 1
        if heard and ("settings" in tables or "*" in tables):
            self.forget_settings()

    def _heard(self, tables: set[str]) -> None:
        """Another process (or this one) committed a write touching these tables."""
        self._touched(tables, heard=True)

    # -- writes --------------------------------------------------------------
    @contextlib.contextmanager
    def bulk(self):
        """A cursor in one transaction for set-up writes that are not a user's change (building the demo
        world, scaling it up): committed at the end or rolled back on error; afterwards settings and every
        cached answer are forgotten, since these writes bypass write()."""
        with self.engine.cursor() as cur:
            cur.begin()
            try:
                yield cur
                self.engine.notify(cur, {"*"})
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            finally:
                self.forget_settings()
                self._touched({"*"})

    def write(self, actor: access.Actor | None, fn: Callable[[Tx], Any], *, retries: int = 12) -> Any:
        """Run fn in one transaction: permission checks, version checks, changes and audit rows
        commit together or not at all. Write conflicts (DuckDB's TransactionException, PostgreSQL's
        SQLSTATE 40001 at REPEATABLE READ) are retried with jittered back-off."""
        delay = 0.002
        for attempt in range(retries + 1):
            with self.engine.cursor() as cur:
                try:
                    self.engine.begin_write(cur)
                    tx = Tx(self, cur, actor)
                    tx.actor = access.fresh(tx, actor)  # as the database says now, not as captured earlier
                    result = fn(tx)
                    if (tx.changes or tx.tables - UNAUDITED) and not tx.audited:
                        raise AssertionError("a write must leave an audit row")
                    self.engine.notify(cur, tx.tables - UNAUDITED)
                    cur.commit()
                except BaseException as exc:
                    cur.rollback()
                    if self.engine.is_conflict(exc):
                        if attempt == retries:
                            raise QinyuanError("error.busy_retry") from None
                        time.sleep(random.uniform(0, delay))
                        delay = min(delay * 2, 0.25)
                        continue
                    if self.engine.is_storage_error(exc) and _disk_full(exc):
                        raise QinyuanError("safety.disk_full") from None
                    raise
            if tx.tables:
                self._touched(tx.tables)
            if tx.touched_settings:
                self.forget_settings()
            return result
        raise QinyuanError("error.busy_retry")


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


def _params(params: Iterable[Any]) -> list[Any]:
    """Text is stored without NUL characters on both engines: nobody types one, and PostgreSQL cannot store it."""
    return [_no_nul(p) for p in params]


def _fresh(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    return value


_DISK_FULL = ("no space left", "disk is full", "could not write all bytes", "not enough space")


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or any(text in str(exc).lower() for text in _DISK_FULL)


class Tx:
    """What a write function sees: the cursor, the actor, and helpers that keep writes honest."""

    def __init__(self, db: Database, cur, actor: access.Actor | None):
        self.db = db
        self.cur = cur
        self.actor = actor
        self.changes = 0
        self.audited = False
        self.touched_settings = False
        self.tables: set[str] = set()  # written in this transaction, for the read cache
        self.now = db.now()

    def require(self, action: str, unit_id: int | None = None) -> None:
        access.require(self.actor, action, unit_id)

    def execute(self, sql: str, params: Iterable[Any] = (), *, writes: Iterable[str] = ()):
        """Run one statement. A write names the tables it writes (`writes`), for the read cache; DuckDB's
        parser tells reads from writes. An undeclared write forgets every cached answer (raises under tests)."""
        kind = statement_kind(sql)
        if kind == "write":
            declared = {_ident(t) for t in writes}
            if not declared and strict():
                raise AssertionError(f"declare the tables this statement writes: {sql.strip()[:80]}")
            self.tables |= declared or {"*"}
        elif kind == "other":
            self.tables.add("*")  # anything else may write anywhere: forget every cached answer
        return self.cur.execute(sql, _params(params))

    def one(self, sql: str, params: Iterable[Any] = (), *, writes: Iterable[str] = ()) -> tuple | None:
        return self.execute(sql, params, writes=writes).fetchone()

    def rows(self, sql: str, params: Iterable[Any] = (), *, writes: Iterable[str] = ()) -> list[tuple]:
        return self.execute(sql, params, writes=writes).fetchall()

    def scalar(self, sql: str, params: Iterable[Any] = (), *, writes: Iterable[str] = ()) -> Any:
        row = self.one(sql, params, writes=writes)
        return None if row is None else row[0]

    def record(self, table: str, key: Any, key_column: str = "id") -> dict:
        result = self.execute(f"SELECT * FROM {_ident(table)} WHERE {_ident(key_column)} = ?", [key])
        names = [d[0] for d in result.description]
        row = result.fetchone()
        if row is None:
            raise NotFound(entity=table, id=key)
        return dict(zip(names, row, strict=True))

    def insert(self, table: str, values: dict[str, Any], returning: str | None = "id") -> Any:
        columns = ", ".join(_ident(c) for c in values)
        marks = ", ".join("?" for _ in values)
        sql = f"INSERT INTO {_ident(table)} ({columns}) VALUES ({marks})"
        if returning:
            sql += f" RETURNING {_ident(returning)}"
        result = self.execute(sql, list(values.values()), writes=(table,))
        self.changes += 1
        return result.fetchone()[0] if returning else None

    def update(
        self,
        table: str,
        key: Any,
        changes: dict[str, Any],
        *,
        expected_version: int | None = None,
        key_column: str = "id",
        stale_params: dict | Callable[[], dict] | None = None,
        before: dict | None = None,
    ) -> tuple[dict, dict]:
        """Update one row, bumping its version. With expected_version, a row changed since the user
        loaded it raises StaleEdit instead of being overwritten. Returns (before, after).
        `before`: the row as this transaction already read it (with its version), saving a read;
        `stale_params`: the message's parameters, or a function giving them only when needed."""
        if before is None:
            before = self.record(table, key, key_column)
        if expected_version is not None and before.get("version") != expected_version:
            raise self._stale(stale_params)
        sets = ", ".join(f"{_ident(c)} = ?" for c in changes)
        sql = f"UPDATE {_ident(table)} SET {sets}, version = version + 1 WHERE {_ident(key_column)} = ? AND version = ?"
        count = self.execute(sql, [*changes.values(), key, before["version"]], writes=(table,)).updated()
        if count != 1:
            raise self._stale(stale_params)
        self.changes += 1
        after = {**before, **changes, "version": before["version"] + 1}
        return before, after

    @staticmethod
    def _stale(params: dict | Callable[[], dict] | None) -> StaleEdit:
        return StaleEdit(**((params() if callable(params) else params) or {}))

    def audit(self, action: str, entity: str, entity_id: Any, before: Any = None, after: Any = None) -> None:
        self.execute(
            "INSERT INTO audit_log (ts, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                self.now,
                self.actor.username if self.actor else "system",
                action,
                entity,
                None if entity_id is None else str(entity_id),
                to_json(before),
                to_json(after),
            ],
            writes=("audit_log",),
        )
        self.audited = True

    def frame(self, name: str, frame: pd.DataFrame):
        """`with tx.frame("name", df):` the frame's rows as a table called name, inside this transaction."""
        return self.cur.frame(_ident(name), frame)

    def set_setting(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
            writes=("settings",),
        )
        self.changes += 1
        self.touched_settings = True
