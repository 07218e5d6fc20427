"""Duty views: My duty cards (phone first), the on-duty-now board, and the planner."""

from __future__ import annotations

from datetime import date

import streamlit as st

from .. import access, duty
from ..access import Actor
from ..db import Database
from . import paging, safe
from .common import attempt, error_text, flash, lang, show_flash, state_label, t
from .teampick import team_picker

BOARD_NAMES = 8  # names per board card; the rest are counted
FOCUS_OVER = 3  # a post with more shifts on the planner page shows one at a time (picked from a list)

CSS = """
<style>
  .qy-card {border: 1px solid #e7c4c4; border-radius: 12px; padding: 12px 14px; background: #fffafa; margin-bottom: 4px;}
  .qy-card.now {border: 2px solid #c62828; background: #fff3f3;}
  .qy-when {font-size: 1.05rem; color: #6b1c1c; font-weight: 600;}
  .qy-post {font-size: 1.55rem; font-weight: 700; margin: 2px 0 6px 0; line-height: 1.25;}
  .qy-line {font-size: 1rem; margin: 3px 0; overflow-wrap: anywhere;}
  .qy-badge {display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .85rem; font-weight: 600;}
  .qy-assigned {background: #fff1c2; color: #6d5200;}
  .qy-checked_in {background: #d7f5dd; color: #17612a;}
  .qy-done {background: #e3e8ef; color: #37474f;}
  .qy-short {background: #ffd9d9; color: #9b1c1c;}
  .qy-ok {background: #d7f5dd; color: #17612a;}
  .qy-idle {background: #eceff1; color: #455a64;}
  .qy-grid {display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px;}
  .qy-grid .qy-card {margin: 0;}
  .qy-phone a {font-size: 1.15rem; font-weight: 700; color: #b71c1c; text-decoration: none;}
  .qy-small {font-size: .88rem; color: #555;}
  .qy-person {border-bottom: 1px solid #eee; padding: 8px 4px;}
  .qy-person.now {background: #fff3f3; border-left: 3px solid #c62828;}
</style>
"""


def style() -> None:
    st.markdown(CSS, unsafe_allow_html=True)


def _day_label(day: date, today: date) -> str:
    offset = (day - today).days
    word = {0: t("duty.today"), 1: t("duty.tomorrow"), 2: t("duty.day_after")}.get(offset, "")
    return f"{word} {t('duty.date', m=day.month, d=day.day)}".strip()


def _person(c: dict) -> str:
    return c.get("name") or t("duty.other_team", team=c.get("team_id"))


def _status_badge(status: str) -> str:
    return f'<span class="qy-badge qy-{safe.html(status)}">{safe.html(state_label(duty.ASSIGNMENT, status))}</span>'


def _tel(phone: str | None) -> str:
    if not phone:
        return "—"
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return f'<a href="tel:{safe.html(digits)}">{safe.html(phone)}</a>'


def _run(fn, success: str) -> None:
    if attempt(lambda: fn() or True):
        flash(success)
        st.rerun()


# -- My duty -------------------------------------------------------------------------------------
def my_duty(db: Database, actor: Actor) -> None:
    rows = duty.my_duty(db, actor)
    today = db.today()
    if not rows:
        st.info(t("duty.mine.none"), icon=":material/event_available:")
        return
    current = next((r for r in rows if r["status"] != "done" and r["end_at"] > db.now()), None)
    for row in rows:
        _my_card(actor, db, row, today, highlight=row is current)


def _my_card(actor: Actor, db: Database, row: dict, today: date, highlight: bool) -> None:
    _my_card_html(row, today, highlight)
    _my_card_actions(actor, db, row, today)
    st.write("")


def _my_card_html(row: dict, today: date, highlight: bool) -> None:
    """The shift as a card: when, where, with whom, the captain, check-in times and handover notes."""
    name = duty.post_name(row, lang())
    coworkers = "、".join(
        f"{_person(c)}" + (f"（{state_label(duty.ASSIGNMENT, 'checked_in')}）" if c["status"] == "checked_in" else "")
        for c in row["coworkers"]
    )
    parts = [
        f'<div class="qy-card{" now" if highlight else ""}">',
        f'<div class="qy-when">{safe.html(_day_label(row["day"], today))} · {duty.hhmm(row["start_at"])}–{duty.hhmm(row["end_at"])} '
        f"{_status_badge(row['status'])}</div>",
        f'<div class="qy-post">{safe.html(name)}</div>',
        f'<div class="qy-line">{safe.html(t("duty.coworkers"))}：{safe.html(coworkers or t("duty.alone"))}</div>',
        f'<div class="qy-line qy-phone">{safe.html(t("duty.captain"))} {safe.html(row["captain"])} {_tel(row["captain_phone"])}</div>',
    ]
    if row["check_in_at"]:
        parts.append(
            f'<div class="qy-line qy-small">{safe.html(t("duty.checked_in_at", time=duty.hhmm(row["check_in_at"])))}'
            + (f" · {safe.html(t('duty.checked_out_at', time=duty.hhmm(row['check_out_at'])))}" if row["check_out_at"] else "")
            + "</div>"
        )
    for note in row["handover_in"]:
        parts.append(
            f'<div class="qy-line">{safe.html(t("duty.handover_from", name=note["name"]))}：{safe.html(note["note"])}</div>'
        )
    if row["status"] == "done" and row["handover_note"]:
        parts.append(f'<div class="qy-line">{safe.html(t("polish.my_handover"))}：{safe.html(row["handover_note"])}</div>')
    parts.append("</div>")
    st.markdown("".join(parts), unsafe_allow_html=True)


def _my_card_actions(actor: Actor, db: Database, row: dict, today: date) -> None:
    """What the volunteer can do with the shift now: check in, hand over and check out, or add a note."""
    key = f"mine_{row['id']}"
    if row["status"] == "assigned":
        if row["window"] == "open":
            if st.button(t("duty.check_in"), key=f"{key}_in", type="primary", width="stretch", icon=":material/how_to_reg:"):
                _run(lambda: duty.check_in(db, actor, row["id"], row["version"]), t("duty.checked_in_ok"))
        elif row["window"] == "early":
            opens = row["start_at"] - duty.CHECKIN_EARLY
            label = (
                t("duty.check_in_from", time=duty.hhmm(opens))
                if duty.local(opens).date() == today
                else t("polish.check_in_from_day", day=_day_label(duty.local(opens).date(), today), time=duty.hhmm(opens))
            )
            st.button(label, key=f"{key}_in", disabled=True, width="stretch")
        else:
            st.caption(t("duty.missed"))
    elif row["status"] == "checked_in":
        note = st.text_area(
            t("duty.handover_label"),
            value=row["handover_note"] or "",
            key=f"{key}_note",
            max_chars=duty.MAX_NOTE,
            placeholder=t("duty.handover_placeholder"),
            height=80,
        )
        if row["window"] == "open":
            _check_out(db, actor, row, key, note)
        if st.button(t("duty.save_handover"), key=f"{key}_save", width="stretch"):
            _run(lambda: duty.write_handover(db, actor, row["id"], row["version"], note), t("common.saved"))
    elif row["status"] == "done" and not row["handover_note"]:
        with st.expander(t("duty.handover_label")):
            note = st.text_area(
                t("duty.handover_label"), key=f"{key}_note", max_chars=duty.MAX_NOTE, label_visibility="collapsed", height=80
            )
            if st.button(t("duty.save_handover"), key=f"{key}_save", width="stretch"):
                _run(lambda: duty.write_handover(db, actor, row["id"], row["version"], note), t("common.saved"))


def _check_out(db: Database, actor: Actor, row: dict, key: str, note: str) -> None:
    """Check out in one tap, or two when it is far too early: the second says how much of the shift is left."""
    confirm = f"{key}_confirm"
    early = duty.early_by(row, db.now())
    if early is not None and st.session_state.get(confirm):
        hours, minutes = divmod(int(early.total_seconds() // 60), 60)
        st.warning(t("polish.checkout_early", end=duty.hhmm(row["end_at"]), h=hours, m=minutes), icon=":material/schedule:")
        c1, c2 = st.columns(2)
        if c1.button(t("polish.checkout_anyway"), key=f"{key}_out_yes", type="primary", width="stretch"):
            st.session_state.pop(confirm, None)
            _run(lambda: duty.check_out(db, actor, row["id"], row["version"], note), t("duty.checked_out_ok"))
        if c2.button(t("common.cancel"), key=f"{key}_out_no", width="stretch"):
            st.session_state.pop(confirm, None)
            st.rerun()
        return
    if st.button(t("duty.check_out"), key=f"{key}_out", type="primary", width="stretch", icon=":material/logout:"):
        if early is not None:
            st.session_state[confirm] = True
            st.rerun()
        _run(lambda: duty.check_out(db, actor, row["id"], row["version"], note), t("duty.checked_out_ok"))


# -- My team today -----------------------------------------------------------------------------------
def team_today(db: Database, actor: Actor) -> None:
    """Who from my team is on duty today, post by post in time order (no need to look through every post)."""
    rows = duty.team_today(db, actor)
    if not rows:
        st.info(t("polish.team_none"), icon=":material/event_available:")
        return
    now = db.now()
    st.caption(t("polish.team_count", n=len({r["volunteer_id"] for r in rows}), shifts=len(rows)))
    lines = []
    for r in rows:
        mark = " now" if r["start_at"] <= now < r["end_at"] else ""
        lines.append(
            f'<div class="qy-person{mark}"><b>{safe.html(r["name"])}</b> {_status_badge(r["status"])}<br>'
            f'<span class="qy-small">{duty.hhmm(r["start_at"])}–{duty.hhmm(r["end_at"])} · '
            f"{safe.html(duty.post_name(r, lang()))}</span></div>"
        )
    st.markdown("".join(lines), unsafe_allow_html=True)


# -- On duty now -----------------------------------------------------------------------------------
def board(db: Database, actor: Actor) -> None:
    rows = duty.board(db, actor, names=BOARD_NAMES)
    totals = duty.board_totals(rows)
    now = db.now()
    c1, c2, c3 = st.columns(3)
    c1.metric(t("duty.board.time"), duty.hhmm(now))
    c2.metric(t("duty.board.checked_in"), f"{totals['checked_in']}/{totals['required']}")
    c3.metric(t("duty.board.under"), totals["under_staffed"])
    cards = []
    for r in rows:
        name = duty.post_name(r, lang())
        if r["now"]:
            span = f"{duty.hhmm(r['now'][0]['start_at'])}–{duty.hhmm(r['now'][0]['end_at'])}"
            if r["under_staffed"]:
                badge = f'<span class="qy-badge qy-short">{safe.html(t("duty.board.short", n=r["required_now"] - r["assigned_now"]))}</span>'
            else:
                badge = f'<span class="qy-badge qy-ok">{safe.html(t("duty.board.planned_ok"))}</span>'
            crew = "<br>".join(f"{safe.html(_person(c))} {_status_badge(c['status'])}" for c in r["crew_now"][:BOARD_NAMES])
            if r["crew_now_total"] > BOARD_NAMES:
                crew += "<br>" + safe.html(t("duty.board.more", n=r["crew_now_total"] - BOARD_NAMES))
            crew = crew or safe.html(t("duty.board.nobody"))
            body = (
                f'<div class="qy-line">{safe.html(t("duty.board.now"))} {span} · {safe.html(t("duty.board.arrived", n=r["checked_in_now"], m=r["required_now"]))}</div>'
                f'<div class="qy-line">{crew}</div>'
            )
        else:
            badge = f'<span class="qy-badge qy-idle">{safe.html(t("duty.board.no_shift"))}</span>'
            body = ""
        if r["next"]:
            nxt = r["next"][0]
            names = "、".join(_person(c) for c in r["crew_next"][:BOARD_NAMES]) or t("duty.board.nobody")
            if r["crew_next_total"] > BOARD_NAMES:
                names += " " + t("duty.board.more", n=r["crew_next_total"] - BOARD_NAMES)
            body += (
                f'<div class="qy-line qy-small">{safe.html(t("duty.board.next"))} '
                f"{safe.html(_day_label(duty.local(nxt['start_at']).date(), db.today()) if duty.local(nxt['start_at']).date() != db.today() else '')}"
                f"{duty.hhmm(nxt['start_at'])}–{duty.hhmm(nxt['end_at'])}：{safe.html(names)}</div>"
            )
        cards.append(
            f'<div class="qy-card{" now" if r["under_staffed"] else ""}" data-post="{safe.html(r["code"])}">'
            f'<div class="qy-when">{safe.html(name)} {badge}</div>{body}</div>'
        )
    st.markdown(f'<div class="qy-grid">{"".join(cards)}</div>', unsafe_allow_html=True)
    if st.button(t("common.reload"), key="board_reload", icon=":material/refresh:"):
        st.rerun()


# -- Planner ---------------------------------------------------------------------------------------
def planner(db: Database, actor: Actor) -> None:
    can_plan = access.scope_of(actor, "duty.plan") is not None
    committee = duty.is_global(actor, "duty.plan")
    posts = duty.posts(db, actor)
    by_id = {p["id"]: p for p in posts}
    c1, c2 = st.columns(2)
    day = c1.date_input(t("duty.plan.day"), value=db.today(), key="plan_day")
    post_id = c2.selectbox(
        t("duty.plan.post"), list(by_id), format_func=lambda i: duty.post_name(by_id[i], lang()), key="plan_post"
    )

    _day_summary(db, actor, day)

    copy_label = t("duty.plan.copy" if committee else "duty.plan.copy_team", day=t("duty.date", m=day.month, d=day.day))
    if can_plan and st.button(copy_label, key="plan_copy", width="stretch", icon=":material/content_copy:"):
        result = attempt(lambda: duty.copy_day(db, actor, day))
        if result is not None:
            _report_copy(result)

    post = by_id[post_id]
    st.subheader(f"{safe.md(duty.post_name(post, lang()))} · {t('duty.plan.required', n=post['required'])}")
    n_shifts = duty.count_shifts(db, actor, day, post_id)
    page = paging.pager(n_shifts, duty.PLAN_PAGE, f"plan_page_{post_id}")
    shifts = duty.day_plan(db, actor, day, post_id, page=page, page_size=duty.PLAN_PAGE)
    if not shifts:
        st.info(t("duty.plan.no_shifts"))
    team = None
    if committee and shifts:
        team = team_picker(db, actor, t("duty.plan.team"), "plan_team")
    people = duty.plannable_people(db, actor, team_id=team) if can_plan else []
    labels = dict(people)
    titles = {s["id"]: _shift_title(s) for s in shifts}
    if len(shifts) > FOCUS_OVER:  # many shifts: pick one to work on; the rest stay one line each in the list
        focus = st.selectbox(t("duty.plan.shift"), list(titles), format_func=titles.get, key=f"plan_focus_{post_id}")
        shifts = [s for s in shifts if s["id"] == focus]
    for s in shifts:
        with st.expander(titles[s["id"]], expanded=len(shifts) <= FOCUS_OVER):
            _shift_crew(db, actor, s, can_plan, committee, labels)

    if committee:
        _post_settings(db, actor, post, day)


def _day_summary(db: Database, actor: Actor, day: date) -> None:
    """Every post's shifts, fill and shortfall of the day, as a table."""
    summary = duty.day_summary(db, actor, day)
    summary["post"] = summary["name_zh"] if lang() == "zh" else summary["name_en"]
    summary["fill"] = summary.apply(lambda r: f"{int(r['assigned'])}/{int(r['required'])}", axis=1)
    frame = summary[["post", "shifts", "fill", "short"]].rename(
        columns={
            "post": t("duty.plan.post"),
            "shifts": t("duty.plan.shifts"),
            "fill": t("duty.plan.fill"),
            "short": t("duty.plan.short"),
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def _shift_crew(db: Database, actor: Actor, s: dict, can_plan: bool, committee: bool, labels: dict) -> None:
    """One shift's crew with remove buttons, and a person picker to add someone while the shift is not over."""
    for c in s["crew"]:
        a, b = st.columns([3, 1])
        a.markdown(f"{safe.md(_person(c))} · {state_label(duty.ASSIGNMENT, c['status'])}")
        removable = can_plan and c["status"] == "assigned" and (committee or c["team_id"] == actor.team_id)
        if removable and b.button(t("duty.plan.remove"), key=f"rm_{c['id']}", width="stretch"):
            _run(lambda c=c: duty.unassign(db, actor, c["id"], c["version"]), t("duty.plan.removed"))
    if can_plan and s["end_at"] > db.now():
        pick = st.selectbox(
            t("duty.plan.person"),
            [None, *labels],
            key=f"pick_{s['id']}",
            format_func=lambda i: "—" if i is None else labels[i],
        )
        if st.button(t("duty.plan.assign"), key=f"add_{s['id']}", type="primary", width="stretch", disabled=pick is None):
            warnings = attempt(lambda s=s, pick=pick: duty.assign(db, actor, s["id"], pick))
            if warnings is not None:
                for w in warnings:
                    flash(error_text(w), "warning")
                if not warnings:
                    flash(t("duty.plan.assigned"))
                st.rerun()


def _post_settings(db: Database, actor: Actor, post: dict, day: date) -> None:
    """The committee's tools for a post: a new shift on the day, the post's headcount."""
    with st.expander(t("duty.plan.new_shift"), icon=":material/add:"), st.form("new_shift"):
        a, b = st.columns(2)
        start = a.text_input(t("duty.plan.start"), value="08:00")
        end = b.text_input(t("duty.plan.end"), value="13:00")
        if st.form_submit_button(t("duty.plan.create"), width="stretch"):
            _run(lambda: duty.create_shift(db, actor, post["id"], day, start, end), t("duty.plan.created"))
    with st.expander(t("duty.plan.headcount"), icon=":material/group:"):
        n = st.number_input(
            t("duty.plan.required_label"), min_value=1, max_value=50, value=int(post["required"]), key=f"req_{post['id']}"
        )
        if st.button(t("common.save"), key=f"req_save_{post['id']}"):
            _run(lambda: duty.set_required(db, actor, post["id"], int(n), post["version"]), t("common.saved"))


def _shift_title(s: dict) -> str:
    title = f"{duty.hhmm(s['start_at'])}–{duty.hhmm(s['end_at'])} · {s['assigned']}/{s['required']}"
    if s["short"]:
        title += " · " + t("duty.board.short", n=s["short"])
    return title


def _report_copy(result: dict) -> None:
    flash(t("duty.plan.copied", shifts=result["shifts_created"], people=result["assignments_copied"], skipped=result["skipped"]))
    for w in result["warnings"][:5]:
        flash(error_text(w), "warning")
    st.rerun()


def page(db: Database, actor: Actor) -> None:
    """The tabs this person has: my duty (people with shifts), my team today, on duty now, planning."""
    style()
    st.title(t("page.duty"))
    show_flash()
    sections = []
    if actor.volunteer_id is not None:
        sections.append(("mine", my_duty))
    if actor.team_id is not None:
        sections.append(("team", team_today))
    sections.append(("board", board))
    if access.scope_of(actor, "duty.plan") is not None or actor.role == "logistics":
        sections.append(("plan", planner))
    labels = [t("polish.tab.team" if name == "team" else f"duty.tab.{name}") for name, _ in sections]
    for tab, (_, render) in zip(st.tabs(labels), sections, strict=True):
        with tab:
            render(db, actor)
