"""One MQTT broker connection kept up forever, delivering an on-disk outbox oldest first.

Shared by the satellite (its results, retained states and command topics) and the hub (the
results of the requests it serves itself), so both reconnect, back off, report a broker that is
down once rather than per attempt, and deliver results in order without losing them the same
way. What is published when connected (availability, discovery, subscriptions) is the user's
`on_connect`; what arrives on subscribed topics goes to `listen`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiomqtt

from voxhub.outbox import Outbox

_LOGGER = logging.getLogger(__name__)

#: Backoff between connection attempts: first and most (seconds).
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0


@dataclass
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_broker_url(url: str, username: str | None = None,
                     password: str | None = None) -> BrokerAddress:
    """mqtt[s]://[user[:pass]@]host[:port]; `username`/`password` given here take precedence."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parsed.hostname:
        raise ValueError(f"MQTT URL {url!r}: no host")
    tls = parsed.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        parsed.hostname, parsed.port or (8883 if tls else 1883), tls,
        username or (unquote(parsed.username) if parsed.username else None),
        password or (unquote(parsed.password) if parsed.password else None))


class MqttLink:
    """The connection loop and the outbox drain; `client` is the live client or None."""

    def __init__(self, address: BrokerAddress, identifier: str, outbox: Outbox, *,
                 keepalive_s: int = 30, ca_file: Path | None = None,
                 will: tuple[str, str] | None = None,
                 on_connect: Callable[[aiomqtt.Client], Awaitable[None]] | None = None,
                 listen: Callable[[aiomqtt.Client], Coroutine[object, object, None]] | None = None,
                 ) -> None:
        self.address = address
        self.identifier = identifier
        self.outbox = outbox
        self.keepalive_s = keepalive_s
        self.ca_file = ca_file
        self.will = will
        self._on_connect = on_connect
        self._listen = listen
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()

    def client_args(self) -> dict[str, object]:
        tls_params = None
        if self.address.tls:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=str(self.ca_file) if self.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED)
        will = None
        if self.will is not None:
            will = aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True)
        return {"hostname": self.address.host, "port": self.address.port,
                "username": self.address.username, "password": self.address.password,
                "identifier": self.identifier, "keepalive": self.keepalive_s,
                "tls_params": tls_params, "will": will, "timeout": 10}

    async def run(self) -> None:
        """Connect, run `on_connect`, serve the outbox and `listen`; reconnect forever."""
        delay = RETRY_FIRST_S
        reported = ""  # why the broker is unavailable, as last logged: once, not per attempt
        while True:
            _stop_if_cancelled()
            try:
                async with aiomqtt.Client(**self.client_args()) as client:  # type: ignore[arg-type]
                    _stop_if_cancelled()
                    self.client = client
                    delay = RETRY_FIRST_S
                    reported = ""
                    if self._on_connect is not None:
                        await self._on_connect(client)
                    self.connected.set()
                    _LOGGER.info("MQTT connected to %s:%s", self.address.host,
                                 self.address.port)
                    await self._serve(client)
            except aiomqtt.MqttError as err:
                if _cancelling():
                    # Cancelled while connected: aiomqtt's disconnect on the way out can fail
                    # (a broker that does not answer it) and its MqttError would replace the
                    # CancelledError; caught here, the loop would reconnect for ever and
                    # whoever is closing the link would wait for ever.
                    raise asyncio.CancelledError from err
                if self.connected.is_set():
                    _LOGGER.warning("MQTT connection lost: %s", err)
                elif str(err) != reported:  # down at start, wrong password: say so, once
                    _LOGGER.warning("MQTT broker %s:%s unavailable: %s (retrying; results wait "
                                    "in the outbox)", self.address.host, self.address.port, err)
                    reported = str(err)
                else:
                    _LOGGER.debug("MQTT broker still unavailable: %s", err)
            finally:
                self.client = None
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _serve(self, client: aiomqtt.Client) -> None:
        tasks = {asyncio.create_task(self._drain(client))}
        if self._listen is not None:
            tasks.add(asyncio.create_task(self._listen(client)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # re-raise the MqttError that ended the connection
        finally:
            pending = tasks
            while pending:  # again for one whose cancellation a wait_for swallowed
                for task in pending:
                    task.cancel()
                _, pending = await asyncio.wait(pending, timeout=1)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Oldest first; a message leaves the disk only once the broker acknowledged it."""
        while True:
            await self.outbox.wait()
            message = self.outbox.peek()
            if message is None:
                continue
            await client.publish(message.topic, message.payload, qos=message.qos,
                                 retain=message.retain, timeout=10)
            self.outbox.remove(message.seq)
            _stop_if_cancelled()


def _cancelling() -> bool:
    """Whether the running task has been asked to stop (Python 3.11's `Task.cancelling`)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _stop_if_cancelled() -> None:
    """Python 3.11's `asyncio.wait_for` (inside aiomqtt's connect and publish) returns the
    result instead of raising when the task is cancelled just as the awaited future completes;
    the request to stop is still counted, and honoured here, or the link would go on for ever
    and whoever closes it would wait for ever."""
    if _cancelling():
        raise asyncio.CancelledError
