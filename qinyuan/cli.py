"""Admin CLI: python -m qinyuan VERB. Every failure is one line (English / Chinese) and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date

from . import db as storage
from . import status_checks
from .backends import is_server
from .errors import DatabaseBusy, NotFound, NotQinyuanDatabase, QinyuanError
from .i18n import both


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: {both('cli.bad_arguments', detail=message)}\n")


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m qinyuan", description="Qinyuan Ops admin CLI / 沁园运维管理命令")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)

    def with_db(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--db", default=storage.default_path(), help="database file or postgresql:// address (QINYUAN_DB)")
        return sp

    sp = with_db("init", "create an empty real database with one committee account")
    sp.add_argument("--grid", default=None, metavar="BxU", help="lay out B buildings x U units, one team each (e.g. 17x3)")
    with_db("migrate", "bring the database's schema up to this program (once, before the app processes start)")
    sp = with_db("demo", "build the demo world of the record")
    sp.add_argument("--force", action="store_true", help="replace an existing file")
    sp.add_argument("--scale", type=int, default=1, help="N times the demo world")
    sp = with_db("kpi", "print the key figures")
    sp.add_argument("--json", action="store_true")
    sp = with_db("import", "import a ledger file (the office's own layout or ours)")
    sp.add_argument("what", choices=["households"])
    sp.add_argument("file")
    sp.add_argument("--map", action="append", metavar="列名=field", help="override the column guess (field or 'ignore')")
    sp.add_argument("--update", action="store_true", help="match households by building/unit/room and update them")
    sp.add_argument("--partial", action="store_true", help="import the good rows, skip the flagged ones")
    sp.add_argument("--remove-missing", action="store_true", help="with --update: mark households not in the file moved out")
    sp.add_argument("--round", type=int, default=None, metavar="N", help="round number for the 上轮核酸 column")
    sp.add_argument("--bad-rows", default=None, metavar="OUT.xlsx", help="write the flagged rows here")
    sp = with_db("export", "export the ledger in the import's own shape (.xlsx or .csv)")
    sp.add_argument("what", choices=["households"])
    sp.add_argument("file")
    sp.add_argument("--lang", choices=["zh", "en"], default="zh")
    sp = with_db("briefing", "the daily briefing")
    sp.add_argument("--date", type=date.fromisoformat, default=None)
    sp.add_argument("--lang", choices=["zh", "en"], default="zh")
    sp.add_argument("--out", default=None, help="write a PDF here")
    sp = with_db("backup", "consistent export of every table")
    sp.add_argument("--out", required=True)
    key_help = "file holding the backup key (else $QINYUAN_BACKUP_KEY)"
    sp.add_argument("--key-file", default=None, help=key_help + "; the manifest is signed with it")
    sp = with_db("door-cards", "print a unit's door cards as one A4 PDF (issues new links: the unit's old cards stop)")
    sp.add_argument("--unit", type=int, required=True)
    sp.add_argument("--out", required=True)
    sp = with_db("door-links", "one line per household of a unit: unit, room, link (new links: old ones stop)")
    sp.add_argument("--unit", type=int, required=True)
    sp = with_db("door-reissue", "a new link for one household (lost card); its old link stops at once")
    sp.add_argument("--unit", type=int, required=True)
    sp.add_argument("--room", required=True)
    sp = with_db("restore", "restore a backup into a new database file")
    sp.add_argument("dir")
    sp.add_argument("--key-file", default=None, help=key_help + "; the manifest's signature is checked with it")
    sp.add_argument("--trust", action="store_true", help="restore a backup that is unsigned or cannot be checked")
    sp = with_db("unlock", "forget a user's failed logins from every address (audited)")
    sp.add_argument("username")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except DatabaseBusy as exc:
        print(both("cli.db_locked", path=exc.params.get("path", args.db)), file=sys.stderr)
        return 2
    except NotFound as exc:
        print(both(exc.key, **exc.params), file=sys.stderr)
        return 1
    except NotQinyuanDatabase as exc:
        print(both("error.not_qinyuan_db", **exc.params), file=sys.stderr)
        return 1
    except QinyuanError as exc:
        print(both(exc.key, **exc.params), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if type(exc).__module__.startswith("psycopg"):  # the server said no: one line, not a traceback
            print(both("cli.server_error", detail=str(exc).splitlines()[0][:300]), file=sys.stderr)
            return 1
        raise


def _run(args) -> int:
    verb = args.verb
    if verb == "init":
        return _init(args.db, args.grid)
    if verb == "demo":
        return _demo(args.db, args.force, args.scale)
    if verb == "migrate":
        return _migrate(args.db)
    if verb == "restore":
        from .backup import key_from, restore

        restore(args.dir, args.db, key=key_from(args.key_file), trust=args.trust)
        print(both("cli.restored", path=args.db))
        return 0
    db = storage.Database.open(args.db)
    try:
        command = _ON_DATABASE.get(verb)
        return command(db, args) if command else 2
    finally:
        db.close()


def _kpi(db, args) -> int:
    from . import kpi

    figures = kpi.compute(db)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, sort_keys=True))
    else:
        for key, value in figures.items():
            print(f"{key:36} {value}")
    return 0


def _import(db, args) -> int:
    from .ledger_cli import cli_import_households

    return cli_import_households(
        db,
        args.file,
        args.map,
        update=args.update,
        partial=args.partial,
        remove_missing=args.remove_missing,
        round_no=args.round,
        bad_rows=args.bad_rows,
    )


def _export(db, args) -> int:
    from .ledger_export import cli_export_households

    return cli_export_households(db, args.file, args.lang)


def _briefing(db, args) -> int:
    from .briefing import cli_briefing

    return cli_briefing(db, args.date, args.lang, args.out)


def _unlock(db, args) -> int:
    from . import access, logins

    count = logins.unlock(db, access.SYSTEM, args.username)
    print(both("cli.unlocked", username=args.username.strip().lower(), n=count))
    return 0


def _door(db, args) -> int:
    from . import doorcards

    if args.verb == "door-cards":
        return doorcards.cli_cards(db, args.unit, args.out)
    if args.verb == "door-links":
        return doorcards.cli_links(db, args.unit)
    return doorcards.cli_reissue(db, args.unit, args.room)


def _backup(db, args) -> int:
    from .backup import backup, key_from

    backup(db, args.out, key_from(args.key_file))
    print(both("cli.backup_done", path=args.out))
    return 0


# verb -> what it does on the opened database
_ON_DATABASE = {
    "kpi": _kpi,
    "import": _import,
    "export": _export,
    "briefing": _briefing,
    "unlock": _unlock,
    "door-cards": _door,
    "door-links": _door,
    "door-reissue": _door,
    "backup": _backup,
}


def _migrate(path: str) -> int:
    db = storage.Database.open(path, migrate=False)
    try:
        applied = db.migrate(create=is_server(path))
        status_checks.ensure(db)
        print(both("cli.migrated", path=db.name, version=db.schema_version(), n=len(applied)))
    finally:
        db.close()
    return 0


def _open_new(path: str) -> storage.Database:
    """A server database opened for building: migrated here (a file is migrated by opening it)."""
    if not is_server(path):
        return storage.Database.open(path, create=True)
    db = storage.Database.open(path, migrate=False)
    try:
        db.migrate(create=True)
        status_checks.ensure(db)
    except BaseException:
        db.close()
        raise
    return db


def _exists(path: str) -> bool:
    """A file that exists, or a server database that already holds a compound."""
    if not is_server(path):
        return os.path.exists(path)
    from .backup import server_holds_data

    return server_holds_data(path)


def _init(path: str, grid: str | None = None) -> int:
    if _exists(path):
        print(both("cli.exists", path=storage.display_name(path)), file=sys.stderr)
        return 1
    size = None
    if grid:
        try:
            size = tuple(int(n) for n in grid.lower().split("x"))
            if len(size) != 2:
                raise ValueError
        except ValueError:
            print(both("cli.bad_arguments", detail="--grid BxU, e.g. 17x3"), file=sys.stderr)
            return 2
    from . import access, users
    from . import grid as grid_

    db = _open_new(path)
    try:
        if size:
            grid_.create_grid(db, access.SYSTEM, *size)
        password = users.create_user(db, access.SYSTEM, "committee", "党委", "committee")
    finally:
        db.close()
    print(both("cli.init_done", path=storage.display_name(path)))
    print(both("cli.one_time_password", username="committee", password=password))
    return 0


def _demo(path: str, force: bool, scale: int) -> int:
    if scale < 1 or scale > 1000:
        print(both("cli.bad_arguments", detail="--scale 1..1000"), file=sys.stderr)
        return 2
    if is_server(path):
        return _demo_on_server(path, force, scale)
    if os.path.exists(path):
        if not force:
            print(both("cli.exists", path=path), file=sys.stderr)
            return 1
        # Opening first proves nobody holds it before we delete it.
        storage.Database.open(path, migrate=False).close()
        os.remove(path)
        if os.path.exists(path + ".wal"):
            os.remove(path + ".wal")
    from . import demo

    db = storage.Database.open(path, create=True)
    try:
        demo.build(db, scale=scale)
    finally:
        db.close()
    print(both("cli.demo_done", path=path))
    return 0


def _demo_on_server(url: str, force: bool, scale: int) -> int:
    """The demo world is built in memory (DuckDB) and copied into the server database in one transaction."""
    from . import backup, demo

    if _exists(url):
        if not force:
            print(both("cli.exists", path=storage.display_name(url)), file=sys.stderr)
            return 1
        backup.clear_server(url)
    built = storage.Database.open(":memory:", create=True)
    try:
        demo.build(built, scale=scale)
        backup.to_server(built, url)
    finally:
        built.close()
    print(both("cli.demo_done", path=storage.display_name(url)))
    return 0
