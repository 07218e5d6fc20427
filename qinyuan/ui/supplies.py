"""Supplies page parts: the phone tick view, donation progress, groceries, stock and carrying tasks."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from .. import access, clock, donations, grid, groceries, supplies
from ..access import Actor
from ..errors import QinyuanError
from . import links, paging, safe
from .common import attempt, error_text, flash, get_db, lang, show_flash, state_label, t
from .widgets import UNIT_LIST_LIMIT, download_buttons, unit_name, unit_picker

CSS = """
<style>
  /* room buttons: three a row even on a phone, big enough for a thumb */
  [class*="st-key-qy_rooms"] div[data-testid="stHorizontalBlock"] {flex-wrap: nowrap !important; gap: .4rem;}
  [class*="st-key-qy_rooms"] div[data-testid="stHorizontalBlock"] > div[data-testid="stColumn"]
      {min-width: 0 !important; flex: 1 1 0 !important; width: auto !important;}
  [class*="st-key-qy_rooms"] button {min-height: 3rem; font-size: 1.05rem; padding: .2rem .3rem;}
  [class*="st-key-qy_rooms"] p.qy-floor {margin: .3rem 0 0 0; color: #888; font-size: .8rem;}
</style>
"""
ROOMS_PER_ROW = 3


# -- small helpers -------------------------------------------------------------------------------
def local(ts, fmt: str = "%m-%d %H:%M") -> str:
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return "—"
    return pd.Timestamp(ts).tz_convert(clock.TZ).strftime(fmt)


def item_name(row) -> str:
    return row["name_zh"] if lang() == "zh" else row["name_en"]


def _batch_label(row) -> str:
    return t("donation.batch_label", n=int(row["id"]), day=pd.Timestamp(row["day"]).strftime("%m-%d"), item=row["item"])


def batch_picker(db, actor: Actor, key: str) -> int | None:
    frame = donations.batches(db, actor)
    frame = frame[pd.to_datetime(frame["day"]).dt.date <= db.today()]
    if frame.empty:
        st.info(t("donation.no_batches"))
        return None
    labels = {int(r["id"]): _batch_label(r) for _, r in frame.iterrows()}
    return st.selectbox(t("donation.batch"), list(labels), format_func=labels.get, key=key)


# -- the phone tick view -----------------------------------------------------------------------
LAST_TICK = "qy_last_tick"  # (unit_id, household_id, room, kind, text): the last tap, kept until the next one


def _do_tick(actor: Actor, batch_id: int, unit_id: int, household_id: int) -> None:
    try:
        result = donations.tick(get_db(), actor, batch_id, household_id)
    except QinyuanError as exc:  # a domain error becomes a message, never an error page
        st.session_state[LAST_TICK] = (unit_id, None, None, "error", error_text(exc))
        return
    if result.ticked:
        st.session_state[LAST_TICK] = (
            unit_id,
            household_id,
            result.room,
            "success",
            t("donation.ticked", room=safe.md(result.room)),
        )
    else:
        st.session_state[LAST_TICK] = (
            unit_id,
            None,
            result.room,
            "warning",
            t("donation.already", room=safe.md(result.room), name=safe.md(result.by_name), time=result.at_local),
        )


def _do_untick(actor: Actor, batch_id: int, unit_id: int, household_id: int, room: str) -> None:
    try:
        donations.untick(get_db(), actor, batch_id, household_id)
    except QinyuanError as exc:
        st.session_state[LAST_TICK] = (unit_id, None, room, "error", error_text(exc))
        return
    st.session_state[LAST_TICK] = (unit_id, None, room, "success", t("donation.unticked", room=safe.md(room)))


def tick_view(actor: Actor) -> None:
    """One tap per room, unit by unit, for a phone."""
    db = get_db()
    st.html(CSS)
    batch_id = batch_picker(db, actor, "qy_tick_batch")
    if batch_id is None:
        return
    wanted = links.arrived("unit", "qy_tick_unit")  # a to-do link opens the unit already picked
    if grid.unit_span(db, actor, "donation.view")[0] > UNIT_LIST_LIMIT:
        # a big compound: building first, not thousands of options, and only the picked unit counted
        unit_id = unit_picker(db, actor, "donation.tick", "qy_tick_unit_big", t("donation.unit"))
        units = donations.unit_progress(db, actor, batch_id, unit_id=unit_id) if unit_id is not None else None
        if units is None or units.empty:
            return
        row = units.iloc[0]
        _tick_panel(actor, batch_id, int(unit_id), int(row["building"]), int(row["unit_no"]))
        return
    units = donations.unit_progress(db, actor, batch_id)
    if units.empty:
        st.info(t("donation.no_units"))
        return
    labels = {
        int(r["unit_id"]): t("donation.unit_option", unit=unit_name(r["building"], r["unit_no"]), waiting=int(r["waiting"]))
        for _, r in units.iterrows()
    }
    if len(labels) == 1:
        unit_id = next(iter(labels))
    else:
        first_waiting = next((int(r["unit_id"]) for _, r in units.iterrows() if r["waiting"]), int(units.iloc[0]["unit_id"]))
        options = list(labels)
        if wanted in labels:
            st.session_state["qy_tick_unit"] = wanted
        unit_id = st.selectbox(
            t("donation.unit"), options, index=options.index(first_waiting), format_func=labels.get, key="qy_tick_unit"
        )
    row = units[units["unit_id"] == unit_id].iloc[0]
    _tick_panel(actor, batch_id, int(unit_id), int(row["building"]), int(row["unit_no"]))


def _last_tick(actor: Actor, batch_id: int, unit_id: int) -> None:
    """A fixed line above the rooms: the last tap's outcome and an undo that names the room (a greyed
    undo before any tap), so the room grid below never moves between two taps."""
    last = st.session_state.get(LAST_TICK)
    if not last or last[0] != unit_id:
        last = (unit_id, None, None, "info", t("captain.veg_hint"))
    _, household_id, room, kind, text = last
    c1, c2 = st.columns([3, 2], vertical_alignment="center")
    {"success": c1.success, "warning": c1.warning, "error": c1.error, "info": c1.info}[kind](text)
    if household_id is not None:
        c2.button(
            t("donation.untick", room=safe.md(room)),
            key=f"qy_undo_{batch_id}_{household_id}",
            width="stretch",
            icon=":material/undo:",
            on_click=_do_untick,
            args=(actor, batch_id, unit_id, household_id, room),
        )
    else:
        c2.button(t("captain.undo"), key=f"qy_undo_{batch_id}_none", width="stretch", icon=":material/undo:", disabled=True)


def _tick_panel(actor: Actor, batch_id: int, unit_id: int, building: int, unit_no: int) -> None:
    """Progress and rooms of one unit, every room in its place: a waiting room is one big button, a
    ticked room stays where it was, greyed and not tappable (a second tap cannot land on the neighbour)."""
    db = get_db()
    _unit_bars(actor, batch_id, unit_id, building, unit_no)
    rooms = donations.rooms(db, actor, batch_id, unit_id)
    rooms["floor"] = rooms["room"].str[:-2]
    done_mask = rooms["delivered_by"].notna()
    done = rooms[done_mask]
    waiting = int((~done_mask).sum())
    if waiting:
        st.caption(t("donation.tap_hint", n=waiting))
    else:
        st.success(t("donation.unit_done"))
    _last_tick(actor, batch_id, unit_id)
    with st.container(key="qy_rooms"):
        _room_grid(
            rooms,
            lambda col, rec: col.button(
                ("✓ " if pd.notna(rec["delivered_by"]) else "") + rec["room"],
                key=f"qy_tick_{batch_id}_{int(rec['household_id'])}",
                width="stretch",
                type="secondary" if pd.notna(rec["delivered_by"]) else "primary",
                disabled=pd.notna(rec["delivered_by"]),
                on_click=_do_tick,
                args=(actor, batch_id, unit_id, int(rec["household_id"])),
            ),
        )
    if not done.empty:
        _done_rooms(actor, batch_id, unit_id, done)


def _done_rooms(actor: Actor, batch_id: int, unit_id: int, done: pd.DataFrame) -> None:
    """Who ticked which room and when; an undo for a tick one may undo."""
    with st.expander(t("captain.veg_done", n=len(done))):
        labels = {
            int(r["household_id"]): t(
                "donation.ticked_by", room=r["room"], name=r["delivered_name"], time=local(r["delivered_at"])
            )
            for _, r in done.iterrows()
        }
        st.markdown("\n".join(f"- {safe.md(text)}" for text in labels.values()))
        mine = [int(r["household_id"]) for _, r in done.iterrows() if donations.can_untick(actor, r["delivered_by"], unit_id)]
        if not mine:
            return
        rooms = dict(zip(done["household_id"].astype(int), done["room"], strict=True))
        pick = st.selectbox(
            t("captain.veg_undo_pick"),
            mine,
            format_func=rooms.get,
            index=None,
            key=f"qy_undo_pick_{unit_id}",
            placeholder=t("polish.pick_one"),
        )
        if pick is not None:
            st.button(
                t("donation.untick", room=safe.md(rooms[pick])),
                key=f"qy_untick_{batch_id}_{pick}",
                width="stretch",
                on_click=_do_untick,
                args=(actor, batch_id, unit_id, pick, rooms[pick]),
            )


def _room_grid(rooms: pd.DataFrame, draw) -> None:
    """Rooms floor by floor, three a row (also on a phone)."""
    for floor, part in rooms.groupby("floor", sort=False):
        st.html(f"<p class='qy-floor'>{t('donation.floor', floor=floor)}</p>")
        records = part.to_dict("records")
        for start in range(0, len(records), ROOMS_PER_ROW):
            cols = st.columns(ROOMS_PER_ROW)
            for col, rec in zip(cols, records[start : start + ROOMS_PER_ROW], strict=False):
                draw(col, rec)


@st.fragment(run_every="30s")
def _unit_bars(actor: Actor, batch_id: int, unit_id: int, building: int, unit_no: int) -> None:
    """The unit's bar, and the building's when the actor sees more of it than this unit (a captain's would
    repeat the unit's); they refresh themselves so other people's ticks show up."""
    db = get_db()
    units = donations.unit_progress(db, actor, batch_id, building=building)
    mine = units[units["unit_id"] == unit_id]
    if not mine.empty:
        u = mine.iloc[0]
        st.progress(
            int(u["served"]) / int(u["households"]),
            text=t(
                "donation.unit_progress", unit=unit_name(building, unit_no), served=int(u["served"]), total=int(u["households"])
            ),
        )
    served, total = int(units["served"].sum()), int(units["households"].sum())
    if total and len(units) > 1:
        st.progress(served / total, text=t("donation.building_progress", building=building, served=served, total=total))


# -- donation progress -------------------------------------------------------------------------
def progress_view(actor: Actor) -> None:
    db = get_db()
    batch_id = batch_picker(db, actor, "qy_prog_batch")
    if batch_id is None:
        return
    _progress_panel(actor, batch_id)
    _throughput(actor, batch_id)
    _waiting(actor, batch_id)
    if access.can(actor, "donation.manage"):
        _batches_admin(actor)


@st.fragment(run_every="30s")
def _progress_panel(actor: Actor, batch_id: int) -> None:
    db = get_db()
    frame = donations.building_progress(db, actor, batch_id)  # its sums are the coverage: one count, not two
    served, total = int(frame["served"].sum()), int(frame["households"].sum())
    share = served / total if total else 0.0
    c1, c2, c3 = st.columns(3)
    c1.metric(t("donation.served"), f"{served:,}")
    c2.metric(t("donation.waiting_n"), f"{total - served:,}")
    c3.metric(t("donation.coverage"), f"{share * 100:.1f}%")
    st.markdown(f"#### {t('donation.by_building')}")
    frame = frame.sort_values(["waiting", "building"], ascending=[False, True])
    todo, done = frame[frame["waiting"] > 0], frame[frame["waiting"] == 0]
    for _, b in todo.head(60).iterrows():
        st.progress(
            float(b["share"]),
            text=t(
                "donation.building_progress", building=int(b["building"]), served=int(b["served"]), total=int(b["households"])
            ),
        )
    if len(todo) > 60:
        st.caption(t("donation.more_buildings", n=len(todo) - 60))
    if not done.empty:
        st.caption(t("donation.buildings_done", n=len(done), list="、".join(str(int(b)) for b in done["building"].head(40))))


def _throughput(actor: Actor, batch_id: int) -> None:
    db = get_db()
    st.markdown(f"#### {t('donation.throughput')}")
    days = donations.delivery_days(db, actor, batch_id)
    the_day = donations.batch(db, batch_id)["day"]
    if the_day not in days:
        days = sorted([*days, the_day])
    day = (
        st.selectbox(
            t("donation.day"), days, index=days.index(the_day), format_func=lambda d: d.isoformat(), key=f"qy_tp_day_{batch_id}"
        )
        if len(days) > 1
        else the_day
    )
    frame = donations.throughput(db, actor, batch_id, day if isinstance(day, date) else the_day)
    if frame.empty:
        st.info(t("donation.no_deliveries"))
        return
    st.altair_chart(hour_chart(frame), width="stretch")
    st.caption(t("donation.throughput_total", n=int(frame["households"].sum()), day=str(day)))


def hour_chart(frame: pd.DataFrame) -> alt.Chart:
    """Households served per hour, every hour from the first to the last in numeric order (02:00 before 08:00,
    the empty hours between them shown as such)."""
    hours = range(int(frame["hour"].min()), int(frame["hour"].max()) + 1)
    frame = frame.set_index("hour").reindex(hours, fill_value=0).rename_axis("hour").reset_index()
    frame = frame.assign(label=frame["hour"].map(lambda h: f"{int(h):02d}:00"))
    return (
        alt.Chart(frame)
        .mark_bar(color="#c0392b")
        .encode(
            x=alt.X("label:O", sort=list(frame["label"]), title=t("donation.hour"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("households:Q", title=t("donation.households")),
            tooltip=[
                alt.Tooltip("label:O", title=t("donation.hour")),
                alt.Tooltip("households:Q", title=t("donation.households")),
            ],
        )
        .properties(height=240)
    )


def _waiting(actor: Actor, batch_id: int) -> None:
    db = get_db()
    st.markdown(f"#### {t('donation.waiting_list')}")
    size = 20
    frame, total = donations.waiting(db, actor, batch_id, page=1, size=size)
    if not total:
        st.success(t("donation.all_served"))
        return
    page = paging.pager(total, size, f"qy_wait_page_{batch_id}")
    if page != 1:
        frame, total = donations.waiting(db, actor, batch_id, page=page, size=size)
    view = pd.DataFrame(
        {
            t("common.unit"): [unit_name(b, u) for b, u in zip(frame["building"], frame["unit_no"], strict=True)],
            t("common.room"): frame["room"],
            t("common.name"): frame["contact_name"],
        }
    )
    st.dataframe(view, hide_index=True, width="stretch")
    if access.can(actor, "donation.manage") and st.toggle(t("donation.prepare_export"), key=f"qy_wait_exp_{batch_id}"):
        everything, _ = donations.waiting(db, actor, batch_id, page=1, size=max(total, 1))
        export = pd.DataFrame(
            {
                t("common.building"): everything["building"],
                t("common.unit"): everything["unit_no"],
                t("common.room"): everything["room"],
                t("common.name"): everything["contact_name"],
            }
        )
        download_buttons(export, f"waiting_batch_{batch_id}", f"qy_wait_dl_{batch_id}")


def _batches_admin(actor: Actor) -> None:
    db = get_db()
    with st.expander(t("donation.batches")):
        frame = donations.batches(db, actor)
        view = pd.DataFrame(
            {
                "#": frame["id"],
                t("donation.donor"): frame["donor"],
                t("donation.item"): frame["item"],
                t("donation.portions"): frame["portions"],
                t("donation.day"): frame["day"].astype(str),
                t("donation.served"): frame["served"],
            }
        )
        st.dataframe(view, hide_index=True, width="stretch")
        with st.form("qy_batch_new", clear_on_submit=True):
            st.markdown(f"**{t('donation.new_batch')}**")
            donor = st.text_input(t("donation.donor"))
            item = st.text_input(t("donation.item"), value=t("donation.default_item"))
            portions = st.number_input(t("donation.portions"), min_value=1, value=1500, step=1)
            day = st.date_input(t("donation.day"), value=db.today())
            if st.form_submit_button(t("common.save"), type="primary"):
                attempt(lambda: donations.create_batch(db, actor, donor, item, int(portions), day), t("common.saved"))


# -- groceries ---------------------------------------------------------------------------------
def _advance(actor: Actor, order_id: int, target: str, version: int) -> None:
    try:
        groceries.advance(get_db(), actor, order_id, target, version)
    except QinyuanError as exc:
        flash(error_text(exc), "error", where="grocery")
        return
    flash(t("grocery.moved", id=order_id, status=state_label(groceries.MACHINE, target)), where="grocery")


def groceries_view(actor: Actor) -> None:
    db = get_db()
    manage = access.can(actor, "grocery.manage")
    show_flash("grocery")
    counts = groceries.status_counts(db, actor)
    cols = st.columns(4)
    for col, step in zip(cols, groceries.STEPS, strict=True):
        col.metric(state_label(groceries.MACHINE, step), counts[step])
    c1, c2 = st.columns(2)
    statuses = ["", *groceries.STEPS]
    status = c1.selectbox(
        t("common.status"),
        statuses,
        format_func=lambda s: state_label(groceries.MACHINE, s) if s else t("common.all"),
        key="qy_g_status",
    )
    open_only = c2.toggle(t("grocery.open_only"), value=True, key="qy_g_open")
    size = 10
    _, total = groceries.orders(db, actor, status or None, open_only, page=1, size=1)
    page = paging.pager(total, size, "qy_g_page")
    frame, _ = groceries.orders(db, actor, status or None, open_only, page=page, size=size)
    if frame.empty:
        st.info(t("common.none"))
    history = groceries.timelines(db, actor, [int(i) for i in frame["id"]])
    for _, order in frame.iterrows():
        with st.container(border=True):
            where = unit_name(order["building"], order["unit_no"])
            where += f" {order['room']}" if isinstance(order["room"], str) else f" · {t('grocery.unit_batch')}"
            st.markdown(f"**#{order['id']} {safe.md(order['items'])}**  \n{where} · {safe.md(order['supplier'])}")
            steps = history.get(int(order["id"]), [])
            st.caption(
                " → ".join(
                    t(
                        "grocery.step",
                        status=state_label(groceries.MACHINE, e["to_status"]),
                        time=local(e["ts"], "%H:%M"),
                        by=e["actor"],
                    )
                    for e in steps
                )
                or state_label(groceries.MACHINE, order["status"])
            )
            if manage:
                for target in groceries.MACHINE.next_steps(order["status"], actor.role):
                    st.button(
                        t(f"grocery.to.{target}"),
                        key=f"qy_g_{order['id']}_{target}",
                        type="primary",
                        width="stretch",
                        on_click=_advance,
                        args=(actor, int(order["id"]), target, int(order["version"])),
                    )
    if manage:
        _new_order(actor)
        _suppliers(actor)


def _new_order(actor: Actor) -> None:
    db = get_db()
    with st.expander(t("grocery.new_order")):
        sup = groceries.suppliers(db, actor)
        sup = sup[sup["vetted"]]
        names = dict(zip(sup["id"].astype(int), sup["name"], strict=True))
        if not names:
            st.info(t("grocery.no_suppliers"))
            return
        supplier_id = st.selectbox(t("grocery.supplier"), list(names), format_func=names.get, key="qy_g_sup")
        unit_id = unit_picker(db, actor, "grocery.view", "qy_g_unit")
        if unit_id is None:
            return
        whole = st.toggle(t("grocery.whole_unit"), key="qy_g_whole")
        household_id = None
        if not whole:
            houses = grid.households_in_unit(db, actor, unit_id, "grocery.view")
            rooms = dict(zip(houses["id"].astype(int), houses["room"], strict=True))
            household_id = st.selectbox(t("common.room"), list(rooms), format_func=rooms.get, key="qy_g_room")
        items = st.text_input(t("grocery.items"), key="qy_g_items")
        if st.button(t("grocery.place"), type="primary", key="qy_g_place", width="stretch"):
            attempt(
                lambda: groceries.create_order(
                    db, actor, supplier_id, items, household_id=household_id, unit_id=unit_id if whole else None
                ),
                t("common.saved"),
            )


def _suppliers(actor: Actor) -> None:
    db = get_db()
    with st.expander(t("grocery.suppliers")):
        sup = groceries.suppliers(db, actor)
        view = pd.DataFrame(
            {
                t("common.name"): sup["name"],
                t("grocery.vetted"): sup["vetted"].map({True: "✓", False: "✗"}),
                t("grocery.contact"): sup["contact"],
                t("grocery.orders"): sup["orders"],
                t("grocery.open_orders"): sup["open_orders"],
            }
        )
        st.dataframe(view, hide_index=True, width="stretch")
        with st.form("qy_sup_new", clear_on_submit=True):
            name = st.text_input(t("grocery.supplier_name"))
            contact = st.text_input(t("grocery.contact"), max_chars=groceries.MAX_CONTACT)
            phone = st.text_input(t("common.phone"), max_chars=groceries.MAX_PHONE)
            if st.form_submit_button(t("grocery.add_supplier"), type="primary"):
                attempt(lambda: groceries.add_supplier(db, actor, name, contact, phone), t("common.saved"))


# -- stock -------------------------------------------------------------------------------------
def stock_view(actor: Actor) -> None:
    db = get_db()
    manage = access.can(actor, "supplies.manage")
    items = supplies.items(db, actor)
    view = pd.DataFrame(
        {
            t("supplies.item"): [item_name(r) for _, r in items.iterrows()],
            t("supplies.stock"): [supplies.fmt_qty(v) for v in items["stock"]],
            t("supplies.unit"): items["unit"],
            t("supplies.total_in"): [supplies.fmt_qty(v) for v in items["total_in"]],
            t("supplies.total_out"): [supplies.fmt_qty(v) for v in items["total_out"]],
        }
    )
    st.dataframe(view, hide_index=True, width="stretch")
    if not manage:
        st.caption(t("supplies.read_only"))
    else:
        _movement_form(actor, items)
        _correction_form(actor)
    _history(actor, items)
    if manage:
        _item_form(actor)


def _movement_form(actor: Actor, items: pd.DataFrame) -> None:
    db = get_db()
    names = {int(r["id"]): f"{item_name(r)}（{r['unit']}）" for _, r in items.iterrows()}
    with st.form("qy_move", clear_on_submit=True):
        st.markdown(f"**{t('supplies.new_movement')}**")
        item_id = st.selectbox(t("supplies.item"), list(names), format_func=names.get)
        direction = st.radio(
            t("supplies.direction"), supplies.DIRECTIONS, horizontal=True, format_func=lambda d: t(f"supplies.dir.{d}")
        )
        qty = st.number_input(t("supplies.quantity"), min_value=0.0, value=0.0, step=1.0)
        counterparty = st.text_input(t("supplies.counterparty"))
        note = st.text_input(t("common.notes"))
        if st.form_submit_button(t("supplies.record"), type="primary", width="stretch"):
            attempt(lambda: supplies.record_movement(db, actor, item_id, direction, qty, counterparty, note), t("common.saved"))


def _correction_form(actor: Actor) -> None:
    db = get_db()
    with st.expander(t("supplies.correction")):
        st.caption(t("supplies.correction_hint"))
        with st.form("qy_correct", clear_on_submit=True):
            movement_id = st.number_input(t("supplies.movement_no"), min_value=1, step=1)
            right = st.number_input(t("supplies.right_quantity"), value=0.0, step=1.0)
            note = st.text_input(t("supplies.reason"))
            if st.form_submit_button(t("supplies.correct"), type="primary"):
                attempt(lambda: supplies.correct_movement(db, actor, int(movement_id), right, note), t("common.saved"))


def _history(actor: Actor, items: pd.DataFrame) -> None:
    db = get_db()
    st.markdown(f"#### {t('supplies.history')}")
    names = {0: t("common.all"), **{int(r["id"]): item_name(r) for _, r in items.iterrows()}}
    item_id = st.selectbox(t("supplies.item"), list(names), format_func=names.get, key="qy_hist_item")
    size = 20
    _, total = supplies.movements(db, actor, item_id or None, page=1, size=1)
    page = paging.pager(total, size, "qy_hist_page")
    frame, total = supplies.movements(db, actor, item_id or None, page=page, size=size)
    view = pd.DataFrame(
        {
            "#": frame["id"],
            t("common.time"): [local(v) for v in frame["ts"]],
            t("supplies.item"): frame["name_zh"] if lang() == "zh" else frame["name_en"],
            t("supplies.quantity"): [f"{'+' if q > 0 else ''}{supplies.fmt_qty(q)}" for q in frame["quantity"]],
            t("supplies.counterparty"): frame["counterparty"],
            t("common.by"): frame["actor"],
            t("common.notes"): [
                (f"↺#{int(c)} " if not pd.isna(c) else "") + (n or "")
                for c, n in zip(frame["corrects"], frame["note"], strict=True)
            ],
        }
    )
    st.dataframe(view, hide_index=True, width="stretch")
    if access.can(actor, "supplies.manage") and total and st.toggle(t("donation.prepare_export"), key="qy_hist_exp"):
        everything, _ = supplies.movements(db, actor, item_id or None, page=1, size=total)
        download_buttons(everything.drop(columns=["name_en"] if lang() == "zh" else ["name_zh"]), "stock_movements", "qy_hist_dl")


def _item_form(actor: Actor) -> None:
    db = get_db()
    with st.expander(t("supplies.new_item")), st.form("qy_item", clear_on_submit=True):
        code = st.text_input(t("supplies.code"))
        name_zh = st.text_input(t("supplies.name_zh"))
        name_en = st.text_input(t("supplies.name_en"))
        unit = st.selectbox(t("supplies.unit"), supplies.ITEM_UNITS)
        if st.form_submit_button(t("common.save"), type="primary"):
            attempt(lambda: supplies.add_item(db, actor, code, name_zh, name_en, unit), t("common.saved"))


# -- carrying tasks ----------------------------------------------------------------------------
def _task_status(actor: Actor, task_id: int, target: str, version: int) -> None:
    try:
        supplies.set_task_status(get_db(), actor, task_id, target, version)
    except QinyuanError as exc:
        flash(error_text(exc), "error", where="task")
        return
    flash(t(f"supplies.task_{target}", id=task_id), where="task")


TASK_CARDS = 8  # open task cards shown (the caption counts the rest)
SQUAD_NAMES = 300  # names listed in the squad expander
CLOSED_ROWS = 50  # latest closed tasks in their table


def carrying_view(actor: Actor) -> None:
    db = get_db()
    manage = access.can(actor, "supplies.manage")
    show_flash("task")
    squad = supplies.carriers(db, actor)
    frame = supplies.tasks(db, actor)
    c1, c2 = st.columns(2)
    c1.metric(t("kpi.carriers"), len(squad))
    c2.metric(t("supplies.open_tasks"), int((frame["status"] == "open").sum()))
    with st.expander(t("supplies.squad")):
        if len(squad) > SQUAD_NAMES:  # a 100x compound has thousands of carriers
            st.caption(t("supplies.squad_more", n=len(squad), shown=SQUAD_NAMES))
        st.markdown(safe.md("、".join(squad["name"].head(SQUAD_NAMES))))
    open_tasks = frame[frame["status"] == "open"]
    if len(open_tasks) > TASK_CARDS:
        st.caption(t("supplies.more_tasks", shown=TASK_CARDS, n=len(open_tasks)))
    for _, task in open_tasks.head(TASK_CARDS).iterrows():
        with st.container(border=True):
            what = safe.md(task["description"])
            if not pd.isna(task["quantity"]) and isinstance(task["unit"], str):
                what += f" · {supplies.fmt_qty(task['quantity'])} {safe.md(task['unit'])}"
            st.markdown(f"**{what}**  \n{safe.md(task['from_place'])} → {safe.md(task['to_place'])}")
            st.caption(t("supplies.task_line", who=safe.md(task["assignees"] or "—"), time=local(task["created_at"])))
            if manage:
                cols = st.columns(2)
                for col, target in zip(cols, supplies.TASKS.next_steps("open", actor.role), strict=False):
                    col.button(
                        t(f"supplies.to.{target}"),
                        key=f"qy_task_{task['id']}_{target}",
                        width="stretch",
                        type="primary" if target == "done" else "secondary",
                        on_click=_task_status,
                        args=(actor, int(task["id"]), target, int(task["version"])),
                    )
    closed = frame[frame["status"] != "open"].head(CLOSED_ROWS)
    if not closed.empty:
        with st.expander(t("supplies.closed_tasks", n=len(closed))):
            st.dataframe(
                pd.DataFrame(
                    {
                        t("supplies.task"): closed["description"],
                        t("common.status"): closed["status"].map(lambda s: state_label(supplies.TASKS, s)),
                        t("supplies.done_at"): [local(v) for v in closed["done_at"]],
                        t("common.by"): closed["done_by"],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
    if manage:
        _task_form(actor)


def _task_form(actor: Actor) -> None:
    db = get_db()
    items = supplies.items(db, actor)
    names = {0: "—", **{int(r["id"]): item_name(r) for _, r in items.iterrows()}}
    with st.expander(t("supplies.new_task")), st.form("qy_task_new", clear_on_submit=True):
        description = st.text_input(t("supplies.task"))
        item_id = st.selectbox(t("supplies.item"), list(names), format_func=names.get)
        qty = st.number_input(t("supplies.quantity"), min_value=0.0, value=0.0, step=1.0)
        from_place = st.text_input(t("supplies.from_place"), value=t("supplies.default_from"))
        to_place = st.text_input(t("supplies.to_place"))
        assignees = st.text_input(t("supplies.assignees"), value=t("supplies.default_assignees"))
        if st.form_submit_button(t("common.save"), type="primary"):
            attempt(
                lambda: supplies.add_task(db, actor, description, item_id or None, qty or None, from_place, to_place, assignees),
                t("common.saved"),
            )


# -- the page ----------------------------------------------------------------------------------
def tabs_for(actor: Actor) -> list[str]:
    """Which tabs, in which order: the tick view first for those who tick on a phone."""
    names: list[str] = []
    ticker_first = actor.role in ("captain", "member")
    if ticker_first and access.can(actor, "donation.tick"):
        names.append("tick")
    if access.can(actor, "donation.view"):
        names.append("progress")
    if not ticker_first and access.can(actor, "donation.tick"):
        names.append("tick")
    if access.can(actor, "grocery.view"):
        names.append("groceries")
    if access.can(actor, "supplies.view"):
        names += ["stock", "carrying"]
    return names


VIEWS = {
    "tick": tick_view,
    "progress": progress_view,
    "groceries": groceries_view,
    "stock": stock_view,
    "carrying": carrying_view,
}


def render(actor: Actor) -> None:
    names = tabs_for(actor)
    for tab, name in zip(st.tabs([t(f"supplies.tab.{n}") for n in names]), names, strict=True):
        with tab:
            VIEWS[name](actor)
