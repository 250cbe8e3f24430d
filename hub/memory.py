"""Giving freed memory back to the system, so that a long-running hub does not only grow.

glibc keeps freed heap memory in its arenas for reuse; after a burst of clients (each holding
audio, events of several megabytes, VAD state) the hub's resident size stays at the burst's peak
although Python freed everything. Two remedies, both no-ops where glibc is not the allocator:

- fewer arenas (`limit_arenas`, like MALLOC_ARENA_MAX=2): every thread that allocates (the
  inference and VAD pools, the default executor) would otherwise get an arena of its own, and
  a freed block in one arena cannot serve another thread;
- `malloc_trim(0)` after connections end (`Trimmer`), at most once a second, off the event loop:
  it returns free pages of every arena, not only the top of the main heap.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time

_LOGGER = logging.getLogger(__name__)
#: mallopt's parameter number for the arena count (glibc malloc.h).
_M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only (musl has none)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas; call before threads start. True when it took effect."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, count))


def trim() -> bool:
    """Return free heap memory to the system (blocking, a few ms). True when some was."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


class Trimmer:
    """Trims after connections end: at most once per `interval_s`, in a worker thread."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._last = 0.0
        self._pending: asyncio.TimerHandle | None = None
        self._running: asyncio.Future | None = None

    def soon(self) -> None:
        if _LIBC is None or self._pending is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last + self.interval_s - time.monotonic())
        self._pending = loop.call_later(delay, self._start, loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pending = None
        if self._running is not None and not self._running.done():
            self.soon()
            return
        self._last = time.monotonic()
        self._running = loop.run_in_executor(None, trim)
        self._running.add_done_callback(lambda f: f.cancelled() or f.exception())

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
