"""The satellite on MQTT (real Mosquitto, hub stand-in): results out, commands in."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt

from rehearsal.speech import silence
from satellite.daemon import Satellite
from tests.plugins.mqtt import Mosquitto, MqttRecorder
from tests.plugins.satellite import satellite_config, save
from tests.waiting import wait_until


async def _publish(port: int, topic: str, payload: str) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1)


async def test_a_spoken_command_publishes_wake_transcript_intent_reply_and_states(
        tmp_path, sat_speech, hub_standin, mosquitto):
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.8),
               sat_speech["command"], silence(1.5))
    config = satellite_config(tmp_path, hub_standin.uri, mic, name="Living Room",
                              mqtt_url=mosquitto.url)
    base = "voxhub/living_room"
    async with MqttRecorder(mosquitto.port, [f"{base}/#"], "automation-living") as recorder:
        assert await asyncio.wait_for(Satellite(config).run(), 60) == 0
        await recorder.wait_for(lambda r: r.on(f"{base}/intent") and
                                r.on(f"{base}/state")[-1:] == [b"idle"])
    wake = json.loads(recorder.on(f"{base}/wake")[0])
    assert wake["name"] == "okay_nabu" and wake["phrase"] == "Okay Nabu"
    assert recorder.on(f"{base}/transcript") == [b"turn on the kitchen lights"]
    assert json.loads(recorder.on(f"{base}/intent")[0]) == hub_standin.result()
    assert recorder.on(f"{base}/reply") == [b"Turned on the kitchen lights"]
    states = [s.decode() for s in recorder.on(f"{base}/state")]
    assert states[-4:] == ["listening", "thinking", "speaking", "idle"]
    assert recorder.on(f"{base}/availability")[0] == b"online"
    # Results come in the order things happened.
    order = [m.topic.rsplit("/", 1)[-1] for m in recorder.messages
             if m.topic.rsplit("/", 1)[-1] in ("wake", "transcript", "intent", "reply")]
    assert order == ["wake", "transcript", "intent", "reply"]


async def test_command_topics_listen_say_all_say_mute_volume_stop(tmp_path, hub_standin,
                                                                   mosquitto):
    mic = save(tmp_path / "mic.wav", silence(30.0))
    config = satellite_config(tmp_path, hub_standin.uri, mic, name="office", realtime=True,
                              mqtt_url=mosquitto.url, conversation__no_speech_timeout_s=1.0)
    satellite = Satellite(config)
    base = "voxhub/office"
    async with MqttRecorder(mosquitto.port, [f"{base}/#"], "automation-office") as recorder:
        task = asyncio.create_task(satellite.run())
        try:
            await recorder.wait_for(lambda r: r.on(f"{base}/availability") == [b"online"])
            await asyncio.wait_for(satellite.mqtt.connected.wait(), 10)

            # listen: a conversation without the wake word (nobody speaks: the satellite ends
            # it after the no-speech timeout and the hub still answers)
            await _publish(mosquitto.port, f"{base}/listen", "listen")
            await recorder.wait_for(lambda r: r.on(f"{base}/intent"))
            assert hub_standin.runs[0].data.get("wake_word_name") is None
            assert recorder.on(f"{base}/wake") == []

            # say: plain text, then JSON with a voice on the all-satellites topic
            await recorder.wait_for(lambda r: r.on(f"{base}/state")[-1:] == [b"idle"])
            await _publish(mosquitto.port, f"{base}/say", "The washing machine is done")
            await _publish(mosquitto.port, "voxhub/all/say",
                           json.dumps({"text": "Dinner is ready", "voice": "bf_emma"}))
            await wait_until(lambda: len(hub_standin.announcements) == 2
                             and satellite.state == "idle", what="both announcements played")
            assert hub_standin.announcements[0]["text"] == "The washing machine is done"
            assert hub_standin.announcements[1]["text"] == "Dinner is ready"
            assert hub_standin.announcements[1]["voice"]["name"] == "bf_emma"
            # a finished announcement is forgotten: a year of `say` does not pile up tasks
            await asyncio.sleep(0.1)
            assert {t.get_name() for t in satellite.tasks.running} == {"hub", "watchdog", "mqtt"}

            # mute and volume, with their retained states for Home Assistant
            await _publish(mosquitto.port, f"{base}/mute", "ON")
            await _publish(mosquitto.port, f"{base}/volume", "40")
            await recorder.wait_for(lambda r: r.on(f"{base}/mute/state")[-1:] == [b"ON"] and
                                    r.on(f"{base}/volume/state")[-1:] == [b"40"])
            assert satellite.muted and satellite.sink.volume == 40

            # stop: a long announcement is cut
            await _publish(mosquitto.port, f"{base}/say", "x" * 60)
            await wait_until(lambda: satellite.state == "speaking", what="speaking")
            await _publish(mosquitto.port, f"{base}/stop", "")
            await recorder.wait_for(lambda r: r.on(f"{base}/state")[-1:] == [b"idle"], 5)
            assert not satellite.player.busy
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_retained_commands_and_payloads_of_the_wrong_shape_change_nothing(
        tmp_path, hub_standin, mosquitto):
    """A retained `say` would be spoken again at every reconnection and restart: it is ignored,
    while a retained `mute` (a state, as Home Assistant's switch may retain it) is honoured.
    Payloads of the wrong shape are refused with a warning, and the next command still works."""
    base = "voxhub/pantry"
    await _publish_retained(mosquitto.port, f"{base}/say", "Stale announcement")
    await _publish_retained(mosquitto.port, f"{base}/mute", "ON")
    mic = save(tmp_path / "mic.wav", silence(30.0))
    config = satellite_config(tmp_path, hub_standin.uri, mic, name="pantry", realtime=True,
                              mqtt_url=mosquitto.url)
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    try:
        await asyncio.wait_for(satellite.mqtt.connected.wait(), 10)
        for _ in range(50):
            if satellite.muted:
                break
            await asyncio.sleep(0.05)
        assert satellite.muted
        for command, payload in [("mute", "maybe"), ("volume", "inf"), ("volume", "loud"),
                                 ("say", '{"text": null}'), ("say", '{"text": "hi", "voice": 7}'),
                                 ("mute", "OFF"), ("say", "Fence")]:
            await _publish(mosquitto.port, f"{base}/{command}", payload)
        await wait_until(lambda: hub_standin.announcements, what="an announcement")
        await asyncio.sleep(0.3)
        assert [a["text"] for a in hub_standin.announcements] == ["Fence"]
        assert not satellite.muted and satellite.sink.volume == 100
        assert satellite.mqtt.connected.is_set()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for command in ("say", "mute"):
            await _publish_retained(mosquitto.port, f"{base}/{command}", "")


async def _publish_retained(port: int, topic: str, payload: str) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.publish(topic, payload, qos=1, retain=True)



async def test_a_command_sent_the_moment_the_satellite_is_online_is_not_lost(
        tmp_path, hub_standin):
    """An automation that waits for `availability` online (or a state) and then publishes at
    once must be heard: the satellite subscribes to its command topics before it announces
    anything, since the broker drops a non-retained message nobody is subscribed to. The order
    is read from the broker's own log, as timing alone would hide the window."""
    broker = Mosquitto(tmp_path / "mosquitto", extra="log_type all\n")
    broker.start()
    base = "voxhub/hallway"
    mic = save(tmp_path / "mic.wav", silence(30.0))
    config = satellite_config(tmp_path, hub_standin.uri, mic, name="hallway", realtime=True,
                              mqtt_url=broker.url)
    satellite = Satellite(config)
    try:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe(f"{base}/availability", qos=1)
            task = asyncio.create_task(satellite.run())
            try:
                async with asyncio.timeout(20):
                    async for message in client.messages:
                        if message.payload == b"online":
                            await client.publish(f"{base}/say", "Someone is at the door", qos=1)
                            break
                await wait_until(lambda: hub_standin.announcements, what="the announcement")
                assert [a["text"] for a in hub_standin.announcements] == \
                    ["Someone is at the door"]
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        lines = [line for line in broker.log().splitlines()
                 if "from voxhub-satellite-hallway" in line and "Received" in line]
        first_publish = next(n for n, line in enumerate(lines) if "PUBLISH" in line)
        subscribes = [n for n, line in enumerate(lines) if "SUBSCRIBE" in line]
        assert subscribes and max(subscribes) < first_publish, lines[:12]
    finally:
        broker.stop()
