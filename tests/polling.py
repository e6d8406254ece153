"""Synchronisation by polling real state: the one way tests wait (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout_s: float = 30, interval_s: float = 0.02) -> bool:
    """Poll ``condition`` until it is true; False past ``timeout_s``, which only bounds a failure."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
    return True
