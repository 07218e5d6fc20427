"""Households: the census ledger of every household (敲门行动台账), census visits, import and export."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t
from qinyuan.ui.door_staff import households_block
from qinyuan.ui.households import render

actor = guard("households")
st.title(t("page.households"))
render(actor)
households_block(actor)
