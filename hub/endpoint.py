"""One Wyoming endpoint serving several programs (tts, asr, intent, handle, pipeline).

Home Assistant builds its STT, TTS and conversation entities from one endpoint's `info`, and a
satellite runs its whole pipeline over one connection, so every capability of the hub shares this
endpoint. The endpoint only moves events: it reads them with size limits, answers `describe` and
`ping` at once, checks the fields that programs rely on (`check_fields`), and hands every other
event to the program that declares it. Programs keep their
per-connection state on the `Connection` and put slow work on its ordered task queue, so the
reading loop is never blocked and a client that disconnects cancels what it started.

Every client is bounded (`Limits`): how many may be connected, how much work and how many bytes
one may have queued, how long a write may wait. A client over a limit gets a Wyoming `error` with
a code and is disconnected; nothing it does can stop the reading loop of another client, or this
one's from answering `ping`. Work that is interrupted (barge-in, a new run, a reset client) is
cancelled without the reading loop waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info
from wyoming.ping import Ping, Pong

from hub import memory
from hub.auth import AUTH, AUTH_OK, AUTH_REQUIRED, UNAUTHORIZED, Authenticator
from voxhub import __version__

_LOGGER = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="voxhub", url="https://github.com/voxhub/voxhub")


class ProtocolError(ValueError):
    """The client sent something that is not a Wyoming event; its connection is closed."""


class Refused(Exception):
    """A client over a limit (or refused a token): it gets an `error` with `code`, then the
    connection is closed. Programs raise it too (pipeline.max_runs)."""

    def __init__(self, text: str, code: str) -> None:
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


_Work = Callable[[], Awaitable[None]]


class Connection:
    """One client: its writer, per-program state and the work it started."""

    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter, peer: str,
                 write_timeout_s: float = 60.0, limits: Limits | None = None,
                 auth: Authenticator | None = None) -> None:
        self.id = next(self._ids)
        self.peer = peer
        self.limits = limits or Limits(write_timeout_s=write_timeout_s)
        self.write_timeout_s = self.limits.write_timeout_s
        self.state: dict[str, Any] = {}
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

    async def send_error(self, text: str, code: str | None = None) -> None:
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
                          "answer", "too-many-requests")
        if self.buffered_bytes + size > limits.max_buffered_bytes:
            raise Refused(f"more than {limits.max_buffered_bytes} bytes of requests waiting "
                          "for an answer", "buffer-full")
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
                await self.send_error(f"internal error: {err}", "internal")
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


class Program(ABC):
    """A capability of the hub, answering the Wyoming event types it declares."""

    #: Event types this program answers.
    event_types: frozenset[str] = frozenset()

    async def start(self) -> None:
        """Load models; called once before the endpoint accepts clients."""

    async def stop(self) -> None:
        """Free resources at shutdown."""

    @abstractmethod
    def describe(self, info: Info) -> None:
        """Add this program's entries (tts, asr, intent, handle, satellite…) to `info`."""

    @abstractmethod
    async def handle(self, event: Event, conn: Connection) -> None:
        """Answer one event. Must return quickly: slow work goes on `conn.run_ordered`."""

    async def closed(self, conn: Connection) -> None:
        """The client is gone: free what this program held for it."""


class Endpoint:
    """Reads events from every client and routes them to the hub's programs."""

    #: Audio events go to the program that started the current audio stream on a connection.
    AUDIO_TYPES = frozenset({"audio-start", "audio-chunk", "audio-stop"})

    def __init__(self, programs: Iterable[Program], max_event_bytes: int = 8 * 1024 * 1024,
                 write_timeout_s: float = 60.0, *, limits: Limits | None = None,
                 auth: Authenticator | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.programs = list(programs)
        self.limits = limits or Limits(max_event_bytes=max_event_bytes,
                                       write_timeout_s=write_timeout_s)
        self.max_event_bytes = self.limits.max_event_bytes
        self.write_timeout_s = self.limits.write_timeout_s
        self.auth = auth or Authenticator(None)
        self.tls = tls
        self._routes: dict[str, Program] = {}
        for program in self.programs:
            for event_type in program.event_types:
                if event_type in self._routes and event_type not in self.AUDIO_TYPES:
                    raise ValueError(f"two programs answer '{event_type}'")
                self._routes.setdefault(event_type, program)
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._trim = memory.Trimmer()
        #: The connections' reading tasks, ended at shutdown.
        self._serving: set[asyncio.Task] = set()

    def info(self) -> Info:
        info = Info()
        for program in self.programs:
            program.describe(info)
        return info

    @staticmethod
    def set_audio_owner(conn: Connection, program: Program | None) -> None:
        """Audio that follows belongs to `program` (the one that got transcribe/run-pipeline)."""
        conn.state["audio_owner"] = program

    async def start(self, uri: str) -> None:
        for program in self.programs:
            await program.start()
        parsed = urlparse(uri)
        if parsed.scheme == "tcps" and self.tls is None:
            raise ValueError(f"server URI '{uri}': tcps:// needs server.tls_cert and "
                             "server.tls_key")
        if parsed.scheme in ("tcp", "tcps"):
            self._server = await asyncio.start_server(
                self._serve, parsed.hostname, parsed.port, limit=self.max_event_bytes,
                ssl=self.tls if parsed.scheme == "tcps" else None,
                ssl_handshake_timeout=10.0 if parsed.scheme == "tcps" else None)
        elif parsed.scheme == "unix":
            self._server = await asyncio.start_unix_server(
                self._serve, parsed.path, limit=self.max_event_bytes)
        else:
            raise ValueError(f"unsupported server URI '{uri}': use tcp://HOST:PORT, "
                             "tcps://HOST:PORT or unix://PATH")
        _LOGGER.info("Wyoming endpoint listening on %s", self.address or uri)

    @property
    def address(self) -> str | None:
        if self._server is None or not self._server.sockets:
            return None
        name = self._server.sockets[0].getsockname()
        if isinstance(name, tuple):
            return f"{'tcps' if self.tls else 'tcp'}://{name[0]}:{name[1]}"
        return f"unix://{name}"

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.sockets:
            return None
        name = self._server.sockets[0].getsockname()
        return name[1] if isinstance(name, tuple) else None

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            await conn.cancel_all()
        serving = [task for task in self._serving if not task.done()]
        for task in serving:
            task.cancel()
        for task in serving:
            await settle(task)
        self._trim.cancel()
        for program in self.programs:
            await program.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn = Connection(writer, str(peer), limits=self.limits, auth=self.auth)
        if len(self.connections) >= self.limits.max_connections:
            _LOGGER.warning("%r refused: %d clients connected (server.max_connections)", conn,
                            len(self.connections))
            await self._refuse(conn, reader, writer, Refused(
                f"the hub serves at most {self.limits.max_connections} connections",
                "too-many-connections"))
            return
        self.connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        _LOGGER.debug("%r connected", conn)
        try:
            while True:
                try:
                    event = await read_event(reader, self.max_event_bytes)
                except ProtocolError as err:
                    _LOGGER.warning("%r: closing connection: %s", conn, err)
                    await conn.send_error(str(err), "protocol")
                    await _let_the_error_arrive(conn, reader, writer)
                    break
                if event is None:
                    break
                try:
                    await self._dispatch(event, conn)
                except Refused as err:
                    _LOGGER.warning("%r: closing connection: %s", conn, err)
                    await conn.send_error(str(err), err.code)
                    await _let_the_error_arrive(conn, reader, writer)
                    break
                del event  # its payload is not kept while the next one is read
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Shutdown: end quietly, since Python 3.11's stream callback logs a cancelled
            # connection task as an "exception in callback".
            pass
        except Exception:  # a bug triggered by one client must not stop the server
            _LOGGER.exception("%r: unexpected error, closing connection", conn)
        finally:
            self.connections.discard(conn)
            await self._close(conn, writer)

    async def _close(self, conn: Connection, writer: asyncio.StreamWriter) -> None:
        """Cancel and await what the client started, free programs' state, close the socket
        (without waiting on a client that reads nothing), and give freed memory back."""
        with contextlib.suppress(asyncio.CancelledError):
            await conn.cancel_all()
        for program in self.programs:
            try:
                await program.closed(conn)
            except Exception:
                _LOGGER.exception("%r: cleanup failed", conn)
        conn.state.clear()
        transport = writer.transport
        if transport.get_write_buffer_size():
            transport.abort()  # a client that stopped reading keeps nothing buffered here
        writer.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await writer.wait_closed()
        _LOGGER.debug("%r disconnected", conn)
        self._trim.soon()

    async def _refuse(self, conn: Connection, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, err: Refused) -> None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await conn.send(Error(text=str(err), code=err.code).event())
        await _let_the_error_arrive(conn, reader, writer)
        conn.closed = True
        writer.transport.abort()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await writer.wait_closed()

    async def _dispatch(self, event: Event, conn: Connection) -> None:
        if Describe.is_type(event.type):
            await conn.send(self.info().event())
            return
        if Ping.is_type(event.type):
            await conn.send(Pong(text=_text_or_none((event.data or {}).get("text"))).event())
            return
        if event.type == AUTH:
            await self._authenticate(event, conn)
            return
        if not self.auth.allows(event.type, conn.authenticated):
            raise Refused(f"'{event.type}' needs authentication: send 'auth' with the hub's "
                          "token first", AUTH_REQUIRED)
        program = None
        if event.type in self.AUDIO_TYPES:
            program = conn.state.get("audio_owner") or self._routes.get(event.type)
        else:
            program = self._routes.get(event.type)
        if program is None:
            _LOGGER.debug("%r: ignoring event type '%s'", conn, event.type)
            return
        if event.type in self.AUDIO_TYPES and self._skip_bad_audio(event, conn):
            return
        conn.event_bytes = len(event.payload or b"") + len(json.dumps(event.data or {}))
        try:
            check_fields(event)
            await program.handle(event, conn)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # Event data of the wrong shape: tell the client and keep the connection.
            _LOGGER.info("%r: bad '%s' event: %r", conn, event.type, err)
            if event.type in ("audio-start", "audio-chunk"):
                conn.state[_BAD_AUDIO] = True  # one error per stream, not one per chunk
            await conn.send_error(f"bad '{event.type}' event: {err}", "bad-event")
        finally:
            conn.event_bytes = 0

    @staticmethod
    def _skip_bad_audio(event: Event, conn: Connection) -> bool:
        """After one refused chunk the rest of that audio stream is ignored (its format is
        refused the same way), until the next audio-start or audio-stop."""
        if event.type == "audio-chunk":
            return bool(conn.state.get(_BAD_AUDIO))
        conn.state.pop(_BAD_AUDIO, None)
        return False

    async def _authenticate(self, event: Event, conn: Connection) -> None:
        if not self.auth.enabled:
            # A hub without a token accepts every client; saying so keeps satellites that are
            # configured with a token working against it.
            conn.authenticated = True
            await conn.send(Event(AUTH_OK, {}))
            return
        proof = self.auth.check(event.data or {})
        if proof is None:
            _LOGGER.warning("%r: refused: wrong or missing token in 'auth'", conn)
            raise Refused("wrong token", UNAUTHORIZED)
        conn.authenticated = True
        _LOGGER.debug("%r authenticated", conn)
        await conn.send(Event(AUTH_OK, {"proof": proof}))


#: Connection state: the current audio stream had a chunk in a refused format.
_BAD_AUDIO = "bad_audio_stream"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _let_the_error_arrive(conn: Connection, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter, seconds: float = 1.0) -> None:
    """Half-close, then discard what the client still sends for a moment (bounded in time).

    Closing a socket that has unread input makes the kernel reset the connection, and a reset
    can destroy the `error` the client has not read yet: the refused client would see only
    "connection reset", never why. The connection counts as closed from here: work still
    running for it stops at its next write."""
    conn.closed = True
    with contextlib.suppress(Exception):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(seconds):
            while await reader.read(65536):
                pass


async def read_event(reader: asyncio.StreamReader, max_bytes: int) -> Event | None:
    """Read one event like wyoming's reader, but with size limits and clear errors."""
    try:
        line = await reader.readline()
    except (asyncio.LimitOverrunError, ValueError) as err:
        raise ProtocolError(f"event header longer than {max_bytes} bytes") from err
    if not line:
        return None
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(f"event header is not JSON: {err}") from err
    except RecursionError as err:  # '[[[[…' fits in the size limit but not in the stack
        raise ProtocolError("event header nests too deeply") from err
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("event header must be a JSON object with a 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event 'data' must be a JSON object")
    data_length = _length(header, "data_length", max_bytes)
    payload_length = _length(header, "payload_length", max_bytes)
    if data_length + payload_length > max_bytes:
        raise ProtocolError(f"event larger than {max_bytes} bytes")
    if data_length:
        raw = await reader.readexactly(data_length)
        try:
            extra = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ProtocolError(f"event data is not JSON: {err}") from err
        except RecursionError as err:
            raise ProtocolError("event data nests too deeply") from err
        if not isinstance(extra, dict):
            raise ProtocolError("event data must be a JSON object")
        data.update(extra)
    payload = await reader.readexactly(payload_length) if payload_length else None
    return Event(type=header["type"], data=data, payload=payload)


#: Audio formats the hub takes in: converting 1 Hz audio to 16 kHz would multiply its size by
#: 16000, so a small chunk could exhaust memory; nothing real is outside these bounds.
AUDIO_BOUNDS = {"rate": (4000, 192000), "width": (1, 4), "channels": (1, 8)}
_VOICE = {"name": str, "language": str, "speaker": str}

#: The fields wyoming's `from_event` reads (and our programs use), with their JSON types, for
#: the events the hub answers; a required field is marked with "!". A wrong type would otherwise
#: surface deep inside a program, after audio had started, as an unhelpful "internal error".
FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "synthesize": {"text!": str, "voice": dict, "text_format": str},
    "synthesize-start": {"voice": dict, "text_format": str},
    "synthesize-chunk": {"text!": str},
    "transcribe": {"name": str, "language": str, "context": dict},
    "audio-start": {f"{name}!": int for name in AUDIO_BOUNDS},
    "audio-chunk": {f"{name}!": int for name in AUDIO_BOUNDS},
    "recognize": {"text!": str, "context": dict},
    "transcript": {"text!": str, "language": str, "context": dict},
    "intent": {"name!": str, "entities": list, "text": str, "context": dict},
    "run-pipeline": {"start_stage!": str, "end_stage!": str, "announce_text": str,
                     "wake_word_name": str, "language": str, "voice": (str, dict),
                     "satellite": dict, "snd_format": dict, "endpointing": dict},
}
_JSON_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "an object",
               list: "a list"}


def check_fields(event: Event) -> None:
    """Raise ValueError naming the field when an event's data has the wrong shape."""
    data = event.data or {}
    _check(data, FIELDS.get(event.type, {}), "")
    voice = data.get("voice")
    if isinstance(voice, dict):
        _check(voice, _VOICE, "voice.")
    if event.type == "intent":
        for entity in data.get("entities") or []:
            if not isinstance(entity, dict):
                raise ValueError("'entities' must be a list of objects with a name and a value")
            _check(entity, {"name!": str}, "entities[].")
    if event.type in ("audio-start", "audio-chunk"):
        for name, (low, high) in AUDIO_BOUNDS.items():
            if not low <= data[name] <= high:
                raise ValueError(f"audio {name} {data[name]} outside {low}..{high}")


def _check(data: dict[str, Any], fields: dict[str, type | tuple[type, ...]], prefix: str,
           ) -> None:
    for key, kind in fields.items():
        name = key.rstrip("!")
        value = data.get(name)
        if value is None:
            if key.endswith("!"):
                raise ValueError(f"'{prefix}{name}' is required")
            continue
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            allowed = " or ".join(_JSON_NAMES[k] for k in kinds)
            raise ValueError(f"'{prefix}{name}' must be {allowed}, not {json.dumps(value)[:40]}")
        if isinstance(value, str):
            _check_unicode(value, prefix + name)


def _check_unicode(text: str, name: str) -> None:
    """JSON may carry a lone surrogate ("\\ud800"), which no encoder can write: refused here,
    before a program starts an audio stream it could not finish."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"'{name}' is not valid Unicode text (a lone surrogate at "
                         f"character {err.start})") from None


def _length(header: dict[str, Any], key: str, max_bytes: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"'{key}' must be a non-negative integer")
    if value > max_bytes:
        raise ProtocolError(f"'{key}' {value} exceeds the limit of {max_bytes} bytes")
    return value


def program_version() -> str:
    return __version__
