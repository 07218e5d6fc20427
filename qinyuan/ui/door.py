"""The household's own page, opened from the QR code on its door card: no login, no menu, only that household.

Every run resolves the link again from the URL (`?k=`), so a card reissued a moment ago shows the neutral
page on the next tap; every write also checks the link inside its own transaction (qinyuan.door)."""

from __future__ import annotations

import re

import streamlit as st

from .. import clock, door, i18n, medicine
from ..access import HouseholdActor
from . import safe
from .common import LANG_KEY, attempt, flash, get_db, lang, show_flash, t

CSS = """
<style>
  [data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], [data-testid='stSidebarNav'],
  [data-testid='stToolbar'], [data-testid='stMainMenu'], [data-testid='stHeader'] {display: none !important;}
  .block-container {padding-top: 1.2rem; padding-left: .8rem; padding-right: .8rem; max-width: 640px;}
  div[data-testid='stForm'] {padding: .6rem .7rem;}
</style>
"""


def is_door_request() -> bool:
    """This run is a household's door: the /door path, or a URL carrying a door key."""
    if "k" in st.query_params:
        return True
    url = st.context.url or ""
    return bool(re.search(r"/door/?(\?|$)", url))


def _client() -> str:
    """Behind a proxy the address it saw (the last X-Forwarded-For entry: earlier ones are the client's own
    claim), else the socket's; hashed, never stored in clear."""
    forwarded = st.context.headers.get("X-Forwarded-For")
    address = st.context.ip_address
    raw = forwarded.split(",")[-1].strip() if isinstance(forwarded, str) else address if isinstance(address, str) else "-"
    return door.client_key(raw)


def _actor() -> HouseholdActor | None:
    return door.open_link(get_db(), st.query_params.get("k"), _client())


def _tel(number: str | None) -> str:
    digits = re.sub(r"[^0-9+]", "", number or "")
    return f"[☎ {safe.md(number)}](tel:{digits})" if digits else "—"


def _hm(ts) -> str:
    return ts.astimezone(clock.TZ).strftime("%m-%d %H:%M") if ts else "—"


def _submitted(sent: bool, call, message: str) -> None:
    """A form's submit: the service call, then the page again with the message (or the error, form kept)."""
    if sent and attempt(call):
        flash(message)
        st.rerun()


def page() -> None:
    st.set_page_config(
        page_title=i18n.t("door.title", lang()), page_icon=":material/home:", layout="centered", initial_sidebar_state="collapsed"
    )
    st.html(CSS)
    actor = _actor()
    _language()
    if actor is None:
        neutral()
        st.stop()
    hid = actor.household_id
    info = door.home(get_db(), actor, hid)
    st.subheader(f":material/home: {safe.md(door.unit_name(info, lang()))}", anchor=False)
    show_flash()
    _phones(info)
    urgent_form(actor, info)
    testing_block(actor, info)
    requests_block()
    with st.expander(t("door.medicine.title"), icon=":material/medication:"):
        medicine_form(actor, info)
    with st.expander(t("door.grocery.title"), icon=":material/shopping_basket:"):
        grocery_form(actor)
    with st.expander(t("door.help.title"), icon=":material/volunteer_activism:"):
        help_form(actor)
    with st.expander(t("door.update.title"), icon=":material/edit_note:"):
        update_form(actor, info)
    st.caption(t("door.footer"))


def _language() -> None:
    current = lang()
    other = "en" if current == "zh" else "zh"
    if st.button({"zh": "English", "en": "中文"}[current], key="door_lang", type="tertiary"):
        st.session_state[LANG_KEY] = other
        st.query_params["lang"] = other
        st.rerun()


def neutral() -> None:
    """The one page for a missing, malformed, wrong or old link: nothing of any household."""
    st.subheader(":material/link_off: " + t("door.neutral.title"), anchor=False)
    st.info(t("door.neutral.body"))


def _phones(info: dict) -> None:
    st.markdown(
        "  \n".join(
            [
                f"{t('door.phone.emergency')} {_tel(info['emergency_phone'])}",
                f"{t('door.phone.clinic')} {_tel(info['clinic_phone'])}",
                f"{t('door.phone.captain', name=safe.md(info['captain'] or '—'))} {_tel(info['captain_phone'])}",
            ]
        )
    )


def _resident_options(info: dict) -> dict:
    return {None: t("door.whole_household"), **{p["id"]: p["name"] for p in info["residents"]}}


def urgent_form(actor: HouseholdActor, info: dict) -> None:
    with st.expander(f":red[**{t('door.urgent.title')}**]", icon=":material/e911_emergency:"):
        st.error(t("door.urgent.call_first", emergency=info["emergency_phone"] or "120"), icon=":material/call:")
        options = _resident_options(info)
        with st.form("door_urgent", clear_on_submit=True):
            who = st.selectbox(t("door.who"), list(options), format_func=options.get, key="door_urgent_who")
            what = st.text_area(t("door.urgent.what"), max_chars=door.MAX_TEXT, key="door_urgent_what")
            phone = st.text_input(t("door.callback"), max_chars=door.MAX_PHONE, key="door_urgent_phone")
            sent = st.form_submit_button(t("door.urgent.send"), type="primary", width="stretch")
        _submitted(sent, lambda: door.report_urgent(get_db(), actor, actor.household_id, what, phone, who), t("door.urgent.sent"))


def testing_block(actor: HouseholdActor, info: dict) -> None:
    st.markdown(f"**:material/biotech: {t('door.testing.title', n=info['round_no'] or '—')}**")
    if info["slot_start"]:
        st.markdown(t("door.testing.slot", time=_hm(info["slot_start"]), site=safe.md(info["site"] or "—")))
    elif info["round_no"]:
        st.caption(t("door.testing.no_slot"))
    else:
        st.caption(t("door.testing.no_round"))
    for person in info["residents"]:
        line = f"{safe.md(person['name'])} · {t('door.test.' + person['status'])}"
        if not info["round_no"] or person["status"] not in ("pending", "home_sampling_needed"):
            st.markdown(line)
            continue
        cols = st.columns([2, 2, 2], vertical_alignment="center")
        cols[0].markdown(line)
        for col, kind in zip(cols[1:], door.TESTING_KINDS, strict=True):
            if kind in person["asked"]:
                col.caption(t("door.testing.asked." + kind))
            elif col.button(t("door.testing." + kind), key=f"door_{kind}_{person['id']}", width="stretch") and attempt(
                lambda p=person, k=kind: door.report_testing(get_db(), actor, actor.household_id, p["id"], k)
            ):
                flash(t("door.testing.sent." + kind, name=person["name"]))
                st.rerun()


def medicine_form(actor: HouseholdActor, info: dict) -> None:
    options = _resident_options(info)
    with st.form("door_medicine", clear_on_submit=True):
        items = st.text_area(
            t("door.medicine.items"), placeholder=t("door.medicine.placeholder"), max_chars=1000, key="door_med_items"
        )
        urgency = st.radio(
            t("door.medicine.urgency"),
            medicine.URGENCIES,
            index=2,
            horizontal=True,
            format_func=lambda u: t("door.urgency." + u),
            key="door_med_urgency",
        )
        who = st.selectbox(t("door.medicine.for"), list(options), format_func=options.get, key="door_med_who")
        phone = st.text_input(t("door.callback"), max_chars=door.MAX_PHONE, key="door_med_phone")
        sent = st.form_submit_button(t("door.medicine.send"), type="primary", width="stretch")
    _submitted(
        sent,
        lambda: door.request_medicine(get_db(), actor, actor.household_id, items, urgency, phone, who),
        t("door.medicine.sent"),
    )


def grocery_form(actor: HouseholdActor) -> None:
    offers = door.offer(get_db(), actor, actor.household_id)
    if not offers:
        st.caption(t("door.grocery.none"))
        return
    names = {o["supplier_id"]: o["supplier"] for o in offers}
    supplier = st.radio(
        t("door.grocery.supplier"), list(names), format_func=names.get, horizontal=True, key="door_grocery_supplier"
    )
    chosen = next(o for o in offers if o["supplier_id"] == supplier)
    with st.form("door_grocery", clear_on_submit=True):
        quantities = {}
        for item in chosen["items"]:
            label = f"{item['item']} {item['pack'] or ''} · ¥{item['price']:g}" if item["price"] else item["item"]
            quantities[item["id"]] = st.number_input(
                safe.md(label), min_value=0, max_value=door.MAX_QTY, step=1, key=f"door_qty_{item['id']}"
            )
        sent = st.form_submit_button(t("door.grocery.send"), type="primary", width="stretch")
    _submitted(
        sent, lambda: door.order_groceries(get_db(), actor, actor.household_id, supplier, quantities), t("door.grocery.sent")
    )


def help_form(actor: HouseholdActor) -> None:
    with st.form("door_help", clear_on_submit=True):
        topic = st.radio(
            t("door.help.topic"), door.HELP_TOPICS, format_func=lambda k: t("door.topic." + k), key="door_help_topic"
        )
        detail = st.text_area(t("door.help.detail"), max_chars=door.MAX_TEXT, key="door_help_detail")
        phone = st.text_input(t("door.callback_optional"), max_chars=door.MAX_PHONE, key="door_help_phone")
        sent = st.form_submit_button(t("door.help.send"), type="primary", width="stretch")
    _submitted(sent, lambda: door.ask_help(get_db(), actor, actor.household_id, topic, detail, phone), t("door.help.sent"))


def update_form(actor: HouseholdActor, info: dict) -> None:
    st.caption(t("door.update.explain"))
    people = {p["id"]: p["name"] for p in info["residents"]}
    with st.form("door_update", clear_on_submit=True):
        occupants = st.number_input(
            t("door.update.occupants"), min_value=0, max_value=20, value=None, step=1, key="door_upd_occupants"
        )
        living = st.text_area(t("door.update.living"), max_chars=door.MAX_TEXT, key="door_upd_living")
        away = st.multiselect(
            t("door.update.away"), list(people), format_func=people.get, key="door_upd_away", placeholder=t("polish.choose")
        )
        needs = st.multiselect(
            t("door.update.needs"),
            door.NEEDS,
            format_func=lambda n: t("households.tag." + n),
            key="door_upd_needs",
            placeholder=t("polish.choose"),
        )
        note = st.text_input(t("door.update.note"), max_chars=door.MAX_TEXT, key="door_upd_note")
        sent = st.form_submit_button(t("door.update.send"), type="primary", width="stretch")
    if sent and attempt(
        lambda: door.propose_update(
            get_db(), actor, actor.household_id, occupants=occupants, living=living, away=away, needs=needs, note=note
        )
    ):
        flash(t("door.update.sent"))
        st.rerun()


# -- my requests, refreshed every 30 s ----------------------------------------------------------------
def step_text(kind: str, status: str) -> str:
    group = kind if kind in ("medicine", "grocery", "urgent", "update") else "request"
    return t(f"door.step.{group}.{status}")


@st.fragment(run_every=30)
def requests_block() -> None:
    actor = _actor()  # again on every refresh: a reissued card's page stops showing anything
    if actor is None:
        return
    mine = door.my_requests(get_db(), actor, actor.household_id)
    st.markdown(f"**:material/list_alt: {t('door.mine.title')}**")
    if not mine:
        st.caption(t("door.mine.none"))
        return
    for req in mine:
        with st.container(border=True):
            title = t("door.kind." + req["kind"])
            if req["kind"] == "help" and req["topic"]:
                title += " · " + t("door.topic." + req["topic"])
            if req["kind"] == "medicine":
                title += " · " + t("door.urgency." + req["topic"])
            st.markdown(f"**{title}** · {_hm(req['created_at'])}" + (f"  \n{safe.md(req['summary'])}" if req["summary"] else ""))
            st.markdown(f":material/arrow_forward: **{step_text(req['kind'], req['status'])}**")
            if len(req["steps"]) > 1:
                st.caption(" → ".join(f"{_hm(ts)[6:]} {step_text(req['kind'], s)}" for s, ts in req["steps"]))
            if req["cancellable"] and st.button(t("door.mine.cancel"), key=f"door_cancel_{req['kind']}_{req['id']}"):
                kind = "medicine" if req["kind"] == "medicine" else "door"
                if attempt(lambda r=req, k=kind: door.cancel(get_db(), actor, actor.household_id, k, r["id"]) or True):
                    flash(t("door.mine.cancelled"))
                    st.rerun()  # the whole page: the testing buttons may change with it
