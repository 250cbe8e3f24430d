"""The hub publishes what it serves itself: Home Assistant's STT and conversation calls reach
MQTT as a satellite's runs do (real Mosquitto, the real recognizer and intents, the wyoming
client), in order, and wait in the outbox while the broker is down."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.intent import Recognize

from hub.asr.program import AsrProgram
from hub.config import HubConfig
from hub.intents.program import HandleProgram, IntentProgram
from hub.mqtt.results import HubResults, NoResults, create_results
from rehearsal.speech import espeak
from tests.plugins.hub import ThreadedHub
from tests.plugins.mqtt import MqttRecorder
from tests.waiting import wait_until
from voxhub.audio import float_to_pcm16
from voxhub.configfile import from_mapping
from voxhub.mqtt_link import parse_broker_url

FINAL = ("transcript", "intent", "not-recognized", "handled", "not-handled", "error")


async def _ask(uri: str, *events: Any) -> str:
    async with AsyncClient.from_uri(uri) as client:
        for event in events:
            await client.write_event(event.event())
        while True:
            answer = await asyncio.wait_for(client.read_event(), 60)
            assert answer is not None, "connection closed"
            if answer.type in FINAL:
                return answer.type


def _spoken(text: str) -> list[Any]:
    pcm = float_to_pcm16(np.concatenate([espeak(text), np.zeros(8000, np.float32)]))
    return [Transcribe(language="en-US"), AudioStart(16000, 2, 1),
            *[AudioChunk(16000, 2, 1, pcm[i:i + 3200]) for i in range(0, len(pcm), 3200)],
            AudioStop()]


def _hub(understander: Any, broker_url: str, folder: Any) -> tuple[ThreadedHub, HubResults]:
    results = HubResults(parse_broker_url(broker_url), "voxhub", folder / "outbox")
    hub = ThreadedHub([AsrProgram(understander, results), IntentProgram(understander,
                       results=results), HandleProgram(understander, results=results)])

    async def start() -> None:
        results.start()

    hub.call(start())
    return hub, results


async def test_home_assistants_calls_are_published_like_a_satellites_runs(
        understander, mosquitto, tmp_path):
    hub, results = _hub(understander, mosquitto.url, tmp_path)
    try:
        async with MqttRecorder(mosquitto.port, ["voxhub/hub/#"], "automation-hub") as rec:
            await rec.wait_for(lambda r: r.on("voxhub/hub/availability")[-1:] == [b"online"])
            assert await _ask(hub.uri, *_spoken("turn on the kitchen lights")) == "transcript"
            assert await _ask(hub.uri, Transcript(
                text="turn on the kitchen lights",
                context={"satellite_id": "assist_satellite.voice_pe", "area": "kitchen"})) \
                == "intent"
            assert await _ask(hub.uri, Recognize(text="what is the meaning of life")) \
                == "not-recognized"
            await rec.wait_for(lambda r: len(r.on("voxhub/hub/reply")) == 2)
    finally:
        hub.call(results.close())
        hub.close()
    heard = rec.on("voxhub/hub/transcript")[0].decode().lower()
    assert "kitchen" in heard and "light" in heard
    command, other = (json.loads(m) for m in rec.on("voxhub/hub/intent"))
    assert command["intent"]["name"] == "HassTurnOn"
    assert command["targets"] == ["light.kitchen_lights"]
    assert command["source"] == {"request": "transcript", "area": "kitchen",
                                 "satellite_id": "assist_satellite.voice_pe"}
    assert other["intent"] is None and other["source"] == {"request": "recognize"}
    assert other["reply"].startswith("Sorry")
    assert rec.on("voxhub/hub/reply") == [command["reply"].encode(), other["reply"].encode()]
    # Results come in the order the requests were answered.
    kinds = [m.topic.rsplit("/", 1)[-1] for m in rec.messages if "availability" not in m.topic]
    assert kinds == ["transcript", "intent", "reply", "intent", "reply"]


async def test_results_wait_out_a_broker_that_is_down_and_arrive_in_order(
        text_understander, own_mosquitto, tmp_path):
    own_mosquitto.stop()
    hub, results = _hub(text_understander, own_mosquitto.url, tmp_path)
    try:
        for text in ("turn on the kitchen lights", "turn off the kitchen lights"):
            assert await _ask(hub.uri, Transcript(text=text)) == "intent"
        # published just after the answer went out: two intents, two replies, on disk
        await wait_until(lambda: len(results.outbox) == 4, what="four results in the outbox")
        own_mosquitto.start()
        async with MqttRecorder(own_mosquitto.port, ["voxhub/hub/intent"], "late") as rec:
            await rec.wait_for(lambda r: len(r.on("voxhub/hub/intent")) == 2, timeout=30)
    finally:
        hub.call(results.close())
        hub.close()
    names = [json.loads(m)["intent"]["name"] for m in rec.on("voxhub/hub/intent")]
    assert names == ["HassTurnOn", "HassTurnOff"]


@pytest.mark.parametrize(("mqtt", "embedded_host", "publishes"), [
    ({"url": "mqtt://user:secret@broker.lan:1884"}, None, True),
    ({}, "0.0.0.0", True),  # the embedded broker, reached on loopback with its credentials
    ({"embedded": False}, None, False),
    ({"url": "mqtt://broker.lan", "publish": False}, None, False),
])
def test_the_hub_publishes_to_its_broker_or_the_embedded_one_unless_told_not_to(
        tmp_path, mqtt, embedded_host, publishes):
    config = from_mapping(HubConfig, {"data_dir": str(tmp_path), "mqtt": mqtt})
    results = create_results(config, embedded_host, tmp_path / "outbox")
    assert isinstance(results, HubResults if publishes else NoResults)
    if isinstance(results, HubResults) and mqtt.get("url"):
        address = results.link.address
        assert (address.host, address.port, address.username) == ("broker.lan", 1884, "user")
    elif isinstance(results, HubResults):
        assert (results.link.address.host, results.link.address.port) == ("127.0.0.1", 1883)
        assert results.link.address.password  # generated, kept in DATA_DIR/embedded-broker
