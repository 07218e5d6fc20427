"""The two storage engines side by side: audited writes at 1/8/32 writers (one hot row, distinct rows) and the
overview's reads at scale N. PostgreSQL runs durable here (fsync and synchronous commit on, like the DuckDB file's
fsync per commit) on this same machine; the report states the ratios."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from deploy import pgtemp
from qinyuan import access, backup, kpi, overview
from qinyuan.db import Database

WRITERS = (1, 8, 32)
COMMITTEE = access.Actor("committee", "committee", "党委")


def _server_copy(admin_url: str, source_file: Path, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    source = Database.open(str(source_file))
    try:
        backup.to_server(source, url)
    finally:
        source.close()
    return url


def _writes(db: Database, writers: int, hot: bool, seconds: float) -> dict:
    """Each writer updates a household row (its own, or all the same one) with a version check and an audit
    row, as fast as it can for `seconds`. Counts acknowledged writes and checks none was lost."""
    ids = [r[0] for r in db.rows("SELECT id FROM households ORDER BY id LIMIT ?", [max(writers, 1)])]
    targets = [ids[0]] * writers if hot else ids[:writers]
    before = {i: db.scalar("SELECT version FROM households WHERE id = ?", [i]) for i in set(targets)}
    done = [0] * writers
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        hid = targets[n]
        while time.monotonic() < stop:

            def fn(tx):
                row = tx.record("households", hid)
                tx.update("households", hid, {"notes": f"bench {n}"}, before=row)
                tx.audit("bench.write", "household", hid)

            t0 = time.perf_counter()
            try:
                db.write(COMMITTEE, fn, retries=200)
            except Exception as exc:  # noqa: BLE001 - reported, never hidden
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            latencies.append(time.perf_counter() - t0)
            done[n] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - started
    after = {i: db.scalar("SELECT version FROM households WHERE id = ?", [i]) for i in set(targets)}
    lost = sum(done) - sum(after[i] - before[i] for i in after)
    latencies.sort()
    return {
        "writes_per_s": round(sum(done) / elapsed, 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
        "lost": lost,
        "errors": errors[:3],
    }


def _reads(db: Database, runs: int) -> dict:
    """The overview's figures as its first run after a write sees them (cache emptied each time)."""
    times = []
    for _ in range(runs):
        db.invalidate()
        t0 = time.perf_counter()
        overview.with_deltas(db)
        overview.attention(db)
        overview.coverage_by_round(db)
        overview.unit_heatmap(db)
        kpi.compute(db)
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "runs": runs}


def run(small: Path, big: Path, seconds: float = 4.0, read_runs: int = 3) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="qy-bench-pg-"))
    try:
        admin = pgtemp.start(folder, durable=True)
        out: dict = {"writes": {}, "reads": {}}
        urls = {"postgres": _server_copy(admin, small, "bench_small")}
        files = {"duckdb": small.with_name("backends_small.duckdb")}
        shutil.copy(small, files["duckdb"])
        for engine, where in (("duckdb", str(files["duckdb"])), ("postgres", urls["postgres"])):
            db = Database.open(where)
            try:
                for hot in (True, False):
                    for writers in WRITERS:
                        key = f"{'hot' if hot else 'distinct'}_{writers}"
                        out["writes"].setdefault(key, {})[engine] = _writes(db, writers, hot, seconds)
            finally:
                db.close()
        big_url = _server_copy(admin, big, "bench_big")
        for engine, where in (("duckdb", str(big)), ("postgres", big_url)):
            db = Database.open(where)
            try:
                out["reads"][engine] = _reads(db, read_runs)
            finally:
                db.close()
        for row in out["writes"].values():
            d, p = row["duckdb"]["writes_per_s"], row["postgres"]["writes_per_s"]
            row["postgres_over_duckdb"] = round(p / d, 2) if d else None
        d, p = out["reads"]["duckdb"]["median_s"], out["reads"]["postgres"]["median_s"]
        out["reads"]["postgres_over_duckdb"] = round(p / d, 2) if d else None
        return {"backends": out}
    finally:
        pgtemp.stop(folder, mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    import json
    import sys

    from qinyuan import demo

    def build(path: Path, scale: int) -> None:
        db = Database.open(str(path), create=True)
        try:
            demo.build(db, scale=scale)
        finally:
            db.close()

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/qy-bench-backends")
    work.mkdir(parents=True, exist_ok=True)
    scale = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    small, big = work / "scale1.duckdb", work / f"scale{scale}.duckdb"
    if not small.exists():
        build(small, 1)
    if not big.exists():
        build(big, scale)
    print(json.dumps(run(small, big, seconds=float(sys.argv[3]) if len(sys.argv) > 3 else 4.0), indent=1))


def report_lines(r: dict) -> list[str]:
    """The report's section on the two engines."""
    b = r.get("backends")
    if not b:
        return []
    lines = [
        "## DuckDB file and PostgreSQL server, side by side",
        "",
        "Audited single-row writes (read, versioned UPDATE, audit row, commit; durable on both: DuckDB fsyncs each "
        "commit, PostgreSQL runs with fsync and synchronous commit on), writers as threads of one process:",
        "",
        "| writers | DuckDB writes/s (P95 ms) | PostgreSQL writes/s (P95 ms) | PostgreSQL ÷ DuckDB | lost |",
        "|---|---|---|---|---|",
    ]
    for key, row in b["writes"].items():
        d, p = row["duckdb"], row["postgres"]
        lines.append(
            f"| {key.replace('_', ' ')} | {d['writes_per_s']} ({d['p95_ms']}) | {p['writes_per_s']} ({p['p95_ms']}) | "
            f"{row['postgres_over_duckdb']} | {d['lost']} / {p['lost']} |"
        )
    reads = b["reads"]
    lines += [
        "",
        f"The overview's reads at scale {r.get('scale')} as the first run after a write (cache emptied): DuckDB "
        f"{reads['duckdb']['median_s']} s, PostgreSQL {reads['postgres']['median_s']} s (median of "
        f"{reads['duckdb']['runs']}; PostgreSQL ÷ DuckDB = {reads['postgres_over_duckdb']}).",
        "",
    ]
    return lines
