"""Admin (committee): accounts, the audit log and a backup download."""

import streamlit as st

from qinyuan.ui.admin import render
from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, t

actor = guard("admin")
st.title(t("page.admin"))
render(get_db(), actor)
