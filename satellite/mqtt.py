"""The satellite on MQTT: results out (through the on-disk outbox), commands in, HA discovery.

Topics live under `<prefix>/<satellite>/`: `state` (retained: idle, listening, follow-up,
thinking, speaking, error), `availability` (retained, with a last will of `offline`), `wake`,
`transcript`, `intent` (the full UnderstandingResult, QoS 1), `reply`, `error`; commands `say`,
`listen`, `stop`, `mute` (ON/OFF), `volume` (0–100) and `<prefix>/all/say` for every satellite.
Results go through the outbox, so a broker that is down (or a satellite restarted meanwhile)
delays them but never loses or reorders them; retained state is simply republished on every
connection, as only its latest value matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt

from satellite.config import SatMqttConfig
from satellite.ha_discovery import discovery_messages
from satellite.mqtt_commands import COMMANDS, MOMENTARY
from voxhub.mqtt_link import BrokerAddress, MqttLink
from voxhub.mqtt_link import parse_broker_url as parse_url
from voxhub.outbox import Outbox

_LOGGER = logging.getLogger(__name__)

#: (command, payload) of a command topic; satellite/mqtt_commands.py says what it means.
CommandHandler = Callable[[str, bytes], Awaitable[None]]


def parse_broker_url(url: str, config: SatMqttConfig | None = None) -> BrokerAddress:
    """mqtt[s]://[user[:pass]@]host[:port], with config username/password taking precedence."""
    if config is None:
        return parse_url(url)
    return parse_url(url, config.username, config.resolve_password())


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
        self._pending: set[asyncio.Task] = set()
        self.link = MqttLink(self.address, f"voxhub-satellite-{slug}", self.outbox,
                             keepalive_s=config.keepalive_s, ca_file=config.ca_file,
                             will=(f"{self.base}/availability", "offline"),
                             on_connect=self._on_connect, listen=self._listen)
        self.connected = self.link.connected

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
        client = self.link.client
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

    async def run(self) -> None:
        """Connect, announce, serve commands and drain the outbox; reconnect forever."""
        await self.link.run()

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        # Subscribed before anything is announced: whoever sees "online" or a state may publish
        # a command at once, and a command sent before the subscription would be dropped by the
        # broker (not retained, no session).
        for command in COMMANDS:
            await client.subscribe(f"{self.base}/{command}", qos=1)
        await client.subscribe(f"{self.config.topic_prefix}/all/say", qos=1)
        await client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        await self._announce(client, remove=not self.config.discovery)
        sent: dict[str, str] = {}
        while sent != self._retained:  # a state changed while the others were going out
            for topic, value in list(self._retained.items()):
                if sent.get(topic) != value:
                    await client.publish(topic, value, qos=1, retain=True)
                    sent[topic] = value

    async def _announce(self, client: aiomqtt.Client, remove: bool) -> None:
        messages = discovery_messages(self.config.discovery_prefix, self.base, self.slug,
                                      self.name, self.area)
        for topic, payload in messages.items():
            await client.publish(topic, "" if remove else json.dumps(payload), qos=1, retain=True)

    async def remove_discovery(self) -> None:
        """Connect once and publish empty configs: HA removes the device and its entities."""
        async with aiomqtt.Client(**self.link.client_args()) as client:  # type: ignore[arg-type]
            await self._announce(client, remove=True)

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
        client = self.link.client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(f"{self.base}/availability", "offline", qos=1, retain=True,
                                     timeout=2)
