"""One client of the endpoint: its writer, its limits, the work it started, what it holds.

Programs put slow work on a connection's ordered queue (one reply at a time, in the order the
requests came) or run it concurrently (a pipeline's listening loop), so the reading loop is never
blocked, and a client that disconnects cancels what it started. Each program keeps its state for
the client in its own `Session`, which the connection holds (`sessions`) from the moment it is
served until it closes; the endpoint's own facts about it (who owns its audio stream, whether
that stream was refused, the `info` last built for it) are typed attributes here.

Every client is bounded (`Limits`): how much work and how many bytes it may have queued, how long
a write may wait. A client over a limit gets a Wyoming `error` with a code (`Refused`) and is
disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wyoming.error import Error
from wyoming.event import Event, async_write_event

from hub.auth import Authenticator
from voxhub.protocol import ErrorCode

if TYPE_CHECKING:
    from hub.endpoint.program import Program, Session

_LOGGER = logging.getLogger(__name__)


class Refused(Exception):
    """A client over a limit (or refused a token): it gets an `error` with `code`, then the
    connection is closed. Programs raise it too (pipeline.max_runs)."""

    def __init__(self, text: str, code: ErrorCode) -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True)
class Limits:
    """What one client may hold (ServerConfig's settings of the same names)."""

    max_event_bytes: int = 8 * 1024 * 1024
    write_timeout_s: float = 60.0
    max_connections: int = 64
    #: Requests (synthesize, recognize, transcribe…) waiting behind the one being answered.
    max_queued_requests: int = 32
    #: Bytes of the events whose work is queued or running on one connection.
    max_buffered_bytes: int = 32 * 1024 * 1024
    #: Events a second one connection is read at once over its burst (`hub/budget.py`).
    max_events_per_s: float = 200.0
    event_burst: int = 1000
    #: New connections a second one host may open over its burst (`hub/budget.py`); None:
    #: unlimited, as for endpoints built without the hub's settings (the hub's is on).
    max_connections_per_s: float | None = None
    connection_burst: int = 100


_Work = Callable[[], Awaitable[None]]


class Connection:
    """One client: its writer, its programs' sessions and the work it started."""

    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter, peer: str,
                 write_timeout_s: float = 60.0, limits: Limits | None = None,
                 auth: Authenticator | None = None) -> None:
        self.id = next(self._ids)
        self.peer = peer
        self.limits = limits or Limits(write_timeout_s=write_timeout_s)
        self.write_timeout_s = self.limits.write_timeout_s
        #: Each program's session for this client, opened when the endpoint serves it.
        self.sessions: dict[Program[Any], Session] = {}
        #: The program the audio that follows belongs to (the one that got transcribe,
        #: run-pipeline or detect); None: audio goes to the program that declares it.
        self.audio_owner: Program[Any] | None = None
        #: The current audio stream had a chunk in a refused format: the rest is ignored.
        self.bad_audio = False
        #: The `info` event last built for this client's `describe`, and when (`info.py`).
        self.described: tuple[float, Event] | None = None
        #: The hub's token policy, and whether this client presented the token (`auth`).
        self.auth = auth or Authenticator(None)
        self.authenticated = False
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._queue: asyncio.Queue[tuple[_Work, int] | None] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        #: Cancelled ordered work still ending: the next work waits for it (no interleaving).
        self._retiring: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        #: Size of the event being dispatched, charged to the work it queues.
        self.event_bytes = 0
        self.buffered_bytes = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.peer}>"

    async def send(self, event: Event) -> None:
        """Write one event; raises ConnectionError once the client is gone.

        A client that stops reading would otherwise hold its rendered audio, and the work
        waiting to send it, for as long as it keeps the socket open: after `write_timeout_s`
        without progress the connection is dropped."""
        if self.closed:
            raise ConnectionResetError("client disconnected")
        async with self._write_lock:
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for returns the write's result
            # when a cancellation arrives as the write completes, and the cancelled work (an
            # interrupted announcement) would go on streaming.
            try:
                async with asyncio.timeout(self.write_timeout_s):
                    await async_write_event(event, self._writer)
            except TimeoutError:
                self.closed = True
                self._writer.transport.abort()
                _LOGGER.warning("%r: closing connection: the client read nothing for %g s",
                                self, self.write_timeout_s)
                raise ConnectionResetError("client stopped reading") from None

    def hang_up(self) -> None:
        """Close the connection once what was sent has gone out: the one ending some clients
        (Home Assistant's TTS, which ignores `error`) take as a failure."""
        self.closed = True
        self._writer.close()

    async def send_error(self, text: str, code: ErrorCode | str | None = None) -> None:
        _LOGGER.info("%r: error %s: %s", self, code, text)
        with contextlib.suppress(ConnectionError):
            await self.send(Error(text=text, code=code).event())

    def run_ordered(self, work: _Work) -> None:
        """Queue work that must run after the connection's earlier work (one reply at a time).

        Raises Refused when the client already has too much queued (the endpoint then closes
        the connection): a client that sends requests faster than they are answered would
        otherwise hold their text and audio without bound."""
        limits = self.limits
        size = self.event_bytes
        if self._queue.qsize() >= limits.max_queued_requests:
            raise Refused(f"more than {limits.max_queued_requests} requests waiting for an "
                          "answer", ErrorCode.TOO_MANY_REQUESTS)
        if self.buffered_bytes + size > limits.max_buffered_bytes:
            raise Refused(f"more than {limits.max_buffered_bytes} bytes of requests waiting "
                          "for an answer", ErrorCode.BUFFER_FULL)
        if self._worker is None:
            self._worker = asyncio.create_task(self._run_queue(self._queue, self._retiring),
                                               name=f"conn{self.id}-work")
            self._worker.add_done_callback(_retrieve)
            self._retiring = None
        self.buffered_bytes += size
        self._queue.put_nowait((work, size))

    def run_concurrent(self, coro: Awaitable[None]) -> asyncio.Task:
        """Start work that may overlap other work (e.g. a pipeline's listening loop)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_retrieve)
        return task

    async def _run_queue(self, queue: asyncio.Queue[tuple[_Work, int] | None],
                         previous: asyncio.Task | None) -> None:
        if previous is not None:
            await settle(previous)
        while True:
            item = await queue.get()
            if item is None:
                return
            work, size = item
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except ConnectionError:
                _LOGGER.debug("%r: client went away during work", self)
            except Refused as err:
                await self.send_error(str(err), err.code)
            except Exception as err:  # one failed request must not end the connection
                _LOGGER.exception("%r: request failed", self)
                await self.send_error(f"internal error: {err}", ErrorCode.INTERNAL)
            finally:
                self.buffered_bytes -= size
                del work, item

    def cancel_ordered(self) -> asyncio.Task | None:
        """Stop the running ordered work and drop what is queued (barge-in: a new pipeline run
        replaces an announcement that is still streaming).

        Does not wait: the reading loop calls it and must go on answering `ping`. Returns the
        cancelled work, which later work waits for (`settle`) before it sends anything."""
        worker, self._worker = self._worker, None
        self._queue = asyncio.Queue()
        self.buffered_bytes = 0
        if worker is None or worker.done():
            return self._retiring
        worker.cancel()
        self._retiring = worker
        return worker

    async def cancel_all(self) -> None:
        self.closed = True
        tasks = [t for t in (self._worker, self._retiring, *self._tasks)
                 if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            await settle(task)
        self._worker = self._retiring = None
        self._queue = asyncio.Queue()

    async def close_sessions(self) -> None:
        """The client is gone: each program frees what it held for it (its session's `close`),
        one failing cleanup not keeping the others from theirs."""
        sessions, self.sessions = self.sessions, {}
        self.audio_owner = None
        for session in sessions.values():
            try:
                await session.close()
            except Exception:
                _LOGGER.exception("%r: cleanup failed", self)


def _retrieve(task: asyncio.Task) -> None:
    """Retrieve a finished task's exception so that asyncio never logs it as unretrieved
    (work that fails logs its own error; a client that went away is not an error)."""
    if not task.cancelled():
        err = task.exception()
        if err is not None and not isinstance(err, ConnectionError):
            _LOGGER.error("%s failed: %r", task.get_name(), err)


async def settle(task: asyncio.Task, timeout_s: float = 10.0) -> None:
    """Wait for a cancelled task to end, without letting its outcome (or a cancellation of the
    waiter) be lost: the waiter's own cancellation is re-raised, the task's is absorbed."""
    if task.done():
        return
    try:
        async with asyncio.timeout(timeout_s):
            await asyncio.wait([task])
    except TimeoutError:
        _LOGGER.warning("%s did not end %g s after it was cancelled", task.get_name(),
                        timeout_s)
