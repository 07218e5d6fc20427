"""`python -m qinyuan import households FILE [--map 列名=field] [--update] [--partial] ...`: the same reader and
checks as the page; prints the column guess, the sheets read and skipped, every problem, and what it wrote."""

from __future__ import annotations

import sys
from pathlib import Path

from . import access, imports, ledger
from .db import Database
from .i18n import both, t

FIELD_NAMES = (*ledger.FIELDS, "ignore")


def parse_maps(items: list[str] | None) -> dict[str, str | None] | None:
    """['户主电话=phone', '身份证号=ignore'] -> {title: field or None}; None when one is malformed."""
    out: dict[str, str | None] = {}
    for item in items or []:
        column, sep, name = item.rpartition("=")
        if not sep or name not in FIELD_NAMES or not column.strip():
            print(both("ledger.cli_bad_map", fields=", ".join(FIELD_NAMES)), file=sys.stderr)
            return None
        out[ledger.header_key(column)] = None if name == "ignore" else name
    return out


def _print_layouts(report: imports.Report) -> None:
    reading = report.reading
    if reading.layouts:
        print(both("ledger.sheets_read", sheets="、".join(x.sheet for x in reading.layouts)))
    if reading.skipped:
        print(both("ledger.sheets_skipped", sheets="、".join(reading.skipped)))
    for layout in reading.layouts:
        pairs = [f"{c}={f or t('ledger.cli_ignored', 'en')}" for c, f in zip(layout.columns, layout.fields, strict=True)]
        print(f"[{layout.sheet}] {both('ledger.cli_mapping')} " + ", ".join(pairs))


def _print_problems(report: imports.Report) -> None:
    for p in report.problems:
        where = both("households.import.row", n=p.row) if p.row is not None else both("households.import.file")
        sheet = f"[{p.sheet}] " if p.sheet and len(report.reading.layouts) > 1 else ""
        print(f"{sheet}{where}: {t(p.key, 'en', **p.params)} / {t(p.key, 'zh', **p.params)}")


def cli_import_households(
    db: Database,
    path: str,
    maps: list[str] | None = None,
    *,
    update: bool = False,
    partial: bool = False,
    remove_missing: bool = False,
    round_no: int | None = None,
    bad_rows: str | None = None,
) -> int:
    """Exit 0 when written, 1 when nothing was written."""
    file = Path(path)
    if not file.is_file():
        print(both("households.import.no_file", path=path), file=sys.stderr)
        return 1
    mapping = parse_maps(maps)
    if mapping is None:
        return 2
    if file.stat().st_size > imports.MAX_BYTES:
        print(both("ledger.too_big", mb=imports.MAX_BYTES // (1024 * 1024)), file=sys.stderr)
        return 1
    report = imports.validate(db, file.read_bytes(), file.name, mapping=mapping, update=update)
    _print_layouts(report)
    _print_problems(report)
    if bad_rows and report.bad_rows():
        Path(bad_rows).write_bytes(imports.bad_rows_xlsx(report))
        print(both("ledger.cli_bad_rows", path=bad_rows))
    if update:
        print(both("ledger.cli_plan", new=len(report.new()), changed=len(report.changed()), missing=len(report.missing)))
    if report.file_problems() or not report.good() or (report.problems and not partial):
        print(both("households.import.nothing_written", n=len(report.problems)))
        return 1
    round_id = _round(db, round_no)
    result = imports.apply(db, access.SYSTEM, report, partial=partial, remove_missing=remove_missing, round_id=round_id)
    print(both("ledger.done", **result))
    return 0


def _round(db: Database, round_no: int | None) -> int | None:
    if round_no is None:
        return None
    return db.scalar("SELECT id FROM test_rounds WHERE round_no = ? ORDER BY day DESC LIMIT 1", [int(round_no)])
