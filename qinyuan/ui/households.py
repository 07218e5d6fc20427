"""The household ledger page: a paginated list, the census visit form, import and export."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from .. import access, grid, ledger_export, testing
from .. import households as hh
from ..access import Actor
from . import paging, safe
from .common import attempt, flash, get_db, lang, show_flash, state_label, t
from .widgets import unit_name, unit_picker

VIEW = "hh_view"
PAGE = "hh_page"
SIG = "hh_filter_sig"
PICK_UNIT = "hh_pick_unit"
PICK_HOUSE = "hh_pick_house"


def _fmt_time(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "—"
    return pd.Timestamp(value).tz_convert("Asia/Shanghai").strftime("%m-%d %H:%M")


def _open_visit(unit_id: int, household_id: int) -> None:
    st.session_state[VIEW] = "visit"
    st.session_state[PICK_UNIT] = int(unit_id)
    st.session_state[PICK_HOUSE] = int(household_id)


def render(actor: Actor) -> None:
    views = ["list", "visit"]
    if access.can(actor, "household.import"):
        views.append("import")
    if st.session_state.get(VIEW) not in views:
        st.session_state[VIEW] = "list"
    names = {v: t(f"households.view.{v}") for v in views}
    view = st.radio(t("households.view"), views, format_func=names.get, horizontal=True, key=VIEW, label_visibility="collapsed")
    if view == "list":
        list_view(actor)
    elif view == "visit":
        visit_view(actor)
    else:
        import_view(actor)


# -- list ----------------------------------------------------------------------------------------
def _filters(actor: Actor) -> hh.Filters:
    db = get_db()
    with st.expander(t("households.filters"), expanded=False):
        unit = unit_picker(db, actor, "household.view", "hh_f_unit", allow_all=True)
        tag_labels = {
            None: t("common.all"),
            "any": t("households.tag_any"),
            **{x: hh.tag_label(x, lang()) for x in (hh.TAGS if hh.sees_medical(actor) else ())},
        }
        tag = st.selectbox(t("households.col.tags"), list(tag_labels), key="hh_f_tag", format_func=tag_labels.get)
        c1, c2 = st.columns(2)
        not_visited = c1.checkbox(t("households.f_not_visited", days=hh.STALE_VISIT_DAYS), key="hh_f_nv")
        not_tested = c2.checkbox(t("households.f_not_tested"), key="hh_f_nt")
    search = st.text_input(t("households.search"), key="hh_f_search", placeholder=t("households.search_hint"))
    return hh.Filters(unit_id=unit, tag=tag, not_visited=not_visited, not_tested=not_tested, search=search or None)


def list_view(actor: Actor) -> None:
    db = get_db()
    filters = _filters(actor)
    if st.session_state.get(SIG) != filters:
        st.session_state[SIG] = filters
        st.session_state[PAGE] = 1
    result = attempt(
        lambda: paging.paged(
            lambda size, offset: hh.list_households(db, actor, filters, page=offset // size + 1, page_size=size),
            hh.PAGE_SIZE,
            PAGE,
        )
    )
    if result is None:
        return
    frame, total = result
    if frame.empty:
        st.info(t("common.none"))
    medical = hh.sees_medical(actor)
    for row in frame.itertuples():
        with st.container(border=True):
            open_ = t("households.short.open", n=row.unaccounted) if row.unaccounted else ""
            st.markdown(
                f"**{unit_name(row.building, row.unit_no)} {row.room}** · {safe.md(row.contact_name or '—')} · "
                f"{safe.md(row.phone or '—')}"
            )
            if medical and len(row.tags):
                support = " · " + "、".join(hh.tag_label(x, lang()) for x in row.tags)
            elif row.needs_support:
                support = " · " + t("households.needs_support")
            else:
                support = ""
            st.caption(
                t(
                    "households.short.line",
                    n=row.occupants,
                    a=row.accounted,
                    r=row.residents,
                    open=open_,
                    when=_fmt_time(row.last_visit_at),
                    who=safe.md(row.last_visit_by or ""),
                )
                + support
            )
            label = (
                t("households.visit_button") if access.can(actor, "household.edit", int(row.unit_id)) else t("households.open")
            )
            st.button(label, key=f"hh_open_{row.id}", on_click=_open_visit, args=(row.unit_id, row.id), width="stretch")
    if access.can(actor, "household.export"):
        with st.expander(t("households.export")):
            st.caption(t("households.export_hint", n=total))
            if st.button(t("households.export_prepare"), key="hh_export_go", width="stretch"):
                out = attempt(lambda: ledger_export.ledger_frame(db, actor, filters, lang()))
                if out is not None:
                    from .widgets import download_buttons

                    download_buttons(out, "households", "hh_export")


# -- census visit ----------------------------------------------------------------------------------
def visit_view(actor: Actor) -> None:
    db = get_db()
    unit_id = unit_picker(db, actor, "household.view", PICK_UNIT)
    if unit_id is None:
        st.info(t("common.none"))
        return
    houses = grid.households_in_unit(db, actor, unit_id)
    if houses.empty:
        st.info(t("common.none"))
        return
    rooms = {int(r.id): f"{r.room} · {r.contact_name or ''}" for r in houses.itertuples()}
    if st.session_state.get(PICK_HOUSE) not in rooms:
        st.session_state[PICK_HOUSE] = next(iter(rooms))
    household_id = st.selectbox(t("common.room"), list(rooms), format_func=rooms.get, key=PICK_HOUSE)
    detail = attempt(lambda: hh.household(db, actor, household_id))
    if detail is None:
        return
    medical = hh.sees_medical(actor) and access.can(actor, "medical.view", unit_id)
    st.markdown(
        f"**{unit_name(detail)} {detail['room']}** · {safe.md(detail['contact_name'] or '—')} · {safe.md(detail['phone'] or '—')}"
    )
    st.caption(t("households.last_visit", when=_fmt_time(detail["last_visit_at"]), who=safe.md(detail["last_visit_by"] or "—")))
    for r in detail["residents"]:
        status = state_label(testing.RESULT, r["test_status"]) if r.get("test_status") else "—"
        if medical and r.get("tags"):
            extra = " · " + "、".join(hh.tag_label(x, lang()) for x in r["tags"])
        elif r.get("needs_support"):
            extra = " · **" + t("households.needs_support") + "**"
        else:
            extra = ""
        st.markdown(f"- {safe.md(r['name'])} · {status}{extra}")
    if (
        medical
        and any(r.get("tags") for r in detail["residents"])
        and st.button(t("households.show_notes"), key="hh_notes", width="stretch")
    ):
        full = attempt(lambda: hh.household(db, actor, household_id, with_medical_notes=True))
        for r in (full or {}).get("residents", []):
            if r.get("medical_notes"):
                st.info(f"{safe.md(r['name'])}：{safe.md(r['medical_notes'])}")
    history = hh.medicine_history(db, actor, household_id, lang())
    with st.expander(t("households.medicine")):
        if history is None:
            st.caption(t("households.medicine_unavailable"))
        elif len(history) == 0:
            st.caption(t("common.none"))
        else:
            st.dataframe(history, hide_index=True, width="stretch")
    if access.can(actor, "household.edit", unit_id):
        _visit_form(actor, detail, medical and access.can(actor, "medical.edit", unit_id))


def _visit_form(actor: Actor, detail: dict, edit_tags: bool) -> None:
    db = get_db()
    hid = detail["id"]
    fmt = {x: hh.tag_label(x, lang()) for x in hh.TAGS}.get
    with st.form(f"visit_{hid}_{detail['version']}", border=True):
        st.markdown(f"**{t('households.visit_title')}**")
        occupants = st.number_input(t("households.col.occupants"), 0, hh.MAX_OCCUPANTS, int(detail["occupants"]), step=1)
        changes = []
        for r in detail["residents"]:
            st.markdown(f"**{safe.md(r['name'])}**")
            item = {"id": r["id"], "version": r["version"]}
            if edit_tags:
                item["tags"] = st.multiselect(
                    t("households.col.tags"),
                    hh.TAGS,
                    default=r.get("tags") or [],
                    format_func=fmt,
                    key=f"tags_{r['id']}",
                    placeholder=t("polish.choose"),
                )
            item["moved_out"] = st.checkbox(t("households.moved_out"), key=f"out_{r['id']}")
            changes.append(item)
        st.markdown(f"**{t('households.new_resident')}**")
        new_name = st.text_input(t("common.name"), key=f"new_name_{hid}")
        new_tags = (
            st.multiselect(
                t("households.col.tags"), hh.TAGS, format_func=fmt, key=f"new_tags_{hid}", placeholder=t("polish.choose")
            )
            if edit_tags
            else []
        )
        notes = st.text_area(t("common.notes"), value=detail.get("notes") or "", key=f"notes_{hid}", height=80)
        submitted = st.form_submit_button(t("households.visit_save"), type="primary", width="stretch")
    if submitted:
        done = attempt(
            lambda: hh.record_visit(
                db,
                actor,
                hid,
                expected_version=detail["version"],
                occupants=occupants,
                notes=notes,
                residents=changes,
                new_residents=[{"name": new_name, "tags": new_tags}] if new_name else [],
            )
        )
        if done is not None:
            flash(t("households.visit_saved"))
            st.rerun()
    show_flash()


# -- import ----------------------------------------------------------------------------------------
def import_view(actor: Actor) -> None:
    from .ledger_import import render as render_import

    render_import(actor)
