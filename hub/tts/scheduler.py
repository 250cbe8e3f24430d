"""Which piece of speech the Kokoro threads render next: new requests' first pieces, then the
later pieces of long replies, most urgent first.

A first-come-first-served pool lets one busy client delay everyone: every piece already queued
for other replies is rendered before a new request's first piece, although those replies' earlier
pieces are still playing, while the new request's listener hears nothing at all. Here:

- a request's first piece goes ahead of later pieces, first pieces among themselves in the order
  they came (so clients are served in turn);
- later pieces are taken by their deadline, when the audio already handed to their listener runs
  out less what the previous piece took to render (`Pacer`), the most urgent first;
- a later piece that `MAX_SKIPS` first pieces went ahead of goes next, so a long reply is never
  starved by a stream of new requests, however busy the machine (counted, not timed: under
  overload every piece is late and deadlines no longer say who should wait).

Each reply has at most one piece waiting here or rendering, and renders it only once its client
has taken the previous one (`Synthesizer.stream`): a client with a backlog, or one that stops
reading, holds one place in the line, as every other client does.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

_LOGGER = logging.getLogger(__name__)

#: First pieces that may go ahead of one later piece before it is taken regardless.
MAX_SKIPS = 2


@dataclass(frozen=True)
class RenderRecord:
    """One render as it started: whose, which piece of its reply, and how urgent it was."""

    client: str
    piece: int
    #: Seconds from the start of the render to the piece's deadline (negative: already late).
    slack_s: float


@dataclass
class _Job:
    deadline: float
    order: int
    client: str
    piece: int
    work: Callable[[], Any]
    future: Future
    #: First pieces taken while this later piece waited.
    skipped: int = 0


class RenderScheduler:
    """`workers` threads taking pieces in the order above; loop-agnostic (the futures are
    concurrent ones), so one synthesizer serves every event loop that uses it."""

    def __init__(self, workers: int, name: str = "kokoro", clock: Callable[[], float] =
                 time.monotonic) -> None:
        self.workers = workers
        self.name = name
        self.clock = clock
        #: The latest renders in the order they started (debugging, tests).
        self.recent: deque[RenderRecord] = deque(maxlen=512)
        self._jobs: list[_Job] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, work: Callable[[], Any], deadline: float, client: str = "",
               piece: int = 0) -> Future:
        """Queue `work`, piece number `piece` of a reply (0: the first), due at `deadline` (on
        `clock`); cancel the returned future to withdraw it (a client that went away), which is
        then never run."""
        future: Future = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the synthesizer is closed")
            self._jobs.append(_Job(deadline, next(self._order), client, piece, work, future))
            if len(self._threads) < self.workers:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self.name}-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._ready.notify()
        return future

    def pending(self) -> int:
        """Pieces waiting for a thread (withdrawn ones included until a thread skips them)."""
        with self._ready:
            return len(self._jobs)

    def close(self) -> None:
        """Withdraw what waits and let the threads end after their current render."""
        with self._ready:
            self._closed = True
            jobs, self._jobs = self._jobs, []
            self._ready.notify_all()
        for job in jobs:
            job.future.cancel()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                job = self._next()
            if not job.future.set_running_or_notify_cancel():
                continue  # withdrawn while it waited
            record = RenderRecord(job.client, job.piece, job.deadline - self.clock())
            self.recent.append(record)
            _LOGGER.debug("rendering %s piece %d (%+.2f s to its deadline, %d waiting)",
                          job.client, job.piece, record.slack_s, len(self._jobs))
            try:
                result = job.work()
            except BaseException as err:  # handed to the awaiting stream, which re-raises it
                job.future.set_exception(err)
            else:
                job.future.set_result(result)
            del job


    def _next(self) -> _Job:
        """Take the next job (called holding the lock; a few dozen jobs at most, one a reply)."""
        later = [j for j in self._jobs if j.piece > 0]
        starved = [j for j in later if j.skipped >= MAX_SKIPS]
        first = [j for j in self._jobs if j.piece == 0]
        if starved:
            job = min(starved, key=lambda j: (j.deadline, j.order))
        elif first:
            job = min(first, key=lambda j: j.order)
            for waiting in later:
                waiting.skipped += 1
        else:
            job = min(later, key=lambda j: (j.deadline, j.order))
        self._jobs.remove(job)
        return job


class Pacer:
    """The deadlines of one reply's pieces: the first now, each later one when the audio handed
    out so far would have played, less what the previous piece took to render."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._started: float | None = None
        self._audio_s = 0.0
        self._render_s = 0.0

    def deadline(self) -> float:
        if self._started is None:
            return self.clock()
        return self._started + self._audio_s - self._render_s

    def rendered(self, audio_s: float, render_s: float) -> None:
        """A piece of `audio_s` seconds is ready, after `render_s` seconds of rendering."""
        if self._started is None:
            self._started = self.clock()
        self._audio_s += audio_s
        self._render_s = render_s


__all__ = ["Pacer", "RenderRecord", "RenderScheduler"]
