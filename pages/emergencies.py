"""emergencies page."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t

actor = guard("emergencies")
st.title(t("page.emergencies"))
