"""The daily briefing: the day's figures in sentences (zh/en) ready to paste into a chat group,
what changed since the previous day, open problems, and the same as a PDF with charts."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

from . import access, clock, door, kpi
from . import overview as ov
from .access import Actor
from .db import Database
from .errors import QinyuanError
from .i18n import t

NOTO_TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC_FACE = 2  # Noto Sans CJK SC inside the collection (fpdf2 would take face 0, the Japanese one)
_font_lock = threading.Lock()

# Figures listed under "changed since yesterday", in this order.
CHANGE_KEYS = (
    "current_round_coverage",
    "residents_pending",
    "home_samplings_done",
    "duty_person_times",
    "medicine_households_served",
    "medicine_orders_open",
    "medicine_urgent_open",
    "emergency_cases_total",
    "emergency_cases_open",
    "vegetable_portions_distributed",
    "donation_batch_coverage",
    "grocery_orders_open",
)
RATIOS = ("current_round_coverage", "duty_fill_rate_today", "donation_batch_coverage")


def _n(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _pct(value) -> str:
    return f"{(value or 0) * 100:.1f}%"


def _unit(building, unit_no, lang) -> str:
    from .grid import unit_label

    return unit_label(int(building), int(unit_no), lang)


def gather(db: Database, day: date | None = None, actor: Actor = access.SYSTEM) -> dict:
    """Everything the briefing says, for the whole compound, as of the end of day (now for today)."""
    access.require(actor, "briefing.make")
    today = db.today()
    day = day or today
    figures, deltas = ov.with_deltas(db, None, day)
    moment = ov._cutoff(db, day)
    supplies = db.rows("SELECT code, name_zh, name_en, unit FROM supply_items ORDER BY id")
    rnd = kpi.current_round(db, day)
    return {
        "day": day,
        "is_today": day >= today,
        "round_status": rnd["status"] if rnd else None,
        "moment": moment,
        "figures": figures,
        "deltas": deltas,
        "attention": ov.attention(db, None, moment),
        "supplies": supplies,
        "door": door.summary(db, actor),
        "waiting_vegetables": db.scalar(
            """SELECT count(*) FROM households h LEFT JOIN donation_deliveries d ON d.household_id = h.id
                   AND d.batch_id = (SELECT id FROM donation_batches WHERE day <= ? ORDER BY day DESC, id DESC LIMIT 1)
                   WHERE d.household_id IS NULL""",
            [day],
        ),
    }


def _change(key: str, value, lang: str) -> str:
    label = t(f"kpi.{key}", lang)
    if key in RATIOS:
        return t("briefing.change_points", lang, label=label, d=f"{value * 100:+.1f}")
    return f"{label} {value:+,}" if isinstance(value, int) else f"{label} {value:+,.1f}"


def text(db: Database, day: date | None = None, lang: str = "zh", actor: Actor = access.SYSTEM, data: dict | None = None) -> str:
    """The briefing as plain text, ready to paste into a chat group."""
    d = data or gather(db, day, actor)
    lines = [
        *_heading_lines(d, lang),
        *_headline_lines(d["figures"], lang),
        *_work_lines(d, lang),
        *_supply_lines(d, lang),
        *_change_lines(d["deltas"], lang),
        *_problem_section(d["attention"], lang),
    ]
    return "\n".join(lines)


def _heading_lines(d: dict, lang: str) -> list[str]:
    """Title and the moment the figures stand at."""
    day_ = d["day"]
    moment = d["moment"].astimezone(clock.TZ)
    when = moment.strftime("%H:%M") if d["is_today"] else "24:00"
    return [
        t("briefing.title", lang, y=day_.year, m=day_.month, d=day_.day, date=day_.isoformat()),
        t("briefing.as_of", lang, m=day_.month, d=day_.day, time=when, date=day_.isoformat()),
        "",
    ]


def _headline_lines(f: dict, lang: str) -> list[str]:
    """The totals everyone quotes: teams, duty, medicine, testing, vegetables; the grid."""
    lines: list[str] = []
    lines.append(
        t(
            "briefing.headline",
            lang,
            teams=_n(f["teams"]),
            members=_n(f["members"]),
            duty=_n(f["duty_person_times"]),
            served=_n(f["medicine_households_served"]),
            rounds=_n(f["test_rounds"]),
            veg=_n(f["vegetable_portions_distributed"]),
        )
    )
    lines.append(
        t(
            "briefing.grid",
            lang,
            units=_n(f["building_units"]),
            captains=_n(f["captains"]),
            households=_n(f["households"]),
            residents=_n(f["residents"]),
            special=_n(f["special_residents"]),
        )
    )
    return lines


def _work_lines(d: dict, lang: str) -> list[str]:
    """Testing, duty, medicine and medical care of the day."""
    f = d["figures"]
    lines: list[str] = []
    if f.get("current_round"):
        done = d["round_status"] == "completed"
        lines.append(
            t(
                "briefing.testing_done" if done else "briefing.testing",
                lang,
                n=f["current_round"],
                coverage=_pct(f["current_round_coverage"]),
                pending=_n(f["residents_pending"]),
                home=_n(f["home_samplings_done"]),
            )
        )
    lines.append(
        t(
            "briefing.duty" if d["is_today"] else "briefing.duty_past",
            lang,
            duty=_n(f["duty_person_times"]),
            fill=_pct(f["duty_fill_rate_today"]),
        )
    )
    median = f["medicine_median_hours_to_delivery"]
    lines.append(
        t(
            "briefing.medicine",
            lang,
            served=_n(f["medicine_households_served"]),
            median="—" if median is None else f"{median:.1f}",
            open=_n(f["medicine_orders_open"]),
            urgent=_n(f["medicine_urgent_open"]),
        )
    )
    lines.append(
        t(
            "briefing.medical",
            lang,
            total=_n(f["emergency_cases_total"]),
            open=_n(f["emergency_cases_open"]),
            trips=_n(f["treatment_trips_next_7_days"]),
        )
    )
    return lines


def _supply_lines(d: dict, lang: str) -> list[str]:
    """Door requests, supplies and what the carriers moved."""
    f = d["figures"]
    lines: list[str] = []
    if d.get("door", {}).get("total"):
        lines.append(door.briefing_line(d["door"], lang))
    lines.append(
        t(
            "briefing.supplies",
            lang,
            suppliers=_n(f["suppliers"]),
            veg=_n(f["vegetable_portions_distributed"]),
            coverage=_pct(f["donation_batch_coverage"]),
            waiting=_n(d["waiting_vegetables"]),
            groceries=_n(f["grocery_orders_open"]),
        )
    )
    moved = []
    for code, zh, en, unit in d["supplies"]:
        qty = f["supplies"].get(code)
        if qty:
            moved.append(f"{zh} {_n(qty)} {unit}" if lang == "zh" else f"{en} {_n(qty)}")
    if moved:
        sep = "、" if lang == "zh" else ", "
        lines.append(t("briefing.carrying", lang, carriers=_n(f["carriers"]), items=sep.join(moved)))
    return lines


def _change_lines(deltas: dict, lang: str) -> list[str]:
    """What changed since the day before, in one sentence."""
    lines: list[str] = []
    lines += ["", t("briefing.changes_heading", lang)]
    changes = [_change(k, deltas[k], lang) for k in CHANGE_KEYS if deltas.get(k) not in (None, 0, 0.0)]
    lines.append(
        ("；" if lang == "zh" else "; ").join(changes) + ("。" if lang == "zh" else ".")
        if changes
        else t("briefing.no_changes", lang)
    )
    return lines


def _problem_section(att: dict, lang: str) -> list[str]:
    """The numbered problems that need someone today."""
    lines: list[str] = []
    lines += ["", t("briefing.problems_heading", lang)]
    problems = problem_lines(att, lang)
    lines += [f"{n}. {p}" for n, p in enumerate(problems, start=1)] if problems else [t("briefing.no_problems", lang)]
    return lines


def problem_lines(att: dict, lang: str, limit: int = 8) -> list[str]:
    sep = "、" if lang == "zh" else ", "

    def units(frame) -> str:
        labels = list(dict.fromkeys(_unit(b, u, lang) for b, u in zip(frame["building"], frame["unit_no"], strict=True)))
        more = len(labels) - limit
        return sep.join(labels[:limit]) + (t("briefing.and_more", lang, n=more) if more > 0 else "")

    out = []
    lim = att["limits"]
    if len(att["medicine"]):
        out.append(
            t(
                "briefing.p_medicine",
                lang,
                n=len(att["medicine"]),
                urgent=_n(lim["urgent"]),
                critical=_n(lim["critical"]),
                units=units(att["medicine"]),
            )
        )
    if len(att["cases"]):
        out.append(t("briefing.p_cases", lang, n=len(att["cases"]), minutes=int(lim["stale_minutes"]), units=units(att["cases"])))
    if len(att["posts"]):
        names = sep.join(att["posts"]["name_zh" if lang == "zh" else "name_en"])
        out.append(t("briefing.p_posts", lang, n=len(att["posts"]), posts=names))
    if len(att["coverage"]):
        out.append(
            t(
                "briefing.p_coverage",
                lang,
                n=len(att["coverage"]),
                threshold=f"{lim['threshold'] * 100:.0f}%",
                round=att["round_no"],
                units=units(att["coverage"]),
            )
        )
    return out


# -- PDF ------------------------------------------------------------------------------------------
def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "qinyuan"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def _fc_list_cjk() -> str | None:
    if not shutil.which("fc-list"):
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    for ext in (".ttf", ".otf", ".ttc", ".otc"):
        for f in files:
            if f.lower().endswith(ext) and "bold" not in f.lower():
                return f
    return None


def cjk_font() -> str:
    """A font file fpdf2 can embed that covers Chinese. fpdf2 reads face 0 of a collection, which in
    Noto Sans CJK is the Japanese face; the Simplified Chinese face is extracted once into the cache."""
    override = os.environ.get("QINYUAN_CJK_FONT")
    if override:
        if not os.path.exists(override):
            raise QinyuanError("briefing.no_font")
        return override
    if os.path.exists(NOTO_TTC):
        target = _cache_dir() / "NotoSansCJKsc-Regular.otf"
        with _font_lock:
            if target.exists() and target.stat().st_size > 0:
                return str(target)
            try:
                from fontTools.ttLib import TTFont

                font = TTFont(NOTO_TTC, fontNumber=SC_FACE, lazy=True)
                tmp = target.with_suffix(f".{os.getpid()}.tmp")
                font.save(str(tmp))
                os.replace(tmp, target)
                return str(target)
            except Exception:  # noqa: BLE001 - any trouble extracting: the collection itself still renders Chinese
                return NOTO_TTC
    found = _fc_list_cjk()
    if found:
        return found
    raise QinyuanError("briefing.no_font")


def chart_data(db: Database, day: date) -> dict:
    return {
        "coverage": ov.coverage_by_round(db),
        "medicine": ov.medicine_by_day(db, None, day),
        "hours": ov.delivery_hours(db),
        "cases": ov.open_cases_over_time(db, None, day),
        "duty": ov.duty_fill(db, day, back=9, ahead=0),
        "donation": ov.donation_by_building_hour(db),
    }


def chart_pngs(db: Database, day: date, lang: str) -> list[bytes]:
    """The briefing's charts as PNG, rendered side by side (vl-convert releases the GIL: about twice as fast)."""
    from concurrent.futures import ThreadPoolExecutor

    import vl_convert as vlc

    from .overview_charts import briefing_charts

    specs = [chart.to_dict() for chart in briefing_charts(chart_data(db, day), lang)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda spec: vlc.vegalite_to_png(spec, scale=2), specs))


def pdf(
    db: Database,
    day: date | None = None,
    lang: str = "zh",
    actor: Actor = access.SYSTEM,
    data: dict | None = None,
    charts: bool = True,
) -> bytes:
    """The briefing as a PDF: the text, then the charts."""
    from fpdf import FPDF

    d = data or gather(db, day, actor)
    body = text(db, lang=lang, data=d)
    font = cjk_font()
    doc = FPDF(format="A4")
    doc.set_margins(16, 16, 16)
    doc.set_auto_page_break(True, margin=16)
    doc.add_font("cjk", "", font)
    doc.set_title(body.splitlines()[0])
    doc.set_creator("Qinyuan Ops")
    doc.add_page()
    first, *rest = body.splitlines()
    doc.set_font("cjk", size=16)
    doc.multi_cell(0, 9, first, new_x="LMARGIN", new_y="NEXT", align="L")
    doc.ln(2)
    doc.set_font("cjk", size=10.5)
    for line in rest:
        if not line.strip():
            doc.ln(3)
            continue
        heading = line in (t("briefing.changes_heading", lang), t("briefing.problems_heading", lang))
        doc.set_font("cjk", size=12.5 if heading else 10.5)
        doc.multi_cell(0, 6.5 if heading else 6, line, new_x="LMARGIN", new_y="NEXT", align="L")
    if charts:
        doc.add_page()
        doc.set_font("cjk", size=13)
        doc.multi_cell(0, 8, t("briefing.charts_heading", lang), new_x="LMARGIN", new_y="NEXT")
        usable = doc.w - doc.l_margin - doc.r_margin
        for png in chart_pngs(db, d["day"], lang):
            from PIL import Image

            with Image.open(io.BytesIO(png)) as im:
                w, h = im.size
            height = usable * 0.72 * h / w
            if doc.get_y() + height > doc.h - doc.b_margin:
                doc.add_page()
            doc.image(io.BytesIO(png), x=doc.l_margin, w=usable * 0.72)
            doc.ln(4)
    return bytes(doc.output())


def cli_briefing(db: Database, day: date | None, lang: str, out: str | None) -> int:
    """python -m qinyuan briefing: print the text; with --out also write the PDF."""
    data = gather(db, day)
    print(text(db, lang=lang, data=data))
    if out:
        content = pdf(db, lang=lang, data=data)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(content)
        print(t("briefing.pdf_written", lang, path=out, pages=content.count(b"/Type /Page\n") or "?"), file=sys.stderr)
    return 0
