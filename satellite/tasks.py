"""The satellite's background tasks, and stopping all of them for sure.

Why a class: work started beside the listener (an MQTT `say`, a follow-up, a replay) must be
forgotten once done, or a satellite that speaks `say` all year keeps every task; and stopping
must really stop, as Python 3.11's `wait_for` (used inside aiomqtt) can swallow a cancellation
that lands as its inner future completes: a stop by systemd would hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Tasks:
    def __init__(self) -> None:
        self.running: list[asyncio.Task] = []

    def add(self, *tasks: asyncio.Task) -> None:
        """Tasks that run as long as the satellite (the hub link, the watchdog, MQTT)."""
        self.running.extend(tasks)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the listener; forgotten as soon as it is done."""
        task = asyncio.create_task(work)
        self.running.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        with contextlib.suppress(ValueError):
            self.running.remove(task)

    async def cancel_all(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        for task in tasks:
            while not task.done():  # ask again until it has ended (see the module docstring)
                await asyncio.wait({task}, timeout=1.0)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
