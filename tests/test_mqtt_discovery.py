"""Home Assistant MQTT discovery and availability, through a real `voxhub satellite` process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import jinja2

from rehearsal.ports import free_port
from rehearsal.speech import silence
from satellite.ha_discovery import EVENT_TYPES, discovery_messages
from tests.plugins.mqtt import MqttRecorder
from tests.plugins.satellite import save


def test_one_device_with_the_entities_home_assistant_expects():
    messages = discovery_messages("homeassistant", "voxhub/den", "den", "Den", "Den")
    components = sorted(topic.split("/")[1] for topic in messages)
    assert components == ["button", "event", "number", "sensor", "sensor", "switch", "text"]
    ids = {p["unique_id"] for p in messages.values()}
    assert len(ids) == len(messages)
    for topic, payload in messages.items():
        assert topic.startswith("homeassistant/") and topic.endswith("/config")
        assert payload["device"]["identifiers"] == ["voxhub_den"]
        assert payload["device"]["suggested_area"] == "Den"
        assert payload["availability_topic"] == "voxhub/den/availability"
    switch = messages["homeassistant/switch/voxhub_den/mute/config"]
    assert (switch["command_topic"], switch["state_topic"]) == ("voxhub/den/mute",
                                                                "voxhub/den/mute/state")


def test_the_event_entity_template_turns_the_intent_result_into_an_event():
    """Rendered with jinja2 as Home Assistant does (value_json = the intent topic's JSON)."""
    event = discovery_messages("homeassistant", "voxhub/den", "den", "Den", None)[
        "homeassistant/event/voxhub_den/intent/config"]
    template = jinja2.Environment().from_string(event["value_template"])
    result = {"text": "turn on the kitchen lights", "language": "en",
              "intent": {"name": "HassTurnOn", "slots": {"area": "kitchen"}},
              "targets": ["light.kitchen"], "reply": "Done", "confidence": 0.9,
              "timings_ms": {}}
    rendered = json.loads(template.render(value_json=result))
    assert rendered["event_type"] == "HassTurnOn" and rendered["event_type"] in EVENT_TYPES
    assert rendered["slots"] == {"area": "kitchen"} and rendered["text"] == result["text"]
    unknown = json.loads(template.render(value_json={**result, "intent": None}))
    assert unknown["event_type"] == "not_recognized"
    custom = json.loads(template.render(value_json={**result, "intent": {"name": "MyIntent",
                                                                        "slots": {}}}))
    assert custom["event_type"] == "other" and custom["intent"] == "MyIntent"
    assert rendered["action"] is None  # a hub from before actions were reported
    action = {"by": "home_assistant", "status": "done", "carried_out": True,
              "targets": ["light.kitchen"], "failed": [], "error": None}
    acted = json.loads(template.render(value_json={**result, "action": action}))
    assert acted["action"]["carried_out"] is True and acted["action"]["by"] == "home_assistant"


async def test_a_satellite_process_announces_itself_dies_offline_and_is_removed(
        tmp_path, mosquitto):
    mic = save(tmp_path / "silence.wav", silence(60.0))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    base = [sys.executable, "-m", "voxhub.cli", "satellite", "--name", "Porch",
            "--area", "Outside", "--mqtt", mosquitto.url]
    hub = f"tcp://127.0.0.1:{free_port()}"  # nothing listens: the hub is down
    proc = subprocess.Popen([*base, "--hub", hub, "--mic-file", str(mic), "--snd-command", "cat"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with MqttRecorder(mosquitto.port, ["voxhub/porch/#",
                                                 "homeassistant/+/voxhub_porch/+/config"],
                                "ha-porch") as recorder:
            await recorder.wait_for(lambda r: len([m for m in r.messages
                                                   if m.topic.endswith("/config")]) == 7 and
                                    r.on("voxhub/porch/availability")[-1:] == [b"online"])
            # The hub is unreachable: the satellite says so.
            await recorder.wait_for(lambda r: r.on("voxhub/porch/error"))
            error = json.loads(recorder.on("voxhub/porch/error")[0])
            assert error["code"] == "hub-unavailable"
            assert recorder.on("voxhub/porch/state")[-1:] == [b"error"]
            proc.send_signal(signal.SIGKILL)  # a power cut: only the last will can tell
            await recorder.wait_for(lambda r: r.on("voxhub/porch/availability")[-1:] ==
                                    [b"offline"], timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    removal = await asyncio.create_subprocess_exec(*base, "--remove-discovery", env=env,
                                                   stdout=asyncio.subprocess.PIPE)
    assert await asyncio.wait_for(removal.wait(), 60) == 0
    # A new Home Assistant subscribing now finds no retained config left.
    async with MqttRecorder(mosquitto.port, ["homeassistant/+/voxhub_porch/+/config"],
                            "ha-porch-later") as later:
        await asyncio.sleep(1.0)
    assert [m for m in later.messages if m.payload] == []


async def test_a_satellite_stopped_by_systemd_says_offline_at_once(tmp_path, mosquitto):
    mic = save(tmp_path / "silence.wav", silence(60.0))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "voxhub.cli", "satellite", "--name", "Shed",
                             "--mqtt", mosquitto.url, "--hub", f"tcp://127.0.0.1:{free_port()}",
                             "--mic-file", str(mic), "--snd-command", "cat"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with MqttRecorder(mosquitto.port, ["voxhub/shed/availability"],
                                "ha-shed") as recorder:
            await recorder.wait_for(lambda r: r.on("voxhub/shed/availability")[-1:] ==
                                    [b"online"])
            # `systemctl stop` or `docker stop`, even while it is still announcing itself
            proc.send_signal(signal.SIGTERM)
            # Well before the broker's last will (1.5 keep-alives) could say so.
            await recorder.wait_for(lambda r: r.on("voxhub/shed/availability")[-1:] ==
                                    [b"offline"], timeout=10)
        assert await asyncio.wait_for(asyncio.to_thread(proc.wait), 10) == 0
        assert b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
