"""Medicine orders: from a phone call to the resident's door."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, t
from qinyuan.ui.medicine import render

actor = guard("medicine")
st.title(t("page.medicine"))
render(get_db(), actor)
