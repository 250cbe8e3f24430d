"""The endpoint: the listening socket, and one reading loop per client.

Each client is read by its own loop, which hands every event to the router (`routing.py`) and
never waits for a program's work. How many clients may be connected, how fast one host may
connect and how fast one client's events are read are bounded here (`Limits`,
`hub/budget.py`); a client over a limit gets its `error` and is disconnected, and nothing it does
can stop another client's loop, or its own from answering `ping`. When a client goes, what it
started is cancelled without the loop waiting for it, its programs' sessions are closed, and
freed memory goes back to the system.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.info import Info

from hub import memory
from hub.auth import Authenticator
from hub.budget import ConnectionRate, EventBudget
from hub.endpoint.connection import Connection, Limits, Refused, settle
from hub.endpoint.info import build_info
from hub.endpoint.program import Program
from hub.endpoint.reading import (
    MAX_HEADER_BYTES,
    ProtocolError,
    let_the_error_arrive,
    pause_reading,
    read_sized_event,
)
from hub.endpoint.routing import Router
from voxhub.protocol import ErrorCode

_LOGGER = logging.getLogger(__name__)


class Endpoint:
    """Reads events from every client and routes them to the hub's programs."""

    def __init__(self, programs: Iterable[Program[Any]], max_event_bytes: int = 8 * 1024 * 1024,
                 write_timeout_s: float = 60.0, *, limits: Limits | None = None,
                 auth: Authenticator | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.programs = list(programs)
        self.limits = limits or Limits(max_event_bytes=max_event_bytes,
                                       write_timeout_s=write_timeout_s)
        self.max_event_bytes = self.limits.max_event_bytes
        #: The stream readers' line limit (they also buffer at most twice this unread).
        self.header_bytes = min(self.max_event_bytes, MAX_HEADER_BYTES)
        self.write_timeout_s = self.limits.write_timeout_s
        self.auth = auth or Authenticator(None)
        self.tls = tls
        self.router = Router(self.programs, self.auth)
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._trim = memory.Trimmer()
        self._rate = (None if self.limits.max_connections_per_s is None else ConnectionRate(
            self.limits.max_connections_per_s, self.limits.connection_burst))
        #: The connections' reading tasks, ended at shutdown.
        self._serving: set[asyncio.Task] = set()

    def info(self) -> Info:
        return build_info(self.programs)

    async def start(self, uri: str) -> None:
        for program in self.programs:
            await program.start()
        parsed = urlparse(uri)
        if parsed.scheme == "tcps" and self.tls is None:
            raise ValueError(f"server URI '{uri}': tcps:// needs server.tls_cert and "
                             "server.tls_key")
        if parsed.scheme in ("tcp", "tcps"):
            self._server = await asyncio.start_server(
                self._serve, parsed.hostname, parsed.port, limit=self.header_bytes,
                ssl=self.tls if parsed.scheme == "tcps" else None,
                ssl_handshake_timeout=10.0 if parsed.scheme == "tcps" else None)
        elif parsed.scheme == "unix":
            self._server = await asyncio.start_unix_server(
                self._serve, parsed.path, limit=self.header_bytes)
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
        host = peer[0] if isinstance(peer, tuple) and peer else None
        if self._rate is not None and host is not None and not self._rate.admit(host):
            await self._refuse_fast(conn, reader, writer, host)
            return
        if len(self.connections) >= self.limits.max_connections:
            _LOGGER.warning("%r refused: %d clients connected (server.max_connections)", conn,
                            len(self.connections))
            await self._refuse(conn, reader, writer, Refused(
                f"the hub serves at most {self.limits.max_connections} connections",
                ErrorCode.TOO_MANY_CONNECTIONS))
            return
        self.connections.add(conn)
        self.router.open_sessions(conn)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        _LOGGER.debug("%r connected", conn)
        budget = EventBudget(self.limits.max_events_per_s, self.limits.event_burst)
        try:
            while True:
                try:
                    sized = await read_sized_event(reader, self.max_event_bytes,
                                                   self.header_bytes)
                except ProtocolError as err:
                    _LOGGER.warning("%r: closing connection: %s", conn, err)
                    await conn.send_error(str(err), ErrorCode.PROTOCOL)
                    await let_the_error_arrive(conn, reader, writer)
                    break
                if sized is None:
                    break
                event, size = sized
                try:
                    await self.router.dispatch(event, conn)
                except Refused as err:
                    _LOGGER.warning("%r: closing connection: %s", conn, err)
                    await conn.send_error(str(err), err.code)
                    await let_the_error_arrive(conn, reader, writer)
                    break
                del event, sized  # its payload is not kept while the next one is read
                pause_s = budget.spend(budget.cost(size))
                if pause_s:
                    await pause_reading(conn, writer, budget, pause_s)
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
        """Cancel and await what the client started, close its sessions, close the socket
        (without waiting on a client that reads nothing), and give freed memory back."""
        with contextlib.suppress(asyncio.CancelledError):
            await conn.cancel_all()
        await conn.close_sessions()
        transport = writer.transport
        if transport.get_write_buffer_size():
            transport.abort()  # a client that stopped reading keeps nothing buffered here
        writer.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await writer.wait_closed()
        _LOGGER.debug("%r disconnected", conn)
        self._trim.soon()

    async def _refuse_fast(self, conn: Connection, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter, host: str) -> None:
        """A host over server.max_connections_per_s: its `error`, and its connection closed
        after reading at most a little of what it sent (a reconnecting flooder's megabytes
        are not read), logged once per `ConnectionRate.WARN_EVERY_S`."""
        assert self._rate is not None
        if refused := self._rate.refusals_to_log(host):
            _LOGGER.warning("%s: %d connection(s) refused: more than %g new connections a "
                            "second (server.max_connections_per_s)", host, refused,
                            self._rate.rate)
        await self._refuse(conn, reader, writer, Refused(
            f"more than {self._rate.rate:g} new connections a second from {host}",
            ErrorCode.TOO_MANY_CONNECTIONS), discard_bytes=16 * 1024)

    async def _refuse(self, conn: Connection, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, err: Refused,
                      discard_bytes: int = 256 * 1024) -> None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await conn.send(Error(text=str(err), code=err.code).event())
        await let_the_error_arrive(conn, reader, writer, max_bytes=discard_bytes)
        conn.closed = True
        writer.transport.abort()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                await writer.wait_closed()
