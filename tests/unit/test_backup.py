"""Backup and restore: a consistent export of the live database that round-trips every row."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest

from qinyuan import access, backup, cli
from qinyuan.db import Database
from qinyuan.errors import InvalidInput, QinyuanError

KEY = b"unit-test-backup-key-0123456789"


def _add_notice(db: Database, n: int) -> None:
    def fn(tx):
        nid = tx.insert(
            "notices",
            {
                "unit_id": 1,
                "kind": "test",
                "lang": "zh",
                "body": f"通知 {n} =SUM(A1)",
                "created_at": tx.now,
                "created_by": "committee",
            },
        )
        tx.audit("test.notice", "notice", nid)

    db.write(access.SYSTEM, fn)


def test_round_trip_keeps_every_row_with_counts_and_checksums(db, tmp_path):
    _add_notice(db, 1)
    manifest = backup.backup(db, tmp_path / "bk", KEY)
    source = backup.checksums(db)
    assert manifest["tables"] == {
        t: {**v, "file": f"{t}.parquet", "sha256": manifest["tables"][t]["sha256"]} for t, v in source.items()
    }
    assert manifest["tables"]["test_results"]["rows"] == db.scalar("SELECT count(*) FROM test_results") > 10_000
    result = backup.restore(tmp_path / "bk", tmp_path / "restored.duckdb", key=KEY)
    assert result["tables"] == source
    restored = Database.open(str(tmp_path / "restored.duckdb"))
    try:
        assert restored.schema_version() == db.schema_version()
        assert restored.scalar("SELECT body FROM notices") == "通知 1 =SUM(A1)"
        # sequences continue after the restored rows: new writes do not collide
        _add_notice(restored, 2)
        assert restored.scalar("SELECT count(DISTINCT id) FROM notices") == 2
        assert restored.scalar("SELECT nextval('household_seq')") > restored.scalar("SELECT max(id) FROM households")
    finally:
        restored.close()


def test_restore_refuses_to_overwrite(db, tmp_path):
    backup.backup(db, tmp_path / "bk", KEY)
    target = tmp_path / "existing.duckdb"
    target.write_bytes(b"precious")
    with pytest.raises(InvalidInput) as err:
        backup.restore(tmp_path / "bk", target, key=KEY)
    assert err.value.key == "backup.restore_exists"
    assert target.read_bytes() == b"precious"
    with pytest.raises(InvalidInput):  # nor a non-empty backup folder
        backup.backup(db, tmp_path / "bk", KEY)


def test_damaged_backup_is_refused_and_leaves_no_file(db, tmp_path):
    backup.backup(db, tmp_path / "bk", KEY)
    (tmp_path / "bk" / "households.parquet").write_bytes(b"not parquet")
    with pytest.raises(QinyuanError) as err:
        backup.restore(tmp_path / "bk", tmp_path / "new.duckdb", key=KEY)
    assert err.value.key == "backup.corrupt"
    assert not (tmp_path / "new.duckdb").exists()
    with pytest.raises(InvalidInput):
        backup.restore(tmp_path, tmp_path / "other.duckdb", key=KEY)  # no manifest
    assert not (tmp_path / "other.duckdb").exists()


def test_backup_while_writing_is_consistent_and_zip_restores(db, tmp_path):
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            _add_notice(db, n)
            written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        data = backup.backup_zip(db, KEY)
    finally:
        stop.set()
        thread.join()
    assert written
    (tmp_path / "bk.zip").write_bytes(data)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(name.endswith("manifest.json") for name in names)
    backup.restore(tmp_path / "bk.zip", tmp_path / "from_zip.duckdb", key=KEY)
    restored = Database.open(str(tmp_path / "from_zip.duckdb"))
    try:
        # each notice and its audit row were written together: the snapshot holds both or neither
        notices = restored.scalar("SELECT count(*) FROM notices")
        audits = restored.scalar("SELECT count(*) FROM audit_log WHERE action = 'test.notice'")
        assert notices == audits
    finally:
        restored.close()


def test_cli_backup_and_restore(demo_path, tmp_path, capsys):
    key_file = tmp_path / "backup.key"
    key_file.write_bytes(KEY + b"\n")
    assert cli.main(["backup", "--db", demo_path, "--out", str(tmp_path / "bk"), "--key-file", str(key_file)]) == 0
    restore = ["restore", str(tmp_path / "bk"), "--db", str(tmp_path / "r.duckdb")]
    assert cli.main(restore) == 1  # signed: the key is needed to check it
    assert "--key-file" in capsys.readouterr().err
    assert cli.main([*restore, "--key-file", str(key_file)]) == 0
    assert cli.main([*restore, "--key-file", str(key_file)]) == 1
    assert "will not be overwritten" in capsys.readouterr().err


@pytest.mark.postgres_only
def test_a_compound_moves_from_its_file_to_the_server_and_back(demo_file_template, tmp_path, new_location):
    """`backup` of the DuckDB file, then `restore --db postgresql://…`: every row, its checksum, sequences that
    continue; a server database that already holds a compound is refused; and back again to a file."""
    import shutil

    path = str(tmp_path / "compound.duckdb")
    shutil.copy(demo_file_template, path)
    source = Database.open(path)
    try:
        _add_notice(source, 1)
        manifest = backup.backup(source, tmp_path / "bk", KEY)
    finally:
        source.close()
    url = new_location("moved")
    assert cli.main(["restore", str(tmp_path / "bk"), "--db", url, "--key-file", str(_key_file(tmp_path))]) == 0
    moved = Database.open(url)
    try:
        assert moved.backend == "postgres"
        expected = {t: {"rows": v["rows"], "checksum": v["checksum"]} for t, v in manifest["tables"].items()}
        assert backup.checksums(moved) == expected
        assert moved.scalar("SELECT body FROM notices") == "通知 1 =SUM(A1)"
        _add_notice(moved, 2)  # sequences continue after the moved rows
        assert moved.scalar("SELECT count(DISTINCT id) FROM notices") == 2
        assert moved.scalar("SELECT nextval('household_seq')") > moved.scalar("SELECT max(id) FROM households")
        with pytest.raises(InvalidInput):
            backup.restore(tmp_path / "bk", url, key=KEY)  # never over a compound
        back = backup.backup(moved, tmp_path / "bk2", KEY)
    finally:
        moved.close()
    backup.restore(tmp_path / "bk2", tmp_path / "back.duckdb", key=KEY)
    again = Database.open(str(tmp_path / "back.duckdb"))
    try:
        assert backup.checksums(again) == {t: {"rows": v["rows"], "checksum": v["checksum"]} for t, v in back["tables"].items()}
        assert again.scalar("SELECT count(*) FROM notices") == 2
    finally:
        again.close()


def _key_file(tmp_path):
    path = tmp_path / "move.key"
    path.write_bytes(KEY)
    return path
