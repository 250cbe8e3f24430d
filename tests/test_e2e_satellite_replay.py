"""A real `voxhub hub` killed with SIGKILL in the middle of a spoken command, then restarted: the
satellite process replays the command it still holds, and the automation gets its intent once."""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml

from tests.plugins.mqtt import MqttRecorder
from tests.plugins.pipeline import SatelliteProcess, wake_and_command
from tests.test_e2e_satellite import intents, wait_log

pytestmark = pytest.mark.slow


async def test_a_command_in_flight_when_the_hub_is_killed_is_carried_out_once_it_is_back(
        e2e_hub, e2e_speech, mosquitto, tmp_path):
    name = "e2e-replay"
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Kitchen", mosquitto.url)
    config = sat.folder / "satellite.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["hub"]["replay_window_s"] = 120.0  # a hub restart loads its models (~30 s here)
    config.write_text(yaml.safe_dump(settings))
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/#"], "e2e-rec-replay") as recorder:
        await sat.start()
        try:
            await wait_log(sat, "connected to hub")
            sat.say(wake_and_command(e2e_speech, "kitchen"))
            await wait_log(sat, "state: listening", timeout=30)
            await asyncio.sleep(0.6)  # the command is being spoken, and streamed
            e2e_hub.stop(kill=True)
            await asyncio.get_running_loop().run_in_executor(None, e2e_hub.start)
            await recorder.wait_for(lambda r: intents(r, name), timeout=60)
            await wait_log(sat, "state: idle", timeout=60)
            await asyncio.sleep(1.0)  # a duplicate would have arrived by now
        finally:
            await sat.stop()
    assert "replayed the command" in sat.log()
    received = intents(recorder, name)
    assert len(received) == 1
    assert received[0]["intent"]["name"] == "HassTurnOn"
    assert "light.kitchen_lights" in received[0]["targets"]
    errors = [json.loads(p) for p in recorder.on(f"voxhub/{name}/error")]
    assert not [e for e in errors if e.get("code") == "command-lost"]
