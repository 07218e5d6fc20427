"""Small reusable widgets: KPI cards, tables with export, paging."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from .. import grid
from ..overview import WORSE_WHEN_UP
from . import safe
from .common import t

# Up to this many units a plain list is quickest; beyond (a 100x compound) pick the building first.
UNIT_LIST_LIMIT = 60

AREAS = {
    "grid": ["teams", "captains", "members", "building_units", "households", "residents"],
    "testing": ["test_rounds", "current_round_coverage", "residents_pending", "home_samplings_done"],
    "duty": ["duty_person_times", "duty_fill_rate_today"],
    "medicine": [
        "medicine_households_served",
        "medicine_orders_open",
        "medicine_urgent_open",
        "medicine_median_hours_to_delivery",
    ],
    "medical": ["special_residents", "emergency_cases_open", "emergency_cases_total", "treatment_trips_next_7_days"],
    "supplies": ["suppliers", "carriers", "vegetable_portions_distributed", "donation_batch_coverage", "grocery_orders_open"],
}
RATIOS = {"current_round_coverage", "duty_fill_rate_today", "donation_batch_coverage"}


def fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key in RATIOS:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def fmt_delta(key: str, d) -> str | None:
    """A change as shown (+1.5%, -3); None when it rounds to nothing, so no card says -0.0."""
    if d is None:
        return None
    if key in RATIOS:
        d = round(d * 100, 1)
        return f"{d:+.1f}%" if d else None
    if isinstance(d, float) and not d.is_integer():
        d = round(d, 1)
        return f"{d:+,.1f}" if d else None
    return f"{int(d):+,}" if d else None


def kpi_cards(figures: dict, keys: list[str], deltas: dict | None = None, columns: int = 4) -> None:
    """Cards filled row by row (a phone wraps each row of 4 into 2 x 2 and keeps the reading order)."""
    cols: list = []
    for n, key in enumerate(keys):
        if n % columns == 0:
            cols = st.columns(columns)
        delta = fmt_delta(key, deltas.get(key)) if deltas else None
        cols[n % columns].metric(
            t(f"kpi.{key}"), fmt(key, figures.get(key)), delta=delta, delta_color="inverse" if key in WORSE_WHEN_UP else "normal"
        )


def kpi_areas(figures: dict, deltas: dict | None = None, columns: int = 4, areas: dict | None = None) -> None:
    """KPI cards under one heading per area; `areas` picks and orders them (default: all of AREAS)."""
    for area, keys in (areas or AREAS).items():
        if not keys:
            continue
        st.markdown(f"##### {t(f'area.{area}')}")
        kpi_cards(figures, keys, deltas, columns)


def download_buttons(frame, name: str, key: str) -> None:
    """CSV (utf-8-sig, formulas neutralised) and xlsx of exactly the frame the user sees."""
    from ..exports import to_csv_bytes, to_xlsx_bytes

    c1, c2 = st.columns(2)
    c1.download_button(t("common.export_csv"), to_csv_bytes(frame), f"{name}.csv", "text/csv", key=f"{key}_csv")
    c2.download_button(
        t("common.export_xlsx"),
        to_xlsx_bytes(frame),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
    )


def unit_name(building_or_row, unit_no=None) -> str:
    """A building unit as people say it (1号楼2单元 / Bldg 1 Unit 2); takes a row or the two numbers."""
    if unit_no is None:
        building_or_row, unit_no = building_or_row["building"], building_or_row["unit_no"]
    return t("common.unit_label", building=int(building_or_row), unit=int(unit_no))


def unit_picker(
    db,
    actor,
    action: str,
    key: str,
    label: str | None = None,
    allow_all: bool = False,
    container=None,
    single_as_text: bool = False,
) -> int | None:
    """Pick a building unit the actor may use for an action. A single unit is shown, not asked;
    a big compound is picked building first, so the page never ships thousands of options."""
    where = container or st
    label = label or t("common.unit")
    count, top = grid.unit_span(db, actor, action)
    if count == 0:
        return None
    building = None
    if count > UNIT_LIST_LIMIT and actor.scope() is None:
        building = where.number_input(
            t("common.building"),
            min_value=0 if allow_all else 1,
            max_value=top,
            value=0 if allow_all else 1,
            step=1,
            key=f"{key}_building",
        )
        if allow_all and building == 0:
            return None
    units = grid.units(db, actor, action, building=building)
    labels = {int(r.id): unit_name(r.building, r.unit_no) for r in units.itertuples()}
    if not labels:
        where.info(t("common.none"))
        return None
    if single_as_text and len(labels) == 1 and not allow_all and count == 1:
        unit_id = next(iter(labels))
        where.markdown(f"**{label}：{labels[unit_id]}**")
        return unit_id
    options = ([None] if allow_all else []) + list(labels)
    if st.session_state.get(key, options[0]) not in options:
        st.session_state[key] = options[0]
    return where.selectbox(label, options, format_func=lambda u: t("common.all") if u is None else labels[u], key=key)


_COPY_HTML = """<button id="qy-copy" type="button" style="width:100%;min-height:52px;font-size:17px;font-weight:600;
 border:0;border-radius:10px;background:#c0392b;color:#fff;cursor:pointer;-webkit-appearance:none;
 font-family:'Source Sans Pro','Noto Sans CJK SC',sans-serif">{label}</button>
<script>
const text = {text};
const button = document.getElementById("qy-copy");
function fallback() {{  // plain http or an old phone: copy from a selected text area
  const area = document.createElement("textarea");
  area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
  document.body.appendChild(area); area.focus(); area.select(); area.setSelectionRange(0, text.length);
  const ok = document.execCommand("copy"); document.body.removeChild(area); return ok;
}}
button.addEventListener("click", async () => {{
  let ok = false;
  try {{ await navigator.clipboard.writeText(text); ok = true; }} catch (e) {{ ok = fallback(); }}
  button.textContent = ok ? {done} : {failed};
  button.style.background = ok ? "#1e7e34" : "#6b7280";
  setTimeout(() => {{ button.textContent = {label_js}; button.style.background = "#c0392b"; }}, 4000);
}});
</script>"""


def _js(value: str) -> str:
    """A JavaScript string literal that cannot end the script element it sits in: every character but letters,
    digits and spaces as a \\u escape, so no user text appears in the page as markup of any kind."""
    parts = []
    for ch in str(value):
        if ch.isalnum() or ch == " ":
            parts.append(ch)
        else:
            units = ch.encode("utf-16-be")
            parts.append("".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2)))
    return '"' + "".join(parts) + '"'


def copy_button(text: str, label: str, done: str, failed: str) -> None:
    """A big, always visible copy button (st.code's own is small and shows only on hover or tap); it says
    `done` once the text is on the clipboard. Works on phones over plain http too (a selected text area)."""
    components.html(
        _COPY_HTML.format(label=safe.html(label), label_js=_js(label), text=_js(text), done=_js(done), failed=_js(failed)),
        height=60,
    )
