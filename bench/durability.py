"""kill -9 at random moments during writes; after each restart every acknowledged write must be there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from qinyuan.db import Database

ROOT = Path(__file__).resolve().parents[1]


def _one_run(path: str, rng: random.Random, max_delay: float) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.writer", path], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    acked_notices: list[int] = []
    acked_versions: list[int] = []
    first = threading.Event()

    def read():
        for line in proc.stdout:
            kind, _, value = line.strip().partition(" ")
            if kind == "N":
                acked_notices.append(int(value))
            elif kind == "V":
                acked_versions.append(int(value))
            first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = first.wait(60)
    delay = rng.uniform(0.0, max_delay)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(10)
    error = None if started else (proc.stderr.read() or "no write acknowledged")[-500:]
    opened, lost = False, None
    try:
        db = Database.open(path)
        try:
            opened = True
            have = {r[0] for r in db.rows("SELECT id FROM notices WHERE kind = 'bench'")}
            audited = {int(r[0]) for r in db.rows("SELECT entity_id FROM audit_log WHERE action = 'bench.notice'")}
            lost = sum(1 for nid in acked_notices if nid not in have or nid not in audited)
            version = db.scalar("SELECT coalesce(max(version), 0) FROM households WHERE id = 1")
            if acked_versions and version < max(acked_versions):
                lost += max(acked_versions) - version
        finally:
            db.close()
    except Exception as exc:  # the database must open after a crash: report it, never hide it
        error = f"{type(exc).__name__}: {exc}"
        try:
            duckdb.connect(path).close()
        except duckdb.Error as raw:
            error += " | duckdb: " + str(raw).splitlines()[0][:300]
    return {
        "delay_s": round(delay, 3),
        "acked": len(acked_notices) + len(acked_versions),
        "opened": opened,
        "lost": lost,
        "error": error,
        "returncode": proc.returncode,
    }


def kill9(path: str, runs: int = 20, seed: int = 9, max_delay: float = 1.5) -> dict:
    """Kill a writer `runs` times on the same file; the file is reopened and checked after each kill."""
    rng = random.Random(seed)
    results = [_one_run(path, rng, max_delay) for _ in range(runs)]
    lost = sum(r["lost"] or 0 for r in results)
    failed_open = sum(1 for r in results if not r["opened"])
    return {
        "kill9_runs": runs,
        "kill9_lost": lost,
        "kill9_failed_open": failed_open,
        "kill9_acked": sum(r["acked"] for r in results),
        "runs": results,
    }


def kill_after_migration(workdir: str | Path, seed: int = 11) -> dict:
    """The upgrade path: a file made before the newest ALTER TABLE migration is opened by a writer
    (which applies the migration) and killed before any checkpoint. Must still open afterwards."""
    from qinyuan import db as storage

    altering = [v for v, _, sql in storage.migrations() if "ALTER TABLE" in sql.upper()]
    if not altering:
        return {"migration": None, "opened": True, "error": None}
    version = max(altering)
    path = str(Path(workdir) / "upgrade.duckdb")
    for leftover in (path, path + ".wal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    old = Database.open(path, create=True, migrate=False)
    old.migrate(create=True, upto=version - 1)
    old.close()
    result = _one_run(path, random.Random(seed), 0.3)
    return {"migration": version, "opened": result["opened"], "lost": result["lost"], "error": result["error"]}
