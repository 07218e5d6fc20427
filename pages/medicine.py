"""medicine page."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t

actor = guard("medicine")
st.title(t("page.medicine"))
