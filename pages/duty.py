"""Duty: My duty first for people with shifts (a phone card), my team today, the on-duty-now board, the planner."""

from qinyuan.ui import duty as view
from qinyuan.ui.auth import guard
from qinyuan.ui.common import get_db

actor = guard("duty")
view.page(get_db(), actor)
