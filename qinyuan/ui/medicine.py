"""Medicine page UI: the phone work queue (one big button per order), the phone order form,
the filtered order list with export, the overdue panel and the committee's limits."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from .. import access, clock, grid, medicine
from ..access import Actor
from ..db import Database
from ..errors import QinyuanError
from ..exports import to_csv_bytes, to_xlsx_bytes
from . import links, paging, safe
from .common import error_text, flash, lang, show_flash, state_label, t
from .widgets import unit_picker

REFUSED = "_med_refused"  # (order id, text): a step refused, shown on that order's card under its button
FOCUS = "med_focus"  # the order a to-do or attention link opened (/medicine?order=N)
LIVE_SECONDS = 15  # the work queue refreshes this often
VIEW = "med_view"
FORM_N = "_med_form_n"
ASK = "_med_ask_"  # + order id: a side step was tried without a reason, so the card asks for one
QUEUE_SIZE = 8  # cards per page of the work queue (a phone screenful or two; the pager has the rest)
TABLE_SIZE = 50
COLOUR = {"critical": "red", "urgent": "orange", "normal": "green"}


def _when(value: datetime | None) -> str:
    if value is None or pd.isna(value):
        return ""
    return value.astimezone(clock.TZ).strftime("%m-%d %H:%M")


def _urgency(code: str) -> str:
    """Urgency as coloured bold text (no emoji: phones without an emoji font show boxes)."""
    return f":{COLOUR.get(code, 'gray')}[**{t('medicine.urgency.' + code)}**]"


def _hours(value: float) -> str:
    return f"{value:.1f}"


# -- actions (widget callbacks: they run before the page redraws, so the list shows the result) -----
def _do_advance(db: Database, actor: Actor, order_id: int, target: str, version: int, reason_key: str | None) -> None:
    reason = st.session_state.get(reason_key) if reason_key else None
    if reason_key and not (reason or "").strip():
        st.session_state[ASK + str(order_id)] = True  # the card now shows its reason box
    try:
        medicine.advance(db, actor, order_id, target, version, reason=reason)
    except QinyuanError as exc:
        st.session_state[REFUSED] = (order_id, error_text(exc))
        return
    st.session_state.pop(ASK + str(order_id), None)
    flash(t("medicine.moved", id=order_id, status=state_label(medicine.MACHINE, target)))


def _do_create(db: Database, actor: Actor, n: int) -> None:
    state = st.session_state
    try:
        order_id = medicine.create_order(
            db,
            actor,
            state.get(f"med_room_{n}"),
            state.get(f"med_items_{n}") or "",
            urgency=state.get(f"med_urgency_{n}") or "normal",
            channel=state.get(f"med_channel_{n}") or "phone",
            resident_id=state.get(f"med_resident_{n}"),
            source=state.get(f"med_source_{n}"),
            notes=state.get(f"med_notes_{n}"),
        )
    except QinyuanError as exc:
        flash(error_text(exc), "error")
        return
    state[FORM_N] = n + 1
    state[VIEW] = "queue"
    flash(t("medicine.created", id=order_id))


# -- pieces ---------------------------------------------------------------------------------------
def order_card(db: Database, actor: Actor, row: dict, actions: bool = True) -> None:
    """One order as a phone card: who and what, where it is, and ONE big button for its next step."""
    code = lang()
    who = row.get("resident") or row.get("contact_name") or ""
    with st.container(border=True, key=f"med_card_{row['id']}"):
        st.markdown(
            f"**{_urgency(row['urgency'])} · {safe.md(medicine.place_label(row, code))} {safe.md(who)}**  \n"
            + ("  \n".join(safe.md(item) for item in row["items"]) or "—")
        )
        status = row["status"]
        age = t("medicine.waited" if status in medicine.OPEN else "medicine.took", hours=_hours(row["age_hours"]))
        bits = [f"#{row['id']}", state_label(medicine.MACHINE, status), age]
        if row.get("source"):
            bits.append(t("medicine.source", source=row["source"]))
        if row.get("reason"):
            bits.append(row["reason"])
        badge = f" · :red[**{t('medicine.overdue_badge')}**]" if row.get("overdue") else ""
        st.caption(" · ".join(safe.md(b) for b in bits) + badge)
        if not actions or status not in medicine.OPEN or not access.can(actor, "medicine.advance", row["unit_id"]):
            return
        step = medicine.forward_step(status, actor.role)
        if step:
            st.button(
                t(f"medicine.step.{step}"),
                key=f"med_go_{row['id']}",
                type="primary",
                width="stretch",
                on_click=_do_advance,
                args=(db, actor, row["id"], step, row["version"], None),
            )
        else:
            st.caption(":material/hourglass_top: " + t(f"medicine.waiting.{status}"))
        sides = medicine.side_steps(status, actor.role)
        if sides:
            reason_key = f"med_reason_{row['id']}"
            asking = bool(st.session_state.get(ASK + str(row["id"])))
            with st.expander(" / ".join(t(f"medicine.step.{side}") for side in sides), expanded=asking):
                # the reason box only once a side step is chosen: a page of cards stays light
                if asking:
                    st.text_input(t("medicine.reason"), key=reason_key, max_chars=medicine.MAX_TEXT)
                for side in sides:
                    st.button(
                        t(f"medicine.step.{side}"),
                        key=f"med_{side}_{row['id']}",
                        width="stretch",
                        on_click=_do_advance,
                        args=(db, actor, row["id"], side, row["version"], reason_key),
                    )
        _refusal(row["id"])


def _refusal(order_id: int) -> None:
    """A refused step (someone moved the order first, not allowed) on the card whose button was pressed."""
    refused = st.session_state.get(REFUSED)
    if refused and refused[0] == order_id:
        st.session_state.pop(REFUSED)
        st.error(refused[1], icon=":material/error:")


def overdue_panel(db: Database, actor: Actor, show: int = 5) -> None:
    rows, total = medicine.overdue(db, actor, limit=show)
    if not total:
        return
    code = lang()
    lines = [
        t(
            "medicine.overdue_line",
            id=r["id"],
            urgency=_urgency(r["urgency"]),
            place=safe.md(medicine.place_label(r, code)),
            status=t(f"medicine.waiting.{r['status']}"),
            hours=_hours(r["age_hours"]),
            limit=f"{r['limit_hours']:g}",
        )
        for r in rows
    ]
    if total > show:
        lines.append(t("medicine.overdue_more", n=total - show))
    st.error(f"**{t('medicine.overdue_title', n=total)}**  \n" + "  \n".join(lines), icon=":material/alarm:")


def focused_order(db: Database, actor: Actor) -> None:
    """The order a link opened, on top of the queue with its one step button."""
    order_id = st.session_state.get(FOCUS)
    if order_id is None:
        return
    try:
        row = medicine.get_order(db, actor, order_id)
    except QinyuanError as exc:
        st.session_state.pop(FOCUS, None)
        st.error(error_text(exc))
        return
    st.markdown(f"**{t('captain.med_focus_title', id=order_id)}**")
    order_card(db, actor, row)
    st.button(
        t("captain.med_focus_close"),
        key="med_focus_close",
        icon=":material/close:",
        on_click=lambda: st.session_state.pop(FOCUS, None),
    )
    st.divider()


@st.fragment(run_every=LIVE_SECONDS)
def work_queue(db: Database, actor: Actor) -> None:
    """The queue refreshes on its own; a step's outcome shows here (the fragment reruns alone)."""
    show_flash()
    focused_order(db, actor)
    counts = medicine.status_counts(db, actor)
    if counts:
        parts = " · ".join(f"{state_label(medicine.MACHINE, s)} {counts[s]}" for s in medicine.OPEN if counts.get(s))
        st.caption(t("medicine.counts", parts=parts))
    rows, total = paging.paged(
        lambda size, offset: medicine.work_queue(db, actor, limit=size, offset=offset), QUEUE_SIZE, "med_queue_page"
    )
    if not total:
        st.info(t("medicine.queue_empty"))
        return
    for row in rows:
        if row["id"] != st.session_state.get(FOCUS):
            order_card(db, actor, row)
    refused = st.session_state.pop(REFUSED, None)  # its card has left the queue: say it here
    if refused:
        st.error(f"#{refused[0]} · {refused[1]}", icon=":material/error:")


def new_order_form(db: Database, actor: Actor) -> None:
    """A phone order in under 30 seconds: room, (resident), items as lines, urgency, record."""
    n = st.session_state.setdefault(FORM_N, 0)
    unit_id = unit_picker(db, actor, "medicine.create", f"med_unit_{n}", t("medicine.form.unit"), single_as_text=True)
    if unit_id is None:
        st.info(t("medicine.none"))
        return
    homes = grid.households_in_unit(db, actor, unit_id, action="medicine.create")
    rooms = {int(r.id): f"{r.room} · {r.contact_name or ''}" for r in homes.itertuples()}
    household = st.selectbox(
        t("medicine.form.room"),
        list(rooms),
        format_func=rooms.get,
        index=None,
        placeholder=t("medicine.form.room_placeholder"),
        key=f"med_room_{n}",
    )
    if household is not None:
        people = grid.residents_of(db, actor, household, action="medicine.create")
        names = {None: t("medicine.form.resident_any"), **{int(r.id): r.name for r in people.itertuples()}}
        st.selectbox(t("medicine.form.resident"), list(names), format_func=names.get, key=f"med_resident_{n}")
    st.text_area(t("medicine.form.items"), placeholder=t("medicine.form.items_placeholder"), height=110, key=f"med_items_{n}")
    urgencies = {u: t(f"medicine.urgency.{u}") for u in reversed(medicine.URGENCIES)}
    st.segmented_control(
        t("medicine.form.urgency"),
        list(urgencies),
        default="normal",
        required=True,
        format_func=urgencies.get,
        key=f"med_urgency_{n}",
        width="stretch",
    )
    channels = {c: t(f"medicine.channel.{c}") for c in medicine.CHANNELS}
    st.segmented_control(
        t("medicine.form.channel"),
        list(channels),
        default="phone",
        required=True,
        format_func=channels.get,
        key=f"med_channel_{n}",
        width="stretch",
    )
    with st.expander(t("medicine.form.more")):
        st.text_input(t("medicine.form.source"), key=f"med_source_{n}", max_chars=medicine.MAX_TEXT)
        st.text_input(t("medicine.form.notes"), key=f"med_notes_{n}", max_chars=medicine.MAX_TEXT)
    st.button(
        t("medicine.form.submit"),
        type="primary",
        width="stretch",
        key=f"med_submit_{n}",
        on_click=_do_create,
        args=(db, actor, n),
    )


def _filters(db: Database, actor: Actor) -> medicine.Filters:
    statuses = ["open", "closed", "all", *medicine.MACHINE.states]
    names = {
        "open": t("medicine.filter.open"),
        "closed": t("medicine.filter.closed"),
        "all": t("medicine.filter.all"),
        **{s: state_label(medicine.MACHINE, s) for s in medicine.MACHINE.states},
    }
    c1, c2, c3 = st.columns(3)
    status = c1.selectbox(t("medicine.filter.status"), statuses, format_func=names.get, key="med_f_status")
    urgencies = {None: t("medicine.filter.any"), **{u: t(f"medicine.urgency.{u}") for u in medicine.URGENCIES}}
    urgency = c2.selectbox(t("medicine.filter.urgency"), list(urgencies), format_func=urgencies.get, key="med_f_urgency")
    unit_id = None
    if actor.scope() is None or len(actor.unit_ids) > 1:
        unit_id = unit_picker(db, actor, "medicine.view", "med_f_unit", t("medicine.filter.unit"), allow_all=True, container=c3)
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    search = s1.text_input(
        t("medicine.filter.search"), key="med_f_search", max_chars=100, placeholder=t("medicine.filter.search_hint")
    )
    overdue_only = s2.checkbox(t("medicine.filter.overdue_only"), key="med_f_overdue")
    return medicine.Filters(status=status, urgency=urgency, unit_id=unit_id, search=search or None, overdue_only=overdue_only)


def _table(rows: list[dict]) -> pd.DataFrame:
    code = lang()
    return pd.DataFrame(
        [
            {
                t("medicine.col.id"): r["id"],
                t("medicine.col.place"): medicine.place_label(r, code),
                t("medicine.col.who"): r.get("resident") or r.get("contact_name") or "",
                t("medicine.col.items"): "；".join(r["items"]),
                t("medicine.col.urgency"): t(f"medicine.urgency.{r['urgency']}"),
                t("medicine.col.status"): state_label(medicine.MACHINE, r["status"]),
                t("medicine.col.overdue"): bool(r["overdue"]),
                t("medicine.col.age_hours"): round(r["age_hours"], 1),
                t("medicine.col.source"): r.get("source") or "",
                t("medicine.col.channel"): t(f"medicine.channel.{r['channel']}"),
                t("medicine.col.created_at"): _when(r["created_at"]),
                t("medicine.col.placed_by"): r["placed_by"],
            }
            for r in rows
        ]
    )


def _export(db: Database, actor: Actor, filters: medicine.Filters) -> None:
    if not access.can(actor, "medicine.export"):
        return
    code = lang()
    name = f"medicine_{db.today().isoformat()}"
    st.caption(t("medicine.export_all"))
    c1, c2 = st.columns(2)
    c1.download_button(
        t("common.export_csv"),
        lambda: to_csv_bytes(medicine.export_frame(db, actor, filters, code)),
        f"{name}.csv",
        "text/csv",
        key="med_csv",
        width="stretch",
        on_click="ignore",
    )
    c2.download_button(
        t("common.export_xlsx"),
        lambda: to_xlsx_bytes(medicine.export_frame(db, actor, filters, code), "medicine"),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="med_xlsx",
        width="stretch",
        on_click="ignore",
    )


def _timeline(db: Database, actor: Actor, order_id: int) -> None:
    st.markdown(f"**{t('medicine.timeline')} #{order_id}**")
    lines = []
    for e in medicine.events(db, actor, order_id):
        step = state_label(medicine.MACHINE, e["to_status"])
        note = f" · {safe.md(e['note'])}" if e["note"] else ""
        lines.append(f"{_when(e['ts'])} · {step} · {safe.md(e['actor_name'])}{note}")
    st.markdown("  \n".join(lines))


def order_list(db: Database, actor: Actor, cards: bool) -> None:
    """All orders in scope with filters and paging; cards on a phone-first role, a table otherwise."""
    filters = _filters(db, actor)
    size = 10 if cards else TABLE_SIZE
    rows, total = paging.paged(
        lambda size, offset: medicine.list_orders(db, actor, filters, limit=size, offset=offset), size, "med_list_page"
    )
    if not total:
        st.info(t("medicine.none"))
        return
    if cards:
        for row in rows:
            order_card(db, actor, row)
    else:
        st.caption(t("medicine.select_hint"))
        frame = _table(rows)
        flag = t("medicine.col.overdue")
        styled = frame.style.apply(lambda r: ["background-color: #fde2e2" if r[flag] else "" for _ in r], axis=1).format(
            {t("medicine.col.age_hours"): "{:.1f}"}
        )
        picked = st.dataframe(
            styled, hide_index=True, on_select="rerun", selection_mode="single-row", key="med_table", width="stretch"
        )
        selected = picked.selection.rows if picked else []
        if selected and selected[0] < len(rows):
            row = rows[selected[0]]
            c1, c2 = st.columns(2)
            with c1:
                order_card(db, actor, row)
            with c2:
                _timeline(db, actor, row["id"])
    _export(db, actor, filters)


def limits_form(db: Database, actor: Actor) -> None:
    current = medicine.limits(db)
    st.caption(t("medicine.limits_help"))
    with st.form("med_limits"):
        values = {
            u: st.number_input(t(f"medicine.urgency.{u}"), 0.5, 720.0, float(current[u]), 0.5, key=f"med_limit_{u}")
            for u in medicine.URGENCIES
        }
        saved = st.form_submit_button(t("medicine.save"), type="primary")
    if saved:
        try:
            medicine.set_limits(db, actor, values)
        except QinyuanError as exc:
            st.error(error_text(exc))
            return
        flash(t("medicine.limits_saved"))
        st.rerun()


def render(db: Database, actor: Actor) -> None:
    """The whole /medicine page for this actor."""
    opened = links.arrived("order", VIEW)
    if opened is not None:
        st.session_state[FOCUS] = opened
        st.session_state[VIEW] = "queue"
    if st.session_state.get(VIEW, "queue") != "queue":
        show_flash()  # the queue shows its own, inside its live fragment
    phone_first = actor.role == "captain"
    if not phone_first:
        overdue_panel(db, actor)
    views = ["queue"]
    if access.can(actor, "medicine.create"):
        views.append("new")
    views.append("history" if phone_first else "all")
    if access.can(actor, "medicine.settings"):
        views.append("settings")
    if st.session_state.get(VIEW) not in views:
        st.session_state[VIEW] = "queue"
    names = {v: t(f"medicine.view.{v}") for v in views}
    view = st.segmented_control(
        t("medicine.view.label"),
        views,
        format_func=names.get,
        required=True,
        key=VIEW,
        label_visibility="collapsed",
        width="stretch",
    )
    if view == "new":
        new_order_form(db, actor)
    elif view in ("all", "history"):
        order_list(db, actor, cards=phone_first)
    elif view == "settings":
        limits_form(db, actor)
    else:
        work_queue(db, actor)
