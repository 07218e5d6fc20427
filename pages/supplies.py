"""Supplies: donated vegetables ticked per room, groceries, stock and the carrying squad."""

import streamlit as st

from qinyuan.ui.auth import guard
from qinyuan.ui.common import t
from qinyuan.ui.supplies import render

actor = guard("supplies")
st.title(t("page.supplies"))
render(actor)
