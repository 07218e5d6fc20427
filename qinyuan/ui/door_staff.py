"""The staff side of household doors: urgent reports from households on top of the needs-attention lists,
household requests in the captain's to-do, counts for the committee, proposed changes and door cards on
/households."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from .. import access, clock, door, doorcards
from ..access import Actor
from ..exports import to_csv_bytes
from ..grid import unit_label
from . import safe
from .common import attempt, get_db, lang, t

SHOW = 12


def _hm(ts) -> str:
    return ts.astimezone(clock.TZ).strftime("%m-%d %H:%M") if ts else "—"


def _where(row: dict) -> str:
    return f"{unit_label(row['building'], row['unit_no'], lang())} {row['room']}"


# -- overview ---------------------------------------------------------------------------------------------
def urgent_block(actor: Actor) -> None:
    """Open cases households reported themselves (captain, clinic, committee), newest first."""
    cases = door.urgent_open(get_db(), actor)
    if not cases:
        return
    with st.container(border=True):
        st.subheader(":material/e911_emergency: " + t("door.staff.urgent") + f" ({len(cases)})", anchor=False)
        for case in cases[:SHOW]:
            st.error(
                f"**{safe.md(_where(case))}** · {_hm(case['reported_at'])} · "
                f"{t('emergency.kind.' + case['status'])}  \n{safe.md(case['summary'])}",
                icon=":material/emergency:",
            )
        if access.can_view_page(actor, "emergencies"):
            st.page_link("pages/emergencies.py", label=t("page.emergencies"), icon=":material/emergency:")


def queue_block(actor: Actor) -> None:
    """Household requests to act on in the actor's units, and their counts by kind and state."""
    if not access.can(actor, "door.handle"):
        return
    db = get_db()
    rows = door.queue(db, actor)
    waiting = door.medicine_waiting(db, actor)
    with st.container(border=True):
        st.subheader(":material/doorbell: " + t("door.staff.title") + f" ({len(rows) + len(waiting)})", anchor=False)
        if not rows and not waiting:
            st.caption(t("door.staff.none"))
        for order in waiting[:SHOW]:
            _medicine_row(actor, order)
        for row in rows[:SHOW]:
            _request_row(actor, row)
        if len(rows) > SHOW:
            st.caption(t("overview.todo_more", n=len(rows) - SHOW))
        counts = door.counts(db, actor)
        if counts:
            frame = pd.DataFrame(counts)
            frame["kind"] = [t("door.kind." + k) for k in frame["kind"]]
            table = frame.pivot_table(index="kind", columns="status", values="n", aggfunc="sum", fill_value=0)
            with st.expander(t("door.staff.counts"), icon=":material/table_chart:"):
                st.dataframe(table, width="stretch")


def _medicine_row(actor: Actor, order: dict) -> None:
    with st.container(border=True, key=f"door_med_{order['id']}"):
        items = "、".join(json.loads(order["items"]))
        st.markdown(
            f"**{safe.md(_where(order))}** · {t('door.kind.medicine')} · "
            f"{t('door.urgency.' + order['urgency'])} · {_hm(order['created_at'])}  \n"
            f"{safe.md(items)}"
            + (f"  \n{safe.md(order['resident'])}" if order["resident"] else "")
            + (f"  \n{safe.md(order['notes'])}" if order["notes"] else "")
        )
        if st.button(t("door.staff.called_back"), key=f"door_med_ok_{order['id']}", type="primary", width="stretch") and attempt(
            lambda: door.confirm_medicine(get_db(), actor, order["id"], order["version"]) or True
        ):
            st.rerun()


def _describe(row: dict) -> str:
    what = t("door.kind." + row["kind"])
    if row["kind"] == "help" and row["topic"]:
        what += " · " + t("door.topic." + row["topic"])
    parts = [f"**{safe.md(_where(row))}** · {what} · {_hm(row['created_at'])}"]
    if row["resident"]:
        parts.append(safe.md(row["resident"]))
    if row["detail"]:
        parts.append(safe.md(row["detail"]))
    if row["phone"]:
        parts.append("☎ " + safe.md(row["phone"]))
    if row["kind"] == "update":
        parts.append(safe.md(_proposal_text(row)))
    return "  \n".join(parts)


def _proposal_text(row: dict) -> str:
    p = json.loads(row["proposal"] or "{}")
    return t(
        "door.staff.proposal_row",
        occupants=p.get("occupants") if p.get("occupants") is not None else "—",
        living=p.get("living") or "—",
        away="、".join(row.get("away_names") or []) or "—",
        needs=", ".join(t("households.tag." + n) for n in p.get("needs") or []) or "—",
        note=p.get("note") or "—",
    )


def _request_row(actor: Actor, row: dict) -> None:
    with st.container(border=True):
        st.markdown(_describe(row))
        if row["kind"] == "update":
            if access.can_view_page(actor, "households"):
                st.page_link("pages/households.py", label=t("door.staff.proposals"), icon=":material/edit_note:")
            return
        steps = door.REQUEST.next_steps(row["status"], actor.role)
        cols = st.columns(len(steps) or 1)
        for col, step in zip(cols, steps, strict=False):
            label = {"in_progress": "door.staff.take", "done": "door.staff.done", "cancelled": "door.staff.cancel"}[step]
            if col.button(
                t(label),
                key=f"door_staff_{row['id']}_{step}",
                width="stretch",
                type="primary" if step != "cancelled" else "secondary",
            ) and attempt(lambda s=step: door.advance(get_db(), actor, row["id"], s, row["version"]) or True):
                st.rerun()


# -- /households ------------------------------------------------------------------------------------------
def households_block(actor: Actor) -> None:
    """Proposed changes from doors (confirm / reject) and the unit's door cards (print, reissue)."""
    if access.can(actor, "door.handle"):
        proposals_block(actor)
    if access.can(actor, "door.cards"):
        cards_block(actor)


def proposals_block(actor: Actor) -> None:
    rows = door.queue(get_db(), actor, kinds=("update",))
    if not rows:
        return
    with st.expander(t("door.staff.proposals") + f" ({len(rows)})", expanded=True, icon=":material/edit_note:"):
        for row in rows[:SHOW]:
            with st.container(border=True):
                st.markdown(_describe(row))
                reason = st.text_input(t("door.staff.reason"), key=f"door_prop_reason_{row['id']}", max_chars=door.MAX_TEXT)
                c1, c2 = st.columns(2)
                for col, confirm in ((c1, True), (c2, False)):
                    label = t("door.staff.confirm" if confirm else "door.staff.reject")
                    if col.button(
                        label,
                        key=f"door_prop_{row['id']}_{int(confirm)}",
                        width="stretch",
                        type="primary" if confirm else "secondary",
                    ) and attempt(
                        lambda c=confirm, r=row, why=reason: door.decide(get_db(), actor, r["id"], c, r["version"], why) or True
                    ):
                        st.rerun()


def _clinic_phone(actor: Actor) -> None:
    db = get_db()
    with st.form("door_clinic_phone", border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        phone = c1.text_input(t("door.cards.clinic_phone"), value=db.setting("clinic_phone") or "", max_chars=door.MAX_PHONE)
        saved = c2.form_submit_button(t("common.save"), width="stretch")
    if saved and attempt(lambda: door.set_clinic_phone(db, actor, phone) or True, t("door.cards.clinic_saved")):
        st.rerun()


def cards_block(actor: Actor) -> None:
    from .widgets import unit_picker

    db = get_db()
    with st.expander(t("door.cards.title"), icon=":material/qr_code_2:"):
        st.warning(t("door.cards.explain"), icon=":material/info:")
        if access.can(actor, "emergency.configure"):
            _clinic_phone(actor)
        unit = unit_picker(db, actor, "door.cards", "door_cards_unit", label=t("door.cards.unit"))
        if unit is None:
            return
        sure = st.checkbox(t("door.cards.sure"), key="door_cards_sure")
        if st.button(t("door.cards.print"), key="door_cards_print", type="primary", width="stretch", disabled=not sure):
            made = attempt(lambda: doorcards.unit_cards(db, actor, unit, lang()))
            if made:
                pdf, issued = made
                links = to_csv_bytes(pd.DataFrame([{"room": i["room"], "link": i["link"]} for i in issued]))
                st.session_state["door_cards_made"] = {"unit": unit, "pdf": pdf, "csv": links, "n": len(issued)}
        made = st.session_state.get("door_cards_made")
        if made and made["unit"] == unit:
            st.success(t("door.cards.issued", n=made["n"]))
            c1, c2 = st.columns(2)
            c1.download_button(
                t("door.cards.download"),
                made["pdf"],
                f"door-cards-unit{unit}.pdf",
                "application/pdf",
                width="stretch",
                icon=":material/picture_as_pdf:",
                key="door_cards_pdf",
            )
            c2.download_button(
                t("door.cards.links"),
                made["csv"],
                f"door-links-unit{unit}.csv",
                "text/csv",
                width="stretch",
                icon=":material/link:",
                key="door_cards_csv",
            )
        rooms = door.unit_rooms(db, actor, unit)
        st.markdown("**" + t("door.cards.reissue") + "**")
        hid = st.selectbox(t("door.cards.room"), list(rooms), format_func=rooms.get, key="door_reissue_room")
        if st.button(t("door.cards.reissue_go"), key="door_reissue_go", width="stretch") and hid is not None:
            one = attempt(lambda: doorcards.household_card(db, actor, hid, lang()))
            if one:
                st.session_state["door_card_one"] = {"hid": hid, "pdf": one[0], "link": one[1]}
        one = st.session_state.get("door_card_one")
        if one and one["hid"] == hid:
            st.code(one["link"], language=None)
            st.download_button(
                t("door.cards.download"),
                one["pdf"],
                f"door-card-{rooms.get(hid, hid)}.pdf",
                "application/pdf",
                width="stretch",
                icon=":material/picture_as_pdf:",
                key="door_card_one_pdf",
            )
