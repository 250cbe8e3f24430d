"""What the satellite tells the outside world, whether or not MQTT is configured.

Why two classes with one surface: the daemon reports every wake word, transcript, result,
reply, error and state change in one line each, and a satellite without a broker simply has a
`Publisher` that does nothing, instead of a check for MQTT before each of them. `MqttPublisher`
sends them through `satellite.mqtt.SatelliteMqtt` (the on-disk outbox, retained states) and
hands the command topics, parsed by `satellite.mqtt_commands`, to the daemon.

The error payload is built in one place (`error_payload`): `{"message", "code", "source"}`,
where source says who failed: `satellite` (it could not reach or keep its hub), `hub` (the hub
sent an error event) or `run` (the hub ended a run with an error).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from satellite.config import SatelliteConfig
from satellite.mqtt_commands import MqttCommand, parse_command
from satellite.state import State
from satellite.wake import Detection

ErrorSource = Literal["satellite", "hub", "run"]
CommandHandler = Callable[[MqttCommand], Awaitable[None]]


def error_payload(message: object, code: object, source: ErrorSource) -> dict[str, Any]:
    """The `error` topic's payload; message and code as the failing side gave them."""
    return {"message": message, "code": code, "source": source}


class Publisher:
    """MQTT off: results go nowhere, no command arrives, the link is never connected."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()

    def start(self, muted: bool, volume: int) -> list[asyncio.Task]:
        """The tasks that keep the link (none here); announces mute and volume."""
        return []

    async def drain(self, timeout_s: float) -> None:
        """Until what is queued has gone out, or `timeout_s` (the broker may be down)."""

    async def close(self) -> None:
        """Say goodbye to the broker."""

    def on_state(self, old: State, new: State) -> None:
        """A state observer (`StateMachine.on_state`)."""

    def wake(self, detection: Detection) -> None:
        pass

    def transcript(self, text: str) -> None:
        pass

    def intent(self, result: dict[str, Any]) -> None:
        """The hub's intent-result data (the full UnderstandingResult)."""

    def reply(self, text: str) -> None:
        pass

    def error(self, message: object, code: object, source: ErrorSource) -> None:
        pass

    def muted(self, muted: bool) -> None:
        pass

    def volume(self, volume: int) -> None:
        pass


class MqttPublisher(Publisher):
    """Results through the outbox (in order, never lost), states retained."""

    def __init__(self, config: SatelliteConfig, on_command: CommandHandler) -> None:
        super().__init__()
        from satellite.mqtt import SatelliteMqtt  # aiomqtt only for a satellite that uses it

        self.link = SatelliteMqtt(config.mqtt, config.satellite_name, config.slug, config.area,
                                  config.state_path / "outbox" / config.slug, self._command)
        self.connected = self.link.connected
        self._on_command = on_command

    async def _command(self, name: str, payload: bytes) -> None:
        command = parse_command(name, payload)
        if command is not None:
            await self._on_command(command)

    def start(self, muted: bool, volume: int) -> list[asyncio.Task]:
        task = asyncio.create_task(self.link.run(), name="mqtt")
        self.muted(muted)
        self.volume(volume)
        return [task]

    async def drain(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while self.connected.is_set() and len(self.link.outbox) and time.monotonic() < end:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.link.close()

    def on_state(self, old: State, new: State) -> None:
        self.link.set_retained("state", new.value)

    def wake(self, detection: Detection) -> None:
        self.link.publish("wake", {"name": detection.name, "phrase": detection.phrase,
                                   "probability": round(detection.probability, 3)})

    def transcript(self, text: str) -> None:
        self.link.publish("transcript", text)

    def intent(self, result: dict[str, Any]) -> None:
        self.link.publish("intent", result, qos=1)

    def reply(self, text: str) -> None:
        self.link.publish("reply", text)

    def error(self, message: object, code: object, source: ErrorSource) -> None:
        self.link.publish("error", error_payload(message, code, source))

    def muted(self, muted: bool) -> None:
        self.link.set_retained("mute/state", "ON" if muted else "OFF")

    def volume(self, volume: int) -> None:
        self.link.set_retained("volume/state", str(volume))


def make_publisher(config: SatelliteConfig, on_command: CommandHandler) -> Publisher:
    """MQTT when `mqtt.url` is set, else nothing."""
    return MqttPublisher(config, on_command) if config.mqtt.url else Publisher()
