"""roster page."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t

actor = guard("roster")
st.title(t("page.roster"))
