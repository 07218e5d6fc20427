"""Checking and writing an imported household ledger (.xlsx / .csv / tab-separated .txt).

ledger.py reads the file and recognises the office's layout; this module checks every row against the
database (units, rooms already there, phones, needs, test status), groups rows into households, plans an
update against what is stored, and writes the good households in one audited transaction. Every problem is
a catalogue key with the row number as Excel shows it, so each user reads it in their language."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

from . import access, ledger
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput
from .households import MAX_OCCUPANTS, TAGS
from .i18n import t

MAX_BYTES = ledger.MAX_BYTES
MAX_ROWS = ledger.MAX_ROWS
MIN_OCCUPANTS = 1
NAME_SPLIT = re.compile(r"\s*[、,，;；/\n]\s*")
HOUSE_FIELDS = ("contact_name", "phone", "occupants", "notes")
HEAD = ("户主", "本人", "户主本人", "self", "head")
Progress = Callable[[str, float], None]


@dataclass
class Problem:
    row: int | None  # the row number as Excel shows it; None for the file as a whole
    key: str
    params: dict = field(default_factory=dict)
    sheet: str = ""

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@dataclass
class Resident:
    name: str
    relation: str | None = None
    phone: str | None = None
    tags: list[str] = field(default_factory=list)
    medical_notes: str | None = None
    test: str | None = None


@dataclass
class House:
    sheet: str
    rows: list[int]
    building: int
    unit: int
    room: str
    unit_id: int
    contact_name: str = ""
    phone: str | None = None
    occupants: int | None = None
    notes: str = ""
    residents: dict[str, Resident] = field(default_factory=dict)
    stored: dict | None = None  # the household as the database holds it (update mode)
    changes: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.residents)

    @property
    def tag_map(self) -> dict[str, list[str]]:
        return {n: r.tags for n, r in self.residents.items() if r.tags}


@dataclass
class Report:
    filename: str
    reading: ledger.Reading = field(default_factory=ledger.Reading)
    households: list[House] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)  # stored households of the file's units not in the file
    update: bool = False
    data_rows: int = 0

    @property
    def rows(self) -> list[House]:
        return self.households

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.households)

    def add(self, row: int | None, key: str, sheet: str = "", **params) -> None:
        self.problems.append(Problem(row, key, {k: ledger.short(v) for k, v in params.items()}, sheet))

    def bad_rows(self) -> set[tuple[str, int]]:
        return {(p.sheet, p.row) for p in self.problems if p.row is not None}

    def good(self) -> list[House]:
        bad = self.bad_rows()
        return [h for h in self.households if not any((h.sheet, n) in bad for n in h.rows)]

    def new(self) -> list[House]:
        return [h for h in self.good() if h.stored is None]

    def changed(self) -> list[House]:
        return [h for h in self.good() if h.stored is not None and h.changes]

    def file_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.row is None]

    def frame(self, lang: str = "zh") -> pd.DataFrame:
        many = len(self.reading.layouts) > 1
        return pd.DataFrame(
            {
                **({t("ledger.col_sheet", lang): [p.sheet for p in self.problems]} if many else {}),
                t("households.import.col_row", lang): [p.row if p.row is not None else "—" for p in self.problems],
                t("households.import.col_problem", lang): [p.text(lang) for p in self.problems],
            }
        )

    def preview(self, lang: str = "zh") -> pd.DataFrame:
        bad = self.bad_rows()
        return pd.DataFrame(
            [
                {
                    t("households.import.col_row", lang): h.rows[0],
                    t("common.unit", lang): f"{h.building}-{h.unit}",
                    t("common.room", lang): h.room,
                    t("households.col.contact", lang): h.contact_name,
                    t("households.col.occupants", lang): h.occupants,
                    t("ledger.col_residents", lang): "、".join(h.names),
                    t("households.import.col_ok", lang): "❌" if any((h.sheet, n) in bad for n in h.rows) else "✅",
                }
                for h in self.households
            ]
        )


# -- checking ------------------------------------------------------------------------------------
def validate(
    db: Database,
    data: bytes,
    filename: str,
    *,
    mapping: dict[str, str | None] | None = None,
    update: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Every problem of the file, per row. Never writes."""
    report = Report(filename, update=update)
    if not data.strip():
        report.add(None, "households.import.empty")
        return report
    try:
        sheets = ledger.read(data, filename, progress=lambda f: progress("read", f) if progress else None)
    except InvalidInput as exc:
        report.add(None, exc.key, **exc.params)
        return report
    return check(db, ledger.recognise(sheets, mapping), filename, update=update, progress=progress)


def check(
    db: Database, reading: ledger.Reading, filename: str, *, update: bool = False, progress: Progress | None = None
) -> Report:
    """Check what ledger.py found: one Report with the households and every problem."""
    report = Report(filename, reading=reading, update=update)
    if not reading.layouts:
        report.add(None, "ledger.no_ledger", sheets="、".join(reading.skipped) or "—")
        return report
    units = {(b, u): uid for uid, b, u in db.rows("SELECT id, building, unit_no FROM units")}
    houses: dict[tuple[int, str], House] = {}
    for layout in reading.layouts:
        sheet = next(s for s in reading.sheets if s.name == layout.sheet)
        for number, row, _cells in ledger.data_rows(sheet, layout):
            report.data_rows += 1
            if report.data_rows > MAX_ROWS:
                continue
            _check_row(report, layout.sheet, number, row, units, houses)
        if progress:
            progress("check", (reading.layouts.index(layout) + 1) / len(reading.layouts))
    if report.data_rows > MAX_ROWS:
        report.problems = [Problem(None, "ledger.too_many_rows", {"n": report.data_rows, "max": MAX_ROWS})]
        return report
    report.households = list(houses.values())
    for house in report.households:
        _check_house(report, house)
    _against_stored(db, report)
    order = {x.sheet: i for i, x in enumerate(reading.layouts)}
    report.problems.sort(key=lambda p: (order.get(p.sheet, -1), p.row or 0))
    if not report.households and not report.problems:
        report.add(None, "households.import.empty")
    return report


def _place(report: Report, sheet: str, n: int, row: dict) -> tuple[int, int, str] | None:
    """(building, unit, room) from split columns or one address column, or a problem."""
    if "building" in row or "unit" in row or "room" in row:
        for name in ("building", "unit", "room"):
            if not row.get(name):
                report.add(n, "households.import.missing_field", sheet, field=_field_label(name))
                return None
        building, unit, room = ledger.building_no(row["building"]), ledger.unit_no(row["unit"]), ledger.room_no(row["room"])
        if building is None or unit is None or room is None:
            report.add(n, "ledger.bad_address", sheet, value=f"{row['building']} / {row['unit']} / {row['room']}")
            return None
        return building, unit, room
    if not row.get("address"):
        report.add(n, "households.import.missing_field", sheet, field=_field_label("address"))
        return None
    place = ledger.address(row["address"])
    if place is None:
        report.add(n, "ledger.bad_address", sheet, value=row["address"])
    return place


def _field_label(name: str) -> str:
    return f"{t(f'ledger.field.{name}', 'zh')} / {t(f'ledger.field.{name}', 'en')}"


def _check_row(report: Report, sheet: str, n: int, row: dict, units: dict, houses: dict) -> None:
    before = len(report.problems)
    place = _place(report, sheet, n, row)
    if place is None:
        return
    building, unit, room = place
    unit_id = units.get((building, unit))
    if unit_id is None:
        report.add(n, "households.import.unknown_unit", sheet, building=building, unit=unit)
        return
    house = houses.get((unit_id, room))
    contact = row.get("contact_name", "")
    if house is not None and house.contact_name and contact and contact != house.contact_name:
        report.add(n, "households.import.duplicate_in_file", sheet, room=room, other=house.rows[0])
        return
    if house is None:
        house = houses[(unit_id, room)] = House(sheet, [], building, unit, room, unit_id)
    house.rows.append(n)
    _household_cells(report, sheet, n, row, house)
    _resident_cells(report, sheet, n, row, house)
    if len(report.problems) > before and n not in house.rows:
        house.rows.append(n)


def _household_cells(report: Report, sheet: str, n: int, row: dict, house: House) -> None:
    house.contact_name = house.contact_name or row.get("contact_name", "")
    if len(house.contact_name) > 40:
        report.add(n, "households.import.name_long", sheet)
    found = ledger.phone(row.get("phone", ""))
    if found.problem:
        report.add(n, found.problem, sheet, phone=row.get("phone", ""))
    house.phone = house.phone or found.number
    row["_phone"] = found.number
    extras = [found.extra and t("ledger.phone_more", "zh", phone=found.extra), row.get("notes", "")]
    for extra in filter(None, extras):
        if extra not in house.notes:
            house.notes = f"{house.notes}；{extra}" if house.notes else extra
    if len(house.notes) > 500:
        report.add(n, "households.import.notes_long", sheet)
    if row.get("occupants"):
        value = ledger.number(row["occupants"])
        if value is None or not MIN_OCCUPANTS <= value <= MAX_OCCUPANTS:
            report.add(n, "households.import.bad_occupants", sheet, value=row["occupants"], min=MIN_OCCUPANTS, max=MAX_OCCUPANTS)
        else:
            house.occupants = max(house.occupants or 0, value)


def _resident_cells(report: Report, sheet: str, n: int, row: dict, house: House) -> None:
    names = [x for x in NAME_SPLIT.split(row.get("name", "")) if x]
    if not names and row.get("contact_name") and not house.residents:
        names = [row["contact_name"]]
    if any(len(x) > 40 for x in names):
        report.add(n, "households.import.name_long", sheet)
        return
    for name in names:
        resident = house.residents.setdefault(name, Resident(name))
        if len(names) == 1:
            resident.relation = row.get("relation") or resident.relation
            if row.get("_phone") and row["_phone"] != house.phone:
                resident.phone = row["_phone"]
    _needs(report, sheet, n, row, house, names)
    status, understood = ledger.test_status(row.get("test", ""))
    if not understood:
        report.add(n, "ledger.bad_test", sheet, value=row["test"])
    elif status and names:
        house.residents[names[0]].test = status


def _needs(report: Report, sheet: str, n: int, row: dict, house: House, names: list[str]) -> None:
    """'高血压、行动不便' for the row's resident, or '李秀英:慢性病;张三:孕妇' naming them."""
    for part in filter(None, (p.strip() for p in re.split(r"[;；\n]+", row.get("needs", "")))):
        who = names[0] if names else ""
        if re.search(r"[:：]", part):
            who, part = (x.strip() for x in re.split(r"[:：]", part, maxsplit=1))
            if who not in house.residents:
                report.add(n, "households.import.tag_stranger", sheet, name=who)
                continue
        if who not in house.residents:
            continue
        tags, unknown = ledger.needs(part, TAGS)
        for word in unknown:
            report.add(n, "households.import.unknown_tag", sheet, tag=word)
        resident = house.residents[who]
        resident.tags += [x for x in tags if x not in resident.tags]
        labels = _tag_words()
        if tags and part not in labels and not set(ledger.NEED_SPLIT.split(part)) <= labels:
            resident.medical_notes = f"{resident.medical_notes}；{part}" if resident.medical_notes else part
    if row.get("medical_notes") and names and names[0] in house.residents:
        house.residents[names[0]].medical_notes = row["medical_notes"]


@cache
def _tag_words() -> frozenset[str]:
    """Our own tag words: wording made only of these needs no note."""
    return frozenset({t(f"households.tag.{x}", "zh") for x in TAGS} | set(TAGS))


def _check_house(report: Report, house: House) -> None:
    if not house.contact_name:
        head = next((r.name for r in house.residents.values() if (r.relation or "") in HEAD), None)
        house.contact_name = head or next(iter(house.residents), "")
    if not house.contact_name:
        report.add(house.rows[0], "households.import.missing_field", house.sheet, field=_field_label("contact_name"))
    if house.occupants is None:
        house.occupants = max(MIN_OCCUPANTS, len(house.residents))
    elif len(house.residents) > house.occupants:
        report.add(
            house.rows[0], "households.import.more_residents", house.sheet, n=len(house.residents), occupants=house.occupants
        )
    if not ledger.ROOM.match(house.room):
        report.add(house.rows[0], "households.import.bad_room", house.sheet, room=house.room)


# -- against what is stored ------------------------------------------------------------------------
def _against_stored(db: Database, report: Report) -> None:
    """New mode: a household already stored is a problem. Update mode: what would change, and which stored
    households of the file's units the file no longer lists."""
    if not report.households:
        return
    units = sorted({h.unit_id for h in report.households})
    stored = {(s["unit_id"], s["room"]): s for s in _stored(db, units)}
    for house in report.households:
        found = stored.pop((house.unit_id, house.room), None)
        if found is None:
            continue
        if not report.update:
            report.add(
                house.rows[0],
                "households.import.duplicate_in_db",
                house.sheet,
                room=house.room,
                building=house.building,
                unit=house.unit,
            )
            continue
        house.stored = found
        house.changes = _changes(house, found)
    if report.update:
        report.missing = sorted(stored.values(), key=lambda s: (s["unit_id"], s["room"]))


def _stored(db: Database, units: list[int]) -> list[dict]:
    houses = db.dicts(
        """SELECT h.id, h.unit_id, u.building, u.unit_no, h.room, h.contact_name, h.phone, h.occupants,
                                h.notes, h.version FROM households h JOIN units u ON u.id = h.unit_id
                         WHERE h.unit_id = ANY(CAST(? AS INTEGER[]))""",
        [units],
    )
    people = db.dicts(
        """SELECT id, household_id, name, relation, phone, tags, medical_notes, version FROM residents
                         WHERE active AND household_id = ANY(CAST(? AS INTEGER[]))""",
        [[h["id"] for h in houses]],
    )
    by_house: dict[int, dict] = {}
    for person in people:
        by_house.setdefault(person["household_id"], {})[person["name"]] = person
    for house in houses:
        house["residents"] = by_house.get(house["id"], {})
    return houses


def _changes(house: House, stored: dict) -> dict:
    """Field -> (stored, file) for what the file changes; residents added, changed or no longer listed."""
    out: dict[str, Any] = {}
    for name in HOUSE_FIELDS:
        new = getattr(house, name) or None
        if new is not None and new != stored[name]:
            out[name] = (stored[name], new)
    added = [n for n in house.residents if n not in stored["residents"]]
    gone = [n for n in stored["residents"] if n not in house.residents]
    edited = [n for n, r in house.residents.items() if n in stored["residents"] and _resident_changes(r, stored["residents"][n])]
    for key, names in (("residents_added", added), ("residents_gone", gone), ("residents_changed", edited)):
        if names:
            out[key] = names
    return out


def _resident_changes(resident: Resident, stored: dict) -> dict:
    new = {
        "relation": resident.relation,
        "phone": resident.phone,
        "tags": sorted(resident.tags),
        "medical_notes": resident.medical_notes,
    }
    return {k: v for k, v in new.items() if v and v != (sorted(stored[k] or []) if k == "tags" else stored[k])}


# -- writing ---------------------------------------------------------------------------------------
def default_round(db: Database) -> int | None:
    """The round a ledger's 上轮核酸 column speaks of: the latest completed one."""
    return db.scalar("SELECT id FROM test_rounds WHERE status = 'completed' ORDER BY day DESC, id DESC LIMIT 1")


def import_households(db: Database, actor: Actor, data: bytes, filename: str, **options) -> dict:
    """Check, then write: see apply()."""
    access.require(actor, "household.import")
    keys = ("mapping", "update")
    report = validate(db, data, filename, **{k: options.pop(k) for k in keys if k in options})
    return apply(db, actor, report, **options)


def apply(
    db: Database,
    actor: Actor,
    report: Report,
    *,
    partial: bool = False,
    remove_missing: bool = False,
    round_id: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Write the new households (and, in update mode, the changes) in one audited transaction, or nothing.
    Without `partial` any problem refuses the whole file; with it the flagged rows' households are left out."""
    access.require(actor, "household.import")
    if report.file_problems() or (report.problems and not partial) or not report.good():
        raise InvalidInput("households.import.has_errors", n=len(report.problems))
    new, changed = report.new(), report.changed()
    missing = report.missing if remove_missing else []
    test_round = round_id if round_id is not None else default_round(db)

    def fn(tx: Tx):
        tx.require("household.import")
        for unit_id in sorted({h.unit_id for h in [*new, *changed]} | {m["unit_id"] for m in missing}):
            tx.require("household.import", unit_id)
        people = _insert_new(tx, new, test_round)
        if progress:
            progress("write", 0.6)
        people += _write_changes(tx, changed, test_round)
        moved = _retire(tx, missing)
        result = {
            "households": len(new),
            "residents": people,
            "updated": len(changed),
            "moved_out": moved,
            "skipped_rows": len(report.bad_rows()),
        }
        tx.changes += 1
        tx.audit("household.import", "import", report.filename[:120], None, {"file": report.filename, **result})
        return result

    result = db.write(actor, fn)
    if progress:
        progress("write", 1.0)
    return result


def _insert_new(tx: Tx, houses: list[House], test_round: int | None) -> int:
    if not houses:
        return 0
    hids = [
        r[0]
        for r in tx.rows("SELECT nextval('household_seq') FROM generate_series(1, CAST(? AS INTEGER)) AS g(n)", [len(houses)])
    ]
    clash = tx.rows(
        "SELECT h.room FROM households h JOIN (SELECT unnest(CAST(? AS INTEGER[])) AS u, unnest(CAST(? AS VARCHAR[])) AS rm) k "
        "ON h.unit_id = k.u AND h.room = k.rm LIMIT 1",
        [[h.unit_id for h in houses], [h.room for h in houses]],
    )
    if clash:
        raise InvalidInput("ledger.changed_meanwhile", room=clash[0][0])
    frame = pd.DataFrame(
        [
            {
                "id": hid,
                "unit_id": h.unit_id,
                "room": h.room,
                "contact_name": h.contact_name,
                "phone": h.phone,
                "occupants": h.occupants,
                "notes": h.notes or None,
            }
            for hid, h in zip(hids, houses, strict=True)
        ]
    )
    _insert_frame(tx, "households", frame)
    return _insert_residents(
        tx, [(hid, r) for hid, h in zip(hids, houses, strict=True) for r in h.residents.values()], test_round
    )


def _insert_residents(tx: Tx, people: list[tuple[int, Resident]], test_round: int | None) -> int:
    if not people:
        return 0
    rids = [
        r[0] for r in tx.rows("SELECT nextval('resident_seq') FROM generate_series(1, CAST(? AS INTEGER)) AS g(n)", [len(people)])
    ]
    frame = pd.DataFrame(
        [
            {
                "id": rid,
                "household_id": hid,
                "name": r.name,
                "relation": r.relation,
                "phone": r.phone,
                "tags": sorted(r.tags),
                "medical_notes": r.medical_notes,
            }
            for rid, (hid, r) in zip(rids, people, strict=True)
        ]
    )
    _insert_frame(tx, "residents", frame)
    _results(tx, [(rid, r.test) for rid, (_, r) in zip(rids, people, strict=True)], test_round)
    return len(people)


def _insert_frame(tx: Tx, table: str, frame: pd.DataFrame) -> None:
    name = f"import_{table}_frame"
    columns = ", ".join(frame.columns)
    select = columns.replace("tags", "CAST(tags AS VARCHAR[]) AS tags")
    with tx.frame(name, frame):
        tx.execute(f"INSERT INTO {table} ({columns}) SELECT {select} FROM {name}", writes=(table,))


def _results(tx: Tx, people: list[tuple[int, str | None]], test_round: int | None) -> None:
    """New residents are pending in the active round; the ledger's 上轮核酸 becomes the chosen round's result."""
    active = tx.scalar(
        "SELECT id FROM test_rounds WHERE status = 'active' AND day <= ? ORDER BY day DESC, id DESC LIMIT 1", [tx.now.date()]
    )
    rows = {}
    if active:
        rows.update({(active, rid): "pending" for rid, _ in people})
    if test_round:
        rows.update({(test_round, rid): status for rid, status in people if status})
    if rows:
        frame = pd.DataFrame([{"round_id": k[0], "resident_id": k[1], "status": v} for k, v in rows.items()])
        with tx.frame("import_results_frame", frame):
            tx.execute(
                "INSERT INTO test_results (round_id, resident_id, status, updated_at, updated_by) "
                "SELECT round_id, resident_id, status, ?, ? FROM import_results_frame",
                [tx.now, tx.actor.username if tx.actor else "system"],
                writes=("test_results",),
            )


def _write_changes(tx: Tx, houses: list[House], test_round: int | None) -> int:
    """Each changed household: a version-checked update and its own audit row."""
    added = []
    for house in houses:
        stored = house.stored
        assert stored is not None  # update mode: only households found in the database have changes
        fields = {k: v[1] for k, v in house.changes.items() if k in HOUSE_FIELDS}
        if fields:
            tx.update("households", stored["id"], fields, expected_version=stored["version"])
        for name in house.changes.get("residents_changed", []):
            person = stored["residents"][name]
            tx.update(
                "residents", person["id"], _resident_changes(house.residents[name], person), expected_version=person["version"]
            )
        added += [(stored["id"], house.residents[n]) for n in house.changes.get("residents_added", [])]
        tx.audit(
            "household.import_update",
            "household",
            stored["id"],
            {k: v[0] for k, v in house.changes.items() if k in HOUSE_FIELDS},
            house.changes,
        )
    return _insert_residents(tx, added, test_round)


def _retire(tx: Tx, missing: list[dict]) -> int:
    """Confirmed: the residents of stored households the file no longer lists are marked moved out
    (never deleted: their history stays)."""
    count = 0
    for house in missing:
        for person in house["residents"].values():
            tx.update("residents", person["id"], {"active": False}, expected_version=person["version"])
            count += 1
        tx.audit("household.import_moved_out", "household", house["id"], None, {"residents": list(house["residents"])})
    return count


# -- the flagged rows, handed back in the user's own layout --------------------------------------------
def bad_rows_frames(report: Report, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """Per sheet: the header as the file has it, the flagged rows as they were, a 行号 and a 问题 column."""
    out = {}
    for layout in report.reading.layouts:
        sheet = next(s for s in report.reading.sheets if s.name == layout.sheet)
        problems: dict[int, list[str]] = {}
        for p in report.problems:
            if p.sheet == layout.sheet and p.row is not None:
                problems.setdefault(p.row, []).append(p.text(lang))
        rows = [(n, cells) for n, cells in sheet.rows if n in problems]
        if not rows:
            continue
        width = max(len(layout.columns), *(len(c) for _, c in rows))
        columns = _unique([*layout.columns, *(f"#{i + 1}" for i in range(len(layout.columns), width))])
        frame = pd.DataFrame([c + [""] * (width - len(c)) for _, c in rows], columns=columns)
        frame.insert(0, t("households.import.col_row", lang), [n for n, _ in rows])
        frame[t("households.import.col_problem", lang)] = ["；".join(problems[n]) for n, _ in rows]
        out[layout.sheet] = frame
    return out


def _unique(titles: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        out.append(title if seen[title] == 1 else f"{title}_{seen[title]}")
    return out


def bad_rows_xlsx(report: Report, lang: str = "zh") -> bytes:
    from .exports import to_xlsx_sheets

    return to_xlsx_sheets(bad_rows_frames(report, lang))


def replace_rows(reading: ledger.Reading, sheet_name: str, edited: dict[int, list[str]]) -> ledger.Reading:
    """The reading with some rows of a sheet as the user corrected them in place."""
    sheets = []
    for sheet in reading.sheets:
        if sheet.name == sheet_name:
            rows = [(n, [ledger.clean(c)[0] for c in edited[n]] if n in edited else cells) for n, cells in sheet.rows]
            sheet = ledger.Sheet(sheet.name, rows, sheet.cleaned)
        sheets.append(sheet)
    return ledger.Reading(sheets, reading.layouts, reading.skipped)
