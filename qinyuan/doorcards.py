"""Door cards (就医明白卡): one A4 PDF per unit, two cards a page, each with the household's room, a QR code of
its link, the captain's and the clinic's phone numbers, what to do in an emergency, how to leave for hospital
and the unit's chat-group line. Links are stored only as hashes, so printing issues fresh links: every old
card of the unit stops working (qinyuan.door.issue_unit)."""

from __future__ import annotations

import io
import sys

from . import door
from .access import Actor
from .briefing import cjk_font
from .db import Database
from .errors import NotFound
from .grid import unit_label
from .i18n import both, t

CARD_H = 148.5  # two cards on an A4 page, cut along the middle
QR_MM = 58


def qr_png(text: str) -> bytes:
    """A QR code of the text as PNG (segno; error correction M, quiet zone kept)."""
    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def _qr_image(text: str):
    """The QR code as an 8-bit greyscale image: fpdf2 shears segno's 1-bit PNG."""
    from PIL import Image

    return Image.open(io.BytesIO(qr_png(text))).convert("L")


def unit_facts(db: Database, unit_id: int, lang: str = "zh") -> dict:
    """What every card of a unit says besides the room: captain, clinic, emergency number, chat-group line."""
    row = db.one(
        """SELECT u.building, u.unit_no, v.name, v.phone FROM units u LEFT JOIN teams tm ON tm.id = u.team_id
                    LEFT JOIN volunteers v ON v.id = tm.captain_id WHERE u.id = ?""",
        [int(unit_id)],
    )
    if row is None:
        raise NotFound()
    label = unit_label(row[0], row[1], lang)
    notice = db.scalar("SELECT body FROM notices WHERE unit_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", [int(unit_id)])
    line = (notice or "").strip().splitlines()[0][:60] if notice and notice.strip() else None
    return {
        "unit": label,
        "captain": row[2] or "—",
        "captain_phone": row[3] or "—",
        "clinic_phone": db.setting("clinic_phone") or "—",
        "emergency": db.setting("emergency_phone", "120"),
        "group": line or t("door.card.group_default", lang, unit=label),
    }


def render(facts: dict, cards: list[dict], lang: str = "zh") -> bytes:
    """The PDF of the given cards ([{room, link}]) of one unit."""
    from fpdf import FPDF

    doc = FPDF(format="A4")
    doc.set_auto_page_break(False)
    doc.add_font("cjk", "", cjk_font())
    doc.set_title(f"{facts['unit']} {t('door.card.heading', lang)}")
    doc.set_creator("Qinyuan Ops")
    for n, card in enumerate(cards):
        if n % 2 == 0:
            doc.add_page()
            doc.set_draw_color(170, 170, 170)
            doc.set_dash_pattern(dash=2, gap=2)
            doc.line(8, CARD_H, doc.w - 8, CARD_H)
            doc.set_dash_pattern()
        _card(doc, (n % 2) * CARD_H, facts, card, lang)
    return bytes(doc.output())


def _card(doc, top: float, facts: dict, card: dict, lang: str) -> None:
    left, width = 14, doc.w - 28
    doc.set_text_color(170, 20, 20)
    doc.set_font("cjk", size=13)
    doc.set_xy(left, top + 10)
    doc.cell(width, 7, t("door.card.heading", lang))
    doc.set_text_color(0, 0, 0)
    doc.set_font("cjk", size=22)
    doc.set_xy(left, top + 19)
    doc.cell(width, 11, f"{facts['unit']} {card['room']}")
    doc.image(_qr_image(card["link"]), x=left, y=top + 33, w=QR_MM, h=QR_MM)
    text_x = left + QR_MM + 6
    doc.set_xy(text_x, top + 35)
    doc.set_font("cjk", size=11)
    column = width - QR_MM - 6
    for line in (
        t("door.card.scan", lang),
        "",
        t("door.card.captain", lang, name=facts["captain"], phone=facts["captain_phone"]),
        t("door.card.clinic", lang, phone=facts["clinic_phone"]),
        t("door.card.group", lang, line=facts["group"]),
    ):
        doc.set_x(text_x)
        doc.multi_cell(column, 6.2, line or " ", new_x="LMARGIN", new_y="NEXT")
    doc.set_xy(left, top + 33 + QR_MM + 5)
    doc.set_font("cjk", size=10.5)
    doc.set_fill_color(255, 240, 240)
    doc.multi_cell(
        width, 6, t("door.card.emergency", lang, emergency=facts["emergency"]), fill=True, new_x="LMARGIN", new_y="NEXT"
    )
    doc.set_x(left)
    doc.multi_cell(width, 6, t("door.card.hospital", lang), new_x="LMARGIN", new_y="NEXT")
    doc.set_x(left)
    doc.set_font("cjk", size=8.5)
    doc.set_text_color(110, 110, 110)
    doc.multi_cell(width, 5, t("door.card.private", lang), new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0, 0, 0)


def unit_cards(db: Database, actor: Actor, unit_id: int, lang: str = "zh") -> tuple[bytes, list[dict]]:
    """New links for every household of the unit (old cards stop) and the cards PDF: (pdf, issued)."""
    issued = door.issue_unit(db, actor, unit_id)
    return render(unit_facts(db, unit_id, lang), issued, lang), issued


def household_card(db: Database, actor: Actor, household_id: int, lang: str = "zh") -> tuple[bytes, str]:
    """Reissue one household's card (old link stops) and its PDF: (pdf, link)."""
    token = door.reissue(db, actor, household_id)
    unit_id, room = db.rows("SELECT unit_id, room FROM households WHERE id = ?", [int(household_id)])[0]
    link = door.link_for(token)
    return render(unit_facts(db, unit_id, lang), [{"room": room, "link": link}], lang), link


# -- CLI ----------------------------------------------------------------------------------------------------
def _unit_id(db: Database, unit: int) -> int:
    from .errors import NotFound

    if db.scalar("SELECT count(*) FROM units WHERE id = ?", [int(unit)]) == 0:
        raise NotFound(entity="unit", id=unit)
    return int(unit)


def cli_cards(db: Database, unit: int, out: str) -> int:
    from .access import SYSTEM

    pdf, issued = unit_cards(db, SYSTEM, _unit_id(db, unit))
    with open(out, "wb") as fh:
        fh.write(pdf)
    print(both("cli.door_cards_done", path=out, n=len(issued)))
    return 0


def cli_links(db: Database, unit: int) -> int:
    """One line per household: unit, room, link (fresh links: the unit's old ones stop)."""
    from .access import SYSTEM

    unit_id = _unit_id(db, unit)
    issued = door.issue_unit(db, SYSTEM, unit_id)
    label = unit_facts(db, unit_id)["unit"]
    for row in issued:
        print(f"{label}\t{row['room']}\t{row['link']}")
    print(both("cli.door_links_note", n=len(issued)), file=sys.stderr)
    return 0


def cli_reissue(db: Database, unit: int, room: str) -> int:
    from .access import SYSTEM
    from .errors import NotFound

    hid = db.scalar("SELECT id FROM households WHERE unit_id = ? AND room = ?", [int(unit), str(room)])
    if hid is None:
        raise NotFound(entity="household", id=f"{unit}/{room}")
    link = door.link_for(door.reissue(db, SYSTEM, hid))
    print(f"{unit_facts(db, int(unit))['unit']}\t{room}\t{link}")
    print(both("cli.door_links_note", n=1), file=sys.stderr)
    return 0
