"""The household ledger exported in the import's own shape: one row per resident, the household on each row,
per-resident relation, phone, needs, medical notes and last round's test status. Export -> edit in Excel ->
import (update mode) gives back the same ledger."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import access, households
from .access import Actor
from .db import Database
from .i18n import both, t

# our field -> the column title the reader recognises (zh, en)
COLUMNS = {
    "building": ("楼号", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "room"),
    "contact_name": ("户主", "contact"),
    "phone": ("联系电话", "phone"),
    "occupants": ("常住人数", "occupants"),
    "name": ("姓名", "name"),
    "relation": ("与户主关系", "relation"),
    "needs": ("特殊人员情况", "needs"),
    "medical_notes": ("病情备注", "medical_notes"),
    "test": ("上轮核酸", "last_test"),
    "notes": ("备注", "notes"),
}
TEST_WORDS = {
    "tested": "已采",
    "pending": "未采",
    "sampled_at_home": "上门采样",
    "home_sampling_needed": "需上门采样",
    "away": "外出",
    "exempt": "免检",
}


def title(name: str, lang: str) -> str:
    return COLUMNS[name][0 if lang == "zh" else 1]


def _rows(db: Database, actor: Actor, filters: households.Filters | None) -> pd.DataFrame:
    where, params, _ = households._where(db, actor, filters or households.Filters(), "household.export")
    return db.df(
        f"""SELECT h.id AS household_id, h.unit_id, u.building, u.unit_no, h.room, h.contact_name, h.phone AS house_phone,
                   h.occupants, h.notes, r.name, r.relation, r.phone, coalesce(r.tags, CAST(ARRAY[] AS VARCHAR[])) AS tags, r.medical_notes,
                   tr.status AS test
            FROM households h JOIN units u ON u.id = h.unit_id
            LEFT JOIN residents r ON r.household_id = h.id AND r.active
            LEFT JOIN test_results tr ON tr.resident_id = r.id AND tr.round_id = (
                SELECT id FROM test_rounds WHERE status = 'completed' ORDER BY day DESC, id DESC LIMIT 1)
            WHERE {where}
            ORDER BY h.unit_id, length(h.room), h.room, r.name = h.contact_name DESC NULLS LAST, r.id""",
        params,
    )


def ledger_frame(db: Database, actor: Actor, filters: households.Filters | None = None, lang: str = "zh") -> pd.DataFrame:
    """What the actor may see: phones masked and medical columns left out as on the page."""
    access.require(actor, "household.export")
    raw = _rows(db, actor, filters)
    medical = households.sees_medical(actor)
    first = ~raw["household_id"].duplicated()
    phone = [h if f or not p else p for h, p, f in zip(raw["house_phone"], raw["phone"], first, strict=True)]
    phone = [
        p if access.can(actor, "phone.view", int(u)) else access.mask_phone(p) for p, u in zip(phone, raw["unit_id"], strict=True)
    ]
    out = {
        "building": raw["building"],
        "unit": raw["unit_no"],
        "room": raw["room"],
        "contact_name": raw["contact_name"],
        "phone": phone,
        "occupants": raw["occupants"],
        "name": raw["name"],
        "relation": raw["relation"],
    }
    if medical:
        out["needs"] = ["、".join(households.tag_label(x, lang) if lang == "zh" else x for x in tags) for tags in raw["tags"]]
        out["medical_notes"] = raw["medical_notes"]
    out["test"] = [TEST_WORDS.get(s, "") if lang == "zh" else (s or "") for s in raw["test"]]
    if medical:
        out["notes"] = raw["notes"]
    frame = pd.DataFrame(out)
    frame.columns = [title(c, lang) for c in frame.columns]
    return frame.astype(object).where(frame.notna(), "")


def cli_export_households(db: Database, path: str, lang: str = "zh") -> int:
    """`python -m qinyuan export households FILE`: .xlsx, or .csv for Excel (utf-8-sig)."""
    from .exports import to_csv_bytes, to_xlsx_bytes

    frame = ledger_frame(db, access.SYSTEM, lang=lang)
    data = to_csv_bytes(frame) if path.lower().endswith(".csv") else to_xlsx_bytes(frame, sheet=t("ledger.sheet", lang))
    Path(path).write_bytes(data)
    print(both("ledger.exported", rows=len(frame), path=path))
    return 0 if len(frame) else 1


# -- the template: the same shape, examples marked in 序号 and never imported, an instructions sheet --------
EXAMPLES = {
    "zh": [
        [1, 1, "701", "王建国", "13800138000", 2, "王建国", "户主", "高血压", "", "已采", ""],
        [1, 1, "701", "王建国", "13800138000", 2, "李秀英", "配偶", "尿毒症透析（周二周五）", "", "未采", ""],
        [1, 1, "702", "张敏", "029-88881234", 1, "张敏", "户主", "独居老人", "", "已采", "子女在外地"],
    ],
    "en": [
        [1, 1, "701", "Wang Jianguo", "13800138000", 2, "Wang Jianguo", "head", "chronic", "", "tested", ""],
        [1, 1, "701", "Wang Jianguo", "13800138000", 2, "Li Xiuying", "spouse", "dialysis", "Tue/Fri", "pending", ""],
        [1, 1, "702", "Zhang Min", "029-88881234", 1, "Zhang Min", "head", "elderly_alone", "", "tested", "children away"],
    ],
}


def template_frame(lang: str = "zh") -> pd.DataFrame:
    rows = [[t("ledger.example", lang), *row] for row in EXAMPLES["zh" if lang == "zh" else "en"]]
    return pd.DataFrame(rows, columns=["序号" if lang == "zh" else "no.", *(title(c, lang) for c in COLUMNS)])


def instructions_frame(lang: str = "zh") -> pd.DataFrame:
    lines = t("ledger.howto", lang).split("|")
    lines += [f"· {households.tag_label(x, lang)}" + ("" if lang == "zh" else f" ({x})") for x in households.TAGS]
    return pd.DataFrame({t("ledger.howto_sheet", lang): lines})


def template_xlsx(lang: str = "zh") -> bytes:
    from .exports import to_xlsx_sheets

    return to_xlsx_sheets(
        {t("ledger.howto_sheet", lang): instructions_frame(lang), t("ledger.template_sheet", lang): template_frame(lang)}
    )


def template_csv(lang: str = "zh") -> bytes:
    from .exports import to_csv_bytes

    return to_csv_bytes(template_frame(lang))
