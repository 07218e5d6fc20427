"""Roster page UI: teams, captains and members the user may see; search, filters, export; edits.
The committee sees tables and edits every team; captains and members see their team's card and one
short card per person (phones: the number a tap to call)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import access, teams
from ..access import Actor
from ..db import Database
from . import paging, safe
from .common import attempt, flash, lang, show_flash, t
from .teampick import team_picker
from .widgets import download_buttons

TEAM_ROWS = 200  # teams listed at once; the search narrows a 100x compound
TEAM_COLUMNS = ["team", "captain", "captain_phone", "members", "carriers", "units"]
TEAM_HEADERS = {
    "team": "roster.col.team",
    "captain": "roster.col.captain",
    "captain_phone": "roster.col.phone",
    "members": "roster.col.members",
    "carriers": "roster.col.carriers",
    "units": "roster.col.units",
}


def render(db: Database, actor: Actor) -> None:
    show_flash()
    committee = access.scope_of(actor, "roster.edit") == "all"
    if committee:
        teams_panel(db, actor)
    else:
        my_team_card(db, actor)
    st.subheader(t("roster.members_title"))
    filters = member_filters(db, actor, committee)
    frame = members_page(db, actor, filters)
    members_view(frame, committee)
    if st.toggle(t("roster.export"), key="roster_export"):  # built on request: exports can be large
        download_buttons(teams.export_frame(db, actor, lang(), **filters), "roster", "roster_dl")
    if (committee or access.scope_of(actor, "roster.contact") is not None) and not frame.empty:
        member_edits(db, actor, frame, committee)
    if committee:
        add_member(db, actor)


def done(message: str) -> None:
    """Keep the message for the next run (it survives st.rerun) and redraw with the change."""
    flash(message)
    st.rerun()


def _skill(code: str) -> str:
    return t(f"roster.skill.{code}")


# -- teams ----------------------------------------------------------------------------------------
def teams_panel(db: Database, actor: Actor) -> None:
    """The committee's team list (searchable) and the form to rename a team or change its notes."""
    with st.expander(t("roster.teams_title", n=teams.team_count(db, actor)), expanded=False, icon=":material/flag:"):
        team_search = st.text_input(t("roster.team_search"), key="team_search")
        frame = teams.teams(db, actor, team_search, lang(), limit=TEAM_ROWS)
        if len(frame) >= TEAM_ROWS:
            st.caption(t("roster.teams_first", n=TEAM_ROWS))
        st.dataframe(
            frame[TEAM_COLUMNS].rename(columns={c: t(k) for c, k in TEAM_HEADERS.items()}),
            hide_index=True,
            width="stretch",
            height=280,
        )
        team_form(db, actor, frame)


def team_form(db: Database, actor: Actor, listed: pd.DataFrame) -> None:
    edit_team = team_picker(db, actor, t("roster.edit_team"), "edit_team")
    current = listed[listed["team_id"] == edit_team]
    if current.empty:  # picked beyond the listed rows
        current = teams.teams(db, actor, lang=lang(), team_id=edit_team)
    row = current.iloc[0]
    with st.form(f"team_{edit_team}"):
        name = st.text_input(t("roster.col.team"), value=row["team"])
        notes = st.text_area(t("roster.col.notes"), value=row["notes"] or "", height=68)
        if st.form_submit_button(t("common.save"), width="stretch") and attempt(
            lambda: teams.update_team(db, actor, edit_team, int(row["version"]), name=name, notes=notes) or True
        ):
            done(t("common.saved"))


def my_team_card(db: Database, actor: Actor) -> None:
    mine = teams.teams(db, actor, lang=lang())
    if not mine.empty:
        st.markdown(team_card_html(mine.iloc[0]), unsafe_allow_html=True)


def team_card_html(row) -> str:
    """A captain's or member's own team: name, captain with a tap-to-call phone, units, head count."""
    phone = row["captain_phone"] or "—"
    digits = "".join(c for c in str(phone) if c.isdigit())
    return (
        f"<div style='border:1px solid #e7c4c4;border-radius:12px;padding:10px 14px;background:#fffafa'>"
        f"<div style='font-size:1.3rem;font-weight:700'>{safe.html(row['team'])}</div>"
        f"<div>{safe.html(t('roster.col.captain'))} {safe.html(str(row['captain']))} "
        f"<a href='tel:{digits}' style='font-weight:700;color:#b71c1c'>{safe.html(str(phone))}</a></div>"
        f"<div>{safe.html(t('roster.col.units'))}：{safe.html(str(row['units']))}</div>"
        f"<div>{safe.html(t('roster.members_count', n=int(row['members'])))}</div></div>"
    )


# -- members: search, filters, list ---------------------------------------------------------------
def member_filters(db: Database, actor: Actor, committee: bool) -> dict:
    """The search box and the filters (team and inactive members for the committee only)."""
    search = st.text_input(t("common.search"), key="roster_search", placeholder=t("roster.search_placeholder"))
    with st.expander(t("roster.filters"), icon=":material/filter_list:"):
        c1, c2 = st.columns(2)
        team_id = None
        if committee:
            team_id = team_picker(db, actor, t("roster.col.team"), "roster_team", allow_none=True, container=c1)
        skill = c2.selectbox(
            t("roster.col.skills"),
            [None, *teams.SKILLS],
            key="roster_skill",
            format_func=lambda s: t("common.all") if s is None else _skill(s),
        )
        c3, c4 = st.columns(2)
        party = c3.selectbox(
            t("roster.col.party_member"),
            [None, True, False],
            key="roster_party",
            format_func=lambda v: t("common.all") if v is None else t("roster.yes" if v else "roster.no"),
        )
        kind = c4.selectbox(
            t("roster.kind"),
            [None, True, False],
            key="roster_kind",
            format_func=lambda v: t("common.all") if v is None else t("roster.captain" if v else "roster.member"),
        )
        active = True
        if committee and st.checkbox(t("roster.show_inactive"), key="roster_inactive"):
            active = None
    return {"team_id": team_id, "search": search, "skill": skill, "party": party, "captains": kind, "active": active}


def members_page(db: Database, actor: Actor, filters: dict) -> pd.DataFrame:
    """The page of members matching the filters, with the page picker when there is more than one."""
    _, total = teams.members(db, actor, page_size=1, **filters)
    page = paging.pager(total, teams.PAGE_SIZE, "roster_page")
    frame, _ = teams.members(db, actor, page=page, **filters)
    return frame


def members_view(frame: pd.DataFrame, committee: bool) -> None:
    """A table for the committee; for captains and members (on phones) one short card per person."""
    if frame.empty:
        st.info(t("common.none"))
        return
    shown = frame.assign(
        role=frame["is_captain"].map(lambda v: t("roster.captain" if v else "roster.member")),
        skills=frame["skills"].map(lambda s: "、".join(_skill(k) for k in (s or []))),
        party_member=frame["party_member"].map(lambda v: "✓" if v else ""),
    )
    if not committee:
        st.markdown("".join(person_card_html(r) for r in shown.itertuples()), unsafe_allow_html=True)
        return
    columns = ["team", "name", "role", "phone", "department", "party_member", "skills"]
    shown["name"] = shown.apply(lambda r: r["name"] + ("" if r["active"] else " " + t("roster.inactive_mark")), axis=1)
    st.dataframe(shown[columns].rename(columns={c: t(f"roster.col.{c}") for c in columns}), hide_index=True, width="stretch")


def person_card_html(r) -> str:
    """One person: name, role, the phone a tap to call unless it is masked, department, party, skills."""
    phone = safe.html(str(r.phone or "—"))
    if r.phone and "*" not in str(r.phone):
        phone = f"<a href='tel:{safe.html(str(r.phone))}' style='color:#b71c1c;font-weight:600'>{phone}</a>"
    party = t("roster.col.party_member") if r.party_member else ""
    extra = " · ".join(safe.html(str(x)) for x in (r.department, party, r.skills) if x)
    return (
        f"<div class='qy-person' style='border-bottom:1px solid #eee;padding:8px 2px'>"
        f"<b>{safe.html(r.name)}</b> <span style='color:#9b1c1c;font-size:.85rem'>{safe.html(r.role)}</span>"
        f"<span style='float:right'>{phone}</span><div style='font-size:.88rem;color:#555'>{extra}</div></div>"
    )


# -- edits ----------------------------------------------------------------------------------------
def member_edits(db: Database, actor: Actor, frame: pd.DataFrame, committee: bool) -> None:
    """Pick a listed person; edit their contact (where allowed); the committee also moves, promotes
    and deactivates."""
    st.subheader(t("roster.edit_title"))
    people = {int(r.id): r for r in frame.itertuples()}
    pick = st.selectbox(
        t("roster.pick"), list(people), key="roster_pick", format_func=lambda i: f"{people[i].name} · {people[i].team}"
    )
    person = teams.member(db, actor, pick)
    if teams.can_for_team(actor, "roster.contact", teams.team_units(db, person["team_id"])):
        contact_form(db, actor, person, committee)
    if committee and person["active"]:
        c1, c2 = st.columns(2)
        with c1:
            move_member(db, actor, person)
        with c2:
            captain_or_deactivate(db, actor, person)


def contact_form(db: Database, actor: Actor, person: dict, committee: bool) -> None:
    pick = person["id"]
    with st.form(f"contact_{pick}"):
        phone = st.text_input(t("roster.col.phone"), value=person["phone"] or "")
        department = st.text_input(
            t("roster.col.department"),
            value=person["department"] or "",
            max_chars=max(teams.MAX_DEPARTMENT, len(person["department"] or "")),
        )
        notes = st.text_area(t("roster.col.notes"), value=person["notes"] or "", max_chars=teams.MAX_NOTES, height=80)
        skills = None
        if committee:
            skills = st.multiselect(
                t("roster.col.skills"),
                teams.SKILLS,
                default=list(person["skills"] or []),
                format_func=_skill,
                placeholder=t("polish.choose"),
            )
        if st.form_submit_button(t("common.save"), type="primary", width="stretch") and attempt(
            lambda: (
                teams.update_contact(
                    db, actor, pick, person["version"], phone=phone, department=department, notes=notes, skills=skills
                )
                or True
            )
        ):
            done(t("common.saved"))


def move_member(db: Database, actor: Actor, person: dict) -> None:
    pick = person["id"]
    to_team = team_picker(db, actor, t("roster.move_to"), f"move_{pick}", exclude=person["team_id"])
    if st.button(
        t("roster.move"), key=f"move_btn_{pick}", width="stretch", disabled=person["is_captain"] or to_team is None
    ) and attempt(lambda: teams.move_member(db, actor, pick, to_team, person["version"]) or True):
        team_name = dict(teams.team_options(db, actor, limit=0, include=to_team)).get(to_team, to_team)
        done(t("roster.moved", name=safe.md(person["name"]), team=safe.md(team_name)))


def captain_or_deactivate(db: Database, actor: Actor, person: dict) -> None:
    pick = person["id"]
    if st.button(t("roster.make_captain"), key=f"cap_{pick}", width="stretch", disabled=person["is_captain"]) and attempt(
        lambda: teams.make_captain(db, actor, pick, person["version"]) or True
    ):
        done(t("roster.made_captain", name=safe.md(person["name"])))
    sure = st.checkbox(t("roster.deactivate_confirm"), key=f"sure_{pick}", disabled=person["is_captain"])
    if st.button(t("roster.deactivate"), key=f"deact_{pick}", width="stretch", disabled=not sure):
        n = attempt(lambda: teams.deactivate(db, actor, pick, person["version"]))
        if n is not None:
            done(t("roster.deactivated", name=safe.md(person["name"]), n=n))


# -- new member -----------------------------------------------------------------------------------
def add_member(db: Database, actor: Actor) -> None:
    with st.expander(t("roster.add_title"), icon=":material/person_add:"):
        new_team = team_picker(db, actor, t("roster.col.team"), "add_team")
        with st.form("add_member", clear_on_submit=True):
            name = st.text_input(t("roster.col.name"))
            phone = st.text_input(t("roster.col.phone"))
            department = st.text_input(t("roster.col.department"), max_chars=teams.MAX_DEPARTMENT)
            party_member = st.checkbox(t("roster.col.party_member"), value=True)
            skills = st.multiselect(t("roster.col.skills"), teams.SKILLS, format_func=_skill, placeholder=t("polish.choose"))
            if st.form_submit_button(t("roster.add"), type="primary", width="stretch"):
                new_id = attempt(lambda: teams.add_member(db, actor, new_team, name, phone, department, party_member, skills))
                if new_id is not None:
                    done(t("roster.added", name=safe.md(name.strip())))
