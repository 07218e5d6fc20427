"""Hostile user text for the rendering tests: every free-text column of the demo database gets Markdown,
KaTeX and HTML that would fetch an image, show a link, cover the page or end an HTML card if rendered raw."""

from __future__ import annotations

import json

from qinyuan.db import Database

HOSTILE = " ![x](http://evil.example/a.png) [点此](http://evil.example) $\\rule{300em}{300em}$ **b** <img src=x>\n\nX"
# What appears in rendered source only when the text was not escaped.
MARKERS = ("](http://evil.example", "$\\rule", "**b**", "<img src=x>")

# table -> free-text columns people type (names, notes, items, places...); codes, statuses and phones are left.
COLUMNS = {
    "teams": ("name", "notes"),
    "volunteers": ("name", "department", "notes"),
    "users": ("display_name",),
    "households": ("contact_name", "notes"),
    "residents": ("name", "medical_notes", "emergency_contact"),
    "census_visits": ("notes",),
    "treatments": ("destination", "notes"),
    "test_rounds": ("sites",),
    "test_slots": ("site",),
    "test_results": ("reason",),
    "duty_posts": ("name_zh", "name_en"),
    "shift_assignments": ("handover_note",),
    "medicine_orders": ("notes", "reason"),  # items: a JSON list, poisoned below
    "medicine_events": ("note",),
    "emergency_cases": ("summary", "vitals"),
    "emergency_events": ("note",),
    "suppliers": ("name", "contact"),
    "grocery_orders": ("items",),
    "donation_batches": ("donor", "item"),
    "supply_items": ("name_zh", "name_en"),
    "stock_movements": ("counterparty", "note"),
    "carrying_tasks": ("description", "from_place", "to_place", "assignees"),
    "notices": ("body",),
}


def poison(path: str) -> None:
    """Append the hostile text to every user-text value of the database at path."""
    db = Database.open(path)
    try:
        with db.bulk() as cur:
            for table, columns in COLUMNS.items():
                sets = ", ".join(f"{c} = CASE WHEN {c} IS NULL THEN NULL ELSE {c} || ? END" for c in columns)
                cur.execute(f"UPDATE {table} SET {sets}", [HOSTILE] * len(columns))
            for order_id, items in cur.execute("SELECT id, items FROM medicine_orders").fetchall():
                poisoned = [item + HOSTILE for item in json.loads(items)]
                cur.execute(
                    "UPDATE medicine_orders SET items = ? WHERE id = ?", [json.dumps(poisoned, ensure_ascii=False), order_id]
                )
    finally:
        db.close()


def raw_hits(text: str, html: bool = False) -> list[str]:
    """The markers found in a piece of rendered source (for HTML cards also a blank line out of user text)."""
    found = [m for m in MARKERS if m in text]
    if html and "\n\nX" in text:
        found.append("blank line")
    return found
