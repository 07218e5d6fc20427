"""Issue 14 items 3 and 8: restore executes nothing from the backup, reads only its own files, and accepts
only backups signed with the operator's key (or --trust)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from qinyuan import backup, cli
from qinyuan.db import Database
from qinyuan.errors import QinyuanError

KEY = b"unit-test-backup-key-0123456789"


@pytest.fixture
def signed(db, tmp_path):
    backup.backup(db, tmp_path / "bk", KEY)
    return tmp_path / "bk"


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _save(folder, manifest, key=None):
    manifest.pop("hmac", None)
    if key:
        manifest["hmac"] = backup._signature(manifest, key)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_schema_sql_in_a_crafted_backup_is_never_executed(signed, tmp_path):
    """The attack: schema.sql read /etc/hostname into a table and wrote a file where it liked."""
    pwned = tmp_path / "pwned.csv"
    (signed / "schema.sql").write_text(
        "CREATE TABLE stolen AS SELECT * FROM read_text('/etc/hostname');\n"
        f"COPY (SELECT 'owned') TO '{pwned}' (FORMAT csv);\n" + (signed / "schema.sql").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert not pwned.exists()
    restored = Database.open(str(tmp_path / "r.duckdb"))
    try:
        assert "stolen" not in {r[0] for r in restored.rows("SELECT table_name FROM information_schema.tables")}
    finally:
        restored.close()


def test_table_names_from_the_manifest_are_never_spliced_into_sql(signed, tmp_path):
    pwned = tmp_path / "pwned2.csv"
    evil = f"notices\" FROM '/etc/hostname' (FORMAT csv); COPY (SELECT 'owned') TO '{pwned}' (FORMAT csv); --"
    manifest = _manifest(signed)
    manifest["tables"][evil] = dict(manifest["tables"]["notices"])
    _save(signed, manifest, KEY)  # even signed by the key holder: the name is not ours
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=KEY, trust=True)
    assert err.value.key == "backup.unknown_table"
    assert not pwned.exists() and not (tmp_path / "r.duckdb").exists()


@pytest.mark.parametrize("where", ["/etc/hostname", "../outside.parquet", "symlink"])
def test_files_outside_the_folder_are_never_read(signed, tmp_path, where):
    manifest = _manifest(signed)
    outside = tmp_path / "outside.parquet"
    shutil.copy(signed / "notices.parquet", outside)
    if where == "symlink":
        (signed / "notices.parquet").unlink()
        (signed / "notices.parquet").symlink_to(outside)
    else:
        manifest["tables"]["notices"]["file"] = where
        manifest["tables"]["notices"]["sha256"] = _sha(outside if where.startswith("..") else signed / "notices.parquet")
    _save(signed, manifest, KEY)
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert err.value.key == "backup.corrupt"
    assert not (tmp_path / "r.duckdb").exists()


def test_every_file_needs_its_checksum(signed, tmp_path):
    manifest = _manifest(signed)
    manifest["tables"]["households"]["sha256"] = None
    _save(signed, manifest, KEY)
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert err.value.key == "backup.corrupt"


def test_unsigned_or_tampered_backups_are_refused_unless_trusted(db, signed, tmp_path):
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb")  # signed, but no key given
    assert err.value.key == "backup.key_needed"
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=b"another-key-of-the-right-length")
    assert err.value.key == "backup.bad_signature"
    manifest = _manifest(signed)
    manifest["tables"]["notices"]["rows"] += 1
    (signed / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")  # hmac kept, content changed
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert err.value.key == "backup.bad_signature"
    backup.backup(db, tmp_path / "plain")
    with pytest.raises(QinyuanError) as err:
        backup.restore(tmp_path / "plain", tmp_path / "r.duckdb", key=KEY)
    assert err.value.key == "backup.unsigned"
    assert not (tmp_path / "r.duckdb").exists()
    backup.restore(tmp_path / "plain", tmp_path / "r.duckdb", trust=True)
    assert (tmp_path / "r.duckdb").exists()


def test_bad_parquet_is_a_one_line_error(signed, tmp_path, capsys):
    bad = signed / "households.parquet"
    bad.write_bytes(b"PAR1 this is not parquet PAR1")
    manifest = _manifest(signed)
    manifest["tables"]["households"]["sha256"] = _sha(bad)
    _save(signed, manifest)
    code = cli.main(["restore", str(signed), "--db", str(tmp_path / "r.duckdb"), "--trust"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "households" in err
    assert not (tmp_path / "r.duckdb").exists()


def test_the_schema_comes_from_our_migrations_and_sequences_continue(db, signed, tmp_path):
    manifest = _manifest(signed)
    manifest["schema_version"] = 999
    _save(signed, manifest, KEY)
    with pytest.raises(QinyuanError) as err:
        backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert err.value.key == "backup.newer"
    manifest["schema_version"] = db.schema_version()
    _save(signed, manifest, KEY)
    restored = backup.restore(signed, tmp_path / "r.duckdb", key=KEY)
    assert set(restored["tables"]) == set(_manifest(signed)["tables"])
    again = Database.open(str(tmp_path / "r.duckdb"))
    try:
        assert again.schema_version() == db.schema_version()
        assert again.scalar("SELECT nextval('audit_seq')") > again.scalar("SELECT max(id) FROM audit_log")
    finally:
        again.close()
