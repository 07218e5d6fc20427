"""Race tests: callables run at once, each in its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(calls: list[Callable[[], object]], timeout: float = 120) -> None:
    """Start every call in its own thread, then wait for all of them (each at most `timeout` seconds)."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
