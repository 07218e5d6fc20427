"""The testing page: the miss-no-one board, marking results on a phone, home sampling, scheduling, notices."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from .. import access, grid, kpi
from .. import testing as tst
from ..access import Actor
from ..clock import TZ
from ..errors import QinyuanError
from . import links, paging, safe
from .common import attempt, error_text, flash, get_db, lang, show_flash, state_label, t
from .widgets import copy_button, unit_name, unit_picker

VIEW = "ts_view"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def render(actor: Actor) -> None:
    db = get_db()
    show_flash()
    all_rounds = tst.rounds(db)
    if not all_rounds:
        st.info(t("testing.no_round"))
        if access.can(actor, "testing.manage"):
            schedule_view(actor, None)
        return
    current = kpi.current_round(db)
    ids = [r["id"] for r in all_rounds]
    by_id = {r["id"]: r for r in all_rounds}
    default = ids.index(current["id"]) if current and current["id"] in ids else 0
    round_labels = {
        i: t(
            "testing.round_label",
            n=by_id[i]["round_no"],
            day=by_id[i]["day"].isoformat(),
            status=state_label(tst.ROUND, by_id[i]["status"]),
        )
        for i in ids
    }
    _arrive(actor)
    round_id = st.selectbox(t("testing.round"), ids, index=default, key="ts_round", format_func=round_labels.get)
    rnd = by_id[round_id]
    views = ["board", "mark"]
    if access.scope_of(actor, "testing.mark") == "all":
        views.append("home")
    if access.can(actor, "testing.manage"):
        views.append("schedule")
    if access.scope_of(actor, "notice.draft"):
        views.append("notice")
    if st.session_state.get(VIEW) not in views:
        st.session_state[VIEW] = "board"
    names = {v: t(f"testing.view.{v}") for v in views}
    view = st.radio(t("testing.view"), views, format_func=names.get, horizontal=True, key=VIEW, label_visibility="collapsed")
    if view == "board":
        board_view(actor, rnd)
    elif view == "mark":
        mark_view(actor, rnd)
    elif view == "home":
        home_view(actor, rnd)
    elif view == "schedule":
        schedule_view(actor, rnd)
    else:
        notice_view(actor, rnd)


# -- board ---------------------------------------------------------------------------------------------
def my_slots(actor: Actor, rnd: dict) -> None:
    """A captain's units: their slot and site for this round."""
    slots = tst.slot_table(get_db(), actor, rnd["id"])
    for r in slots.itertuples():
        if pd.isna(r.slot_start):
            when = t("testing.notice.no_slot")
        else:
            start = pd.Timestamp(r.slot_start).tz_convert(TZ)
            when = f"{start:%H:%M}–{start + pd.Timedelta(minutes=int(rnd['slot_minutes'])):%H:%M}"
        st.info(t("testing.my_slot", unit=unit_name(r.building, r.unit_no), when=when, site=safe.md(r.site or "—")))


def board_view(actor: Actor, rnd: dict) -> None:
    db = get_db()
    if actor.scope() is not None:
        my_slots(actor, rnd)
    summary = tst.board_summary(db, actor, rnd["id"])
    total = summary["totals"]
    c = st.columns(2)
    c[0].metric(t("testing.coverage"), _pct(total["coverage"]))
    c[1].metric(t("testing.open"), f"{total['open']:,}")
    c = st.columns(2)
    c[0].metric(t("testing.accounted"), f"{total['accounted']:,} / {total['residents']:,}")
    c[1].metric(t("testing.home_done"), f"{total['home_done']:,}")
    if summary["unit_count"] > 1:
        st.subheader(t("testing.by_building"))
        b = summary["buildings"]
        if summary["building_count"] > len(b):
            st.caption(t("testing.worst_shown", n=len(b), total=f"{summary['building_count']:,}"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("common.building"): [t("testing.building_label", n=x) for x in b["building"]],
                    t("testing.col.residents"): b["residents"],
                    t("testing.col.open"): b["residents"] - b["accounted"],
                    t("testing.coverage"): [_pct(x) for x in b["coverage"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.subheader(t("testing.by_unit"))
    units = summary["units"]
    if summary["unit_count"] > len(units):
        st.caption(t("testing.worst_shown", n=len(units), total=f"{summary['unit_count']:,}"))
    st.dataframe(
        pd.DataFrame(
            {
                t("common.unit"): [unit_name(r.building, r.unit_no) for r in units.itertuples()],
                t("testing.col.residents"): units["residents"],
                t("testing.col.open"): units["residents"] - units["accounted"],
                t("testing.coverage"): [_pct(x) for x in units["coverage"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    pending_view(actor, rnd)


def pending_view(actor: Actor, rnd: dict) -> None:
    db = get_db()
    st.subheader(t("testing.pending_title"))
    frame, total = paging.paged(
        lambda size, offset: tst.pending_list(db, actor, rnd["id"], page=offset // size + 1, page_size=size),
        20,
        "ts_pending_page",
    )
    lines = [
        f"- {unit_name(r.building, r.unit_no)} {r.room} · {safe.md(r.name)} · {tst.status_label(r.status, lang())}"
        + (" · " + t("households.needs_support") if r.needs_support else "")
        for r in frame.itertuples()
    ]
    if lines:
        st.markdown("\n".join(lines))
    with st.expander(t("testing.door.download")):
        st.caption(t("testing.door.hint"))
        unit_id = None
        if grid.unit_span(db, actor, "testing.view")[0] > 1:
            unit_id = unit_picker(db, actor, "testing.view", "ts_door_unit", allow_all=True)
        if st.button(t("testing.door.prepare"), key="ts_door", width="stretch"):
            page_bytes = tst.door_to_door_html(db, actor, rnd["id"], unit_id=unit_id, lang=lang())
            st.download_button(
                t("testing.door.html"),
                page_bytes,
                f"door_to_door_round{rnd['round_no']}.html",
                "text/html",
                width="stretch",
                key="ts_door_html",
            )
            from ..exports import to_csv_bytes

            st.download_button(
                t("common.export_csv"),
                to_csv_bytes(tst.door_to_door(db, actor, rnd["id"], unit_id, lang())),
                f"door_to_door_round{rnd['round_no']}.csv",
                "text/csv",
                width="stretch",
                key="ts_door_csv",
            )


# -- marking -------------------------------------------------------------------------------------------
def _unit_picker(actor: Actor, action: str, key: str) -> int | None:
    unit_id = unit_picker(get_db(), actor, action, key, single_as_text=True)
    if unit_id is None:
        st.info(t("common.none"))
    return unit_id


TAP = "ts_tap"  # the last tap's outcome: (household_id, resident_id or None, kind, text)
ASK_REASON = "ts_ask_reason_"  # + resident id: 免检 was tapped without a reason, so the row asks for one


def _tap(actor: Actor, round_id: int, house: dict, resident: dict, status: str) -> None:
    """One tap on a resident's status button (a callback: it runs before the page is drawn again)."""
    rid = resident["resident_id"]
    reason = st.session_state.get(f"ts_reason_{rid}") if status == "exempt" else None
    if status == "exempt" and not (reason or "").strip():
        st.session_state[ASK_REASON + str(rid)] = True
    try:
        tst.mark_resident(get_db(), actor, round_id, rid, status, reason, expected_version=resident["version"])
    except QinyuanError as exc:
        st.session_state[TAP] = (house["id"], rid, "error", error_text(exc))
        return
    st.session_state.pop(ASK_REASON + str(rid), None)
    st.session_state[TAP] = (
        house["id"],
        rid,
        "success",
        t(
            "captain.marked_one",
            room=safe.md(house["room"]),
            name=safe.md(resident["name"]),
            status=tst.status_label(status, lang()),
        ),
    )


def _tap_all(actor: Actor, round_id: int, house: dict, status: str) -> None:
    versions = {r["resident_id"]: r["version"] for r in house["residents"]}
    try:
        n = tst.mark_household(get_db(), actor, round_id, house["id"], status, versions=versions)
    except QinyuanError as exc:
        st.session_state[TAP] = (house["id"], None, "error", error_text(exc))
        return
    st.session_state[TAP] = (
        house["id"],
        None,
        "success",
        t("captain.marked_room", room=safe.md(house["room"]), n=n, status=tst.status_label(status, lang())),
    )


def _room_message(household_id: int) -> None:
    """One fixed slot above the residents: the last tap's confirmation (naming room and resident), a
    refusal of a whole-room tap, or the hint; always one box, so the buttons below never move."""
    outcome = st.session_state.get(TAP)
    if outcome and outcome[0] == household_id and (outcome[2] == "success" or outcome[1] is None):
        (st.success if outcome[2] == "success" else st.error)(outcome[3])
    else:
        st.info(t("captain.tap_hint"))


def _resident_refusal(household_id: int, resident_id: int) -> None:
    """A refused tap is shown in the resident's own row, next to the button pressed."""
    outcome = st.session_state.get(TAP)
    if outcome and outcome[:3] == (household_id, resident_id, "error"):
        st.error(outcome[3])


def _arrive(actor: Actor) -> None:
    """A to-do link (/testing?room=<household id>) opens the marking view on that room."""
    household_id = links.arrived("room", "ts_round")
    if household_id is None:
        return
    unit_id = attempt(lambda: grid.household_unit(get_db(), household_id))
    if unit_id is None or not access.can(actor, "testing.mark", unit_id):
        return
    st.session_state[VIEW] = "mark"
    st.session_state["ts_mark_unit"] = unit_id
    st.session_state[f"ts_house_{unit_id}"] = household_id


def mark_view(actor: Actor, rnd: dict) -> None:
    """Pick the room, then one tap per resident per status; the confirmation names room and resident."""
    db = get_db()
    if rnd["status"] == "completed":
        st.info(t("testing.error.round_closed"))
        return
    unit_id = _unit_picker(actor, "testing.mark", "ts_mark_unit")
    if unit_id is None:
        return
    houses = tst.unit_households(db, actor, rnd["id"], unit_id)
    if not houses:
        st.info(t("common.none"))
        return
    key = f"ts_house_{unit_id}"
    only_open = st.toggle(t("testing.only_open"), value=True, key="ts_only_open")
    # The room on screen stays listed once it is done, so the next tap never lands on another room.
    shown = [h for h in houses if h["open"] or h["id"] == st.session_state.get(key)] if only_open else houses
    if not shown:
        st.success(t("testing.unit_done"))
        return
    labels = {
        h["id"]: f"{h['room']} · {h['contact_name'] or ''}"
        + " · "
        + (t("households.short.open_room", n=h["open"]) if h["open"] else t("households.short.done_room"))
        for h in shown
    }
    if st.session_state.get(key) not in labels:
        st.session_state[key] = next(iter(labels))
    household_id = st.selectbox(t("common.room"), list(labels), format_func=labels.get, key=key)
    room_panel(actor, rnd, next(h for h in shown if h["id"] == household_id))


def room_panel(actor: Actor, rnd: dict, house: dict) -> None:
    with st.container(key="ts_room"):
        _room_message(house["id"])
        if house["open"]:
            c1, c2 = st.columns(2)
            c1.button(
                t("testing.mark_household_tested"),
                type="primary",
                width="stretch",
                key=f"ts_all_{house['id']}",
                icon=":material/check_circle:",
                on_click=_tap_all,
                args=(actor, rnd["id"], house, "tested"),
            )
            c2.button(
                t("testing.mark_household_home"),
                width="stretch",
                key=f"ts_home_{house['id']}",
                icon=":material/home:",
                on_click=_tap_all,
                args=(actor, rnd["id"], house, "home_sampling_needed"),
            )
        for r in house["residents"]:
            resident_row(actor, rnd, house, r)


def resident_row(actor: Actor, rnd: dict, house: dict, r: dict) -> None:
    rid = r["resident_id"]
    with st.container(border=True, key=f"ts_res_{rid}"):
        reason = f"（{safe.md(r['reason'])}）" if r.get("reason") else ""
        st.markdown(
            f"**{safe.md(r['name'])}** · {tst.status_label(r['status'], lang())}{reason}"
            + (" · " + t("households.needs_support") if r["needs_support"] else "")
        )
        choices = tst.tap_choices(r["status"], actor.role)
        if st.session_state.get(ASK_REASON + str(rid)):
            st.text_input(t("testing.reason"), key=f"ts_reason_{rid}", max_chars=200)
        cols = st.columns(len(tst.TAP_STATUSES))
        for col, status in zip(cols, tst.TAP_STATUSES, strict=True):
            current = status == r["status"]
            col.button(
                ("✓ " if current else "") + tst.status_label(status, lang()),
                key=f"ts_tap_{rid}_{status}",
                width="stretch",
                type="primary" if current else "secondary",
                disabled=not choices[status],
                on_click=_tap,
                args=(actor, rnd["id"], house, r, status),
            )
        if choices.get("pending"):
            st.button(
                t("captain.undo_status"),
                key=f"ts_tap_{rid}_pending",
                icon=":material/undo:",
                on_click=_tap,
                args=(actor, rnd["id"], house, r, "pending"),
            )
        _resident_refusal(house["id"], rid)


# -- home sampling ---------------------------------------------------------------------------------------
def home_view(actor: Actor, rnd: dict) -> None:
    db = get_db()
    building, search = _home_filters(db, actor)
    frame, total = paging.paged(
        lambda size, offset: tst.pending_list(
            db,
            actor,
            rnd["id"],
            statuses=("home_sampling_needed",),
            page=offset // size + 1,
            page_size=size,
            building=building,
            search=search,
        ),
        20,
        "ts_home_page",
    )
    st.caption(t("testing.home_count", n=total))
    can_sample = "sampled_at_home" in tst.RESULT.next_steps("home_sampling_needed", actor.role)
    for r in frame.itertuples():
        with st.container(border=True):
            tags = ""
            if "tags" in frame.columns and r.tags is not None and len(r.tags):
                from ..households import tag_label

                tags = " · " + "、".join(tag_label(x, lang()) for x in r.tags)
            st.markdown(f"**{unit_name(r.building, r.unit_no)} {r.room}** · {safe.md(r.name)} · {safe.md(r.phone or '—')}{tags}")
            if (
                can_sample
                and rnd["status"] != "completed"
                and st.button(
                    t("polish.mark_sampled_at_home"),
                    key=f"ts_sampled_{r.resident_id}",
                    width="stretch",
                    icon=":material/home_health:",
                )
            ):
                n = attempt(
                    lambda r=r: tst.mark_resident(
                        db,
                        actor,
                        rnd["id"],
                        r.resident_id,
                        "sampled_at_home",
                        expected_version=None if pd.isna(r.version) else int(r.version),
                    )
                )
                if n is not None:
                    flash(t("testing.marked", n=n))
                    st.rerun()


def _home_filters(db, actor: Actor) -> tuple[int | None, str]:
    """A building and a name or room to find one resident in a long home-sampling list (back to page 1 on change)."""
    buildings = sorted({int(b) for b in grid.units(db, actor, "testing.view")["building"]})
    c1, c2 = st.columns([1, 2])
    building = (
        c1.selectbox(
            t("common.building"),
            [None, *buildings],
            key="ts_home_building",
            format_func=lambda b: t("common.all") if b is None else t("polish.building", n=b),
            on_change=_first_home_page,
        )
        if len(buildings) > 1
        else None
    )
    search = c2.text_input(
        t("polish.home_search"), key="ts_home_search", placeholder=t("polish.home_search_hint"), on_change=_first_home_page
    )
    return building, search


def _first_home_page() -> None:
    st.session_state["ts_home_page"] = 1


# -- scheduling ------------------------------------------------------------------------------------------
def schedule_view(actor: Actor, rnd: dict | None) -> None:
    db = get_db()
    if rnd is not None:
        st.markdown(
            t(
                "testing.round_info",
                sites="、".join(map(safe.md, tst.sites_of(rnd))),
                start=rnd["start_time"],
                minutes=rnd["slot_minutes"],
                capacity=rnd["capacity"],
            )
        )
        steps = tst.ROUND.next_steps(rnd["status"], actor.role)
        for step in steps:
            if st.button(t(f"testing.round_to.{step}"), key=f"ts_round_{step}", width="stretch") and attempt(
                lambda step=step: tst.set_round_status(db, actor, rnd["id"], step, rnd["version"]) or True
            ):
                flash(t("common.saved"))
                st.rerun()
        if rnd["status"] != "completed" and st.button(
            t("testing.schedule_go"), type="primary", key="ts_schedule", width="stretch"
        ):
            summary = attempt(lambda: tst.schedule(db, actor, rnd["id"], rnd["version"]))
            if summary:
                flash(t("testing.scheduled", units=summary["units"], slots=summary["slots"]))
                st.rerun()
        loads = tst.slot_loads(db, rnd["id"])
        if not loads.empty:
            st.subheader(t("testing.slot_loads"))
            st.dataframe(
                pd.DataFrame(
                    {
                        t("common.time"): [pd.Timestamp(x).tz_convert(TZ).strftime("%H:%M") for x in loads["slot_start"]],
                        t("testing.site"): loads["site"],
                        t("testing.col.units"): loads["units"],
                        t("testing.col.expected"): [f"{e} / {rnd['capacity']}" for e in loads["expected"]],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
            _move_form(actor, rnd, loads)
    with st.expander(t("testing.new_round")), st.form("ts_new_round"):
        day = st.date_input(t("testing.day"), value=db.today() + timedelta(days=1))
        sites = st.text_input(t("testing.sites"), value="北门广场;南门停车场")
        c1, c2 = st.columns(2)
        minutes = c1.number_input(t("testing.slot_minutes"), 10, 120, 30, step=5)
        capacity = c2.number_input(t("testing.capacity"), 1, 10_000, 260, step=10)
        start = st.text_input(t("testing.start_time"), value="08:00")
        if st.form_submit_button(t("testing.create_round"), type="primary", width="stretch"):
            rid = attempt(
                lambda: tst.create_round(
                    db, actor, day, sites.replace("；", ";").split(";"), int(minutes), int(capacity), start.strip()
                )
            )
            if rid:
                flash(t("testing.round_created"))
                st.rerun()


def _move_form(actor: Actor, rnd: dict, loads: pd.DataFrame) -> None:
    db = get_db()
    with st.expander(t("testing.move")):
        # a big compound picks the building first, so the page never lists thousands of units
        unit_id = unit_picker(db, actor, "testing.view", "ts_move_unit")
        if unit_id is None:
            return
        with st.form("ts_move"):
            times = sorted({pd.Timestamp(x) for x in loads["slot_start"]})
            nxt = times[-1] + pd.Timedelta(minutes=int(rnd["slot_minutes"]))
            times.append(nxt)
            choices = {x.tz_convert(TZ).strftime("%H:%M"): x for x in times}
            when = choices[st.selectbox(t("common.time"), list(choices))]
            site = st.selectbox(t("testing.site"), tst.sites_of(rnd))
            if st.form_submit_button(t("common.save"), width="stretch"):
                row = tst.slot_table(db, actor, rnd["id"], unit_id).iloc[0]
                version = None if pd.isna(row["version"]) else int(row["version"])
                if attempt(lambda: tst.move_slot(db, actor, rnd["id"], unit_id, when.to_pydatetime(), site, version) or True):
                    flash(t("common.saved"))
                    st.rerun()


# -- notice ----------------------------------------------------------------------------------------------
def notice_view(actor: Actor, rnd: dict) -> None:
    db = get_db()
    unit_id = _unit_picker(actor, "notice.draft", "ts_notice_unit")
    if unit_id is None:
        return
    which = st.radio(
        t("app.language"),
        ["zh", "en"],
        horizontal=True,
        key="ts_notice_lang",
        format_func=lambda c: {"zh": "中文", "en": "English"}[c],
        index=0 if lang() == "zh" else 1,
    )
    text = attempt(lambda: tst.notice_text(db, actor, rnd["id"], unit_id, which))
    if text:
        copy_button(text, t("polish.copy_notice"), t("polish.copied"), t("polish.copy_failed"))
        st.caption(t("testing.notice.copy_hint"))
        st.code(text, language=None, wrap_lines=True)
