"""Nothing is lost on MQTT: results wait on disk while the broker is away and arrive in order,
across a broker restart and across a satellite restart."""

from __future__ import annotations

import asyncio
import contextlib
import json

from rehearsal.ports import free_port
from satellite.config import SatMqttConfig
from satellite.mqtt import SatelliteMqtt
from tests.plugins.mqtt import MqttRecorder
from voxhub.outbox import Outbox


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_broker_restart_loses_nothing_and_keeps_the_order(tmp_path, own_mosquitto):
    link = SatelliteMqtt(SatMqttConfig(url=own_mosquitto.url), "Restart", "restart-sat", None,
                         tmp_path / "outbox")
    topic = "voxhub/restart-sat/transcript"
    task = asyncio.create_task(link.run())
    try:
        async with MqttRecorder(own_mosquitto.port, [topic], "automation-restart") as recorder:
            await asyncio.wait_for(link.connected.wait(), 10)
            link.publish("transcript", "one")
            await recorder.wait_for(lambda r: r.on(topic) == [b"one"])
            own_mosquitto.stop()  # the broker goes away (SIGTERM, as systemd does)
            for word in ("two", "three", "four", "five"):
                link.publish("transcript", word)
            await asyncio.sleep(1.0)
            assert len(link.outbox) == 4  # waiting on disk
            own_mosquitto.start()  # same port, same persistence directory
            await recorder.wait_for(lambda r: len(r.on(topic)) >= 5, timeout=30)
            assert recorder.on(topic) == [b"one", b"two", b"three", b"four", b"five"]
            assert len(link.outbox) == 0
    finally:
        await _stop(task)


async def test_results_survive_a_satellite_restart_while_the_broker_is_unreachable(
        tmp_path, mosquitto):
    outbox_dir = tmp_path / "outbox"
    unreachable = SatMqttConfig(url=f"mqtt://127.0.0.1:{free_port()}")
    first = SatelliteMqtt(unreachable, "Attic", "attic-sat", None, outbox_dir)
    task = asyncio.create_task(first.run())
    results = [{"text": f"command {i}", "language": "en", "intent": {"name": "HassTurnOn",
                "slots": {"n": i}}} for i in range(3)]
    for result in results:
        first.publish("intent", result)
    await asyncio.sleep(0.3)
    await _stop(task)  # the satellite stops (reboot) with nothing delivered
    assert len(Outbox(outbox_dir)) == 3

    topic = "voxhub/attic-sat/intent"
    second = SatelliteMqtt(SatMqttConfig(url=mosquitto.url), "Attic", "attic-sat", None,
                           outbox_dir)
    async with MqttRecorder(mosquitto.port, [topic], "automation-attic") as recorder:
        task = asyncio.create_task(second.run())
        try:
            await recorder.wait_for(lambda r: len(r.on(topic)) >= 3)
        finally:
            await _stop(task)
    assert [json.loads(p) for p in recorder.on(topic)] == results
    assert len(Outbox(outbox_dir)) == 0


def test_the_outbox_is_bounded_ordered_and_durable(tmp_path):
    box = Outbox(tmp_path / "box", max_messages=3)
    for i in range(5):
        box.put("voxhub/x/transcript", f"m{i}")
    assert box.dropped == 2  # the oldest went first
    reopened = Outbox(tmp_path / "box", max_messages=3)  # a restart
    seen = []
    while (message := reopened.peek()) is not None:
        seen.append(message.payload.decode())
        reopened.remove(message.seq)
    assert seen == ["m2", "m3", "m4"]
    reopened.put("voxhub/x/transcript", "after")  # numbering continues after a restart
    assert reopened.peek().payload == b"after"


def test_a_damaged_outbox_entry_is_skipped_not_fatal(tmp_path):
    box = Outbox(tmp_path / "box")
    box.put("t", "good-1")
    bad = box.put("t", "bad")
    box.put("t", "good-2")
    (tmp_path / "box" / f"{bad:012d}.msg").write_text("{not json")
    (tmp_path / "box" / "000000000099.tmp").write_text("half written")
    reopened = Outbox(tmp_path / "box")
    seen = []
    while (message := reopened.peek()) is not None:
        seen.append(message.payload)
        reopened.remove(message.seq)
    assert seen == [b"good-1", b"good-2"]
    assert not list((tmp_path / "box").glob("*.tmp"))
