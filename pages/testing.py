"""Testing: rounds by building and time slot, results per resident, the miss-no-one board."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t
from qinyuan.ui.testing import render

actor = guard("testing")
st.title(t("page.testing"))
render(actor)
