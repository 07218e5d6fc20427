"""Fixtures of the unit tests: a hand-moved real clock (logins, cookies)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qinyuan import clock


@pytest.fixture
def fake_clock(monkeypatch):
    """Move the real clock (used for logins and cookies) by hand."""
    state = {"now": clock.real_now()}
    monkeypatch.setattr(clock, "real_now", lambda: state["now"])

    def advance(**delta):
        state["now"] = state["now"] + timedelta(**delta)
        return state["now"]

    advance.now = lambda: state["now"]
    return advance
