"""The two storage engines behind qinyuan.db: the DuckDB file (the zero-set-up default) and PostgreSQL (a server
shared by several app processes). Both hand out cursors with one small interface, so the domain modules keep
one SQL text (with `?` placeholders) for both.

Only qinyuan.db and the backup/transfer code use this module."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pandas as pd

log = logging.getLogger("qinyuan.db")

LISTENER = "qinyuan-listener"  # application_name of the listening connection
CHANNEL = "qinyuan_writes"  # pg_notify channel: the tables a committed write touched
MIGRATION_LOCK = 0x71696E79  # pg_advisory_lock key held while migrating ("qiny")


def is_server(path: str | None) -> bool:
    return str(path or "").startswith(("postgresql://", "postgres://"))


# -- cursors -------------------------------------------------------------------------------------------------
class DuckCursor:
    """A DuckDB cursor with the shared interface (execute returns the cursor; df(); updated())."""

    def __init__(self, cur: duckdb.DuckDBPyConnection):
        self.raw = cur

    def execute(self, sql: str, params: list | tuple | None = None) -> DuckCursor:
        self.raw.execute(sql, list(params or ()))
        return self

    def fetchone(self) -> tuple | None:
        return self.raw.fetchone()

    def fetchall(self) -> list[tuple]:
        return self.raw.fetchall()

    @property
    def description(self):
        return self.raw.description

    def df(self) -> pd.DataFrame:
        return self.raw.df()

    def updated(self) -> int:
        """Rows changed by the UPDATE/DELETE just run."""
        row = self.raw.fetchone()
        return int(row[0]) if row else 0

    def begin(self, _isolation: str = "") -> None:
        """One transaction; DuckDB's isolation is snapshot isolation whatever is asked."""
        self.raw.begin()

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.raw.rollback()

    @contextlib.contextmanager
    def frame(self, name: str, frame: pd.DataFrame) -> Iterator[None]:
        self.raw.register(name, frame)
        try:
            yield
        finally:
            self.raw.unregister(name)

    def close(self) -> None:
        self.raw.close()


@functools.lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """`?` placeholders to psycopg's `%s`, literal `%` doubled; quotes and comments left alone."""
    out = []
    quote = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
            continue
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class PgCursor:
    """A psycopg cursor on a pooled connection in autocommit mode; transactions are explicit BEGIN/COMMIT."""

    def __init__(self, conn, release: Callable[[], None]):
        self.conn = conn
        self.raw = conn.cursor()
        self._release = release
        self._in_tx = False

    def execute(self, sql: str, params: list | tuple | None = None) -> PgCursor:
        params = list(params or ())
        if params:
            self.raw.execute(pg_sql(sql), params)
        else:
            self.raw.execute(sql)  # without parameters psycopg leaves `%` alone
        return self

    def fetchone(self) -> tuple | None:
        return self.raw.fetchone() if self.raw.description else None

    def fetchall(self) -> list[tuple]:
        return self.raw.fetchall() if self.raw.description else []

    @property
    def description(self):
        return self.raw.description

    def df(self) -> pd.DataFrame:
        names = [c.name for c in self.raw.description]
        frame = pd.DataFrame.from_records(self.raw.fetchall(), columns=names)
        for column, desc in zip(names, self.raw.description, strict=True):
            if desc.type_code in _PG_TIMESTAMPS or (desc.type_code == _PG_DATE and len(frame)):
                frame[column] = pd.to_datetime(frame[column])
            elif desc.type_code in _PG_FLOATS and frame[column].dtype == object:
                frame[column] = pd.to_numeric(frame[column])
        return frame

    def updated(self) -> int:
        return int(self.raw.rowcount)

    def begin(self, isolation: str = "REPEATABLE READ") -> None:
        self.raw.execute(f"BEGIN ISOLATION LEVEL {isolation}")
        self._in_tx = True

    def commit(self) -> None:
        self.raw.execute("COMMIT")
        self._in_tx = False

    def rollback(self) -> None:
        if self._in_tx:
            import psycopg

            with contextlib.suppress(psycopg.Error):
                self.raw.execute("ROLLBACK")
            self._in_tx = False

    @contextlib.contextmanager
    def frame(self, name: str, frame: pd.DataFrame) -> Iterator[None]:
        """A temporary table with the frame's rows, dropped afterwards (DuckDB registers the frame instead)."""
        columns = ", ".join(f'"{c}" {_pg_type(frame[c])}' for c in frame.columns)
        self.raw.execute(f'CREATE TEMP TABLE "{name}" ({columns})')
        try:
            with self.raw.copy(f'COPY "{name}" FROM STDIN') as copy:
                for row in frame.itertuples(index=False, name=None):
                    copy.write_row([_plain(v) for v in row])
            yield
        finally:
            self.raw.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        try:
            self.rollback()
            self.raw.close()
        finally:
            self._release()


_PG_DATE = 1082
_PG_TIMESTAMPS = (1114, 1184)
_PG_FLOATS = (700, 701, 1700)


def _pg_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "DOUBLE PRECISION"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMPTZ"
    sample = series.dropna()
    if len(sample):
        first = sample.iloc[0]
        if isinstance(first, (list, tuple)):
            inner = next((v for v in sample if len(v)), [""])[0]
            return "BIGINT[]" if isinstance(inner, int) else "VARCHAR[]"
        if isinstance(first, bool):
            return "BOOLEAN"
        if isinstance(first, int):
            return "BIGINT"
        if isinstance(first, float):
            return "DOUBLE PRECISION"
        if hasattr(first, "tzinfo"):
            return "TIMESTAMPTZ"
        if hasattr(first, "isoformat"):
            return "DATE"
    return "VARCHAR"


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (list, tuple, str, bytes)):
        return value.item()  # numpy scalars
    return value


Cursor = DuckCursor | PgCursor


# -- engines -------------------------------------------------------------------------------------------------
class DuckBackend:
    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    @contextlib.contextmanager
    def cursor(self) -> Iterator[DuckCursor]:
        cur = DuckCursor(self.con.cursor())
        try:
            yield cur
        finally:
            cur.close()

    def begin_write(self, cur: Cursor) -> None:
        cur.begin()

    def is_conflict(self, exc: BaseException) -> bool:
        return isinstance(exc, duckdb.TransactionException)

    def is_storage_error(self, exc: BaseException) -> bool:
        return isinstance(exc, (duckdb.IOException, OSError))

    def notify(self, cur: Cursor, tables: set[str]) -> None:
        """One process holds the file: nobody else to tell."""

    def checkpoint(self) -> None:
        self.con.execute("CHECKPOINT")

    @contextlib.contextmanager
    def migration_lock(self, _cur: Cursor) -> Iterator[None]:
        yield  # one process holds the file

    def close(self) -> None:
        self.con.close()


def _configure(conn) -> None:
    """NUMERIC as float and JSON as text, as DuckDB hands them over."""
    from psycopg.adapt import Loader

    class FloatText(Loader):
        def load(self, data):
            return float(bytes(data))

    class JsonText(Loader):
        def load(self, data):
            return bytes(data).decode("utf-8")

    conn.adapters.register_loader("numeric", FloatText)
    conn.adapters.register_loader("json", JsonText)
    conn.adapters.register_loader("jsonb", JsonText)


class PgBackend:
    """A psycopg connection pool; writes at REPEATABLE READ (READ COMMITTED double-books, measured), SQLSTATE
    40001/40P01 retried; committed writes announce their tables on a channel every app process listens to."""

    name = "postgres"

    def __init__(self, url: str, *, pool_size: int = 10):
        import psycopg
        import psycopg_pool

        self.url = url
        psycopg.connect(url, connect_timeout=5).close()  # an unreachable server fails now, in seconds, clearly
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "options": "-c timezone=Asia/Shanghai"},
            configure=_configure,
            open=False,
            name="qinyuan",
            # A connection the server dropped (restart, failover to the standby) is replaced before use.
            check=psycopg_pool.ConnectionPool.check_connection,
        )
        self.pool.open(wait=True, timeout=15)
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()

    @contextlib.contextmanager
    def cursor(self) -> Iterator[PgCursor]:
        conn = self.pool.getconn()
        cur = PgCursor(conn, lambda: self.pool.putconn(conn))
        try:
            yield cur
        finally:
            cur.close()

    def begin_write(self, cur: Cursor) -> None:
        cur.begin("REPEATABLE READ")

    def is_conflict(self, exc: BaseException) -> bool:
        import psycopg

        # 23505: a key another transaction inserted meanwhile; the retry sees it and the domain check says so.
        return isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None) in ("40001", "40P01", "23505")

    def is_storage_error(self, exc: BaseException) -> bool:
        import psycopg

        return isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) in ("53100",)

    def notify(self, cur: Cursor, tables: set[str]) -> None:
        """Inside the write transaction: delivered on commit, never for a rollback."""
        if tables:
            cur.execute("SELECT pg_notify(?, ?)", [CHANNEL, ",".join(sorted(tables))])

    def checkpoint(self) -> None:
        """The server makes its own checkpoints."""

    @contextlib.contextmanager
    def migration_lock(self, cur: Cursor) -> Iterator[None]:
        cur.execute("SELECT pg_advisory_lock(?)", [MIGRATION_LOCK])
        try:
            yield
        finally:
            cur.execute("SELECT pg_advisory_unlock(?)", [MIGRATION_LOCK])

    def listen(self, on_tables: Callable[[set[str]], None], on_reconnect: Callable[[], None]) -> None:
        """A daemon thread that hears every process's committed writes. After a lost connection every cached
        answer is dropped (writes may have been missed), then it listens again."""
        if self._listener:
            return
        ready = threading.Event()

        def run() -> None:
            import psycopg

            first = True
            while not self._stop.is_set():
                try:
                    with psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name=LISTENER) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        if not first:
                            on_reconnect()
                        first = False
                        ready.set()
                        while not self._stop.is_set():
                            for note in conn.notifies(timeout=0.5):
                                on_tables(set(filter(None, note.payload.split(","))))
                except psycopg.Error as exc:
                    if self._stop.is_set():
                        return
                    log.warning("write listener lost its connection (%s); reconnecting", exc)
                    on_reconnect()
                    time.sleep(0.5)

        self._listener = threading.Thread(target=run, name="qinyuan-listen", daemon=True)
        self._listener.start()
        ready.wait(10)

    def close(self) -> None:
        self._stop.set()
        if self._listener:
            self._listener.join(timeout=2)
        self.pool.close()
