"""The satellite on MQTT: results out (through the on-disk outbox), commands in, HA discovery.

Topics live under `<prefix>/<satellite>/`: `state` (retained), `availability` (retained, with a
last will of `offline`), `wake`, `transcript`, `intent` (the full UnderstandingResult, QoS 1),
`reply`, `error`; commands `say`, `listen`, `stop`, `mute` (ON/OFF), `volume` (0–100) and
`<prefix>/all/say` for every satellite. Results go through the outbox, so a broker that is down
(or a satellite restarted meanwhile) delays them but never loses or reorders them; retained
state is simply republished on every connection, as only its latest value matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import aiomqtt

from satellite.config import SatMqttConfig
from satellite.ha_discovery import discovery_messages
from satellite.outbox import Outbox

_LOGGER = logging.getLogger(__name__)

COMMANDS = ("say", "listen", "stop", "mute", "volume")
#: Commands to act on once, now; mute and volume are states, so a retained one is honoured.
MOMENTARY = ("say", "listen", "stop")
CommandHandler = Callable[[str, bytes], Awaitable[None]]


@dataclass
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_broker_url(url: str, config: SatMqttConfig | None = None) -> BrokerAddress:
    """mqtt[s]://[user[:pass]@]host[:port], with config username/password taking precedence."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parsed.hostname:
        raise ValueError(f"MQTT URL {url!r}: no host")
    tls = parsed.scheme in ("mqtts", "ssl")
    username = unquote(parsed.username) if parsed.username else None
    password = unquote(parsed.password) if parsed.password else None
    if config is not None:
        username = config.username or username
        password = config.password or password
    return BrokerAddress(parsed.hostname, parsed.port or (8883 if tls else 1883), tls,
                         username, password)


class SatelliteMqtt:
    """One broker connection kept up forever; publishing never blocks the satellite."""

    def __init__(self, config: SatMqttConfig, name: str, slug: str, area: str | None,
                 outbox_dir: Path, on_command: CommandHandler | None = None) -> None:
        if not config.url:
            raise ValueError("mqtt.url is required for MQTT")
        self.config = config
        self.name = name
        self.slug = slug
        self.area = area
        self.address = parse_broker_url(config.url, config)
        self.base = f"{config.topic_prefix}/{slug}"
        self.outbox = Outbox(outbox_dir, config.outbox_max)
        self._on_command = on_command
        self._retained: dict[str, str] = {}
        self._client: aiomqtt.Client | None = None
        self._pending: set[asyncio.Task] = set()
        self.connected = asyncio.Event()

    # ------------------------------------------------------------------ publishing

    def publish(self, kind: str, payload: str | dict[str, Any], qos: int = 1) -> None:
        """An event (wake, transcript, intent, reply, error): queued on disk, sent in order."""
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self.outbox.put(f"{self.base}/{kind}", text, qos=qos)

    def set_retained(self, kind: str, value: str) -> None:
        """A state (state, mute/state, volume/state): only the latest value is ever sent."""
        topic = f"{self.base}/{kind}"
        if self._retained.get(topic) == value:
            return
        self._retained[topic] = value
        client = self._client
        if client is not None and self.connected.is_set():
            task = asyncio.create_task(self._publish_retained(client, topic, value))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _publish_retained(self, client: aiomqtt.Client, topic: str, value: str) -> None:
        try:
            await client.publish(topic, value, qos=1, retain=True)
        except aiomqtt.MqttError as err:  # republished on the next connection anyway
            _LOGGER.debug("retained %s not sent now: %s", topic, err)

    # ------------------------------------------------------------------ connection

    def _client_args(self) -> dict[str, Any]:
        tls_params = None
        if self.address.tls:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=str(self.config.ca_file) if self.config.ca_file else None,
                cert_reqs=ssl.CERT_REQUIRED)
        return {
            "hostname": self.address.host, "port": self.address.port,
            "username": self.address.username, "password": self.address.password,
            "identifier": f"voxhub-satellite-{self.slug}",
            "keepalive": self.config.keepalive_s, "tls_params": tls_params,
            "will": aiomqtt.Will(f"{self.base}/availability", "offline", qos=1, retain=True),
            "timeout": 10,
        }

    async def run(self) -> None:
        """Connect, announce, serve commands and drain the outbox; reconnect forever."""
        delay = 0.5
        reported = ""  # why the broker is unavailable, as last logged: once, not per attempt
        while True:
            try:
                async with aiomqtt.Client(**self._client_args()) as client:
                    self._client = client
                    delay = 0.5
                    reported = ""
                    await self._on_connect(client)
                    self.connected.set()
                    _LOGGER.info("MQTT connected to %s:%s", self.address.host,
                                 self.address.port)
                    await self._serve(client)
            except aiomqtt.MqttError as err:
                if self.connected.is_set():
                    _LOGGER.warning("MQTT connection lost: %s", err)
                elif str(err) != reported:  # down at start, wrong password: say so, once
                    _LOGGER.warning("MQTT broker %s:%s unavailable: %s (retrying; results wait "
                                    "in the outbox)", self.address.host, self.address.port, err)
                    reported = str(err)
                else:
                    _LOGGER.debug("MQTT broker still unavailable: %s", err)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        await client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        await self._announce(client, remove=not self.config.discovery)
        for topic, value in list(self._retained.items()):
            await client.publish(topic, value, qos=1, retain=True)
        for command in COMMANDS:
            await client.subscribe(f"{self.base}/{command}", qos=1)
        await client.subscribe(f"{self.config.topic_prefix}/all/say", qos=1)

    async def _announce(self, client: aiomqtt.Client, remove: bool) -> None:
        messages = discovery_messages(self.config.discovery_prefix, self.base, self.slug,
                                      self.name, self.area)
        for topic, payload in messages.items():
            await client.publish(topic, "" if remove else json.dumps(payload), qos=1, retain=True)

    async def remove_discovery(self) -> None:
        """Connect once and publish empty configs: HA removes the device and its entities."""
        async with aiomqtt.Client(**self._client_args()) as client:
            await self._announce(client, remove=True)

    async def _serve(self, client: aiomqtt.Client) -> None:
        drain = asyncio.create_task(self._drain(client))
        listen = asyncio.create_task(self._listen(client))
        try:
            done, _ = await asyncio.wait({drain, listen}, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # re-raise the MqttError that ended the connection
        finally:
            for task in (drain, listen):
                task.cancel()
            await asyncio.gather(drain, listen, return_exceptions=True)

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

    async def _listen(self, client: aiomqtt.Client) -> None:
        all_say = f"{self.config.topic_prefix}/all/say"
        async for message in client.messages:
            topic = str(message.topic)
            command = "say" if topic == all_say else topic.rsplit("/", 1)[-1]
            payload = message.payload if isinstance(message.payload, bytes) else \
                str(message.payload or "").encode()
            if command not in COMMANDS or self._on_command is None:
                continue
            if message.retain and command in MOMENTARY:
                # A retained say/listen/stop would be acted on again at every reconnection
                # and every restart of the satellite.
                _LOGGER.warning("ignored a retained '%s' on %s: publish commands without "
                                "retain", command, topic)
                continue
            try:
                await self._on_command(command, payload)
            except Exception:  # one bad command must not take the link down
                _LOGGER.exception("MQTT command %s failed", command)

    async def close(self) -> None:
        """Say goodbye properly (retained offline), instead of relying on the last will.

        Also while the connection is still announcing itself: "online" may already be out,
        and a clean disconnect does not fire the will, so it would stay "online" for good."""
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(f"{self.base}/availability", "offline", qos=1, retain=True,
                                     timeout=2)
