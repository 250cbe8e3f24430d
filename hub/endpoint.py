"""One Wyoming endpoint serving several programs (tts, asr, intent, handle, pipeline).

Home Assistant builds its STT, TTS and conversation entities from one endpoint's `info`, and a
satellite runs its whole pipeline over one connection, so every capability of the hub shares this
endpoint. The endpoint only moves events: it reads them with size limits, answers `describe` and
`ping` at once, checks the fields that programs rely on (`check_fields`), and hands every other
event to the program that declares it. Programs keep their
per-connection state on the `Connection` and put slow work on its ordered task queue, so the
reading loop is never blocked and a client that disconnects cancels what it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info
from wyoming.ping import Ping, Pong

from voxhub import __version__

_LOGGER = logging.getLogger(__name__)

ATTRIBUTION = Attribution(name="voxhub", url="https://github.com/voxhub/voxhub")


class ProtocolError(ValueError):
    """The client sent something that is not a Wyoming event; its connection is closed."""


class Connection:
    """One client: its writer, per-program state and the work it started."""

    _ids = itertools.count(1)

    def __init__(self, writer: asyncio.StreamWriter, peer: str,
                 write_timeout_s: float = 60.0) -> None:
        self.id = next(self._ids)
        self.peer = peer
        self.write_timeout_s = write_timeout_s
        self.state: dict[str, Any] = {}
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
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
            try:
                await asyncio.wait_for(async_write_event(event, self._writer),
                                       self.write_timeout_s)
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

    def run_ordered(self, work: Callable[[], Awaitable[None]]) -> None:
        """Queue work that must run after the connection's earlier work (one reply at a time)."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._run_queue(), name=f"conn{self.id}-work")
        self._queue.put_nowait(work)

    def run_concurrent(self, coro: Awaitable[None]) -> asyncio.Task:
        """Start work that may overlap other work (e.g. a pipeline's listening loop)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_queue(self) -> None:
        while True:
            work = await self._queue.get()
            if work is None:
                return
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except ConnectionError:
                _LOGGER.debug("%r: client went away during work", self)
            except Exception as err:  # one failed request must not end the connection
                _LOGGER.exception("%r: request failed", self)
                await self.send_error(f"internal error: {err}", "internal")

    async def cancel_ordered(self) -> None:
        """Stop the running ordered work and drop what is queued (barge-in: a new pipeline run
        replaces an announcement that is still streaming)."""
        worker, self._worker = self._worker, None
        self._queue = asyncio.Queue()
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    async def cancel_all(self) -> None:
        self.closed = True
        tasks = [t for t in (self._worker, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


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
                 write_timeout_s: float = 60.0) -> None:
        self.programs = list(programs)
        self.max_event_bytes = max_event_bytes
        self.write_timeout_s = write_timeout_s
        self._routes: dict[str, Program] = {}
        for program in self.programs:
            for event_type in program.event_types:
                if event_type in self._routes and event_type not in self.AUDIO_TYPES:
                    raise ValueError(f"two programs answer '{event_type}'")
                self._routes.setdefault(event_type, program)
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None

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
        if parsed.scheme == "tcp":
            self._server = await asyncio.start_server(
                self._serve, parsed.hostname, parsed.port, limit=self.max_event_bytes)
        elif parsed.scheme == "unix":
            self._server = await asyncio.start_unix_server(
                self._serve, parsed.path, limit=self.max_event_bytes)
        else:
            raise ValueError(f"unsupported server URI '{uri}': use tcp://HOST:PORT or unix://PATH")
        _LOGGER.info("Wyoming endpoint listening on %s", self.address or uri)

    @property
    def address(self) -> str | None:
        if self._server is None or not self._server.sockets:
            return None
        name = self._server.sockets[0].getsockname()
        if isinstance(name, tuple):
            return f"tcp://{name[0]}:{name[1]}"
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
        for program in self.programs:
            await program.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn = Connection(writer, str(peer), self.write_timeout_s)
        self.connections.add(conn)
        _LOGGER.debug("%r connected", conn)
        try:
            while True:
                try:
                    event = await read_event(reader, self.max_event_bytes)
                except ProtocolError as err:
                    _LOGGER.warning("%r: closing connection: %s", conn, err)
                    await conn.send_error(str(err), "protocol")
                    break
                if event is None:
                    break
                await self._dispatch(event, conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Shutdown: end quietly, since Python 3.11's stream callback logs a cancelled
            # connection task as an "exception in callback".
            pass
        except Exception:  # a bug triggered by one client must not stop the server
            _LOGGER.exception("%r: unexpected error, closing connection", conn)
        finally:
            self.connections.discard(conn)
            await conn.cancel_all()
            for program in self.programs:
                try:
                    await program.closed(conn)
                except Exception:
                    _LOGGER.exception("%r: cleanup failed", conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            _LOGGER.debug("%r disconnected", conn)

    async def _dispatch(self, event: Event, conn: Connection) -> None:
        if Describe.is_type(event.type):
            await conn.send(self.info().event())
            return
        if Ping.is_type(event.type):
            await conn.send(Pong(text=(event.data or {}).get("text")).event())
            return
        program = None
        if event.type in self.AUDIO_TYPES:
            program = conn.state.get("audio_owner") or self._routes.get(event.type)
        else:
            program = self._routes.get(event.type)
        if program is None:
            _LOGGER.debug("%r: ignoring event type '%s'", conn, event.type)
            return
        try:
            check_fields(event)
            await program.handle(event, conn)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # Event data of the wrong shape: tell the client and keep the connection.
            _LOGGER.info("%r: bad '%s' event: %r", conn, event.type, err)
            await conn.send_error(f"bad '{event.type}' event: {err}", "bad-event")


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


def _length(header: dict[str, Any], key: str, max_bytes: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"'{key}' must be a non-negative integer")
    if value > max_bytes:
        raise ProtocolError(f"'{key}' {value} exceeds the limit of {max_bytes} bytes")
    return value


def program_version() -> str:
    return __version__
