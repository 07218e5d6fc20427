"""Import of an existing household ledger (.xlsx / .csv in UTF-8, UTF-8 BOM, GBK/GB18030).

One validator serves the upload page and `python -m qinyuan import households FILE`: every problem
is reported per row as a catalogue key (so each user reads it in their language), and the import
writes all rows in one audited transaction or nothing at all."""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import access
from .access import Actor
from .db import Database, Tx
from .errors import InvalidInput
from .households import MAX_OCCUPANTS, TAGS
from .i18n import both, t

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MIN_OCCUPANTS = 1

# canonical field -> accepted headers (Chinese first, the template's headers are the first of each)
COLUMNS: dict[str, tuple[str, ...]] = {
    "building": ("楼号", "楼栋", "楼栋号", "building", "bldg"),
    "unit": ("单元", "单元号", "unit", "unit_no"),
    "room": ("房号", "门牌号", "房间号", "room"),
    "contact_name": ("联系人", "户主", "户主姓名", "contact", "contact_name", "name"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone", "mobile"),
    "occupants": ("居住人数", "人数", "常住人数", "occupants", "people"),
    "residents": ("住户姓名", "住户", "家庭成员", "residents", "members"),
    "tags": ("特殊需求", "需求标签", "标签", "tags", "needs"),
    "notes": ("备注", "notes", "remarks"),
}
REQUIRED = ("building", "unit", "room", "contact_name", "occupants")
TAG_NAMES: dict[str, str] = {
    "独居老人": "elderly_alone", "独居": "elderly_alone", "高龄独居": "elderly_alone", "残疾": "disability",
    "残障": "disability", "慢性病": "chronic", "慢病": "chronic", "透析": "dialysis", "血透": "dialysis",
    "放化疗": "chemo", "化疗": "chemo", "放疗": "chemo", "孕妇": "pregnancy", "孕产妇": "pregnancy", "怀孕": "pregnancy",
    "新生儿": "newborn", "婴儿": "newborn", "其他": "other", "其它": "other",
    **{tag: tag for tag in TAGS}, "elderly": "elderly_alone", "pregnant": "pregnancy",
}
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3}-?)?[2-9]\d{6,7}(-\d{1,5})?$")
ROOM = re.compile(r"^[0-9A-Za-z\-]{1,10}$")
SPLIT = re.compile(r"[、,，;；/\s]+")
NAME_SPLIT = re.compile(r"\s*[、,，;；/\n]\s*")


@dataclass
class Problem:
    row: int | None          # the row number as Excel shows it (header = 1); None for the file as a whole
    key: str
    params: dict = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@dataclass
class Report:
    filename: str
    rows: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def add(self, row: int | None, key: str, **params) -> None:
        self.problems.append(Problem(row, key, params))

    def frame(self, lang: str = "zh") -> pd.DataFrame:
        return pd.DataFrame({
            t("households.import.col_row", lang): [p.row if p.row is not None else "—" for p in self.problems],
            t("households.import.col_problem", lang): [p.text(lang) for p in self.problems],
        })

    def preview(self, lang: str = "zh") -> pd.DataFrame:
        bad = {p.row for p in self.problems}
        return pd.DataFrame([{
            t("households.import.col_row", lang): r["_row"],
            t("common.unit", lang): f"{r.get('building') or ''}-{r.get('unit') or ''}",
            t("common.room", lang): r.get("room"),
            t("households.col.contact", lang): r.get("contact_name"),
            t("households.col.occupants", lang): r.get("occupants"),
            t("households.import.col_ok", lang): "❌" if r["_row"] in bad else "✅",
        } for r in self.rows])


# -- reading -----------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, as Excel on Chinese Windows saves)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput("households.import.bad_encoding") from None


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """The file as rows of strings (header first)."""
    name = filename.lower()
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        try:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = []
            for n, values in enumerate(sheet.iter_rows(values_only=True)):
                if n > MAX_ROWS + 1:
                    rows.append([])
                    break
                rows.append(["" if v is None else _cell(v) for v in values])
            book.close()
            return rows
        except InvalidInput:
            raise
        except Exception:
            raise InvalidInput("households.import.unreadable") from None
    if not name.endswith((".csv", ".txt")):
        raise InvalidInput("households.import.bad_type")
    text = decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _map_header(header: list[str], report: Report) -> dict[str, int]:
    lookup = {alias.lower(): name for name, aliases in COLUMNS.items() for alias in aliases}
    found: dict[str, int] = {}
    for idx, raw in enumerate(header):
        title = str(raw or "").strip().lstrip("\ufeff").strip().lower()
        title = re.sub(r"[（(].*[)）]$", "", title).strip()  # "居住人数（人）" -> "居住人数"
        if not title:
            continue
        name = lookup.get(title)
        if name is None:
            report.add(1, "households.import.unknown_column", column=str(raw))
        elif name in found:
            report.add(1, "households.import.duplicate_column", column=str(raw))
        else:
            found[name] = idx
    for name in REQUIRED:
        if name not in found:
            report.add(1, "households.import.missing_column", column=COLUMNS[name][0] + " / " + _english(name))
    return found


def normalise_phone(value: str) -> str:
    return re.sub(r"[\s()（）]", "", value).removeprefix("+86").removeprefix("0086")


def parse_tags(value: str, names: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """'慢性病' (for the first resident) or '张三:慢性病;李四:孕妇'. Returns ({name: tags}, unknown tags, unknown names)."""
    result: dict[str, list[str]] = {}
    unknown, strangers = [], []
    for part in re.split(r"[;；\n]+", value or ""):
        part = part.strip()
        if not part:
            continue
        who = names[0] if names else ""
        if re.search(r"[:：]", part):
            who, part = (x.strip() for x in re.split(r"[:：]", part, maxsplit=1))
            if who not in names:
                strangers.append(who)
        for word in SPLIT.split(part):
            if not word:
                continue
            tag = TAG_NAMES.get(word.lower())
            if tag is None:
                unknown.append(word)
            else:
                result.setdefault(who, [])
                if tag not in result[who]:
                    result[who].append(tag)
    return result, unknown, strangers


def validate(db: Database, data: bytes, filename: str) -> Report:
    """Every problem of the file, per row. Never writes."""
    report = Report(filename)
    if len(data) > MAX_BYTES:
        report.add(None, "households.import.too_big", mb=MAX_BYTES // (1024 * 1024))
        return report
    if not data.strip():
        report.add(None, "households.import.empty")
        return report
    try:
        table = read_table(data, filename)
    except InvalidInput as exc:
        report.add(None, exc.key, **exc.params)
        return report
    table = [row for row in table if any(str(c).strip() for c in row)] if table else []
    if not table:
        report.add(None, "households.import.empty")
        return report
    if len(table) - 1 > MAX_ROWS:
        report.add(None, "households.import.too_many_rows", max=MAX_ROWS)
        return report
    columns = _map_header(table[0], report)
    if any(p.key == "households.import.missing_column" for p in report.problems):
        return report
    if len(table) == 1:
        report.add(None, "households.import.empty")
        return report

    units = {(b, u): uid for uid, b, u in db.rows("SELECT id, building, unit_no FROM units")}
    existing = set(db.rows("SELECT unit_id, room FROM households"))
    seen: dict[tuple[int, str], int] = {}
    for offset, raw in enumerate(table[1:]):
        n = offset + 2
        row: dict = {"_row": n}
        for name, idx in columns.items():
            row[name] = str(raw[idx]).strip() if idx < len(raw) and raw[idx] is not None else ""
        report.rows.append(row)
        for name in REQUIRED:
            if not row.get(name):
                report.add(n, "households.import.missing_field", field=t(f"households.field.{name}", "zh") + " / "
                           + t(f"households.field.{name}", "en"))
        building, unit = _int(row.get("building")), _int(row.get("unit"))
        row["building"], row["unit"] = building if building is not None else row.get("building"), unit if unit is not None else row.get("unit")
        if row.get("building") and row.get("unit"):
            if building is None or unit is None or (building, unit) not in units:
                report.add(n, "households.import.unknown_unit", building=row["building"], unit=row["unit"])
            else:
                row["unit_id"] = units[(building, unit)]
        room = row.get("room") or ""
        if room:
            if not ROOM.match(room):
                report.add(n, "households.import.bad_room", room=room)
            elif "unit_id" in row:
                key = (row["unit_id"], room)
                if key in existing:
                    report.add(n, "households.import.duplicate_in_db", room=room, building=building, unit=unit)
                elif key in seen:
                    report.add(n, "households.import.duplicate_in_file", room=room, other=seen[key])
                else:
                    seen[key] = n
        phone = normalise_phone(row.get("phone") or "")
        row["phone"] = phone or None
        if phone and not (MOBILE.match(phone) or LANDLINE.match(phone)):
            report.add(n, "households.import.bad_phone", phone=row.get("phone") or phone)
        if row.get("occupants"):
            occupants = _int(row["occupants"])
            if occupants is None or not MIN_OCCUPANTS <= occupants <= MAX_OCCUPANTS:
                report.add(n, "households.import.bad_occupants", value=row["occupants"], min=MIN_OCCUPANTS, max=MAX_OCCUPANTS)
            else:
                row["occupants"] = occupants
        names = [x.strip() for x in NAME_SPLIT.split(row.get("residents") or "") if x.strip()]
        if not names and row.get("contact_name"):
            names = [row["contact_name"]]
        if any(len(x) > 40 for x in names) or len(row.get("contact_name") or "") > 40:
            report.add(n, "households.import.name_long")
        if isinstance(row.get("occupants"), int) and len(names) > row["occupants"]:
            report.add(n, "households.import.more_residents", n=len(names), occupants=row["occupants"])
        tags, unknown, strangers = parse_tags(row.get("tags") or "", names)
        for word in unknown:
            report.add(n, "households.import.unknown_tag", tag=word)
        for who in strangers:
            report.add(n, "households.import.tag_stranger", name=who)
        row["names"], row["tag_map"] = names, tags
        if len(row.get("notes") or "") > 500:
            report.add(n, "households.import.notes_long")
    return report


def _int(value) -> int | None:
    try:
        text = str(value).strip()
        return int(float(text)) if re.fullmatch(r"\d+(\.0+)?", text) else None
    except (TypeError, ValueError):
        return None


# -- writing -----------------------------------------------------------------------------------
def import_households(db: Database, actor: Actor, data: bytes, filename: str) -> dict:
    """Validate, then write every household and resident in one audited transaction, or nothing."""
    access.require(actor, "household.import")
    report = validate(db, data, filename)
    if not report.ok:
        raise InvalidInput("households.import.has_errors", n=len(report.problems))
    rows = report.rows

    def fn(tx: Tx):
        tx.require("household.import")
        for unit_id in sorted({r["unit_id"] for r in rows}):
            tx.require("household.import", unit_id)
        keys = [(r["unit_id"], r["room"]) for r in rows]
        clash = tx.rows("SELECT unit_id, room FROM households h JOIN (SELECT unnest(?::INTEGER[]) AS u, unnest(?::VARCHAR[]) AS rm) k "
                        "ON h.unit_id = k.u AND h.room = k.rm LIMIT 1", [[k[0] for k in keys], [k[1] for k in keys]])
        if clash:
            raise InvalidInput("households.import.duplicate_in_db", room=clash[0][1], building="", unit=clash[0][0])
        hids = [r[0] for r in tx.rows("SELECT nextval('household_seq') FROM range(?)", [len(rows)])]
        n_res = sum(len(r["names"]) for r in rows)
        rids = [r[0] for r in tx.rows("SELECT nextval('resident_seq') FROM range(?)", [n_res])]
        houses, people = [], []
        it = iter(rids)
        for hid, r in zip(hids, rows, strict=True):
            houses.append({"id": hid, "unit_id": r["unit_id"], "room": r["room"], "contact_name": r["contact_name"],
                           "phone": r["phone"], "occupants": r["occupants"], "notes": r.get("notes") or None})
            for name in r["names"]:
                people.append({"id": next(it), "household_id": hid, "name": name, "tags": sorted(r["tag_map"].get(name, []))})
        hframe = pd.DataFrame(houses, columns=["id", "unit_id", "room", "contact_name", "phone", "occupants", "notes"])
        pframe = pd.DataFrame(people, columns=["id", "household_id", "name", "tags"])
        tx.cur.register("import_households_frame", hframe)
        tx.cur.register("import_residents_frame", pframe)
        try:
            tx.execute("""INSERT INTO households (id, unit_id, room, contact_name, phone, occupants, notes)
                          SELECT id, unit_id, room, contact_name, phone, occupants, notes FROM import_households_frame""", writes=("households",))
            tx.execute("""INSERT INTO residents (id, household_id, name, tags)
                          SELECT id, household_id, name, CAST(tags AS VARCHAR[]) FROM import_residents_frame""", writes=("residents",))
        finally:
            tx.cur.unregister("import_households_frame")
            tx.cur.unregister("import_residents_frame")
        rnd = tx.scalar("SELECT id FROM test_rounds WHERE status = 'active' AND day <= ? ORDER BY day DESC, id DESC LIMIT 1",
                        [tx.now.date()])
        if rnd and rids:
            tx.execute("INSERT INTO test_results (round_id, resident_id, status) SELECT ?, unnest(?::INTEGER[]), 'pending'",
                       [rnd, rids], writes=("test_results",))
        tx.changes += 1
        tx.audit("household.import", "import", filename[:120], None,
                 {"file": filename, "households": len(houses), "residents": len(people),
                  "household_ids": [hids[0], hids[-1]]})
        return {"households": len(houses), "residents": len(people)}

    return db.write(actor, fn)


# -- template ----------------------------------------------------------------------------------
def template_frame(lang: str = "zh") -> pd.DataFrame:
    fields = ["building", "unit", "room", "contact_name", "phone", "occupants", "residents", "tags", "notes"]
    headers = [COLUMNS[f][0] if lang == "zh" else _english(f) for f in fields]
    if lang == "zh":
        rows = [[1, 1, "101", "王建国", "13800138000", 2, "王建国、李秀英", "李秀英:慢性病", ""],
                [1, 1, "102", "张敏", "029-88881234", 1, "", "独居老人", "子女在外地"]]
    else:
        rows = [[1, 1, "101", "Wang Jianguo", "13800138000", 2, "Wang Jianguo, Li Xiuying", "Li Xiuying:chronic", ""],
                [1, 1, "102", "Zhang Min", "029-88881234", 1, "", "elderly_alone", "children away"]]
    return pd.DataFrame(rows, columns=headers)


def _english(field_name: str) -> str:
    return {"contact_name": "contact"}.get(field_name, field_name)


def template_csv(lang: str = "zh") -> bytes:
    return template_frame(lang).to_csv(index=False).encode("utf-8-sig")


def template_xlsx(lang: str = "zh") -> bytes:
    from .exports import to_xlsx_bytes

    return to_xlsx_bytes(template_frame(lang), sheet="households")


# -- CLI ---------------------------------------------------------------------------------------
def cli_import_households(db: Database, path: str) -> int:
    """`python -m qinyuan import households FILE`: print the report; exit 1 without writing on errors."""
    file = Path(path)
    if not file.is_file():
        print(both("households.import.no_file", path=path), file=sys.stderr)
        return 1
    if file.stat().st_size > MAX_BYTES:
        print(both("households.import.too_big", mb=MAX_BYTES // (1024 * 1024)), file=sys.stderr)
        return 1
    data = file.read_bytes()
    report = validate(db, data, file.name)
    if not report.ok:
        for p in report.problems:
            where = both("households.import.row", n=p.row) if p.row is not None else both("households.import.file")
            print(f"{where}: {t(p.key, 'en', **p.params)} / {t(p.key, 'zh', **p.params)}")
        print(both("households.import.nothing_written", n=len(report.problems)))
        return 1
    result = import_households(db, access.SYSTEM, data, file.name)
    print(both("households.import.done", households=result["households"], residents=result["residents"]))
    return 0
