"""Overview: what needs doing now, key figures with their change since yesterday, trends, the
units at a glance, and the daily briefing; per role (committee, captain, member)."""

from qinyuan.ui.auth import guard
from qinyuan.ui.overview import page

actor = guard("overview")
page(actor)
