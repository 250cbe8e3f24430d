"""The satellite's one connection to the hub: find it, keep it alive, reconnect forever.

Why so insistent: other satellites are known to hang after their server restarts. Ours pings
every few seconds, treats a missing pong or a closed socket as a lost hub, and reconnects with
a doubling delay (capped) for as long as it runs. The daemon hears about every change through
`on_status`, so it can tell the user (a sound, an MQTT error) and recover silently when the
hub returns.

A port that accepts a connection is not yet a hub: Docker's port forwarder accepts while the hub's
container is down, a wrong port may belong to another service. Such a port accepts and then
closes or says nothing; counted as "connected", it made the satellite flap between "hub is back"
and "hub unavailable" (a chime and an MQTT error each time) twice a second. So a connection
counts only once the hub has answered a ping, and until then it is retried with the back-off.
Nor does a connection that ends soon after (a hub that answers the ping and closes at once, a
crash loop): only one that lasted `hub.stable_s` resets the back-off.

With `hub.fallback_uri`, the hubs are tried in order on every attempt, so the satellite goes back
to the first one as soon as it answers again. With a token (`hub.token`), `auth` is the first
event (satellite/hub_auth.py); a refused token is logged once, naming the setting, and retried
only at the longest back-off: a wrong token cannot make the satellite hammer the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from wyoming.client import AsyncClient, AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.ping import Ping, Pong

from satellite import hub_auth
from satellite.config import HubLinkConfig
from voxhub.protocol import AuthOk, ErrorCode

_LOGGER = logging.getLogger(__name__)

#: What reading a broken or foreign peer can raise (wyoming's reader: KeyError for an event
#: without a type, TypeError or ValueError for malformed data).
_READ_ERRORS = (OSError, asyncio.IncompleteReadError, ValueError, KeyError, TypeError)

EventHandler = Callable[[Event], Awaitable[None]]
StatusHandler = Callable[[bool, str], Awaitable[None]]


def _error_of(event: Event) -> Error:
    """A hub's `error`, read even when its text is missing (a foreign peer's)."""
    try:
        return Error.from_event(event)
    except (KeyError, TypeError):
        return Error(text="(no text)")


async def resolve_hubs(config: HubLinkConfig) -> tuple[list[str], bool]:
    """The configured URIs, else whatever zeroconf finds; and whether they were discovered."""
    if config.uris:
        return config.uris, False
    try:
        from satellite.discovery import find_hub
    except ImportError as err:
        _LOGGER.error("no hub.uri configured and zeroconf discovery is unavailable: %s", err)
        return [], True
    found = await find_hub(config.discovery_timeout_s)
    return ([found] if found else []), True


class TlsTcpClient(AsyncTcpClient):
    """wyoming's TCP client over TLS (tcps://HOST:PORT)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext,
                 connect_timeout: float | None = None) -> None:
        super().__init__(host, port, connect_timeout=connect_timeout)
        self._context = context

    async def connect(self) -> None:
        connect = asyncio.open_connection(host=self.host, port=self.port, ssl=self._context)
        if self.connect_timeout is not None:
            connect = asyncio.wait_for(connect, timeout=self.connect_timeout)
        self._reader, self._writer = await connect


def tls_context(config: HubLinkConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(config.tls_ca) if config.tls_ca else None)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def make_client(uri: str, config: HubLinkConfig) -> AsyncClient:
    parsed = urlparse(uri)
    if parsed.scheme == "tcps":
        assert parsed.hostname is not None and parsed.port is not None
        return TlsTcpClient(parsed.hostname, parsed.port, tls_context(config),
                            connect_timeout=config.connect_timeout_s)
    return AsyncClient.from_uri(uri, connect_timeout=config.connect_timeout_s)


class Refused(Exception):
    """The hub refused the token: not a reason to try again soon."""


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
        self.refused = False  # the last attempt was refused (wrong or missing token)
        self.lost_at: float | None = None  # when the last working connection ended
        self._up = asyncio.Event()
        self._reported = ""

    def lost_within(self, seconds: float) -> bool:
        """Whether the hub went away less than `seconds` ago (it may be restarting)."""
        return (not self.connected and self.lost_at is not None and
                time.monotonic() - self.lost_at < seconds)

    async def wait_connected(self, timeout: float) -> bool:
        """Until a hub answers (True) or `timeout` seconds have passed (False)."""
        if self.connected:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._up.wait()
        return self.connected

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
            began = time.monotonic()
            reason = await self._session()
            if self.connected:  # a connection ended; start again quickly if it had lasted
                self.connected = False
                self._up.clear()
                self.lost_at = time.monotonic()
                if time.monotonic() - began >= self.config.stable_s:
                    delay = self.config.reconnect_min_s
            if self.refused:
                delay = self.config.reconnect_max_s
                if reason != self._reported:
                    _LOGGER.error("%s", reason)
                    self._reported = reason
            await self._on_status(False, reason)
            _LOGGER.debug("reconnecting to the hub in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _session(self) -> str:
        """One connection's life (to the first hub that answers); returns why it ended."""
        uris, discovered = await resolve_hubs(self.config)
        if not uris:
            return "hub not found (no hub.uri and nothing advertised over zeroconf)"
        self.refused = False
        reasons = []
        for uri in uris:
            client, why = await self._open(uri, discovered)
            if client is not None:
                return await self._serve(uri, client)
            reasons.append(why)
        return "; ".join(reasons)

    async def _open(self, uri: str, discovered: bool) -> tuple[AsyncClient | None, str]:
        """A connected client that answered the handshake, or None and why not."""
        client = make_client(uri, self.config)
        try:
            await client.connect()
        except (TimeoutError, OSError) as err:  # ssl.SSLError is an OSError
            return None, f"hub {uri} unreachable: {err}"
        try:
            silent = await self._handshake(client, discovered)
        except Refused as err:
            self.refused = True
            silent = str(err)
        if silent is not None:
            await self._drop(client)
            return None, f"hub {uri} {silent}"
        return client, ""

    async def _serve(self, uri: str, client: AsyncClient) -> str:
        self.uri = uri
        self._client = client
        self.connected = True
        self.refused = False  # an earlier hub of the list may have refused the token
        self._up.set()
        self._reported = ""
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

    async def _handshake(self, client: AsyncClient, discovered: bool = False) -> str | None:
        """None once the hub accepted the token (if any) and answered a ping; otherwise why
        the peer is no hub (yet). Raises Refused when the hub refused the token."""
        token = self.config.resolve_token()
        asked = "auth (hub.token is set)" if token else "a ping"
        try:
            async with asyncio.timeout(self.config.pong_timeout_s):
                if token and (why := await self._authenticate(client, token,
                                                              discovered)) is not None:
                    return why
                asked = "a ping"
                await client.write_event(Ping().event())
                while True:
                    event = await client.read_event()
                    if event is None:
                        return "closed the connection without answering a ping"
                    if Pong.is_type(event.type):
                        return None
        except TimeoutError:
            return f"did not answer {asked} within {self.config.pong_timeout_s:.1f} s"
        except _READ_ERRORS as err:
            return f"broke the connection before answering a ping: {err!r}"

    async def _authenticate(self, client: AsyncClient, token: str,
                            discovered: bool) -> str | None:
        nonce = hub_auth.new_nonce()
        await client.write_event(hub_auth.auth_event(token, nonce))
        while True:
            event = await client.read_event()
            if event is None:
                return "closed the connection without answering auth"
            if AuthOk.is_type(event.type):
                try:
                    proof = AuthOk.from_event(event).proof
                except ValueError as err:
                    return f"answered auth with a malformed auth-ok: {err}"
                if proof is None and not discovered:
                    return None  # a configured hub that does not prove itself (older hub)
                if hub_auth.proof_ok(token, nonce, proof):
                    return None
                return ("did not prove it knows hub.token (a hub found over zeroconf must): "
                        "not used")
            if Error.is_type(event.type):
                error = _error_of(event)
                if error.code == ErrorCode.UNAUTHORIZED:
                    raise Refused("refused the token (hub.token / hub.token_file / "
                                  "$VOXHUB_HUB_TOKEN): check that it is the hub's "
                                  "server.token; retrying every "
                                  f"{self.config.reconnect_max_s:.0f} s")
                return f"answered auth with an error: {str(error.text)[:200]}"

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
