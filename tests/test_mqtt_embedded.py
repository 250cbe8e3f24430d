"""The hub's embedded broker (amqtt): what the demo runs when no broker is configured."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt

from satellite.config import SatMqttConfig
from satellite.mqtt import SatelliteMqtt
from tests.plugins.mqtt import MqttRecorder


async def test_satellite_results_and_states_flow_through_the_embedded_broker(tmp_path,
                                                                             embedded_broker):
    link = SatelliteMqtt(SatMqttConfig(url=embedded_broker.url), "Garage", "garage", "Garage",
                         tmp_path / "outbox")
    task = asyncio.create_task(link.run())
    try:
        async with MqttRecorder(embedded_broker.port, ["voxhub/garage/#"],
                                "automation-garage") as recorder:
            await asyncio.wait_for(link.connected.wait(), 10)
            link.set_retained("state", "idle")
            result = {"text": "open the garage door", "language": "en",
                      "intent": {"name": "HassTurnOn", "slots": {"name": "garage door"}}}
            link.publish("intent", result)
            await recorder.wait_for(lambda r: r.on("voxhub/garage/intent") and
                                    r.on("voxhub/garage/state"))
            assert json.loads(recorder.on("voxhub/garage/intent")[0]) == result
        # Retained: a client arriving later still learns the state and availability.
        async with aiomqtt.Client("127.0.0.1", embedded_broker.port) as late:
            await late.subscribe("voxhub/garage/state")
            await late.subscribe("voxhub/garage/availability")
            seen = {}
            async with asyncio.timeout(10):
                async for message in late.messages:
                    seen[str(message.topic)] = message.payload
                    if len(seen) == 2:
                        break
        assert seen == {"voxhub/garage/state": b"idle", "voxhub/garage/availability": b"online"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_clients_connecting_while_others_subscribe_are_all_served(embedded_broker):
    """amqtt walks its subscription map while a client connects; others subscribing at that
    moment must not end the connecting client's session (its acknowledgements never came)."""
    async def client(index: int) -> None:
        async with aiomqtt.Client("127.0.0.1", embedded_broker.port,
                                  identifier=f"busy-{index}", timeout=10) as mqtt:
            for topic in range(10):
                await mqtt.subscribe(f"voxhub/busy-{index}/{topic}", qos=1)
            await mqtt.publish(f"voxhub/busy-{index}/done", b"ok", qos=1)

    for _ in range(5):
        async with asyncio.timeout(60):
            await asyncio.gather(*(client(index) for index in range(12)))
