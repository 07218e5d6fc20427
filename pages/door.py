"""A household's own page, opened from its door card's QR code: no login, no staff menu, only that household.
Served by URL as well (a fresh server serves pages/ before any st.navigation): it needs nothing but the link."""

from qinyuan.ui.door import page

page()
