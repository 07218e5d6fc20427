"""Writes the corpus of office-shaped ledgers (敲门行动台账) and what each must import to.

    .venv/bin/python tests/data/ledgers/make_ledgers.py

Every file gets NAME.json: {"households": n, "residents": m, "problems": [[row, key], ...], "args": [...],
"file_problem": key or null, "houses": {"b-u-room": {...}}}. Rooms 11xx-15xx do not exist in the demo world,
so each ledger imports into a fresh copy of it. Deterministic: running it twice writes the same files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment

HERE = Path(__file__).resolve().parent
TITLE = "陕西科技大学沁园小区敲门行动台账"
FILING = "填报单位：沁园小区1号楼党员先锋队    填报人：王队长    填报日期：2022年1月5日"

# (building, unit, room, householder, phone, [(name, relation, needs, test)])
HOUSES = [
    (1, 1, "1101", "王建国", "13800138001", [("王建国", "户主", "高血压", "已采"), ("李秀英", "配偶", "无", "已采")]),
    (1, 1, "1102", "张敏", "13800138002", [("张敏", "户主", "独居", "未采")]),
    (
        1,
        2,
        "1101",
        "刘洋",
        "13800138003",
        [("刘洋", "户主", "", "已采"), ("陈静", "配偶", "孕妇（孕32周）", "已采"), ("刘子涵", "子女", "", "未采")],
    ),
    (2, 1, "1201", "赵强", "029-88881234", [("赵强", "户主", "尿毒症透析（周二周五）", "已采"), ("孙丽", "配偶", "—", "是")]),
    (2, 3, "1302", "周华", "15991234567", [("周华", "户主", "行动不便", "否")]),
]
N_HOUSES, N_PEOPLE = len(HOUSES), sum(len(h[5]) for h in HOUSES)
OFFICE = [
    "序号",
    "楼号",
    "单元",
    "门牌号",
    "姓名",
    "与户主关系",
    "身份证号",
    "联系电话",
    "常住人数",
    "特殊人员情况",
    "上轮核酸",
    "备注",
]


def per_resident_rows(houses=HOUSES, repeat=True):
    """One row per resident, the office's column order; repeat=False leaves household cells empty below the
    first resident (as merged cells read)."""
    rows, n = [], 0
    for b, u, room, _head, phone, people in houses:
        for i, (name, rel, needs, test) in enumerate(people):
            n += 1
            first = i == 0 or repeat
            rows.append(
                [
                    n,
                    b if first else None,
                    u if first else None,
                    room if first else None,
                    name,
                    rel,
                    "61010319800101" + f"{n:04d}",
                    phone if rel == "户主" else "",
                    len(people) if first else None,
                    needs,
                    test,
                    "",
                ]
            )
    return rows


def save_xlsx(name: str, sheets: list[tuple[str, list[list]]], expect: dict, merges: dict | None = None, hook=None) -> None:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        for ref in (merges or {}).get(title, []):
            ws.merge_cells(ref)
        if hook:
            hook(ws)
    book.save(HERE / name)
    write_expect(name, expect)


def save_text(name: str, lines: list[list], expect: dict, encoding="utf-8", sep=",") -> None:
    import csv

    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\r\n").writerows(lines)
    (HERE / name).write_bytes(out.getvalue().encode(encoding))
    write_expect(name, expect)


def write_expect(name: str, expect: dict) -> None:
    full = {
        "households": N_HOUSES,
        "residents": N_PEOPLE,
        "problems": [],
        "args": [],
        "file_problem": None,
        "houses": {},
        **expect,
    }
    (HERE / f"{name}.json").write_text(json.dumps(full, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


STANDARD = {
    "1-1-1101": {
        "contact": "王建国",
        "phone": "13800138001",
        "occupants": 2,
        "tags": {"王建国": ["chronic"]},
        "test": {"王建国": "tested", "李秀英": "tested"},
    },
    "2-1-1201": {
        "contact": "赵强",
        "phone": "029-88881234",
        "tags": {"赵强": ["dialysis"]},
        "notes": {"赵强": "尿毒症透析（周二周五）"},
        "test": {"孙丽": "tested"},
    },
    "1-2-1101": {"tags": {"陈静": ["pregnancy"]}, "relation": {"刘子涵": "子女"}, "test": {"刘子涵": "pending"}},
}


def ledgers() -> None:
    rows = per_resident_rows()
    save_xlsx("01_plain_per_resident.xlsx", [("台账", [OFFICE, *rows])], {"houses": STANDARD})
    save_xlsx(
        "02_title_filing_blank_rows.xlsx",
        [("台账", [[TITLE], [FILING], [], OFFICE, *rows])],
        {"houses": STANDARD},
        {"台账": ["A1:L1", "A2:L2"]},
    )
    top = ["序号", "住址", None, None, "住户信息", None, None, None, None, "健康与核酸", None, "备注"]
    low = [
        None,
        "楼号",
        "单元",
        "房号",
        "姓名",
        "与户主关系",
        "身份证号",
        "联系电话",
        "常住人数",
        "特殊人员情况",
        "上轮核酸",
        None,
    ]
    save_xlsx(
        "03_two_level_merged_header.xlsx",
        [("台账", [[TITLE], top, low, *rows])],
        {"houses": STANDARD},
        {"台账": ["A1:L1", "B2:D2", "E2:I2", "J2:K2", "A2:A3", "L2:L3"]},
    )
    totals = []
    for row in rows:
        totals.append(row)
        if row[0] in (3, 6):
            totals.append(["小计", None, None, None, None, None, None, None, 3, None, None, None])
    totals.append(["合计", None, None, None, None, None, None, None, N_PEOPLE, None, None, None])
    save_xlsx("04_totals_rows.xlsx", [("台账", [OFFICE, *totals])], {"houses": STANDARD})
    b1 = [r for r in rows if r[1] == 1]
    b2 = [r for r in rows if r[1] == 2]
    save_xlsx(
        "05_sheets_per_building.xlsx",
        [
            ("填表说明", [["填表说明"], ["1. 每人一行"], ["2. 电话请填手机号"]]),
            ("1号楼", [[TITLE], OFFICE, *b1]),
            ("2号楼", [[TITLE], OFFICE, *b2]),
            ("统计", [["楼号", "户数"], [1, 3], [2, 2]]),
        ],
        {"houses": STANDARD, "sheets_read": ["1号楼", "2号楼"], "sheets_skipped": ["填表说明", "统计"]},
    )
    words = ["序号", "栋号", "单元", "室号", "户主", "手机号码", "家庭人数", "特殊人员情况", "上轮核酸", "身份证号"]
    save_xlsx(
        "06_office_words_household_rows.xlsx",
        [
            (
                "Sheet1",
                [
                    words,
                    *[
                        [i + 1, b, u, room, head, phone, len(people), people[0][2], people[0][3], "610103"]
                        for i, (b, u, room, head, phone, people) in enumerate(HOUSES)
                    ],
                ],
            )
        ],
        {"residents": N_HOUSES, "houses": {"2-1-1201": {"contact": "赵强", "occupants": 2, "tags": {"赵强": ["dialysis"]}}}},
    )
    wrapped = [
        "序号",
        "楼\n号",
        "单\n元",
        "房\n号",
        "姓 名",
        "与户主\n关系",
        "身份证号",
        "联系\n电话",
        "常住\n人数",
        "特殊人员\n情况",
        "上轮\n核酸",
        "备注",
    ]
    save_xlsx("07_headers_with_line_breaks.xlsx", [("台账", [wrapped, *rows])], {"houses": STANDARD})
    merged_rows = per_resident_rows(repeat=False)
    merges, at = [], 2
    for house in HOUSES:
        n = len(house[5])
        if n > 1:
            merges += [f"{c}{at}:{c}{at + n - 1}" for c in "BCDI"]
        at += n
    save_xlsx("08_household_merged_vertically.xlsx", [("台账", [OFFICE, *merged_rows])], {"houses": STANDARD}, {"台账": merges})
    save_text("09_repeated_household_gbk.csv", [OFFICE, *rows], {"houses": STANDARD}, encoding="gbk")
    addresses()
    phones()
    needs_and_tests()
    hostile()
    layouts()


def addresses() -> None:
    forms = ["1号楼1单元1101室", "1-1-1102", "1#2-1101", "２栋１单元１２０１", " 2 - 3 - 1302 "]
    head = ["序号", "住址", "户主", "联系电话", "常住人数"]
    save_xlsx(
        "10_address_one_column.xlsx",
        [("台账", [head, *[[i + 1, f, h[3], h[4], len(h[5])] for i, (f, h) in enumerate(zip(forms, HOUSES, strict=True))]])],
        {"residents": N_HOUSES, "houses": {"2-1-1201": {"contact": "赵强"}, "1-2-1101": {"contact": "刘洋"}}},
    )
    split = [
        ["1号楼", "1单元", "1101室"],
        ["1栋", "1单元", "1102号"],
        ["1幢", "2单元", "1101"],
        ["2号楼", "1单元", "1201室"],
        ["2栋", "3单元", "1302号"],
    ]
    save_xlsx(
        "11_address_split_with_suffixes.xlsx",
        [
            (
                "台账",
                [["楼栋", "单元号", "房间号", "联系人", "电话"], *[[*s, h[3], h[4]] for s, h in zip(split, HOUSES, strict=True)]],
            )
        ],
        {"residents": N_HOUSES},
    )
    full = str.maketrans("0123456789-", "０１２３４５６７８９－")
    save_text(
        "12_fullwidth_digits.csv",
        [
            ["楼号", "单元", "房号", "户主", "联系电话", "常住人数"],
            *[
                [
                    str(b).translate(full),
                    str(u).translate(full),
                    room.translate(full),
                    head,
                    phone.translate(full),
                    str(len(people)).translate(full),
                ]
                for b, u, room, head, phone, people in HOUSES
            ],
        ],
        {
            "residents": N_HOUSES,
            "houses": {"1-1-1101": {"phone": "13800138001", "occupants": 2}, "2-1-1201": {"phone": "029-88881234"}},
        },
        encoding="utf-8-sig",
    )
    save_xlsx(
        "13_room_with_leading_zero.xlsx",
        [
            (
                "台账",
                [
                    ["楼号", "单元", "房号", "户主", "联系电话"],
                    [1, 1, "0703", "马丽", "13900000001"],
                    [1, 2, "01104", "马超", "13900000002"],
                ],
            )
        ],
        {"households": 2, "residents": 2, "houses": {"1-1-703": {"contact": "马丽"}, "1-2-1104": {"contact": "马超"}}},
    )


def phones() -> None:
    forms = [
        "138-1234-5678",
        "138 1234 5679",
        "+86 13812345680",
        "86-13812345681",
        "１３８１２３４５６８２",
        13812345683.0,
        "13812345684.0",
        "1.3812345685E10",
        "13812345686/13912345678",
        "13812345687（本人）",
    ]
    rows = [[1, 1, f"11{i:02d}", f"住户{i}", f] for i, f in enumerate(forms, start=1)]
    houses = {f"1-1-11{i:02d}": {"phone": str(13812345677 + i)} for i in range(1, 11)}
    houses["1-1-1109"]["notes_has"] = "13912345678"
    save_xlsx(
        "14_phone_forms.xlsx",
        [("台账", [["楼号", "单元", "房号", "户主", "联系电话"], *rows])],
        {"households": 10, "residents": 10, "houses": houses},
    )
    save_text(
        "15_phone_truncated_by_excel.csv",
        [
            ["楼号", "单元", "房号", "户主", "联系电话"],
            [1, 1, "1101", "王建国", "13800138001"],
            [1, 1, "1102", "张敏", "1.38123E+10"],
            [1, 2, "1101", "刘洋", "13800138003"],
        ],
        {"households": 2, "residents": 2, "problems": [[3, "ledger.phone_truncated"]], "args": ["--partial"]},
        encoding="gbk",
    )


def needs_and_tests() -> None:
    words = ["无", "空", "—", "高血压", "糖尿病", "残疾人", "行动不便", "化疗中", "尿毒症透析（周二周五）", "孕妇（孕32周）"]
    tags = [[], [], [], ["chronic"], ["chronic"], ["disability"], ["disability"], ["chemo"], ["dialysis"], ["pregnancy"]]
    rows = [[2, 2, "1401", "钱多多" if i == 0 else "", f"钱{i}", "13800138010" if i == 0 else "", w] for i, w in enumerate(words)]
    houses = {
        "2-2-1401": {
            "occupants": 10,
            "tags": {f"钱{i}": t for i, t in enumerate(tags) if t},
            "notes": {"钱8": "尿毒症透析（周二周五）", "钱9": "孕妇（孕32周）", "钱7": "化疗中"},
        }
    }
    save_xlsx(
        "16_needs_in_office_words.xlsx",
        [("台账", [["楼号", "单元", "房号", "户主", "姓名", "联系电话", "特殊人员情况"], *rows])],
        {"households": 1, "residents": 10, "houses": houses},
    )
    status = ["已采", "未采", "已检", "是", "否"]
    rows = [[3, 1, "1501", "孙悟空", f"孙{i}", s] for i, s in enumerate(status)]
    save_xlsx(
        "17_last_round_test.xlsx",
        [("台账", [["楼号", "单元", "房号", "户主", "姓名", "上轮核酸"], *rows])],
        {
            "households": 1,
            "residents": 5,
            "houses": {
                "3-1-1501": {"test": {"孙0": "tested", "孙1": "pending", "孙2": "tested", "孙3": "tested", "孙4": "pending"}}
            },
        },
    )


def hostile() -> None:
    big = "9" * 400
    save_text(
        "18_hostile_400_digits.csv",
        [
            ["楼号", "单元", "房号", "户主", "常住人数", "联系电话"],
            [1, 1, "1101", "王建国", 2, "13800138001"],
            [big, 1, "1102", "张敏", 1, ""],
            [1, 1, "1103", "李四", big, ""],
            [1, 1, "1104", "长" * 30, 1, big],
        ],
        {
            "households": 1,
            "residents": 1,
            "args": ["--partial"],
            "problems": [[3, "ledger.bad_address"], [4, "households.import.bad_occupants"], [5, "households.import.bad_phone"]],
            "max_message": 200,
        },
    )
    save_text(
        "19_control_characters.csv",
        [
            ["楼号", "单元", "房号", "户主", "联系电话"],
            [1, 1, "1101", "王\x00建\u200b国", "13800138001"],
            [1, 1, "1102", "\u202e张敏\x1b", "13800138002"],
        ],
        {"households": 2, "residents": 2, "houses": {"1-1-1101": {"contact": "王建国"}, "1-1-1102": {"contact": "张敏"}}},
    )
    (HERE / "20_old_excel_97.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    write_expect("20_old_excel_97.xls", {"households": 0, "residents": 0, "file_problem": "ledger.xls"})
    buffer = io.BytesIO()
    cells = "".join(f'<c r="A{n}" t="inlineStr"><is><t>{"x" * 200}</t></is></c>' for n in range(1, 2))
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>" + f"<row>{cells}</row>" * 280_000 + "</sheetData></worksheet>"
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    (HERE / "21_inflating_workbook.xlsx").write_bytes(buffer.getvalue())
    write_expect("21_inflating_workbook.xlsx", {"households": 0, "residents": 0, "file_problem": "ledger.inflates"})


def layouts() -> None:
    rows = per_resident_rows()
    spaced = [[TITLE], [], OFFICE, rows[0], rows[1], [], [], rows[2], [], *rows[3:]]
    bad = list(rows[4])
    bad[2] = 9  # 1号楼9单元 does not exist
    spaced.insert(9, bad)
    save_xlsx(
        "22_blank_rows_keep_excel_numbers.xlsx",
        [("台账", spaced)],
        {"households": N_HOUSES, "problems": [[10, "households.import.unknown_unit"]], "args": ["--partial"]},
    )
    save_text("23_tab_separated.txt", [OFFICE, *rows], {"houses": STANDARD}, sep="\t")
    save_text(
        "24_our_old_template_gbk.csv",
        [
            ["楼号", "单元", "房号", "联系人", "联系电话", "居住人数", "住户姓名", "特殊需求", "备注"],
            [1, 1, "1101", "王建国", "13800138001", 2, "王建国、李秀英", "李秀英:慢性病", ""],
            [1, 1, "1102", "张敏", "029-88881234", 1, "", "独居老人", "子女在外地"],
        ],
        {"households": 2, "residents": 3, "houses": {"1-1-1101": {"tags": {"李秀英": ["chronic"]}}}},
        encoding="gbk",
    )
    english = ["building", "unit", "room", "contact", "phone", "occupants", "name", "relation", "needs", "last_test"]
    save_text(
        "25_english_headers.csv",
        [english, *[[r[1], r[2], r[3], HOUSES[0][3], "13800138001", 2, r[4], r[5], r[9], r[10]] for r in rows[:2]]],
        {"households": 1, "residents": 2, "houses": {"1-1-1101": {"tags": {"王建国": ["chronic"]}}}},
    )
    block = [["楼号", "单元", "房号", "户主", "姓名", "联系电话"]]
    at, merges = 2, []
    for u in (1, 2):
        start = at
        for r in range(2):
            room = f"14{u}{r}"
            block += [
                [3 if at == 2 else None, u if at == start else None, room, f"户主{u}{r}", f"户主{u}{r}", "13800000000"],
                [None, None, None, None, f"家属{u}{r}", ""],
            ]
            merges += [f"C{at}:C{at + 1}", f"D{at}:D{at + 1}"]
            at += 2
        merges.append(f"B{start}:B{at - 1}")
    merges.append(f"A2:A{at - 1}")
    save_xlsx(
        "26_building_merged_over_block.xlsx",
        [("3号楼", block)],
        {"households": 4, "residents": 8},
        {"3号楼": merges},
        hook=lambda ws: [setattr(c, "alignment", Alignment(vertical="center")) for row in ws.iter_rows() for c in row],
    )
    save_xlsx(
        "27_wps_mixed_problems.xlsx",
        [
            (
                "台账",
                [
                    OFFICE,
                    *rows[:3],
                    [99, 1, 1, "1104", "无名", "户主", "", "13800000000", 1, "", "已采", ""],
                    [98, 1, 1, "1103", "何六", "户主", "", "12345", 1, "VIP", "阳性?", ""],
                ],
            )
        ],
        {
            "households": 3,
            "residents": 4,
            "args": ["--partial"],
            "problems": [[6, "households.import.bad_phone"], [6, "households.import.unknown_tag"], [6, "ledger.bad_test"]],
        },
    )


if __name__ == "__main__":
    ledgers()
    print(f"{len(list(HERE.glob('*.json')))} ledgers written to {HERE}")
