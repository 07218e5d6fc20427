"""Duty: My duty first for people with shifts (a phone card), the on-duty-now board, the planner."""

import streamlit as st

from qinyuan import access
from qinyuan.ui import duty as view
from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, show_flash, t

actor = guard("duty")
db = get_db()
view.style()
st.title(t("page.duty"))
show_flash()

sections = []
if actor.volunteer_id is not None:
    sections.append(("mine", view.my_duty))
if actor.team_id is not None:
    sections.append(("team", view.team_today))
sections.append(("board", view.board))
if access.scope_of(actor, "duty.plan") is not None or actor.role == "logistics":
    sections.append(("plan", view.planner))

for tab, (_, render) in zip(st.tabs([t(f"polish.tab.{name}" if name == "team" else f"duty.tab.{name}")
                                     for name, _ in sections]), sections, strict=True):
    with tab:
        render(db, actor)
