"""Team roster: teams, captains and members the user may see; search, filters, export; edits."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, t
from qinyuan.ui.roster import render

actor = guard("roster")
st.title(t("page.roster"))
render(get_db(), actor)
