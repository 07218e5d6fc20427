"""The emergencies page's pieces: open-cases board, case timeline, phone report form, special residents.

Medical detail views are logged once per view: a marker remembers which case (or resident, or
unit list) was logged during this visit of the page; a fresh visit of the page (its view switch
is not in the session yet, because Streamlit forgets a page's widgets when another page runs)
or going back to a list clears the markers, so opening a detail again logs again."""

from __future__ import annotations

from datetime import date

import streamlit as st

from .. import access, clock, grid, medical
from .. import emergencies as em
from ..access import Actor
from ..db import Database
from ..errors import QinyuanError
from . import paging, safe
from .common import error_text, flash, lang, show_flash, state_label, t
from .widgets import unit_picker

VIEW = "em_view"
DASH = "—"  # a missing value in a line of user text
VIEWS = ("board", "report", "special")
SEVERITY_COLOUR = {"critical": "red", "urgent": "orange", "routine": "green"}
_MARKERS = ("em_case_logged", "md_res_logged", "md_list_logged", "md_trips_logged")
BOARD_PAGE = 8  # cases per page of the open board (most severe and longest without news first)
_CASE_MSG = "em_case_msg"  # (case id, "success" | "error", text): shown under the case's buttons
LIVE_SECONDS = 12  # an open case and the board refresh this often, without a reload


# -- small helpers ----------------------------------------------------------------------------------
def duration(minutes: int) -> str:
    minutes = max(0, int(minutes))
    if minutes < 60:
        return t("emergency.dur.m", m=minutes)
    if minutes < 24 * 60:
        return t("emergency.dur.hm", h=minutes // 60, m=minutes % 60)
    return t("emergency.dur.dh", d=minutes // (24 * 60), h=minutes % (24 * 60) // 60)


def when(ts) -> str:
    return ts.astimezone(clock.TZ).strftime("%m-%d %H:%M") if ts is not None else "—"


def unit_text(row: dict) -> str:
    return grid.unit_label(row["building"], row["unit_no"], lang())


def severity_badge(severity: str) -> str:
    return f":{SEVERITY_COLOUR[severity]}-badge[**{t('emergency.severity.' + severity)}**]"


def label(key: str) -> str:
    return f"**{t(key)}**" + ("：" if lang() == "zh" else ": ")


def tag_badges(tags) -> str:
    return " ".join(f":blue-badge[{t('medical.tag.' + tag)}]" for tag in tags or [])


def kind_label(kind: str) -> str:
    return t("emergency.kind.note") if kind == em.NOTE else state_label(em.CASE, kind)


def _run(fn, success: str | None = None) -> bool:
    """For callbacks: run a service call, leave its outcome for the next render."""
    try:
        fn()
    except QinyuanError as exc:
        flash(error_text(exc), "error")
        return False
    if success:
        flash(success)
    return True


def view_switch() -> str:
    """The page's view selector. Its absence from the session marks a fresh visit of the page."""
    if VIEW not in st.session_state:
        for key in (*_MARKERS, "md_res"):
            st.session_state.pop(key, None)
        st.session_state[VIEW] = "board"
    if open_case_id() is not None:  # a link or a reload with the case in the URL opens it
        st.session_state[VIEW] = "board"
    choice = st.radio(
        t("page.emergencies"),
        VIEWS,
        key=VIEW,
        horizontal=True,
        label_visibility="collapsed",
        format_func=lambda v: t(f"emergency.tab.{v}"),
    )
    return choice or "board"


# -- board ------------------------------------------------------------------------------------------
def open_case_id() -> int | None:
    """The open case lives in the URL (?case=N): a reload or a shared link returns to it."""
    try:
        return int(st.query_params.get("case", ""))
    except ValueError:
        return None


def _open_case(case_id: int) -> None:
    st.query_params["case"] = str(case_id)
    st.session_state.pop("em_case_logged", None)


def _close_case() -> None:
    st.query_params.pop("case", None)
    st.session_state.pop("em_case_logged", None)
    st.session_state.pop(_CASE_MSG, None)


def board(db: Database, actor: Actor) -> None:
    show_flash()
    live_board(db, actor)


@st.fragment(run_every=LIVE_SECONDS)
def live_board(db: Database, actor: Actor) -> None:
    """The open case, or the board of open cases; both refresh on their own (the clinic's new event
    shows up on the captain's phone without a reload)."""
    case_id = open_case_id()
    if case_id is not None:
        case_view(db, actor, case_id)
        return
    open_cases(db, actor)


def open_cases(db: Database, actor: Actor) -> None:
    summary = em.board_summary(db, actor)
    limit = summary["stale_minutes"]
    st.caption(t("emergency.board.summary", n=summary["open"], s=summary["stale"], limit=limit))
    page = paging.pager(summary["open"], BOARD_PAGE, "em_board_page")
    rows = em.open_board(db, actor, limit=BOARD_PAGE, offset=(page - 1) * BOARD_PAGE)
    if not rows:
        st.info(t("emergency.board.empty"))
    for row in rows:
        with st.container(border=True):
            who = safe.md(row["resident"], none=DASH) if row["resident"] else t("emergency.detail.unknown_resident")
            lines = [
                f"{severity_badge(row['severity'])} **{unit_text(row)} {safe.md(row['room'], none=DASH)}** · {who}",
                f"**{kind_label(row['status'])}** · {t('emergency.board.on_it', who=safe.md(row['last_actor_name'], none=DASH))}",
                ":gray["
                + t("emergency.board.since_report", ago=duration(row["minutes_since_report"]))
                + " · "
                + t("emergency.board.since_update", ago=duration(row["minutes_since_update"]))
                + "]",
            ]
            if row["stale"]:
                lines.append(f":red[**{t('emergency.board.stale', ago=duration(row['minutes_since_update']))}**]")
            st.markdown("  \n".join(lines))  # one element per card: a page of cards stays light
            st.button(
                t("emergency.board.open", id=row["id"]),
                key=f"em_open_{row['id']}",
                on_click=_open_case,
                args=(row["id"],),
                use_container_width=True,
                type="primary" if row["stale"] else "secondary",
            )
    if st.toggle(t("emergency.board.closed_toggle"), key="em_show_closed"):
        closed, total = em.closed_cases(db, actor, limit=20)
        st.caption(t("emergency.board.closed_title", n=len(closed), total=total))
        for row in closed:
            text = (
                f"#{row['id']} · {when(row['reported_at'])} · {unit_text(row)} {safe.md(row['room'], none=DASH)} · "
                f"{t('emergency.severity.' + row['severity'])}"
            )
            st.button(text, key=f"em_open_{row['id']}", on_click=_open_case, args=(row["id"],), use_container_width=True)
    if access.can(actor, "emergency.configure"):
        with st.expander(t("emergency.board.stale_setting")), st.form("em_stale_form", border=False):
            minutes = st.number_input(
                t("emergency.board.stale_setting"), min_value=5, max_value=1440, value=limit, step=5, label_visibility="collapsed"
            )
            if st.form_submit_button(t("common.save")) and _run(
                lambda: em.set_stale_minutes(db, actor, int(minutes)), t("emergency.board.stale_saved")
            ):
                st.rerun()
        show_flash()


# -- one case ---------------------------------------------------------------------------------------
def _record(db: Database, actor: Actor, case_id: int, kind: str) -> None:
    """A step button's callback; its outcome (a refusal too) is shown under the buttons, where it was pressed."""
    note = st.session_state.get(f"em_note_{case_id}")
    seen = st.session_state.get(f"em_ver_{case_id}")
    try:
        em.add_event(db, actor, case_id, kind, note, expected_version=seen)
    except QinyuanError as exc:
        st.session_state[_CASE_MSG] = (case_id, "error", error_text(exc))
        return
    st.session_state[_CASE_MSG] = (case_id, "success", t("emergency.detail.recorded", kind=kind_label(kind)))
    st.session_state[f"em_note_{case_id}"] = ""


def _case_message(case_id: int) -> None:
    message = st.session_state.get(_CASE_MSG)
    if message and message[0] == case_id:
        if message[1] == "success":
            st.success(message[2], icon=":material/check_circle:")
        else:
            st.error(message[2], icon=":material/warning:")


def case_view(db: Database, actor: Actor, case_id: int) -> None:
    st.button(t("emergency.detail.back"), key="em_back", on_click=_close_case)
    try:
        case = em.case_detail(db, actor, case_id, log=st.session_state.get("em_case_logged") != case_id)
    except QinyuanError as exc:
        st.error(error_text(exc), icon=":material/warning:")
        return
    st.session_state["em_case_logged"] = case_id
    st.session_state[f"em_ver_{case_id}"] = case["version"]
    st.subheader(t("emergency.detail.title", id=case_id, status=kind_label(case["status"])))
    st.markdown(severity_badge(case["severity"]))
    who = safe.md(case["resident"], none=DASH) if case["resident"] else t("emergency.detail.unknown_resident")
    st.markdown(t("emergency.detail.where", unit=unit_text(case), room=safe.md(case["room"], none=DASH), resident=who))
    st.markdown(label("emergency.detail.what") + safe.md(case["summary"], none=DASH))
    if case["vitals"]:
        st.markdown(label("emergency.detail.vitals") + safe.md(em.vitals_label(case["vitals"], lang()), none=DASH))
    st.caption(t("emergency.detail.reported", time=when(case["reported_at"]), who=safe.md(case["reported_by_name"], none=DASH)))
    if access.can(actor, "medical.view", case["unit_id"]) and case["resident_id"]:
        with st.expander(t("emergency.detail.medical")):
            st.markdown(label("emergency.detail.tags") + (tag_badges(case["tags"]) or "—"))
            st.markdown(label("emergency.detail.notes") + safe.md(case["medical_notes"], none=DASH))
            st.markdown(label("emergency.detail.contact") + safe.md(case["emergency_contact"], none=DASH))
            if access.can(actor, "phone.view", case["unit_id"]):
                st.markdown(label("emergency.detail.household") + safe.md(case["phone"], none=DASH))

    if not em.CASE.is_open(case["status"]):
        st.info(t("emergency.detail.closed"))
    else:
        steps = em.next_steps(case["status"], actor.role)
        st.markdown(f"**{t('emergency.detail.next')}**")
        if case["status"] == "exit_permit_requested" and "exit_permit_granted" not in steps:
            st.info(t("emergency.detail.permit_waiting"))
        with st.form(f"em_event_form_{case_id}", border=True):
            st.text_input(
                t("emergency.detail.note"), key=f"em_note_{case_id}", placeholder=t("emergency.detail.note_placeholder")
            )
            for kind in steps:
                st.form_submit_button(
                    t("emergency.detail.record", kind=kind_label(kind)),
                    on_click=_record,
                    args=(db, actor, case_id, kind),
                    use_container_width=True,
                    type="primary" if kind == steps[0] else "secondary",
                )
            st.form_submit_button(
                t("emergency.detail.add_note"), on_click=_record, args=(db, actor, case_id, em.NOTE), use_container_width=True
            )
        if not steps:
            st.caption(t("emergency.detail.no_steps"))
    _case_message(case_id)

    st.markdown(f"**{t('emergency.detail.timeline')}**")
    lines = []
    for event in reversed(case["events"]):
        note = f" — {safe.md(event['note'], none=DASH)}" if event["note"] else ""
        lines.append(f"- `{when(event['ts'])}` **{kind_label(event['kind'])}** · {safe.md(event['actor_name'], none=DASH)}{note}")
    st.markdown("\n".join(lines))


# -- report -----------------------------------------------------------------------------------------
_REPORT_KEYS = ("em_r_room", "em_r_resident", "em_r_what", "em_r_bp", "em_r_pulse", "em_r_temp", "em_r_spo2", "em_r_severity")


def _submit_report(db: Database, actor: Actor) -> None:
    s = st.session_state
    household_id = s.get("em_r_room")
    if household_id is None:
        flash(t("emergency.report.pick_room"), "error")
        return
    if not s.get("em_r_severity"):
        flash(t("emergency.error.severity"), "error")
        return
    result = {}

    def go():
        vitals = em.vitals_text(s.get("em_r_bp"), s.get("em_r_pulse"), s.get("em_r_temp"), s.get("em_r_spo2"))
        resident = s.get("em_r_resident")
        result["id"] = em.report_case(
            db, actor, household_id, resident if resident else None, s.get("em_r_what"), s.get("em_r_severity"), vitals
        )

    if _run(go):
        flash(t("emergency.report.done", id=result["id"]))
        for key in _REPORT_KEYS:
            s.pop(key, None)
        s[VIEW] = "board"
        _open_case(result["id"])


def report_form(db: Database, actor: Actor) -> None:
    show_flash()
    unit_id = unit_picker(db, actor, "emergency.report", "em_r_unit", t("emergency.report.unit"))
    if unit_id is None:
        st.info(t("emergency.report.no_units"))
        return
    _room_and_resident(db, actor, unit_id)
    st.text_area(
        t("emergency.report.what"),
        key="em_r_what",
        placeholder=t("emergency.report.what_placeholder"),
        height=80,
        max_chars=em.MAX_TEXT,
    )
    _vitals()
    st.radio(
        t("emergency.report.severity"),
        em.SEVERITIES,
        index=None,
        horizontal=True,
        key="em_r_severity",
        format_func=lambda s: t("emergency.severity." + s),
    )
    st.button(
        t("emergency.report.submit"),
        type="primary",
        use_container_width=True,
        key="em_r_submit",
        icon=":material/emergency:",
        on_click=_submit_report,
        args=(db, actor),
    )


def _room_and_resident(db: Database, actor: Actor, unit_id: int) -> None:
    """The room, then who in it is unwell (or 'not known')."""
    houses = grid.households_in_unit(db, actor, unit_id, "emergency.report")
    rooms = {int(r.id): r.room for r in houses.itertuples()}
    household_id = st.selectbox(
        t("emergency.report.room"),
        list(rooms),
        format_func=rooms.get,
        index=None,
        key="em_r_room",
        placeholder=t("emergency.report.pick_room"),
    )
    if household_id is not None and household_id not in rooms:
        household_id = None
    if household_id is not None:
        people = grid.residents_of(db, actor, household_id, "emergency.report")
        options = [0, *[int(r.id) for r in people.itertuples()]]
        names = {int(r.id): safe.md(r.name) for r in people.itertuples()}  # radio options are Markdown
        names[0] = t("emergency.report.resident_unknown")
        st.radio(
            t("emergency.report.resident"),
            options,
            format_func=names.get,
            key="em_r_resident",
            index=1 if len(options) > 1 else 0,
        )


def _vitals() -> None:
    """Blood pressure, pulse, temperature, SpO2: all optional."""
    st.caption(t("emergency.report.vitals"))
    c1, c2 = st.columns(2)
    c1.text_input(t("emergency.report.bp"), key="em_r_bp", placeholder=t("emergency.report.bp_placeholder"))
    c2.number_input(t("emergency.report.pulse"), min_value=0, max_value=300, value=None, step=1, key="em_r_pulse")
    c3, c4 = st.columns(2)
    c3.number_input(
        t("emergency.report.temperature"), min_value=0.0, max_value=50.0, value=None, step=0.1, format="%.1f", key="em_r_temp"
    )
    c4.number_input(t("emergency.report.spo2"), min_value=0, max_value=100, value=None, step=1, key="em_r_spo2")


# -- special residents ------------------------------------------------------------------------------
def _open_resident(resident_id: int) -> None:
    st.session_state["md_res"] = resident_id
    st.session_state.pop("md_res_logged", None)


def _close_resident() -> None:
    st.session_state.pop("md_res", None)
    st.session_state.pop("md_res_logged", None)


def _weekdays(days) -> str:
    return (
        "、".join(t(f"medical.weekday.{d}") for d in days)
        if lang() == "zh"
        else ", ".join(t(f"medical.weekday.{d}") for d in days)
    )


def special(db: Database, actor: Actor) -> None:
    show_flash()
    if st.session_state.get("md_res"):
        resident_view(db, actor, st.session_state["md_res"])
        return
    units = medical.units_overview(db, actor)
    if not units:
        st.info(t("medical.list.empty"))
        return
    labels = {u["unit_id"]: t("medical.list.unit_option", unit=unit_text(u), n=u["special"], t=u["trips"]) for u in units}
    unit_id = st.selectbox(t("medical.list.unit"), list(labels), format_func=labels.get, key="md_unit")
    st.caption("🔒 " + t("medical.list.logged"))
    logged = st.session_state.get("md_list_logged")
    rows = medical.special_residents(db, actor, unit_id, log=logged != unit_id)
    st.session_state["md_list_logged"] = unit_id
    st.markdown(f"**{t('medical.list.count', n=len(rows))}**")
    if not rows:
        st.info(t("medical.list.empty"))
    for row in rows:
        with st.container(border=True):
            st.markdown(f"**{safe.md(row['room'], none=DASH)} · {safe.md(row['name'], none=DASH)}** {tag_badges(row['tags'])}")
            extra = []
            if row["due_date"]:
                extra.append(t("medical.list.due", date=row["due_date"].isoformat()))
            if row["next_day"]:
                extra.append(
                    t(
                        "medical.list.next_trip",
                        day=_day(row["next_day"]),
                        time=row["depart_time"] or "",
                        kind=t(f"medical.treatment.{row['next_kind']}"),
                    )
                )
            if extra:
                st.caption(" · ".join(extra))
            st.button(
                t("medical.list.open", name=safe.md(row["name"], none=DASH)),
                key=f"md_open_{row['id']}",
                on_click=_open_resident,
                args=(row["id"],),
                use_container_width=True,
            )
    trips(db, actor, unit_id)


def _day(day: date) -> str:
    return f"{day.strftime('%m-%d')} {t('medical.weekday.' + str(day.isoweekday()))}"


def trips(db: Database, actor: Actor, unit_id: int) -> None:
    st.subheader(t("medical.trips.title"))
    scope_unit: int | None = unit_id
    if actor.is_global:
        choice = st.radio(
            t("medical.trips.scope"),
            ("unit", "all"),
            horizontal=True,
            key="md_trip_scope",
            format_func=lambda v: t("medical.trips.this_unit" if v == "unit" else "medical.trips.all_units"),
        )
        scope_unit = unit_id if choice == "unit" else None

    def fetch(limit: int, offset: int):
        marker = (scope_unit, offset)
        found = medical.upcoming_trips(
            db, actor, scope_unit, limit=limit, offset=offset, log=st.session_state.get("md_trips_logged") != marker
        )
        st.session_state["md_trips_logged"] = marker
        return found

    rows, total = paging.paged(fetch, 50, "md_trip_page")
    st.caption(t("medical.trips.count", n=total))
    if not rows:
        st.info(t("medical.trips.empty"))
        return
    lines = []
    for r in rows:
        where = f"{unit_text(r)} {r['room']}" if scope_unit is None else r["room"]
        lines.append(
            f"- **{_day(r['day'])} {safe.md(r['depart_time'] or '', none=DASH)}** · {safe.md(r['name'], none=DASH)} ({safe.md(where, none=DASH)}) · "
            f"{t('medical.treatment.' + r['kind'])} → {safe.md(r['destination'], none=DASH)}"
        )
    st.markdown("\n".join(lines))


def resident_view(db: Database, actor: Actor, resident_id: int) -> None:
    st.button(t("medical.detail.back"), key="md_back", on_click=_close_resident)
    seen = st.session_state.get(f"md_ver_{resident_id}")
    try:
        person = medical.resident_medical(db, actor, resident_id, log=st.session_state.get("md_res_logged") != resident_id)
    except QinyuanError as exc:
        st.error(error_text(exc), icon=":material/warning:")
        return
    st.session_state["md_res_logged"] = resident_id
    st.session_state[f"md_ver_{resident_id}"] = person["version"]
    seen = person["version"] if seen is None else seen
    _resident_facts(person)
    can_edit = access.can(actor, "medical.edit", person["unit_id"])
    _treatment_list(db, actor, person, can_edit)
    if not can_edit:
        return
    _profile_form(db, actor, resident_id, person, seen)
    _treatment_form(db, actor, resident_id)
    show_flash()


def _resident_facts(person: dict) -> None:
    """Who the resident is and what the clinic knows: tags, notes, due date, contact."""
    st.subheader(t("medical.detail.title", name=safe.md(person["name"], none=DASH), room=safe.md(person["room"], none=DASH)))
    st.caption(
        unit_text(person) + " · " + t("medical.detail.born", year=person["birth_year"] or "—", gender=person["gender"] or "—")
    )
    st.markdown(label("medical.detail.tags") + (tag_badges(person["tags"]) or "—"))
    st.markdown(label("medical.detail.notes") + safe.md(person["medical_notes"], none=DASH))
    if person["due_date"]:
        st.markdown(label("medical.detail.due_date") + person["due_date"].isoformat())
    st.markdown(label("medical.detail.contact") + safe.md(person["emergency_contact"], none=DASH))
    st.markdown(f"**{t('medical.detail.treatments')}**")
    if not person["treatments"]:
        st.caption(t("medical.detail.no_treatments"))


def _treatment_list(db: Database, actor: Actor, person: dict, can_edit: bool) -> None:
    """The resident's regular treatments, each with an end button for those who may edit."""
    for tr in person["treatments"]:
        st.markdown(
            "- "
            + t(
                "medical.detail.treatment_line",
                kind=t(f"medical.treatment.{tr['kind']}"),
                days=_weekdays(tr["weekdays"]),
                time=safe.md(tr["depart_time"] or "", none=DASH),
                destination=safe.md(tr["destination"], none=DASH),
            )
        )
        if (
            can_edit
            and st.button(t("medical.treat.end", kind=t(f"medical.treatment.{tr['kind']}")), key=f"md_end_{tr['id']}")
            and _run(lambda tr=tr: medical.end_treatment(db, actor, tr["id"], tr["version"]), t("medical.treat.ended"))
        ):
            st.rerun()


def _profile_form(db: Database, actor: Actor, resident_id: int, person: dict, seen: int) -> None:
    """Tags, notes, due date and emergency contact, saved against the version the user saw."""
    with st.expander(t("medical.detail.edit")), st.form(f"md_edit_{resident_id}"):
        tags_in = st.multiselect(
            t("medical.detail.tags"),
            medical.TAGS,
            default=list(person["tags"]),
            format_func=lambda v: t(f"medical.tag.{v}"),
            placeholder=t("polish.choose"),
        )
        notes = st.text_area(t("medical.detail.notes"), value=person["medical_notes"] or "", height=80)
        due = st.date_input(t("medical.detail.due_date"), value=person["due_date"], format="YYYY-MM-DD")
        contact = st.text_input(t("medical.detail.contact"), value=person["emergency_contact"] or "")
        if st.form_submit_button(t("common.save"), type="primary", use_container_width=True) and _run(
            lambda: medical.update_profile(
                db,
                actor,
                resident_id,
                tags=tags_in,
                medical_notes=notes,
                due_date=due,
                emergency_contact=contact,
                expected_version=seen,
            ),
            t("medical.detail.saved"),
        ):
            st.rerun()


def _treatment_form(db: Database, actor: Actor, resident_id: int) -> None:
    """A new regular treatment (kind, weekdays, departure time, destination)."""
    with st.expander(t("medical.treat.add")), st.form(f"md_treat_{resident_id}", clear_on_submit=False):
        kind = st.selectbox(t("medical.treat.kind"), medical.TREATMENT_KINDS, format_func=lambda v: t(f"medical.treatment.{v}"))
        days = st.multiselect(
            t("medical.treat.weekdays"),
            list(range(1, 8)),
            format_func=lambda d: t(f"medical.weekday.{d}"),
            placeholder=t("polish.choose"),
        )
        depart = st.text_input(t("medical.treat.depart"), placeholder="07:30")
        destination = st.text_input(t("medical.treat.destination"))
        if st.form_submit_button(t("medical.treat.submit"), type="primary", use_container_width=True) and _run(
            lambda: medical.add_treatment(
                db, actor, resident_id, kind=kind, weekdays=days, depart_time=depart, destination=destination
            ),
            t("medical.treat.added"),
        ):
            st.rerun()
