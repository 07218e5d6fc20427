"""households page."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t

actor = guard("households")
st.title(t("page.households"))
