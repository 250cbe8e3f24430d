"""The MQTT link (voxhub/mqtt_link.py) that the satellite and the hub's results share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import pytest

from voxhub.mqtt_link import MqttLink, parse_broker_url
from voxhub.outbox import Outbox


async def test_a_link_cancelled_while_its_broker_does_not_answer_still_ends(
        own_mosquitto, tmp_path):
    """Closing must not wait for ever on a frozen broker: aiomqtt's disconnect fails there, and
    that MqttError must not turn the cancellation into one more reconnection."""
    link = MqttLink(parse_broker_url(own_mosquitto.url), "frozen-broker-link",
                    Outbox(tmp_path / "outbox"))
    task = asyncio.create_task(link.run())
    assert own_mosquitto.proc is not None
    try:
        await asyncio.wait_for(link.connected.wait(), 10)
        os.kill(own_mosquitto.proc.pid, signal.SIGSTOP)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), 30)
    finally:
        os.kill(own_mosquitto.proc.pid, signal.SIGCONT)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
