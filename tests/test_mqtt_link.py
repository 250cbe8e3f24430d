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


async def test_a_cancellation_that_wait_for_swallowed_still_stops_the_link_loop():
    """Python 3.11's wait_for returns the result when the task is cancelled just as the future
    completes (aiomqtt's connect and publish wait that way); the link's loop still stops."""
    from voxhub.mqtt_link import _stop_if_cancelled

    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    rounds = 0

    async def link_like_loop() -> None:
        nonlocal rounds
        assert await asyncio.wait_for(fut, 10) == 1  # the cancellation is swallowed here
        while True:
            rounds += 1
            _stop_if_cancelled()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(link_like_loop())
    await asyncio.sleep(0.05)
    fut.set_result(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert rounds == 1
