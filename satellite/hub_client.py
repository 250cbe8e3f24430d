"""The satellite's one connection to the hub: find it, keep it alive, reconnect forever.

Why so insistent: the anchors' satellites hang after the hub restarts. Ours pings every few
seconds, treats a missing pong or a closed socket as a lost hub, and reconnects with a doubling
delay (capped) for as long as it runs. The daemon hears about every change through `on_status`,
so it can tell the user (a sound, an MQTT error) and recover silently when the hub returns.

A port that accepts a connection is not yet a hub: Docker's port forwarder accepts while the hub's
container is down, a wrong port may belong to another service. Such a port accepts and then
closes or says nothing; counted as "connected", it made the satellite flap between "hub is back"
and "hub unavailable" (a chime and an MQTT error each time) twice a second. So a connection
counts only once the hub has answered a ping, and until then it is retried with the back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.ping import Ping, Pong

from satellite.config import HubLinkConfig

_LOGGER = logging.getLogger(__name__)

#: What reading a broken or foreign peer can raise (wyoming's reader: KeyError for an event
#: without a type, TypeError or ValueError for malformed data).
_READ_ERRORS = (OSError, asyncio.IncompleteReadError, ValueError, KeyError, TypeError)

EventHandler = Callable[[Event], Awaitable[None]]
StatusHandler = Callable[[bool, str], Awaitable[None]]


async def resolve_hub(config: HubLinkConfig) -> str | None:
    """The configured URI, else whatever zeroconf finds (None: nothing yet)."""
    if config.uri:
        return config.uri
    try:
        from satellite.discovery import find_hub
    except ImportError as err:
        _LOGGER.error("no hub.uri configured and zeroconf discovery is unavailable: %s", err)
        return None
    return await find_hub(config.discovery_timeout_s)


class HubClient:
    """Owns the socket; `send` never blocks on a dead hub, it reports False instead."""

    def __init__(self, config: HubLinkConfig, on_event: EventHandler,
                 on_status: StatusHandler) -> None:
        self.config = config
        self._on_event = on_event
        self._on_status = on_status
        self._client: AsyncClient | None = None
        self._write_lock = asyncio.Lock()
        self._pong = asyncio.Event()
        self.uri: str | None = None
        self.connected = False
        self.connections = 0

    async def send(self, event: Event) -> bool:
        client = self._client
        if client is None or not self.connected:
            return False
        try:
            # asyncio.timeout, not wait_for: no task per event (audio is ~16 events a second)
            async with self._write_lock, asyncio.timeout(self.config.pong_timeout_s):
                await client.write_event(event)
            return True
        except (TimeoutError, OSError, RuntimeError) as err:
            _LOGGER.warning("sending %s to the hub failed: %s", event.type, err)
            await self._drop(client)
            return False

    async def run(self) -> None:
        """Connect, serve, reconnect: forever (until cancelled)."""
        delay = self.config.reconnect_min_s
        while True:
            reason = await self._session()
            if self.connected:  # a working connection ended: start again quickly
                self.connected = False
                delay = self.config.reconnect_min_s
            await self._on_status(False, reason)
            _LOGGER.debug("reconnecting to the hub in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _session(self) -> str:
        """One connection's life; returns why it ended."""
        uri = await resolve_hub(self.config)
        if not uri:
            return "hub not found (no hub.uri and nothing advertised over zeroconf)"
        self.uri = uri
        client = AsyncClient.from_uri(uri, connect_timeout=self.config.connect_timeout_s)
        try:
            await client.connect()
        except (TimeoutError, OSError) as err:
            return f"hub {uri} unreachable: {err}"
        silent = await self._handshake(client)
        if silent is not None:
            await self._drop(client)
            return f"hub {uri} {silent}"
        self._client = client
        self.connected = True
        self.connections += 1
        _LOGGER.info("connected to hub %s", uri)
        await self._on_status(True, f"connected to {uri}")
        pinger = asyncio.create_task(self._keepalive(client))
        try:
            while True:
                try:
                    event = await client.read_event()
                except _READ_ERRORS as err:
                    return f"connection to hub lost: {err!r}"
                if event is None:
                    return "hub closed the connection"
                if Pong.is_type(event.type):
                    self._pong.set()
                    continue
                if Ping.is_type(event.type):
                    await self.send(Pong(text=Ping.from_event(event).text).event())
                    continue
                try:
                    await self._on_event(event)
                except Exception as err:  # one malformed event must not end the link for good
                    _LOGGER.warning("ignored a '%s' event from the hub that could not be "
                                    "handled: %r", event.type, err)
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
            await self._drop(client)

    async def _handshake(self, client: AsyncClient) -> str | None:
        """None once the hub answered a ping; otherwise why the peer is no hub (yet)."""
        try:
            async with asyncio.timeout(self.config.pong_timeout_s):
                await client.write_event(Ping().event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        return "closed the connection without answering a ping"
                    if Pong.is_type(event.type):
                        return None
        except TimeoutError:
            return f"did not answer a ping within {self.config.pong_timeout_s:.1f} s"
        except _READ_ERRORS as err:
            return f"broke the connection before answering a ping: {err!r}"

    async def _keepalive(self, client: AsyncClient) -> None:
        """Ping; a missing pong closes the socket, which ends the read loop."""
        while True:
            self._pong.clear()
            if not await self.send(Ping().event()):
                return
            try:
                await asyncio.wait_for(self._pong.wait(), self.config.pong_timeout_s)
            except TimeoutError:
                _LOGGER.warning("hub did not answer a ping within %.1f s: reconnecting",
                                self.config.pong_timeout_s)
                await self._drop(client)
                return
            await asyncio.sleep(self.config.ping_interval_s)

    async def _drop(self, client: AsyncClient) -> None:
        if self._client is client:
            self._client = None
        writer = getattr(client, "_writer", None)
        if writer is not None:
            writer.close()
        with contextlib.suppress(Exception):
            await client.disconnect()
