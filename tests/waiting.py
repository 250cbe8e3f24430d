"""Waiting in tests for what the code under test reaches on its own time.

One helper for every such wait, with a deadline generous enough for CI's busy 2-core machine:
a wait that passes in milliseconds here once took longer than five seconds there, while the whole
suite and its session-wide models shared the two cores. The deadline only bounds a hang; the
wait ends as soon as the condition holds, so a generous one costs nothing when things work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: The longest a test waits for a condition before failing (CI's machine is shared and slow).
DEADLINE_S = 30.0


async def wait_until(predicate: Callable[[], object], timeout: float = DEADLINE_S,
                     what: str = "", step: float = 0.02) -> bool:
    """True as soon as `predicate()` holds; AssertionError naming `what` after `timeout` s.

    Returns True so that `assert await wait_until(...)` reads as the assertion it is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        await asyncio.sleep(step)
    return True
