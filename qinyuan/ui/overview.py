"""The overview's UI: cached figures keyed by the viewer's scope, 'needs attention now', KPI cards
with deltas, charts, the per-unit heatmap, a captain's to-do list, a member's team and shift,
and the committee's briefing button."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from .. import access, clock, emergencies, grid, medicine, todo
from .. import overview as ov
from .. import overview_charts as charts
from ..access import Actor
from ..db import Database
from . import door_staff, links, safe
from .common import attempt, get_db, lang, state_label, t
from .widgets import AREAS, WORSE_WHEN_UP, fmt, fmt_delta, kpi_areas, kpi_cards

REFRESH = 60  # seconds between automatic refreshes of the figures
QUEUE_REFRESH = 15  # seconds between refreshes of the to-do and what needs attention
SHOW = 8  # rows listed per to-do / attention item before "and n more"


# -- cached figures: exact, not timed -------------------------------------------------------------------
# db.cached keeps a figure until a committed write touches the compound's data, and at most for the
# current minute (figures such as "overdue" move with the clock), so a captain who marks something
# sees it on the overview at once.
# kind -> (db, units in scope or None, extra argument) -> the figure
_FIGURES = {
    "deltas": lambda db, units, _arg: ov.with_deltas(db, units),
    "attention": lambda db, units, arg: ov.attention(db, units, role=arg),
    "coverage": lambda db, units, _arg: ov.coverage_by_round(db, units),
    "medicine": lambda db, units, _arg: ov.medicine_by_day(db, units),
    "hours": lambda db, units, _arg: ov.delivery_hours(db, units),
    "duty": lambda db, _units, _arg: ov.duty_fill(db),
    "cases": lambda db, units, _arg: ov.open_cases_over_time(db, units),
    "batches": lambda db, _units, _arg: ov.donation_batches(db),
    "donation": lambda db, units, arg: ov.donation_by_building_hour(db, units, arg),
    "heatmap": lambda db, units, _arg: ov.unit_heatmap(db, units),
    "todo": lambda db, units, _arg: todo.todo(db, units),
    "next_shift": lambda db, _units, arg: ov.next_shift(db, arg),
}


def _compute(kind: str, db, units: tuple[int, ...] | None, arg=None):
    return _FIGURES[kind](db, units, arg)


def _minute(db) -> datetime:
    return db.now().replace(second=0, microsecond=0)


def data(kind: str, actor: Actor, arg=None):
    db = get_db()
    units = actor.scope()
    return db.cached(f"overview.{kind}", (units, arg, _minute(db)), db.domain_tables(), lambda: _compute(kind, db, units, arg))


def actor_data(kind: str, actor: Actor, arg=None):
    db = get_db()

    def compute():
        if kind == "unit":
            return ov.unit_detail(db, actor, arg)
        if kind == "team":
            return ov.team_figures(db, actor)
        raise ValueError(kind)

    return db.cached(
        f"overview.{kind}", (actor.username, actor.role, actor.scope(), arg, _minute(db)), db.domain_tables(), compute
    )


# -- small formatting helpers -----------------------------------------------------------------------
def _local(ts) -> datetime | None:
    if ts is None or (not isinstance(ts, datetime) and pd.isna(ts)):
        return None
    ts = pd.Timestamp(ts)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(clock.TZ).to_pydatetime()


def _hm(ts) -> str:
    value = _local(ts)
    return value.strftime("%H:%M") if value else "—"


def _md_hm(ts) -> str:
    value = _local(ts)
    return value.strftime("%m-%d %H:%M") if value else "—"


def _unit(building, unit_no) -> str:
    return grid.unit_label(int(building), int(unit_no), lang())


def _pct(value) -> str:
    return f"{float(value) * 100:.0f}%"


def _bullets(lines: list[str], total: int | None = None) -> None:
    """The first SHOW lines, then "and n more" (total: how many there are when only the first were formatted)."""
    total = len(lines) if total is None else total
    text = "\n".join(f"- {line}" for line in lines[:SHOW])
    if total > SHOW:
        text += "\n\n" + t("overview.todo_more", n=total - SHOW)
    st.markdown(text)


def _areas_for(actor: Actor) -> dict:
    if actor.scope() is None:
        return AREAS
    # Compound-wide figures (all posts' fill rate) are left out of a scoped view.
    return {area: [k for k in keys if k != "duty_fill_rate_today"] for area, keys in AREAS.items()}


# -- needs attention now -----------------------------------------------------------------------------
def _attention_list(frame: pd.DataFrame, title: str, icon: str, row) -> None:
    """One kind of problem: a folded list (open when short), only the first rows formatted."""
    if len(frame):
        with st.expander(title, expanded=len(frame) <= 3, icon=icon):
            _bullets([row(r) for r in frame.head(SHOW).itertuples()], len(frame))


# Each list a role must act on: (its key, the page its lines open, the query parameter, the icon).
ACT = {
    "new_cases": ("emergencies", "case", ":material/e911_emergency:"),
    "new_orders": ("medicine", "order", ":material/medication:"),
    "permits": ("emergencies", "case", ":material/door_open:"),
}


def _act_lists(att: dict) -> None:
    """What this role must act on, newest first, each line one tap to the case or order already open."""
    for name, (page, param, icon) in ACT.items():
        frame = att.get(name)
        if frame is None or not len(frame):
            continue
        st.markdown(f"**{t(f'captain.att.{name}', n=len(frame))}**")
        for r in frame.head(SHOW).itertuples():
            word = t(f"emergency.severity.{r.severity}") if name != "new_orders" else t(f"medicine.urgency.{r.urgency}")
            links.link(
                page,
                t(
                    f"captain.att.{name}_row",
                    id=r.id,
                    unit=_unit(r.building, r.unit_no),
                    room=safe.md(r.room),
                    word=word,
                    time=_md_hm(r.at),
                ),
                {param: r.id},
                icon,
            )
        if len(frame) > SHOW:
            st.caption(t("overview.todo_more", n=len(frame) - SHOW))


def attention_block(att: dict) -> None:
    lim = att["limits"]
    with st.container(border=True):
        st.subheader(":material/notification_important: " + t("overview.attention"), anchor=False)
        if ov.attention_count(att) == 0:
            st.success(t("overview.attention_none"))
            return
        _attention_list(
            att["medicine"],
            t("overview.att_medicine", urgent=f"{lim['urgent']:g}", critical=f"{lim['critical']:g}", n=len(att["medicine"])),
            ":material/medication:",
            lambda r: t(
                "overview.att_medicine_row",
                unit=_unit(r.building, r.unit_no),
                room=r.room,
                urgency=t(f"medicine.urgency.{r.urgency}"),
                status=state_label(medicine.MACHINE, r.status),
                hours=r.hours,
            ),
        )
        _attention_list(
            att["cases"],
            t("overview.att_cases", minutes=f"{lim['stale_minutes']:g}", n=len(att["cases"])),
            ":material/local_hospital:",
            lambda r: t(
                "overview.att_case_row",
                unit=_unit(r.building, r.unit_no),
                room=r.room,
                severity=t(f"emergency.severity.{r.severity}"),
                status=state_label(emergencies.CASE, r.status),
                minutes=r.minutes,
            ),
        )
        _act_lists(att)
        _attention_list(
            att["posts"],
            t("overview.att_posts", n=len(att["posts"])),
            ":material/badge:",
            lambda r: t(
                "overview.att_post_row",
                post=safe.md(r.name_zh if lang() == "zh" else r.name_en),
                start=_hm(r.start_at),
                end=_hm(r.end_at),
                staffed=r.staffed,
                required=r.required,
            ),
        )
        _attention_list(
            att["coverage"],
            t("overview.att_coverage", round=att["round_no"], threshold=_pct(lim["threshold"]), n=len(att["coverage"])),
            ":material/science:",
            lambda r: t(
                "overview.att_coverage_row", unit=_unit(r.building, r.unit_no), coverage=_pct(r.coverage), pending=r.pending
            ),
        )


# -- charts -----------------------------------------------------------------------------------------
CHART_CHROME = 170  # px around a chart's plot: title, axis labels, legend


def _chart(chart, key: str | None = None) -> None:
    """Full width; the element's height is given explicitly (a single-view chart with the default
    'content' height collapses to a sliver in Streamlit), the plot's own height plus room for its chrome."""
    plot = getattr(chart, "height", None)
    height = int(plot) + CHART_CHROME if isinstance(plot, int | float) else "content"
    st.altair_chart(chart, width="stretch", height=height, key=key)


def charts_block(actor: Actor) -> None:
    """One chart group at a time, picked with pills: a chart drawn inside a hidden tab gets no size."""
    lg = lang()
    st.subheader(":material/monitoring: " + t("overview.charts"), anchor=False)
    global_ = actor.scope() is None
    names = ["testing", "medicine"] + (["duty"] if global_ else []) + ["cases", "vegetables"]
    shown = (
        st.pills(
            t("overview.charts"),
            names,
            default=names[0],
            format_func=lambda n: t(f"overview.tab_{n}"),
            key="ov_chart",
            label_visibility="collapsed",
        )
        or names[0]
    )
    if shown == "testing":
        _chart(charts.coverage_chart(data("coverage", actor), lg))
    elif shown == "medicine":
        frame = data("medicine", actor)
        if len(frame):
            _chart(charts.medicine_status_chart(frame, lg))
        hours = data("hours", actor)
        if len(hours):
            _chart(charts.delivery_hours_chart(hours, lg))
        if not len(frame) and not len(hours):
            st.caption(t("overview.no_data"))
    elif shown == "duty" and global_:
        _chart(charts.duty_fill_chart(data("duty", actor), lg))
    elif shown == "cases":
        _chart(charts.open_cases_chart(data("cases", actor), lg))
    elif shown == "vegetables":
        batches = data("batches", actor)
        if not len(batches):
            st.caption(t("overview.no_data"))
            return
        labels = {
            int(r.id): t("overview.batch_label", id=int(r.id), day=pd.Timestamp(r.day).strftime("%m-%d"), donor=r.donor)
            for r in batches.itertuples()
        }
        batch = st.selectbox(t("overview.batch"), list(labels), format_func=labels.get, key="ov_batch")
        frame = data("donation", actor, batch)
        if len(frame):
            total, shown_n = int(frame["buildings_total"].iloc[0]), frame["building"].nunique()
            if total > shown_n:
                st.caption(t("overview.donation_top", n=shown_n, total=f"{total:,}"))
            _chart(charts.donation_chart(frame, lg))
        else:
            st.caption(t("overview.no_data"))


# -- per-unit heatmap and a unit's detail -------------------------------------------------------------
def _heat_pick() -> int | None:
    """The unit clicked in the heatmap at the last interaction (its selection state lives under its key)."""
    try:
        points = (st.session_state.get("ov_heat") or {}).get("selection", {}).get("unit") or []
        return int(points[0]["unit_id"]) if points else None
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None


def heatmap_block(actor: Actor) -> None:
    frame = data("heatmap", actor)
    if len(frame) < 2:
        return  # one unit: the cards above are that unit's figures
    st.subheader(":material/grid_on: " + t("overview.heatmap"), anchor=False)
    st.caption(t("overview.heatmap_hint"))
    total = data("deltas", actor)[0].get("building_units") or len(frame)
    if total > len(frame):
        st.caption(t("overview.heatmap_top", n=len(frame), total=f"{total:,}"))
    picked = _heat_pick()
    if picked is not None and picked != st.session_state.get("_ov_heat_last"):
        st.session_state["ov_unit"] = picked
    st.session_state["_ov_heat_last"] = picked
    labels = {int(r.unit_id): _unit(r.building, r.unit_no) for r in frame.itertuples()}
    options = [None, *labels]
    if st.session_state.get("ov_unit") not in options:
        st.session_state["ov_unit"] = None
    # The picker and the chosen unit's detail sit above the long heatmap, where a phone user sees them.
    unit_id = st.selectbox(
        t("overview.unit_pick"), options, key="ov_unit", format_func=lambda u: t("overview.unit_none") if u is None else labels[u]
    )
    if unit_id is not None:
        unit_detail(actor, unit_id)
    st.altair_chart(
        charts.unit_heatmap_chart(frame, lang()), width="stretch", key="ov_heat", on_select="rerun", selection_mode="unit"
    )


def unit_detail(actor: Actor, unit_id: int) -> None:
    detail = attempt(lambda: actor_data("unit", actor, unit_id))
    if not detail:
        return
    with st.container(border=True):
        st.markdown(
            "**"
            + t(
                "overview.unit_title",
                unit=_unit(detail["building"], detail["unit_no"]),
                captain=safe.md(detail["captain"] or "—"),
            )
            + "**"
        )
        keys = [
            "households",
            "residents",
            "current_round_coverage",
            "residents_pending",
            "medicine_orders_open",
            "emergency_cases_open",
            "donation_batch_coverage",
            "special_residents",
        ]
        kpi_cards(detail["figures"], keys, detail["deltas"], columns=4)
        att = detail["attention"]
        if ov.attention_count(att):
            attention_block(att)
        if access.can_view_page(actor, "households"):
            st.page_link("pages/households.py", label=t("overview.unit_open_households"), icon=":material/home:")


# -- captain's to-do -----------------------------------------------------------------------------------
ICONS = {
    "tests": ":material/science:",
    "medicine": ":material/medication:",
    "cases": ":material/local_hospital:",
    "vegetables": ":material/eco:",
}


def todo_block(actor: Actor) -> None:
    """One heading per kind of work the captain can act on now; every line one tap to its action,
    with the room, order, case or unit already picked."""
    with st.container(border=True):
        st.subheader(":material/task_alt: " + t("overview.todo"), anchor=False)
        for item in data("todo", actor):
            todo_item(item)


def todo_item(item: todo.Item) -> None:
    title = t(f"todo.{item.kind}.title", n=len(item.rows), waiting=item.waiting, **item.params)
    if not item.rows:
        st.markdown(f":green[:material/check_circle:] {title}")
    else:
        st.markdown(f"**{title}**")
        for row in item.rows[:SHOW]:
            words = {k: t(v) for k, v in row.get("words", {}).items()}
            values = {k: safe.md(v) if isinstance(v, str) else v for k, v in row.items() if k != "words"}
            label = t(
                f"todo.{item.kind}.row",
                **{**values, **words, "unit": _unit(row["building"], row["unit_no"]), "time": _md_hm(row.get("last_event_at"))},
            )
            links.link(item.page, label, {item.param: row["id"]}, ICONS.get(item.kind))
        if len(item.rows) > SHOW:
            st.caption(t("overview.todo_more", n=len(item.rows) - SHOW))
    if item.waiting:
        st.caption(t(f"todo.{item.kind}.waiting", n=item.waiting))


# -- member ---------------------------------------------------------------------------------------------
def shift_block(actor: Actor) -> None:
    shift = data("next_shift", actor, actor.volunteer_id)
    with st.container(border=True):
        st.subheader(":material/event: " + t("overview.next_shift"), anchor=False)
        if not shift:
            st.info(t("overview.no_shift"))
            return
        start, end = _local(shift["start_at"]), _local(shift["end_at"])
        params = {
            "post": safe.md(shift["name_zh"] if lang() == "zh" else shift["name_en"]),
            "day": start.strftime("%m-%d"),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "crew": shift["crew"],
            "required": shift["required"],
        }
        if shift["now"]:
            st.success(t("overview.shift_now", **params))
        else:
            st.info(t("overview.shift_next", **params))
        if access.can_view_page(actor, "duty"):
            st.page_link("pages/duty.py", label=t("page.duty"), icon=":material/schedule:")


def team_block(actor: Actor) -> None:
    team = actor_data("team", actor)
    st.subheader(
        ":material/groups: "
        + t("overview.team", team=safe.md(team["team_name"] or "—"), captain=safe.md(team["captain"] or "—")),
        anchor=False,
    )
    figures, deltas = team["figures"], team["deltas"]
    cards = [
        (t("overview.team_members"), f"{team['team_members']:,}", None, "normal"),
        (t("overview.veg_waiting"), f"{team['vegetables_waiting']:,}", None, "normal"),
        (t("overview.my_duty_done"), f"{team['my_duty_done']:,}", None, "normal"),
    ]
    for key in ("households", "residents", "current_round_coverage", "residents_pending", "duty_person_times"):
        cards.append(
            (
                t(f"kpi.{key}"),
                fmt(key, figures.get(key)),
                fmt_delta(key, deltas.get(key)),
                "inverse" if key in WORSE_WHEN_UP else "normal",
            )
        )
    for start in range(0, len(cards), 2):
        cols = st.columns(2)
        for col, (label, value, delta, colour) in zip(cols, cards[start : start + 2], strict=False):
            col.metric(label, value, delta=delta, delta_color=colour)


# -- the page, per role -----------------------------------------------------------------------------------
def figures_block(actor: Actor) -> None:
    figures, deltas = data("deltas", actor)
    st.subheader(":material/leaderboard: " + t("overview.kpis"), anchor=False)
    kpi_areas(figures, deltas, columns=4, areas=_areas_for(actor))


def as_of_caption() -> None:
    st.caption(t("overview.as_of", time=get_db().now().astimezone(clock.TZ).strftime("%Y-%m-%d %H:%M")))


@st.fragment(run_every=QUEUE_REFRESH)
def queue(actor: Actor) -> None:
    """What to do now: households' urgent reports, the captain's to-do, what households asked for at their
    doors and what needs attention, refreshed every few seconds."""
    door_staff.urgent_block(actor)  # someone unwell, reported by the household: on top of everything
    if actor.role == "captain":
        todo_block(actor)
    door_staff.queue_block(actor)
    attention_block(data("attention", actor, actor.role))


@st.fragment(run_every=REFRESH)
def live(actor: Actor) -> None:
    """The figures, refreshing on their own."""
    as_of_caption()
    if actor.role == "member":
        shift_block(actor)
        team_block(actor)
        return
    figures_block(actor)
    charts_block(actor)
    heatmap_block(actor)


def briefing_block(actor: Actor) -> None:
    """One click: the day's briefing as text to paste and as a PDF, in zh or en."""
    if not access.can(actor, "briefing.make"):
        return
    from .. import briefing

    with st.container(border=True):
        st.markdown("##### :material/summarize: " + t("overview.briefing"))
        cols = st.columns(2)
        wanted = None
        for col, code in zip(cols, ("zh", "en"), strict=True):
            if col.button(
                t(f"overview.briefing_make_{code}"),
                type="primary" if code == lang() else "secondary",
                width="stretch",
                icon=":material/summarize:",
                key=f"ov_brief_make_{code}",
            ):
                wanted = code
        if wanted:
            db = get_db()

            def make():
                gathered = briefing.gather(db, actor=actor)
                return briefing.text(db, lang=wanted, data=gathered), gathered

            with st.spinner(t("overview.briefing_making")):
                made = attempt(make)
            if made:
                st.session_state["ov_brief"] = {"lang": wanted, "text": made[0], "data": made[1], "day": db.today().isoformat()}
        brief = st.session_state.get("ov_brief")
        if brief:
            db = get_db()
            st.text_area(t("overview.briefing_text"), brief["text"], height=300)
            st.download_button(
                t("overview.briefing_pdf"),
                lambda: _briefing_pdf(db, brief),  # built when tapped: the text to paste does not wait for the charts
                f"briefing-{brief['day']}-{brief['lang']}.pdf",
                "application/pdf",
                width="stretch",
                icon=":material/picture_as_pdf:",
                key="ov_brief_pdf",
            )


def _briefing_pdf(db: Database, brief: dict) -> bytes:
    """The briefing's PDF (its charts take seconds), built once from the figures the text was made from."""
    from .. import briefing

    if "pdf" not in brief:
        brief["pdf"] = briefing.pdf(db, lang=brief["lang"], data=brief["data"])
    return brief["pdf"]


def page(actor: Actor) -> None:
    st.title(t("page.overview"))
    briefing_block(actor)
    if actor.role != "member":
        queue(actor)
    live(actor)
