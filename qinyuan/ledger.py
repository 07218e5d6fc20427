"""Reading the ledger the office already keeps (敲门行动台账): sheets, header rows, columns in the office's
words, addresses, phones, needs and last round's test status. Pure functions, no database: imports.py checks
what this module found and writes it."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024  # the same as Streamlit's server.maxUploadSize in .streamlit/config.toml
MAX_ROWS = 20_000  # data rows (one per resident) over every sheet
MAX_UNZIPPED = 60 * 1024 * 1024  # an .xlsx that inflates beyond this is refused before it is parsed
MAX_CHARS = 8_000_000  # text read over every cell: cells x length, counted while reading
MAX_COLUMNS = 60
MAX_CELL = 2_000
HEADER_SCAN = 30  # the header row is looked for in the first rows of a sheet
SHOW = 50  # a value quoted in a message is cut to this many characters

# our field -> the office's words for it (compared after normalising: NFKC, no spaces or line breaks, lower case)
FIELDS: dict[str, tuple[str, ...]] = {
    "building": ("楼号", "楼栋", "楼栋号", "栋号", "幢号", "栋", "幢", "楼", "building", "bldg"),
    "unit": ("单元", "单元号", "unit", "unit_no"),
    "room": ("房号", "门牌号", "房间号", "室号", "户号", "房间", "室", "room"),
    "address": ("住址", "地址", "家庭住址", "详细地址", "楼栋单元房号", "楼栋单元", "房屋地址", "address"),
    "contact_name": ("户主", "户主姓名", "联系人", "联系人姓名", "contact", "contact_name"),
    "name": ("姓名", "住户姓名", "居民姓名", "成员姓名", "家庭成员", "住户", "residents", "members", "name"),
    "relation": ("与户主关系", "关系", "relation"),
    "phone": (
        "联系电话",
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "电话号码",
        "联系方式",
        "户主电话",
        "本人电话",
        "phone",
        "mobile",
    ),
    "occupants": ("居住人数", "人数", "常住人数", "家庭人数", "在住人数", "实住人数", "occupants", "people"),
    "needs": ("特殊需求", "需求标签", "标签", "特殊人员情况", "特殊情况", "特殊人群", "重点人群", "tags", "needs"),
    "test": ("上轮核酸", "上轮核酸情况", "核酸", "核酸情况", "上轮核酸检测", "last_test", "test"),
    "medical_notes": ("病情备注", "健康备注", "病情说明", "medical_notes"),
    "notes": ("备注", "notes", "remarks"),
}
HOUSEHOLD_FIELDS = ("building", "unit", "room", "address", "contact_name", "occupants")  # filled down
ALIASES = {alias: name for name, words in FIELDS.items() for alias in words}
TOTALS = re.compile(r"^(合计|小计|总计|共计|total)", re.IGNORECASE)
EXAMPLE = re.compile(r"^(【?示例】?|例[:：]|\(?example\)?)", re.IGNORECASE)
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


@dataclass
class Sheet:
    name: str
    rows: list[tuple[int, list[str]]]  # (row number as Excel shows it, cells)
    cleaned: int = 0  # cells that had control characters removed
    merged: set[tuple[int, int]] = field(default_factory=set)  # (row, column) under a merged cell's top-left


@dataclass
class Layout:
    """Where a sheet's ledger starts and what each of its columns is."""

    sheet: str
    header_rows: list[int]
    columns: list[str]  # the file's own column titles
    fields: list[str | None]  # our field per column (None: ignored)
    first_data: int = 0  # index into Sheet.rows

    def index(self, name: str) -> int | None:
        return self.fields.index(name) if name in self.fields else None


@dataclass
class Reading:
    sheets: list[Sheet] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # sheets that hold no ledger


def short(value) -> str:
    text = str(value)
    return text if len(text) <= SHOW else text[:SHOW] + "…"


def clean(value) -> tuple[str, bool]:
    """A cell as text, the user's wording kept: control/bidi/zero-width characters removed (the flag says
    so), an integral float without its '.0'."""
    if value is None:
        return "", False
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    text = str(value)[:MAX_CELL]
    stripped = INVISIBLE.sub("", text)
    return stripped.strip(), stripped != text


def norm(text: str) -> str:
    """For values we parse (addresses, numbers, phones): full-width digits, letters and signs become ASCII,
    every space goes."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# -- reading files ---------------------------------------------------------------------------------------
def read(data: bytes, filename: str, progress: Callable[[float], None] | None = None) -> list[Sheet]:
    """Every sheet of the file as rows of cleaned text. Refuses (InvalidInput) what it cannot read safely."""
    if len(data) > MAX_BYTES:
        raise InvalidInput("ledger.too_big", mb=MAX_BYTES // (1024 * 1024))
    name = filename.lower()
    if name.endswith(".xls") and not data.startswith(b"PK"):
        raise InvalidInput("ledger.xls")
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, progress)
    if not name.endswith((".csv", ".txt", ".tsv")):
        raise InvalidInput("households.import.bad_type")
    return [_read_text(data, filename)]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, as Excel on Chinese Windows saves)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("households.import.bad_encoding")


def _read_text(data: bytes, filename: str) -> Sheet:
    text = decode(data)
    if len(text) > MAX_CHARS:
        raise InvalidInput("ledger.too_much_text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in text[:4096] else csv.excel
    sheet = Sheet(filename, [])
    try:
        for n, raw in enumerate(csv.reader(io.StringIO(text.replace("\x00", "")), dialect), start=1):
            sheet.rows.append((n, _cells(raw[:MAX_COLUMNS], sheet)))
    except csv.Error:
        raise InvalidInput("households.import.unreadable") from None
    return sheet


def _cells(values, sheet: Sheet) -> list[str]:
    out = []
    for value in values:
        text, dirty = clean(value)
        sheet.cleaned += dirty
        out.append(text)
    return out


def _check_zip(data: bytes) -> None:
    """A workbook that inflates to hundreds of MB is refused from its directory, before any parsing."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInput("households.import.unreadable") from None
    if total > MAX_UNZIPPED:
        raise InvalidInput("ledger.inflates", mb=MAX_UNZIPPED // (1024 * 1024))


def _read_xlsx(data: bytes, progress) -> list[Sheet]:
    _check_zip(data)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise InvalidInput("households.import.unreadable") from None
    try:
        budget = [MAX_CHARS]
        sheets = []
        for n, ws in enumerate(book.worksheets[:50]):
            sheets.append(_read_ws(ws, budget))
            if progress:
                progress((n + 1) / len(book.worksheets[:50]))
        return sheets
    except InvalidInput:
        raise
    except Exception:  # noqa: BLE001
        raise InvalidInput("households.import.unreadable") from None
    finally:
        book.close()


def _read_ws(ws, budget: list[int]) -> Sheet:
    sheet = Sheet(str(ws.title), [])
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # a forged A1:XFD1048576 dimension would pad every row to 16,384 cells
    for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = _cells(values[:MAX_COLUMNS], sheet)
        while cells and not cells[-1]:
            cells.pop()
        budget[0] -= sum(len(c) for c in cells) + len(values)
        if budget[0] < 0:
            raise InvalidInput("ledger.too_much_text")
        if n > MAX_ROWS * 3 and not cells:
            continue
        sheet.rows.append((n, cells))
    sheet.merged = _merged_below(ws)
    return sheet


MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _merged_below(ws) -> set[tuple[int, int]]:
    """Cells covered by a vertical merge, below its top-left cell. openpyxl's read-only sheets do not expose
    merges, so the sheet's XML (already bounded by _check_zip) is scanned for <mergeCell ref=...>."""
    from openpyxl.utils import column_index_from_string

    opener = getattr(ws, "_get_source", None)
    if opener is None:
        return set()
    with opener() as source:
        xml = source.read()
    covered: set[tuple[int, int]] = set()
    for c1, r1, c2, r2 in MERGE_REF.findall(xml)[:20_000]:
        first, last = column_index_from_string(c1.decode()) - 1, column_index_from_string(c2.decode()) - 1
        for row in range(int(r1) + 1, min(int(r2), int(r1) + MAX_ROWS) + 1):
            covered.update((row, col) for col in range(first, min(last, MAX_COLUMNS) + 1))
    return covered


# -- finding the ledger in a sheet -----------------------------------------------------------------------
def header_key(text: str) -> str:
    text = norm(text).lower()
    return re.sub(r"[（(][^）)]*[)）]$", "", text)  # "居住人数（人）" -> "居住人数"


def field_of(text: str) -> str | None:
    return ALIASES.get(header_key(text)) if text else None


def _score(cells: list[str]) -> int:
    return len({field_of(c) for c in cells} - {None})


def _completes(header: list[str], other: list[str]) -> bool:
    """The other row is the second level of a merged header: it names fields where the header row is empty
    (a data row naming a field, e.g. a relation cell '户主', sits under a filled header cell)."""
    return any(field_of(x) and (c >= len(header) or not header[c]) for c, x in enumerate(other))


def _is_ledger(fields: list[str | None]) -> bool:
    found = set(fields)
    place = {"building", "unit", "room"} <= found or "address" in found
    return place and bool(found & {"name", "contact_name"})


def find_layout(sheet: Sheet) -> Layout | None:
    """The header row (or two rows of a merged two-level header) among the first rows, or None."""
    head = sheet.rows[:HEADER_SCAN]
    if not head:
        return None
    best = max(range(len(head)), key=lambda i: (_score(head[i][1]), -i))
    if _score(head[best][1]) < 2:
        return None
    used = [best]
    if best + 1 < len(head) and _completes(head[best][1], head[best + 1][1]):
        used.append(best + 1)
    elif best > 0 and _completes(head[best][1], head[best - 1][1]):
        used.insert(0, best - 1)
    titles, fields = _combine([head[i][1] for i in used])
    layout = Layout(sheet.name, [head[i][0] for i in used], titles, fields, first_data=used[-1] + 1)
    return layout if _is_ledger(fields) else None


def _combine(rows: list[list[str]]) -> tuple[list[str], list[str | None]]:
    """Per column, the lowest header row's title that names a field wins (住址 over 楼号/单元/房号 loses)."""
    width = max(len(r) for r in rows)
    titles, fields = [], []
    for c in range(width):
        cells = [r[c] if c < len(r) else "" for r in rows]
        named = [x for x in reversed(cells) if field_of(x)]
        title = named[0] if named else next((x for x in reversed(cells) if x), "")
        titles.append(re.sub(r"\s+", "", title) or f"#{c + 1}")
        fields.append(field_of(title))
    return titles, _dedupe(fields)


def _dedupe(fields: list[str | None]) -> list[str | None]:
    """A field named twice: the first column keeps it. A split address makes the one-column address unused."""
    seen: set[str] = set()
    out: list[str | None] = []
    for name in fields:
        out.append(None if name in seen else name)
        if name:
            seen.add(name)
    if {"building", "unit", "room"} <= seen and "address" in seen:
        out = [None if x == "address" else x for x in out]
    return out


def apply_mapping(layout: Layout, overrides: dict[str, str | None]) -> Layout:
    """The user's choice per column title (keyed by header_key; None: ignore) over our guess."""
    keys = [header_key(title) for title in layout.columns]
    fields = [overrides.get(k, guess) for k, guess in zip(keys, layout.fields, strict=True)]
    return Layout(layout.sheet, layout.header_rows, layout.columns, _dedupe([f or None for f in fields]), layout.first_data)


def recognise(sheets: list[Sheet], overrides: dict[str, str | None] | None = None) -> Reading:
    reading = Reading(sheets=sheets)
    for sheet in sheets:
        layout = find_layout(sheet)
        if layout is None:
            reading.skipped.append(sheet.name)
            continue
        reading.layouts.append(apply_mapping(layout, overrides or {}))
    return reading


def data_rows(sheet: Sheet, layout: Layout):
    """(row number, {field: text}, cells) per data row: blank, totals and example rows skipped. Household cells
    under a vertical merge are filled down from above; so is a row whose whole address is left blank (a
    further resident of the household above). A room left blank alone stays blank: a problem, not a guess."""
    above: dict[str, str] = {}
    columns = {name: i for i, name in enumerate(layout.fields) if name}
    for number, cells in sheet.rows[layout.first_data :]:
        if not any(cells) or any(TOTALS.match(c) or EXAMPLE.match(c) for c in cells if c):
            continue
        row = {name: (cells[i] if i < len(cells) else "") for name, i in columns.items()}
        continuation = not any(row.get(x) for x in ("building", "unit", "room", "address"))
        for name in HOUSEHOLD_FIELDS:
            if name in row and not row[name] and (continuation or (number, columns[name]) in sheet.merged):
                row[name] = above.get(name, "")
        above = {name: row.get(name, "") for name in HOUSEHOLD_FIELDS}
        yield number, row, cells


# -- values in the office's words ----------------------------------------------------------------------
NUMBER = re.compile(r"^0*(\d{1,6})(?:\.0+)?$")
BUILDING = re.compile(r"^0*(\d{1,4})(?:号楼|号|栋|幢|楼|#)?$")
UNIT = re.compile(r"^0*(\d{1,3})(?:单元|单|号)?$")
ROOM = re.compile(r"^(?:0*)([0-9A-Za-z][0-9A-Za-z\-]{0,9})(?:室|号|户)?$")
ADDRESS = re.compile(
    r"^(?:沁园小区)?0*(\d{1,4})(?:号楼|号|栋|幢|楼|#|-)0*(\d{1,3})(?:单元|单|-)(?:0*)([0-9A-Za-z]{1,10})(?:室|号|户)?$"
)


def number(text: str) -> int | None:
    match = NUMBER.match(norm(text).replace(",", ""))
    return int(match.group(1)) if match else None


def building_no(text: str) -> int | None:
    match = BUILDING.match(norm(text))
    return int(match.group(1)) if match else None


def unit_no(text: str) -> int | None:
    match = UNIT.match(norm(text))
    return int(match.group(1)) if match else None


def room_no(text: str) -> str | None:
    """'301室', '203号', '0703' (= '703'), '7.0' from Excel."""
    text = re.sub(r"^(\d+)\.0+$", r"\1", norm(text))
    match = ROOM.match(text)
    return match.group(1) if match else None


def address(text: str) -> tuple[int, int, str] | None:
    """1号楼2单元301室, 1-2-301, 1#2-301, １栋２单元３０１ (already NFKC), stray spaces."""
    match = ADDRESS.match(norm(text))
    return (int(match.group(1)), int(match.group(2)), match.group(3)) if match else None


MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3}-?)?[2-9]\d{6,7}(-\d{1,5})?$")
SCIENTIFIC = re.compile(r"^(\d)(?:\.(\d+))?[eE]\+?(\d{1,2})$")


@dataclass
class Phone:
    number: str | None = None
    extra: str = ""  # a second number or a remark, for the notes
    problem: str | None = None  # catalogue key


def phone(text: str) -> Phone:
    """138-1234-5678, spaces, +86/86-, 13812345678.0, 1.3812345678E10, 'a/b', '（本人）'."""
    text = re.sub(r"\([^)]*\)", "", unicodedata.normalize("NFKC", text)).strip()
    parts = re.split(r"\s*[/、,，;；]\s*|\s{2,}", text, maxsplit=1)
    first, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    if not first:
        return Phone(extra=rest)
    science = SCIENTIFIC.match(first)
    if science:
        digits = science.group(1) + (science.group(2) or "")
        if len(digits) < int(science.group(3)) + 1:
            return Phone(extra=rest, problem="ledger.phone_truncated")
        first = digits.ljust(int(science.group(3)) + 1, "0")
    first = re.sub(r"\.0+$", "", first)
    compact = re.sub(r"[\s\-]", "", first)
    compact = re.sub(r"^(\+?86|0086)(?=1\d{10}$)", "", compact)
    if MOBILE.match(compact):
        return Phone(compact, rest)
    landline = re.sub(r"\s", "", first)
    if LANDLINE.match(landline):
        return Phone(landline, rest)
    return Phone(extra=rest, problem="households.import.bad_phone")


NONE_WORDS = {"", "无", "空", "—", "-", "--", "——", "/", "没有", "否", "暂无", "无特殊", "正常", "none", "no"}
NEED_WORDS: tuple[tuple[str, str], ...] = (  # first match wins: a word in the office's wording -> our tag
    ("透析", "dialysis"),
    ("尿毒症", "dialysis"),
    ("血透", "dialysis"),
    ("化疗", "chemo"),
    ("放疗", "chemo"),
    ("孕", "pregnancy"),
    ("新生儿", "newborn"),
    ("婴儿", "newborn"),
    ("残", "disability"),
    ("行动不便", "disability"),
    ("卧床", "disability"),
    ("瘫", "disability"),
    ("独居", "elderly_alone"),
    ("空巢", "elderly_alone"),
    ("高血压", "chronic"),
    ("糖尿病", "chronic"),
    ("慢", "chronic"),
    ("心脏病", "chronic"),
    ("冠心病", "chronic"),
    ("哮喘", "chronic"),
    ("胰岛素", "chronic"),
    ("其他", "other"),
    ("其它", "other"),
    ("elderly", "elderly_alone"),
    ("pregnan", "pregnancy"),
)
NEED_SPLIT = re.compile(r"[、,，;；/\s]+")


def needs(text: str, known: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Our tags for the office's words, and the words we could not place."""
    if text.strip().lower() in NONE_WORDS:
        return [], []
    tags: list[str] = []
    unknown: list[str] = []
    for word in NEED_SPLIT.split(re.sub(r"[（(][^）)]*[)）]", "", text)):
        if word.lower() in NONE_WORDS:
            continue
        tag = word if word in known else next((t for w, t in NEED_WORDS if w in word.lower()), None)
        if tag is None:
            unknown.append(word)
        elif tag not in tags:
            tags.append(tag)
    return tags, unknown


TEST_WORDS: dict[str, str] = {
    "已采": "tested",
    "已检": "tested",
    "已做": "tested",
    "已测": "tested",
    "是": "tested",
    "√": "tested",
    "✓": "tested",
    "已完成": "tested",
    "阴性": "tested",
    "tested": "tested",
    "yes": "tested",
    "y": "tested",
    "未采": "pending",
    "未检": "pending",
    "未做": "pending",
    "否": "pending",
    "×": "pending",
    "x": "pending",
    "no": "pending",
    "n": "pending",
    "pending": "pending",
    "需上门采样": "home_sampling_needed",
    "home_sampling_needed": "home_sampling_needed",
    "sampled_at_home": "sampled_at_home",
    "上门采样": "sampled_at_home",
    "入户采样": "sampled_at_home",
    "居家采样": "sampled_at_home",
    "外出": "away",
    "不在": "away",
    "不在家": "away",
    "away": "away",
    "免检": "exempt",
    "exempt": "exempt",
}


def test_status(text: str) -> tuple[str | None, bool]:
    """(our status or None for an empty cell, understood)."""
    word = norm(text).lower()
    if word in ("", "—", "-", "/"):
        return None, True
    status = TEST_WORDS.get(word)
    return status, status is not None
