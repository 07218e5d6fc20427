"""`make bench` part "ledger": a 5,000-household ledger with one row per resident (about 13,000 rows) in the
office's layout (title and filing rows, a one-column address, phones with dashes, needs in the office's words,
unused columns) read + checked + imported, against the same households in our own template shape. Each run
is a separate process on a fresh database, so its peak memory (ru_maxrss) is its own.

    python -m bench.ledger [--households 5000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
NEEDS = ["无", "", "高血压", "糖尿病", "行动不便", "尿毒症透析（周二周五）", "孕妇（孕32周）", "独居", "化疗中"]
TAG_WORDS = {
    "高血压": "慢性病",
    "糖尿病": "慢性病",
    "行动不便": "残疾",
    "尿毒症透析（周二周五）": "透析",
    "孕妇（孕32周）": "孕妇",
    "独居": "独居老人",
    "化疗中": "放化疗",
}


def households(n: int, seed: int = 7) -> list[tuple]:
    """n households over 17 buildings x 3 units, 1-5 residents each (2.6 on average)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        unit = i % 51
        people = [
            (f"住户{i}_{k}", "户主" if k == 0 else "家属", rng.choice(NEEDS), rng.choice(["已采", "未采"]))
            for k in range(rng.choice([1, 2, 2, 3, 3, 3, 4]))
        ]
        out.append((unit // 3 + 1, unit % 3 + 1, str(1000 + i // 51), f"138{i:08d}", people))
    return out


def office_xlsx(data: list[tuple]) -> bytes:
    book = Workbook()  # shared strings and a dimension, as Excel and WPS save
    ws = book.active
    ws.title = "台账"
    ws.append(["陕西科技大学沁园小区敲门行动台账"])
    ws.append(["填报单位：沁园小区    填报日期：2022年1月5日"])
    ws.append([])
    ws.append(["序号", "住址", "姓名", "与户主关系", "身份证号", "联系电话", "特殊人员情况", "上轮核酸", "备注"])
    n = 0
    for b, u, room, phone, people in data:
        for name, rel, needs, test in people:
            n += 1
            ws.append(
                [
                    n,
                    f"{b}号楼{u}单元{room}室",
                    name,
                    rel,
                    f"6101031980{n:08d}",
                    f"{phone[:3]}-{phone[3:7]}-{phone[7:]}" if rel == "户主" else "",
                    needs,
                    test,
                    "",
                ]
            )
    return _save(book)


def template_xlsx(data: list[tuple]) -> bytes:
    from qinyuan.ledger_export import COLUMNS, title

    book = Workbook()  # shared strings and a dimension, as Excel and WPS save
    ws = book.active
    ws.title = "台账"
    ws.append([title(c, "zh") for c in COLUMNS])
    for b, u, room, phone, people in data:
        for name, rel, needs, test in people:
            ws.append(
                [
                    b,
                    u,
                    room,
                    people[0][0],
                    phone if rel == "户主" else "",
                    len(people),
                    name,
                    rel,
                    TAG_WORDS.get(needs, ""),
                    "",
                    test,
                    "",
                ]
            )
    return _save(book)


def _save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def measure_one(db_path: str, file_path: str) -> dict:
    """In this process: read + check + import the file into the database; time and peak memory."""
    os.environ.setdefault("QINYUAN_NOW", "2022-01-10T09:00:00+08:00")
    from qinyuan import access, imports
    from qinyuan.db import Database

    db = Database.open(db_path)
    try:
        data = Path(file_path).read_bytes()
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the process before the import
        started = time.perf_counter()
        result = imports.import_households(db, access.SYSTEM, data, Path(file_path).name)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()  # again, reading and checking only, for the Python heap's own peak
        imports.validate(db, data, Path(file_path).name)
        heap = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    finally:
        db.close()
    return {
        "s": round(seconds, 2),
        "peak_mb": round(peak, 1),
        "before_mb": round(base, 1),
        "check_heap_peak_mb": round(heap, 1),
        **result,
    }


def _empty_db(path: Path) -> None:
    from qinyuan import access, grid
    from qinyuan.db import Database

    db = Database.open(str(path), create=True)
    try:
        grid.create_grid(db, access.SYSTEM, 17, 3)
    finally:
        db.close()


def run(work: Path, n: int = 5000) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    data = households(n)
    files = {"office": office_xlsx(data), "template": template_xlsx(data)}
    base = work / "ledger_empty.duckdb"
    for leftover in (base, Path(f"{base}.wal")):
        leftover.unlink(missing_ok=True)
    _empty_db(base)
    out: dict = {"ledger_households": n, "ledger_rows": sum(len(h[4]) for h in data)}
    for kind, blob in files.items():
        file, db = work / f"ledger_{kind}.xlsx", work / f"ledger_{kind}.duckdb"
        file.write_bytes(blob)
        shutil.copy(base, db)
        child = subprocess.run(
            [sys.executable, "-m", "bench.ledger", "--one", str(db), str(file)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=True,
        )
        got = json.loads(child.stdout.strip().splitlines()[-1])
        out[f"ledger_{kind}"] = {**got, "file_kb": len(blob) // 1024}
    out["ledger_import_ratio_vs_template"] = round(out["ledger_office"]["s"] / max(out["ledger_template"]["s"], 1e-6), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ledger")
    p.add_argument("--households", type=int, default=5000)
    p.add_argument("--work", default=str(ROOT / "bench" / "tmp"))
    p.add_argument("--one", nargs=2, metavar=("DB", "FILE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(*args.one)))
        return 0
    print(json.dumps(run(Path(args.work), args.households), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
