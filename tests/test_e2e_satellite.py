"""The whole loop through real processes: `voxhub hub`, `voxhub satellite` and Mosquitto.

The satellite's microphone is its stdin, fed in real time: silence, then "Okay, Nabu … <command>"
spoken by a different voice than the reply voice. What an automation sees (MQTT) and what the
satellite played (its WAV sink) are the results examined.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiomqtt
import pytest

from rehearsal.speech import speak
from tests.plugins.hub import normalize_words, transcribe
from tests.plugins.mqtt import MqttRecorder
from tests.plugins.pipeline import SatelliteProcess, wake_and_command
from voxhub.audio import read_wav

pytestmark = pytest.mark.slow


def intents(recorder: MqttRecorder, name: str) -> list[dict]:
    return [json.loads(p) for p in recorder.on(f"voxhub/{name}/intent")]


def states(recorder: MqttRecorder, name: str) -> list[str]:
    return [p.decode() for p in recorder.on(f"voxhub/{name}/state")]


async def wait_log(sat: SatelliteProcess, text: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sat.log().count(text) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"'{text}' not logged {count}x by the satellite:\n{sat.log()}")
        await asyncio.sleep(0.1)


async def test_a_spoken_command_gives_the_intent_on_mqtt_and_the_spoken_reply(
        e2e_hub, e2e_speech, mosquitto, tmp_path, whisper_tiny):
    name = "e2e-kitchen"
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Kitchen", mosquitto.url)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/#"], "e2e-rec-1") as recorder:
        await sat.start()
        try:
            await recorder.wait_for(lambda r: "idle" in states(r, name))
            sat.say(wake_and_command(e2e_speech, "kitchen"))
            await recorder.wait_for(lambda r: intents(r, name), timeout=40)
            await recorder.wait_for(lambda r: states(r, name)[-1:] == ["idle"]
                                    and "speaking" in states(r, name), timeout=30)
        finally:
            await sat.stop()

    result = intents(recorder, name)[0]
    assert result["intent"]["name"] == "HassTurnOn"
    assert "light.kitchen_lights" in result["targets"]
    assert "kitchen" in recorder.on(f"voxhub/{name}/transcript")[0].decode().lower()
    reply = recorder.on(f"voxhub/{name}/reply")[0].decode()
    assert reply == result["reply"] != ""
    seen = states(recorder, name)
    for state in ("listening", "thinking", "speaking"):
        assert state in seen
    assert seen.index("listening") < seen.index("thinking") < seen.index("speaking")

    pcm, rate, _, _ = read_wav(sat.snd_file)
    heard = transcribe(whisper_tiny, pcm, rate)
    expected = set(normalize_words(reply).split())
    assert len(expected & set(heard.split())) >= len(expected) / 2, (heard, reply)


async def test_intents_wait_out_a_broker_restart_and_arrive_in_order(
        e2e_hub, e2e_speech, own_mosquitto, tmp_path):
    name = "e2e-outbox"
    topics = [f"voxhub/{name}/intent"]
    async with MqttRecorder(own_mosquitto.port, topics, "e2e-rec-2"):
        pass  # a persistent session: the broker keeps QoS 1 messages for this subscriber
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Garden", own_mosquitto.url)
    await sat.start()
    try:
        await wait_log(sat, "connected to hub")
        own_mosquitto.stop()
        sat.say(wake_and_command(e2e_speech, "garden"))
        await wait_log(sat, "transcript:", 1, timeout=40)
        sat.say(wake_and_command(e2e_speech, "kitchen"))
        await wait_log(sat, "transcript:", 2, timeout=40)
        own_mosquitto.start()
        async with MqttRecorder(own_mosquitto.port, topics, "e2e-rec-2") as recorder:
            await recorder.wait_for(lambda r: len(intents(r, name)) >= 2, timeout=30)
    finally:
        await sat.stop()
    received = intents(recorder, name)
    assert [r["intent"]["name"] for r in received[:2]] == ["HassTurnOff", "HassTurnOn"]
    assert "light.garden_lights" in received[0]["targets"]
    assert len(received) == 2  # delivered once each


async def test_the_satellite_survives_a_hub_restart(e2e_hub, e2e_speech, mosquitto, tmp_path):
    name = "e2e-restart"
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Office", mosquitto.url)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/#"], "e2e-rec-3") as recorder:
        await sat.start()
        try:
            await wait_log(sat, "connected to hub")
            sat.say(wake_and_command(e2e_speech, "fan"))
            await recorder.wait_for(lambda r: len(intents(r, name)) == 1, timeout=40)

            e2e_hub.stop()
            await recorder.wait_for(
                lambda r: any(json.loads(p).get("code") == "hub-unavailable"
                              for p in r.on(f"voxhub/{name}/error")), timeout=20)
            await asyncio.get_running_loop().run_in_executor(None, e2e_hub.start)
            await wait_log(sat, "connected to hub", 2, timeout=30)

            sat.say(wake_and_command(e2e_speech, "fan"))
            await recorder.wait_for(lambda r: len(intents(r, name)) == 2, timeout=40)
            await recorder.wait_for(lambda r: states(r, name)[-1:] == ["idle"], timeout=30)
        finally:
            await sat.stop()
    assert [r["intent"]["name"] for r in intents(recorder, name)] == ["HassTurnOn"] * 2
    seen = states(recorder, name)
    assert "error" in seen and seen.index("error") < len(seen) - 1  # recovered by itself


async def test_the_wake_word_during_a_reply_stops_playback(e2e_hub, e2e_speech, mosquitto,
                                                           tmp_path):
    name = "e2e-bargein"
    long_text = ("Good evening. Here is a long announcement that would take well over ten "
                 "seconds to read out completely, because it goes on about the weather, the "
                 "traffic, the shopping list and the plans for the whole weekend ahead.")
    # Rendered once beforehand, so the hub's reply cache streams the whole announcement at once:
    # this test is about the satellite cutting what it already holds.
    full_s = len(await speak(e2e_hub.uri, long_text, "af_heart")) / 16000
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Kitchen", mosquitto.url)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/#"], "e2e-rec-4") as recorder:
        await sat.start()
        try:
            await wait_log(sat, "connected to hub")
            await recorder.wait_for(lambda r: "idle" in states(r, name))
            before = states(recorder, name).count("speaking")
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                await client.publish(f"voxhub/{name}/say", long_text, qos=1)
            await recorder.wait_for(lambda r: states(r, name).count("speaking") > before,
                                    timeout=40)
            speaking_at = time.monotonic()
            await asyncio.sleep(1.0)  # the announcement is audibly under way
            sat.say(wake_and_command(e2e_speech, "kitchen"))
            await recorder.wait_for(lambda r: intents(r, name), timeout=40)
            await recorder.wait_for(lambda r: states(r, name)[-1:] == ["idle"], timeout=30)
            elapsed = time.monotonic() - speaking_at
        finally:
            await sat.stop()

    seen = states(recorder, name)
    announcing = [i for i, state in enumerate(seen) if state == "speaking"][before]
    assert "listening" in seen[announcing:], seen
    assert intents(recorder, name)[0]["intent"]["name"] == "HassTurnOn"
    # Everything the satellite played (cut announcement, chimes, the new reply) is far shorter
    # than the announcement alone would have been.
    pcm, rate, _, _ = read_wav(sat.snd_file)
    played_s = len(pcm) / 2 / rate
    assert full_s > 10.0
    assert played_s < full_s * 0.6 and played_s < elapsed + 1.0, (played_s, full_s, elapsed)
