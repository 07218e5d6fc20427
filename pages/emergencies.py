"""Emergencies: the open-cases board, a one-minute phone report, and the special residents registry."""

import streamlit as st

from qinyuan.ui import emergencies as ui
from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, t

actor = guard("emergencies")
db = get_db()
st.title(t("page.emergencies"))
view = ui.view_switch()
if view == "report":
    ui.report_form(db, actor)
elif view == "special":
    ui.special(db, actor)
else:
    ui.board(db, actor)
