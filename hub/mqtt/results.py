"""The results of the requests the hub serves itself, published on MQTT for automations.

voxhub satellites publish their own runs (`<prefix>/<satellite>/…`). What Home Assistant asks of
the hub directly — its STT calls (`transcribe`), its conversation agent (`transcript` or `intent`
to handle), a `recognize` from any client — is published here, so a Node-RED flow sees every
command the hub understood, whichever road it came by:

- `<prefix>/hub/transcript`: what was heard, plain text;
- `<prefix>/hub/intent`: the whole `UnderstandingResult` (JSON, as a satellite's `intent`
  topic), with `source`: the request (`transcribe`, `recognize`, `transcript`, `intent`) and
  the Home Assistant `satellite_id`/`device_id`/area it came with;
- `<prefix>/hub/reply`: the reply text;
- `<prefix>/hub/availability`: `online`, retained, with a last will of `offline`.

Results go through the same on-disk outbox as the satellite's, in order, kept while the broker
is down. `NoResults` stands in when publishing is off, so callers never check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import aiomqtt

from hub.mqtt.config import MqttConfig
from voxhub.mqtt_link import BrokerAddress, MqttLink, parse_broker_url
from voxhub.outbox import Outbox
from voxhub.result import UnderstandingResult

_LOGGER = logging.getLogger(__name__)

#: Context keys of a request copied into `source`: who asked, from where.
SOURCE_KEYS = ("satellite_id", "device_id", "conversation_id")


class ResultSink(Protocol):
    def start(self) -> None:
        """Begin delivering (in the running event loop)."""

    async def close(self) -> None:
        """Stop delivering; what is undelivered stays in the outbox for the next start."""

    def transcript(self, text: str, language: str | None, request: str,
                   context: Mapping[str, Any] | None = None) -> None:
        """What was heard for a `request` (its Wyoming event type)."""

    def result(self, result: UnderstandingResult, request: str, area: str | None,
               context: Mapping[str, Any] | None = None) -> None:
        """What was understood (and done) for a `request`."""


class NoResults:
    """Publishing off: results go nowhere, and nobody has to ask whether it is on."""

    def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def transcript(self, text: str, language: str | None, request: str,
                   context: Mapping[str, Any] | None = None) -> None:
        return None

    def result(self, result: UnderstandingResult, request: str, area: str | None,
               context: Mapping[str, Any] | None = None) -> None:
        return None


def source_of(request: str, area: str | None,
              context: Mapping[str, Any] | None) -> dict[str, Any]:
    source: dict[str, Any] = {"request": request}
    if area:
        source["area"] = area
    if isinstance(context, Mapping):
        source.update({key: context[key] for key in SOURCE_KEYS
                       if isinstance(context.get(key), str) and context[key]})
    return source


class HubResults:
    """Publishes to one broker through an outbox; `start()` runs the link in the background."""

    def __init__(self, address: BrokerAddress, prefix: str, outbox_dir: Path,
                 outbox_max: int = 1000) -> None:
        self.base = f"{prefix}/hub"
        self.outbox = Outbox(outbox_dir, outbox_max)
        self.link = MqttLink(address, "voxhub-hub", self.outbox,
                             will=(f"{self.base}/availability", "offline"),
                             on_connect=self._on_connect)
        self._task: asyncio.Task[None] | None = None

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        await client.publish(f"{self.base}/availability", "online", qos=1, retain=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self.link.run(), name="mqtt-results")

    async def close(self) -> None:
        client = self.link.client
        if client is not None:  # a clean disconnect does not fire the will: say it
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(f"{self.base}/availability", "offline", qos=1,
                                     retain=True, timeout=2)
        if self._task is not None:
            self._task.cancel()
            done, pending = await asyncio.wait({self._task}, timeout=10)
            if pending:  # shutting down must not wait on a broker for ever
                _LOGGER.warning("MQTT results link did not stop within 10 s; left behind")
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    _LOGGER.warning("MQTT results link ended: %s", task.exception())

    def _put(self, kind: str, payload: str) -> None:
        self.outbox.put(f"{self.base}/{kind}", payload, qos=1)

    def transcript(self, text: str, language: str | None, request: str,
                   context: Mapping[str, Any] | None = None) -> None:
        if text:
            self._put("transcript", text)

    def result(self, result: UnderstandingResult, request: str, area: str | None,
               context: Mapping[str, Any] | None = None) -> None:
        payload = {**result.to_dict(), "source": source_of(request, area, context)}
        self._put("intent", json.dumps(payload, ensure_ascii=False))
        if result.reply:
            self._put("reply", result.reply)


def create_results(config: Any, embedded_host: str | None, outbox_dir: Path) -> ResultSink:
    """The hub's publisher for `config` (HubConfig): the configured broker, else the embedded
    one at `embedded_host` with its generated credentials, else none (said once)."""
    mqtt: MqttConfig = config.mqtt
    if not mqtt.publish:
        return NoResults()
    if mqtt.url:
        address = parse_broker_url(mqtt.url)
    elif mqtt.embedded and embedded_host is not None:
        from hub.mqtt.broker import broker_credentials

        user, password = broker_credentials(config.data_path)
        host = "127.0.0.1" if embedded_host in ("", "0.0.0.0", "::") else embedded_host
        address = BrokerAddress(host, mqtt.embedded_port, False, user, password)
    else:
        _LOGGER.info("results not published on MQTT: no mqtt.url and no embedded broker")
        return NoResults()
    return HubResults(address, mqtt.topic_prefix, outbox_dir, mqtt.outbox_max)
