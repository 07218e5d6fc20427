"""Team roster: teams, captains and members the user may see; search, filters, export; edits."""

import math

import streamlit as st

from qinyuan import access, teams
from qinyuan.ui import safe
from qinyuan.ui.auth import guard
from qinyuan.ui.common import attempt, get_db, lang, t
from qinyuan.ui.teampick import team_picker
from qinyuan.ui.widgets import download_buttons

TEAM_ROWS = 200  # teams listed at once; the search narrows a 100x compound

actor = guard("roster")
db = get_db()
st.title(t("page.roster"))
FLASH = "_qy_roster_flash"
for message in st.session_state.pop(FLASH, []):
    st.success(message, icon=":material/check_circle:")


def done(message: str) -> None:
    st.session_state.setdefault(FLASH, []).append(message)
    st.rerun()


committee = access.scope_of(actor, "roster.edit") == "all"

# -- teams ------------------------------------------------------------------------------------------
if committee:
    with st.expander(t("roster.teams_title", n=teams.team_count(db, actor)), expanded=False, icon=":material/flag:"):
        team_search = st.text_input(t("roster.team_search"), key="team_search")
        frame = teams.teams(db, actor, team_search, lang(), limit=TEAM_ROWS)
        if len(frame) >= TEAM_ROWS:
            st.caption(t("roster.teams_first", n=TEAM_ROWS))
        st.dataframe(frame[["team", "captain", "captain_phone", "members", "carriers", "units"]].rename(columns={
            "team": t("roster.col.team"), "captain": t("roster.col.captain"), "captain_phone": t("roster.col.phone"),
            "members": t("roster.col.members"), "carriers": t("roster.col.carriers"), "units": t("roster.col.units")}),
            hide_index=True, width="stretch", height=280)
        edit_team = team_picker(db, actor, t("roster.edit_team"), "edit_team")
        current = frame[frame["team_id"] == edit_team]
        if current.empty:
            current = teams.teams(db, actor, lang=lang(), team_id=edit_team)
        team_row = current.iloc[0]
        with st.form(f"team_{edit_team}"):
            team_name = st.text_input(t("roster.col.team"), value=team_row["team"])
            team_notes = st.text_area(t("roster.col.notes"), value=team_row["notes"] or "", height=68)
            if st.form_submit_button(t("common.save"), width="stretch") and attempt(
                    lambda: teams.update_team(db, actor, edit_team, int(team_row["version"]), name=team_name,
                                              notes=team_notes) or True):
                done(t("common.saved"))
else:
    mine = teams.teams(db, actor, lang=lang())
    if not mine.empty:
        row = mine.iloc[0]
        phone = row["captain_phone"] or "—"
        digits = "".join(c for c in str(phone) if c.isdigit())
        units = str(row["units"])
        st.markdown(
            f"<div style='border:1px solid #e7c4c4;border-radius:12px;padding:10px 14px;background:#fffafa'>"
            f"<div style='font-size:1.3rem;font-weight:700'>{safe.html(row['team'])}</div>"
            f"<div>{safe.html(t('roster.col.captain'))} {safe.html(str(row['captain']))} "
            f"<a href='tel:{digits}' style='font-weight:700;color:#b71c1c'>{safe.html(str(phone))}</a></div>"
            f"<div>{safe.html(t('roster.col.units'))}：{safe.html(units)}</div>"
            f"<div>{safe.html(t('roster.members_count', n=int(row['members'])))}</div></div>",
            unsafe_allow_html=True)

# -- members: search and filters -------------------------------------------------------------------
st.subheader(t("roster.members_title"))
search = st.text_input(t("common.search"), key="roster_search", placeholder=t("roster.search_placeholder"))
with st.expander(t("roster.filters"), icon=":material/filter_list:"):
    c1, c2 = st.columns(2)
    team_id = None
    if committee:
        team_id = team_picker(db, actor, t("roster.col.team"), "roster_team", allow_none=True, container=c1)
    skill = c2.selectbox(t("roster.col.skills"), [None, *teams.SKILLS], key="roster_skill",
                         format_func=lambda s: t("common.all") if s is None else t(f"roster.skill.{s}"))
    c3, c4 = st.columns(2)
    party = c3.selectbox(t("roster.col.party_member"), [None, True, False], key="roster_party",
                         format_func=lambda v: t("common.all") if v is None else t("roster.yes" if v else "roster.no"))
    kind = c4.selectbox(t("roster.kind"), [None, True, False], key="roster_kind",
                        format_func=lambda v: t("common.all") if v is None else t("roster.captain" if v else "roster.member"))
    active = True
    if committee and st.checkbox(t("roster.show_inactive"), key="roster_inactive"):
        active = None
filters = {"team_id": team_id, "search": search, "skill": skill, "party": party, "captains": kind, "active": active}

_, total = teams.members(db, actor, page_size=1, **filters)
pages = max(1, math.ceil(total / teams.PAGE_SIZE))
page = 1
if pages > 1:
    page = st.number_input(t("roster.page"), min_value=1, max_value=pages, value=1, key="roster_page")
frame, total = teams.members(db, actor, page=page, **filters)
st.caption(t("common.page_of", page=page, pages=pages, n=total))
if frame.empty:
    st.info(t("common.none"))
else:
    shown = frame.assign(
        role=frame["is_captain"].map(lambda v: t("roster.captain" if v else "roster.member")),
        skills=frame["skills"].map(lambda s: "、".join(t(f"roster.skill.{k}") for k in (s or []))),
        party_member=frame["party_member"].map(lambda v: "✓" if v else ""),
    )
    columns = ["name", "role", "phone", "department", "party_member", "skills"]
    if committee:
        columns.insert(0, "team")
        shown["name"] = shown.apply(lambda r: r["name"] + ("" if r["active"] else " " + t("roster.inactive_mark")), axis=1)
        st.dataframe(shown[columns].rename(columns={c: t(f"roster.col.{c}") for c in columns}),
                     hide_index=True, width="stretch")
    else:  # captains and members use phones: one short card per person, the phone a tap to call
        cards = []
        for r in shown.itertuples():
            phone = safe.html(str(r.phone or "—"))
            if r.phone and "*" not in str(r.phone):
                phone = f"<a href='tel:{safe.html(str(r.phone))}' style='color:#b71c1c;font-weight:600'>{phone}</a>"
            party = t("roster.col.party_member") if r.party_member else ""
            extra = " · ".join(safe.html(str(x)) for x in (r.department, party, r.skills) if x)
            cards.append(
                f"<div class='qy-person' style='border-bottom:1px solid #eee;padding:8px 2px'>"
                f"<b>{safe.html(r.name)}</b> <span style='color:#9b1c1c;font-size:.85rem'>{safe.html(r.role)}</span>"
                f"<span style='float:right'>{phone}</span><div style='font-size:.88rem;color:#555'>{extra}</div></div>")
        st.markdown("".join(cards), unsafe_allow_html=True)

if st.toggle(t("roster.export"), key="roster_export"):  # built on request: exports can be large
    download_buttons(teams.export_frame(db, actor, lang(), **filters), "roster", "roster_dl")

# -- edits ------------------------------------------------------------------------------------------
can_contact = access.scope_of(actor, "roster.contact") is not None
if (can_contact or committee) and not frame.empty:
    st.subheader(t("roster.edit_title"))
    people = {int(r.id): r for r in frame.itertuples()}
    pick = st.selectbox(t("roster.pick"), list(people), key="roster_pick",
                        format_func=lambda i: f"{people[i].name} · {people[i].team}")
    person = teams.member(db, actor, pick)
    may_contact = teams.can_for_team(actor, "roster.contact", teams.team_units(db, person["team_id"]))
    if may_contact:
        with st.form(f"contact_{pick}"):
            phone = st.text_input(t("roster.col.phone"), value=person["phone"] or "")
            department = st.text_input(t("roster.col.department"), value=person["department"] or "",
                                       max_chars=max(teams.MAX_DEPARTMENT, len(person["department"] or "")))
            notes = st.text_area(t("roster.col.notes"), value=person["notes"] or "", max_chars=teams.MAX_NOTES, height=80)
            skills = None
            if committee:
                skills = st.multiselect(t("roster.col.skills"), teams.SKILLS, default=list(person["skills"] or []),
                                        format_func=lambda s: t(f"roster.skill.{s}"), placeholder=t("polish.choose"))
            if st.form_submit_button(t("common.save"), type="primary", width="stretch") and attempt(lambda: teams.update_contact(db, actor, pick, person["version"], phone=phone,
                                                        department=department, notes=notes, skills=skills) or True):
                done(t("common.saved"))
    if committee and person["active"]:
        c1, c2 = st.columns(2)
        with c1:
            to_team = team_picker(db, actor, t("roster.move_to"), f"move_{pick}", exclude=person["team_id"])
            if st.button(t("roster.move"), key=f"move_btn_{pick}", width="stretch",
                         disabled=person["is_captain"] or to_team is None) \
                    and attempt(lambda: teams.move_member(db, actor, pick, to_team, person["version"]) or True):
                done(t("roster.moved", name=safe.md(person["name"]), team=safe.md(dict(teams.team_options(
                    db, actor, limit=0, include=to_team)).get(to_team, to_team))))
        with c2:
            if st.button(t("roster.make_captain"), key=f"cap_{pick}", width="stretch", disabled=person["is_captain"]) \
                    and attempt(lambda: teams.make_captain(db, actor, pick, person["version"]) or True):
                done(t("roster.made_captain", name=safe.md(person["name"])))
            sure = st.checkbox(t("roster.deactivate_confirm"), key=f"sure_{pick}", disabled=person["is_captain"])
            if st.button(t("roster.deactivate"), key=f"deact_{pick}", width="stretch", disabled=not sure):
                n = attempt(lambda: teams.deactivate(db, actor, pick, person["version"]))
                if n is not None:
                    done(t("roster.deactivated", name=safe.md(person["name"]), n=n))

if committee:
    with st.expander(t("roster.add_title"), icon=":material/person_add:"):
        new_team = team_picker(db, actor, t("roster.col.team"), "add_team")
        with st.form("add_member", clear_on_submit=True):
            name = st.text_input(t("roster.col.name"))
            phone = st.text_input(t("roster.col.phone"))
            department = st.text_input(t("roster.col.department"), max_chars=teams.MAX_DEPARTMENT)
            party_member = st.checkbox(t("roster.col.party_member"), value=True)
            skills = st.multiselect(t("roster.col.skills"), teams.SKILLS, format_func=lambda s: t(f"roster.skill.{s}"),
                                    placeholder=t("polish.choose"))
            if st.form_submit_button(t("roster.add"), type="primary", width="stretch"):
                new_id = attempt(lambda: teams.add_member(db, actor, new_team, name, phone, department, party_member, skills))
                if new_id is not None:
                    done(t("roster.added", name=safe.md(name.strip())))
