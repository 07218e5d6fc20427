"""Overview: the compound's key figures, computed from rows."""

import streamlit as st

from qinyuan import kpi
from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db, t
from qinyuan.ui.widgets import kpi_areas

actor = guard("overview")
st.title(t("page.overview"))
kpi_areas(kpi.compute(get_db(), units=actor.scope()))
