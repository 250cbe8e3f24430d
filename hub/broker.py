"""The embedded MQTT broker (amqtt) that `voxhub hub` runs when no broker is configured.

Why: the demo and a first install must work without anyone setting up Mosquitto. A real
installation points `hub.mqtt.url` at the house's broker (usually Home Assistant's Mosquitto
add-on) and this module is never used.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

_LOGGER = logging.getLogger(__name__)


class EmbeddedBroker:
    """A running amqtt broker; `stop()` closes its listener and every client session."""

    def __init__(self, broker: Any, host: str, port: int) -> None:
        self._broker = broker
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"mqtt://{host}:{self.port}"

    async def stop(self) -> None:
        try:
            await self._broker.shutdown()
        except Exception as err:  # shutting down must never take the hub down with it
            _LOGGER.warning("embedded broker did not shut down cleanly: %s", err)


def broker_config(host: str, port: int) -> dict[str, Any]:
    """Anonymous, in-memory, one TCP listener: what a demo on one machine needs."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}",
                                  "max_connections": 200}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


async def start_embedded_broker(host: str, port: int) -> EmbeddedBroker:
    """Start amqtt on host:port and return once it accepts connections."""
    from amqtt.broker import Broker  # imported here: only the hub's embedded mode needs it

    # amqtt logs every packet at INFO; keep the hub's log readable.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    broker = Broker(broker_config(host, port), loop=asyncio.get_running_loop())
    await broker.start()
    _LOGGER.info("embedded MQTT broker listening on %s:%s", host, port)
    return EmbeddedBroker(broker, host, port)
