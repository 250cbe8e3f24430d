"""A voxhub satellite's spoken command carried out by real Home Assistant Core.

Real processes all the way: `voxhub hub` reading its house from Home Assistant (areas, exposed
entities, live states) and acting through Home Assistant's intent API, a `voxhub satellite` whose
microphone is fed in real time, Debian's Mosquitto, and Home Assistant Core 2025.4.4
(tests/plugins/ha_core.py). What counts is what Home Assistant's state says, what the satellite
played, and what an automation reads on MQTT.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rehearsal.hub_process import HubProcess
from rehearsal.ports import free_port
from rehearsal.speech import silence, speak
from tests.plugins.ha_core import KITCHEN_LIGHT, HomeAssistantCore
from tests.plugins.hub import normalize_words, transcribe
from tests.plugins.mqtt import MqttRecorder
from tests.plugins.pipeline import SatelliteProcess
from voxhub.audio import read_wav

pytestmark = pytest.mark.slow

NAME = "ha-kitchen"


@pytest.fixture(scope="module")
def ha_hub(home_assistant_core: HomeAssistantCore,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub whose house is Home Assistant's and whose actor is Home Assistant (the token in a
    file, never on the command line)."""
    folder = tmp_path_factory.mktemp("ha-hub")
    token = folder / "token"
    token.write_text(home_assistant_core.token)
    token.chmod(0o600)
    hub = HubProcess(folder / "hub.log", mqtt_port=free_port(), extra_args=[
        "--home-assistant-url", home_assistant_core.url,
        "--set", f"home_assistant.token_file={token}",
        "--set", "home_assistant.action_timeout_s=2",
        "--set", "server.programs=[tts,asr,intent,handle,pipeline]"])
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def speech(ha_hub: HubProcess) -> dict[str, np.ndarray]:
    async def make() -> dict[str, np.ndarray]:
        texts = {"wake": "Okay, Nabu.", "on": "Turn on the kitchen lights.",
                 "off": "Turn off the kitchen lights."}
        return {key: await speak(ha_hub.uri, text, "am_michael") for key, text in texts.items()}

    return asyncio.run(make())


def _command(speech: dict[str, np.ndarray], key: str) -> np.ndarray:
    return np.concatenate([silence(0.3), speech["wake"], silence(0.7), speech[key],
                           silence(0.3)])


def _intents(recorder: MqttRecorder) -> list[dict[str, Any]]:
    return [json.loads(p) for p in recorder.on(f"voxhub/{NAME}/intent")]


def _states(recorder: MqttRecorder) -> list[str]:
    return [p.decode() for p in recorder.on(f"voxhub/{NAME}/state")]


async def _say_and_wait(sat: SatelliteProcess, recorder: MqttRecorder, audio: np.ndarray,
                        count: int) -> dict[str, Any]:
    sat.say(audio)
    await recorder.wait_for(lambda r: len(_intents(r)) >= count, timeout=60)
    await recorder.wait_for(lambda r: _states(r)[-1:] == ["idle"], timeout=40)
    return _intents(recorder)[count - 1]


@contextlib.contextmanager
def _frozen(ha: HomeAssistantCore) -> Iterator[None]:
    """Home Assistant stops answering (SIGSTOP), as a hung or overloaded one does."""
    assert ha.proc is not None
    os.kill(ha.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(ha.proc.pid, signal.SIGCONT)


async def test_a_spoken_command_turns_home_assistants_light_on_and_says_so_honestly(
        home_assistant_core: HomeAssistantCore, ha_hub: HubProcess,
        speech: dict[str, np.ndarray], mosquitto: Any, tmp_path: Path,
        whisper_tiny: Any) -> None:
    ha = home_assistant_core
    await asyncio.to_thread(ha.set_light, KITCHEN_LIGHT, False)
    sat = SatelliteProcess(tmp_path / "sat", ha_hub.uri, NAME, "Kitchen", mosquitto.url)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{NAME}/#"], "ha-sat-rec") as recorder:
        await sat.start()
        try:
            await recorder.wait_for(lambda r: "idle" in _states(r), timeout=60)
            done = await _say_and_wait(sat, recorder, _command(speech, "on"), 1)
            light_after_on = await asyncio.to_thread(ha.wait_state, KITCHEN_LIGHT, "on")
            played_on = read_wav(sat.snd_file)

            # Home Assistant stops answering: the reply must not claim the light went off.
            with _frozen(ha):
                failed = await _say_and_wait(sat, recorder, _command(speech, "off"), 2)

            # Home Assistant is stopped: nothing can have changed, and the reply says so.
            await asyncio.to_thread(ha.stop)
            try:
                down = await _say_and_wait(sat, recorder, _command(speech, "on"), 3)
            finally:
                await asyncio.to_thread(ha.restart)
        finally:
            await sat.stop()
    replies = [p.decode() for p in recorder.on(f"voxhub/{NAME}/reply")]

    assert done["intent"]["name"] == "HassTurnOn"
    assert done["action"]["by"] == "home_assistant"
    assert done["action"]["status"] == "done" and done["action"]["carried_out"] is True
    assert KITCHEN_LIGHT in done["action"]["targets"]
    assert light_after_on == "on"  # Home Assistant's own state: the house changed
    assert replies[0].startswith("Turned on")
    pcm, rate, _, _ = played_on
    assert "turned on" in normalize_words(transcribe(whisper_tiny, pcm, rate))

    assert failed["intent"]["name"] == "HassTurnOff"  # understood, but not carried out
    assert failed["action"]["carried_out"] is False
    assert failed["action"]["status"] == "unreachable"
    # The request was sent: Home Assistant may still carry it out once it runs again, so the
    # reply may claim neither that it happened nor that nothing changed.
    assert "didn't answer in time" in replies[1] and "Turned" not in replies[1]

    assert down["intent"]["name"] == "HassTurnOn"  # nothing lost on MQTT: the result is there
    assert down["action"]["status"] == "unreachable" and down["action"]["carried_out"] is False
    assert "couldn't reach Home Assistant, so nothing was changed" in replies[2]
