"""Backups: a consistent export of every table as parquet, taken from the live connection while the
dashboard keeps running, with a manifest (row counts, order-independent row checksums, file hashes)
that restore checks before it hands over a new database file."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd

from . import clock, status_checks
from .backends import PgCursor, is_server
from .db import Database, migrations
from .errors import InvalidInput, QinyuanError

MANIFEST = "manifest.json"
FORMAT = "qinyuan-backup/1"
KEY_ENV = "QINYUAN_BACKUP_KEY"


def key_from(key_file: str | os.PathLike | None = None) -> bytes | None:
    """The operator's backup key: the file's contents (--key-file), else $QINYUAN_BACKUP_KEY; None without."""
    if key_file:
        try:
            raw = Path(key_file).read_bytes().strip()
        except OSError:
            raise InvalidInput("backup.key_unreadable", path=str(key_file)) from None
    else:
        raw = os.environ.get(KEY_ENV, "").strip().encode()
    if raw and len(raw) < 16:
        raise InvalidInput("backup.key_short")
    return raw or None


def _signature(manifest: dict, key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "hmac"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _tables(cur) -> list[str]:
    return [
        r[0]
        for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        ).fetchall()
    ]


def table_checksums(cur) -> dict[str, dict]:
    """{table: {rows, checksum}}: checksum is the sum of every row's hash mod 2**64 (order-independent,
    and unlike xor two identical rows do not cancel out)."""
    out = {}
    for table in _tables(cur):
        rows, checksum = cur.execute(
            f"SELECT count(*), CAST(coalesce(sum(CAST(hash(t) AS HUGEINT)), 0) % 18446744073709551616 AS VARCHAR) "
            f'FROM "{table}" t'
        ).fetchone()
        out[table] = {"rows": int(rows), "checksum": checksum}
    return out


def checksums(db: Database) -> dict[str, dict]:
    """table_checksums of any database: a server's are taken on its DuckDB staging copy, as a backup does."""
    if db.backend == "postgres":
        staged = copy_from_server(db)
        try:
            return checksums(staged)
        finally:
            staged.close()
    with db.engine.cursor() as cur:
        return table_checksums(cur)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(db: Database, out_dir: str | os.PathLike, key: bytes | None = None) -> dict:
    """Export every table of the live database into out_dir (which must not exist or be empty).
    Export and checksums run in one read transaction, so they describe the same moment.
    With a key the manifest carries an HMAC, which restore checks."""
    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()):
        raise InvalidInput("backup.target_exists", path=str(out))
    if db.backend == "postgres":
        staged = copy_from_server(db)
        try:
            return _backup(staged, out, key, source=db.name)
        finally:
            staged.close()
    return _backup(db, out, key, source=db.name)


def _backup(db: Database, out: Path, key: bytes | None, source: str) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cur = db.con.cursor()
    try:
        cur.begin()
        try:
            path_sql = str(out).replace("'", "''")
            cur.execute(f"EXPORT DATABASE '{path_sql}' (FORMAT parquet)")
            tables = table_checksums(cur)
            (version,) = cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0]
            sequences = dict(
                cur.execute("SELECT sequence_name, last_value FROM duckdb_sequences() WHERE last_value IS NOT NULL").fetchall()
            )
        finally:
            cur.rollback()
    finally:
        cur.close()
    for table, info in tables.items():
        file = out / f"{table}.parquet"
        info["file"] = file.name
        info["sha256"] = _sha256(file) if file.exists() else None
    manifest = {
        "format": FORMAT,
        "created_at": clock.real_now().isoformat(),
        "source": source,
        "schema_version": int(version),
        "duckdb": duckdb.__version__,
        "tables": tables,
        "sequences": sequences,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if key:
        manifest["hmac"] = _signature(manifest, key)
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def read_manifest(backup_dir: str | os.PathLike) -> dict:
    path = Path(backup_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InvalidInput("backup.not_a_backup", path=str(backup_dir)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("tables"), dict):
        raise InvalidInput("backup.not_a_backup", path=str(backup_dir))
    return manifest


def verify(manifest: dict, key: bytes | None, trust: bool = False) -> None:
    """The manifest (and through its sha256 lines every file) was written by someone holding the key.
    An unsigned backup, or one whose key the operator does not give, is restored only with trust=True."""
    signature = manifest.get("hmac")
    if key and signature:
        if not hmac.compare_digest(str(signature), _signature(manifest, key)):
            raise QinyuanError("backup.bad_signature")
        return
    if not trust:
        raise QinyuanError("backup.key_needed" if signature else "backup.unsigned")


def restore(backup_dir: str | os.PathLike, new_path: str | os.PathLike, *, key: bytes | None = None, trust: bool = False) -> dict:
    """Build a new database file from a backup directory (or .zip). Never overwrites: an existing
    target is refused. The file appears only after every table matched its manifest.

    Nothing in the backup is executed: the schema comes from the project's own migrations, only its
    tables are filled, only from `<table>.parquet` files inside the folder whose sha256 the manifest
    lists, and the manifest must carry a valid HMAC with `key` (or the operator says trust=True)."""
    if is_server(str(new_path)):
        return _restore_to_server(backup_dir, str(new_path), key, trust)
    target = Path(new_path)
    if target.exists() or Path(str(target) + ".wal").exists():
        raise InvalidInput("backup.restore_exists", path=str(target))
    source = Path(backup_dir)
    unpacked = None
    if source.is_file() and zipfile.is_zipfile(source):
        unpacked = Path(tempfile.mkdtemp(prefix="qy-restore-"))
        with zipfile.ZipFile(source) as archive:
            archive.extractall(unpacked)  # zipfile drops absolute paths and "..", and makes no symlinks
        inner = [p.parent for p in unpacked.rglob(MANIFEST)]
        source = inner[0] if inner else unpacked
    try:
        return _restore(source, target, key, trust)
    finally:
        if unpacked:
            shutil.rmtree(unpacked, ignore_errors=True)


def _files(source: Path, manifest: dict, allowed: set[str]) -> dict[str, Path]:
    """{table: parquet file}: the project's tables only, each read from <table>.parquet directly inside
    the folder (never a path the manifest names), a regular file with the sha256 the manifest lists."""
    tables = manifest["tables"]
    unknown = sorted(set(tables) - allowed)
    if unknown:
        raise QinyuanError("backup.unknown_table", table=str(unknown[0])[:60])
    missing = sorted(allowed - set(tables))
    if missing:
        raise QinyuanError("backup.corrupt", table=missing[0])
    folder = source.resolve()
    files = {}
    for table, info in tables.items():
        file = folder / f"{table}.parquet"
        if (
            not isinstance(info, dict)
            or info.get("file") not in (None, file.name)
            or file.is_symlink()
            or not file.is_file()
            or file.resolve().parent != folder
            or not info.get("sha256")
            or _sha256(file) != info["sha256"]
        ):
            raise QinyuanError("backup.corrupt", table=table)
        files[table] = file
    return files


def _schema_version(manifest: dict) -> int:
    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInput("backup.not_a_backup", path="manifest.json")
    if version > max(v for v, _, _ in migrations()):
        raise QinyuanError("backup.newer", version=version)
    return version


def _restore(source: Path, target: Path, key: bytes | None, trust: bool) -> dict:
    manifest = read_manifest(source)
    verify(manifest, key, trust)
    version = _schema_version(manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    _remove(partial)
    db = Database.open(str(partial), create=True, migrate=False)
    try:
        db.migrate(create=True, upto=version)  # the schema as it was when the backup was taken, from our code
        cur = db.con.cursor()
        files = _files(source, manifest, set(_tables(cur)))
        cur.begin()
        for table, file in files.items():  # names from the allow-list, paths built here: safe to splice
            cur.execute(f'DELETE FROM "{table}"')
            path_sql = str(file).replace("'", "''")
            try:
                cur.execute(f"COPY \"{table}\" FROM '{path_sql}' (FORMAT parquet)")
            except duckdb.Error:
                raise QinyuanError("backup.corrupt", table=table) from None
        got = table_checksums(cur)
        for table, info in manifest["tables"].items():
            have = got.get(table)
            if have is None or have["rows"] != info.get("rows") or have["checksum"] != info.get("checksum"):
                raise QinyuanError("backup.mismatch", table=table)
        _continue_sequences(cur, manifest, source)
        cur.commit()
        cur.close()
        db.migrate(create=True)  # an older backup is brought up to date like any database
        db.con.execute("CHECKPOINT")
    except BaseException:
        db.close()
        _remove(partial)
        raise
    db.close()
    if target.exists():  # someone created it meanwhile: still never overwrite
        _remove(partial)
        raise InvalidInput("backup.restore_exists", path=str(target))
    os.replace(partial, target)
    return {"path": str(target), "tables": got}


def to_server(source: Database, url: str) -> dict[str, int]:
    """Every row of a DuckDB database into the server database at url (migrated here if new, with its status
    checks; it must hold no compound yet). Returns {table: rows}."""
    target = Database.open(url, migrate=False)
    try:
        target.migrate(create=True)
        status_checks.ensure(target)
        return copy_to_server(source, target)
    finally:
        target.close()


def _restore_to_server(backup_dir: str | os.PathLike, url: str, key: bytes | None, trust: bool) -> dict:
    """Checked and rebuilt as a DuckDB file first (every check of restore()), then copied into the server
    database, which must hold no compound yet; it is migrated here if it is new."""
    work = Path(tempfile.mkdtemp(prefix="qy-restore-"))
    try:
        done = restore(backup_dir, work / "restored.duckdb", key=key, trust=trust)
        source = Database.open(done["path"])
        try:
            to_server(source, url)
        finally:
            source.close()
        return {"path": url, "tables": done["tables"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove(path: Path) -> None:
    for leftover in (path, Path(str(path) + ".wal")):
        if leftover.exists():
            leftover.unlink()


_OLD_SEQUENCE = re.compile(r"^CREATE SEQUENCE ([a-z_][a-z0-9_]*) .*\bSTART (\d+)", re.MULTILINE)


def _continue_sequences(cur, manifest: dict, source: Path) -> None:
    """Sequences continue after the restored rows. Their positions come from the manifest (older backups:
    read as numbers, never executed, from their schema.sql)."""
    recorded = manifest.get("sequences")
    if not isinstance(recorded, dict):
        old = source / "schema.sql"
        text = old.read_text(encoding="utf-8", errors="replace") if old.is_file() and not old.is_symlink() else ""
        recorded = {name: int(start) - 1 for name, start in _OLD_SEQUENCE.findall(text)}
    for name, start, last in cur.execute(
        "SELECT sequence_name, start_value, last_value FROM duckdb_sequences() ORDER BY 1"
    ).fetchall():
        wanted = recorded.get(name)
        if not isinstance(wanted, int) or isinstance(wanted, bool):
            continue
        steps = wanted - (start - 1 if last is None else last)
        if steps > 0:
            cur.execute(f"SELECT max(nextval('{name}')) FROM range(?)", [steps])


def backup_zip(db: Database, key: bytes | None = None) -> bytes:
    """The whole backup as one zip, for the committee's download button on /admin."""
    work = Path(tempfile.mkdtemp(prefix="qy-backup-"))
    try:
        stamp = clock.real_now().strftime("%Y%m%d-%H%M%S")
        folder = work / f"qinyuan-backup-{stamp}"
        backup(db, folder, key if key is not None else key_from())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.iterdir()):
                archive.write(file, f"{folder.name}/{file.name}")
        return buffer.getvalue()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- between engines ---------------------------------------------------------------------------------------------
# A PostgreSQL database is backed up through an in-memory DuckDB copy (same migrations, same version), so a backup
# has one format, one checksum and one restore path whatever it came from; a backup is restored into PostgreSQL
# through a DuckDB file that restore() built and checked. Moving a compound from its file to a server is
# `backup` then `restore --db postgresql://…`.


def _columns(db: Database, table: str) -> list[str]:
    return [
        r[0]
        for r in db.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        )
    ]


def _our_tables(db: Database) -> list[str]:
    """Every table, the migrations' own record included (a copy is the same database, applied_at and all)."""
    return sorted(
        r[0]
        for r in db.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    )


def _is_empty(db: Database) -> bool:
    """No compound in it: nothing but what our migrations write."""
    return all(
        not db.scalar(f'SELECT count(*) FROM "{t}"') for t in _our_tables(db) if t not in ("settings", "schema_migrations")
    )


def copy_to_server(source: Database, target: Database) -> dict[str, int]:
    """Every row of a DuckDB database into an empty PostgreSQL database migrated to the same version, in one
    transaction; sequences continue after the copied rows. Returns {table: rows}."""
    if source.schema_version() != target.schema_version_or_zero():
        raise QinyuanError("backup.newer", version=source.schema_version())
    if not _is_empty(target):
        raise InvalidInput("backup.restore_exists", path=target.name)
    counts = {}
    with source.engine.cursor() as src, target.engine.cursor() as dst:
        assert isinstance(dst, PgCursor), "copy_to_server writes into a PostgreSQL database"
        dst.begin("REPEATABLE READ")
        for table in _our_tables(source):
            columns = ", ".join(f'"{c}"' for c in _columns(source, table))
            dst.execute(f'DELETE FROM "{table}"')
            rows: list[tuple] = src.execute(f'SELECT {columns} FROM "{table}"').fetchall()
            with dst.raw.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            counts[table] = len(rows)
        # A sequence never used yet (the demo restarts its numbering with a new START) has no last_value:
        # the server's next number is then its start, as on the file.
        for name, start, last in src.execute("SELECT sequence_name, start_value, last_value FROM duckdb_sequences()").fetchall():
            dst.execute("SELECT setval(?, ?, ?)", [name, int(start if last is None else last), last is not None])
        for table, n in counts.items():
            if dst.execute(f'SELECT count(*) FROM "{table}"').fetchone() != (n,):
                raise QinyuanError("backup.mismatch", table=table)
        target.engine.notify(dst, {"*"})
        dst.commit()
    target.forget_settings()
    target.invalidate()
    return counts


def copy_from_server(source: Database) -> Database:
    """An in-memory DuckDB database holding every row of a PostgreSQL database, read in one snapshot."""
    staged = Database.open(":memory:", create=True, migrate=False)
    try:
        staged.migrate(create=True, upto=source.schema_version())
        with source.engine.cursor() as src, staged.engine.cursor() as dst:
            src.begin("REPEATABLE READ READ ONLY")
            dst.begin()
            types = {
                (t, c): ty
                for t, c, ty in dst.execute(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                ).fetchall()
            }
            for table in _our_tables(staged):
                names = _columns(staged, table)
                columns = ", ".join(f'"{c}"' for c in names)
                result = src.execute(f'SELECT {columns} FROM "{table}"')
                frame = pd.DataFrame.from_records(result.fetchall(), columns=names)
                dst.execute(f'DELETE FROM "{table}"')
                if len(frame):
                    casts = ", ".join(f'CAST("{c}" AS {types[(table, c)]})' for c in names)
                    with dst.frame("_staged", frame.astype(object).where(frame.notna(), None)):
                        dst.execute(f'INSERT INTO "{table}" ({columns}) SELECT {casts} FROM _staged')
            for name, last in src.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            ).fetchall():
                start = dst.execute(
                    "SELECT start_value FROM duckdb_sequences() WHERE sequence_name = ?", [_sequence(name)]
                ).fetchone()
                if start and int(last) - int(start[0]) + 1 > 0:
                    dst.execute(f"SELECT max(nextval('{name}')) FROM range(?)", [int(last) - int(start[0]) + 1])
            dst.commit()
            src.rollback()
    except BaseException:
        staged.close()
        raise
    return staged


def server_holds_data(url: str) -> bool:
    """A server database that holds a compound (a new or freshly migrated one does not)."""
    db = Database.open(url, migrate=False)
    try:
        return db.schema_version_or_zero() > 0 and not _is_empty(db)
    finally:
        db.close()


def clear_server(url: str) -> None:
    """Drop every table and sequence of the server database's schema (demo --force)."""
    db = Database.open(url, migrate=False)
    try:
        with db.engine.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
    finally:
        db.close()


def _sequence(name: str) -> str:
    if not re.match(r"^[a-z_][a-z0-9_]*$", name):
        raise QinyuanError("backup.corrupt", table=name)
    return name
