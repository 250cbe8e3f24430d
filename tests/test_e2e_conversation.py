"""Continued conversation through real processes: `voxhub hub`, `voxhub satellite`, Mosquitto.

"Open the garbage door", spoken by a voice the hub does not reply with, is an entry to the house
heard uncertainly: the hub asks "Did you mean: open the garage door?", the satellite listens
again without the wake word, and the spoken answer decides. The test speaks the answer only
once the satellite says (on MQTT) that it listens again, as a person would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest

from rehearsal.speech import silence, speak
from tests.plugins.mqtt import MqttRecorder
from tests.plugins.pipeline import SatelliteProcess

pytestmark = pytest.mark.slow

GARAGE = "cover.garage_door"


@pytest.fixture(scope="module")
def answers_speech(e2e_hub: Any) -> dict[str, np.ndarray]:
    async def make() -> dict[str, np.ndarray]:
        texts = {"wake": "Okay, Nabu.", "uncertain": "Open the garbage door.",
                 "yes": "Yes, please.", "no": "No, thanks."}
        return {key: await speak(e2e_hub.uri, text, "am_michael") for key, text in texts.items()}

    return asyncio.run(make())


def intents(recorder: MqttRecorder, name: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p in recorder.on(f"voxhub/{name}/intent")]


def states(recorder: MqttRecorder, name: str) -> list[str]:
    return [p.decode() for p in recorder.on(f"voxhub/{name}/state")]


async def ask_then_answer(e2e_hub: Any, mosquitto: Any, tmp_path: Any, name: str,
                          speech: dict[str, np.ndarray], answer: str | None,
                          ) -> tuple[list[dict[str, Any]], list[str], list[bytes]]:
    """The uncertain command, then `answer` spoken once the satellite listens again (None:
    nothing said). Intents, states and errors the satellite published."""
    sat = SatelliteProcess(tmp_path / "sat", e2e_hub.uri, name, "Office", mosquitto.url)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/#"], f"rec-{name}") as recorder:
        await sat.start()
        try:
            await recorder.wait_for(lambda r: "idle" in states(r, name), timeout=60)
            sat.say(np.concatenate([silence(0.3), speech["wake"], silence(0.7),
                                    speech["uncertain"], silence(0.3)]))
            await recorder.wait_for(lambda r: "follow-up" in states(r, name), timeout=60)
            if answer is not None:
                sat.say(np.concatenate([silence(0.4), speech[answer], silence(0.3)]))
                await recorder.wait_for(lambda r: len(intents(r, name)) >= 2, timeout=60)
            await recorder.wait_for(lambda r: states(r, name)[-1:] == ["idle"], timeout=60)
        finally:
            await sat.stop()
    return (intents(recorder, name), states(recorder, name),
            recorder.on(f"voxhub/{name}/error"))


def assert_asked(question: dict[str, Any]) -> None:
    assert question["intent"] is None and question["targets"] == []
    assert question["reply"] == "Did you mean: open the garage door?"
    assert question["continue_conversation"] is True and question["conversation_id"]


async def test_a_spoken_yes_after_the_question_opens_the_garage_through_the_mqtt_actor(
        e2e_hub: Any, answers_speech: dict[str, np.ndarray], mosquitto: Any,
        tmp_path: Any) -> None:
    found, seen, errors = await ask_then_answer(e2e_hub, mosquitto, tmp_path, "e2e-confirm",
                                                answers_speech, "yes")
    question, done = found[:2]
    assert_asked(question)
    assert done["intent"]["name"] == "HassTurnOn" and done["targets"] == [GARAGE]
    assert done["conversation_id"] == question["conversation_id"]
    # Published for the home's automations to act on (intents.act: mqtt on this hub).
    assert done["action"]["by"] == "mqtt" and done["action"]["status"] == "published"
    assert done["reply"] == "Sent to your automations: open the garage door."  # not "Opened"
    assert done["understood"] == "open the garage door"
    assert len(found) == 2
    # Speaking the question, listening again without a wake word, then the usual run.
    follow = seen.index("follow-up")
    assert "speaking" in seen[:follow]
    assert seen[follow + 1:follow + 3] == ["listening", "thinking"], seen
    assert not errors


async def test_a_spoken_no_after_the_question_does_nothing(
        e2e_hub: Any, answers_speech: dict[str, np.ndarray], mosquitto: Any,
        tmp_path: Any) -> None:
    found, _, errors = await ask_then_answer(e2e_hub, mosquitto, tmp_path, "e2e-decline",
                                             answers_speech, "no")
    question, refused = found[:2]
    assert_asked(question)
    assert refused["intent"]["name"] == "HassNevermind" and refused["targets"] == []
    assert refused["reply"] == "OK, I won't."
    assert not any(r["intent"] and r["intent"]["name"] == "HassTurnOn" for r in found)
    assert not errors


async def test_silence_after_the_question_goes_back_to_idle_and_nothing_happens(
        e2e_hub: Any, answers_speech: dict[str, np.ndarray], mosquitto: Any,
        tmp_path: Any) -> None:
    found, seen, errors = await ask_then_answer(e2e_hub, mosquitto, tmp_path, "e2e-silent",
                                                answers_speech, None)
    assert len(found) == 1
    assert_asked(found[0])
    assert seen[-2:] == ["follow-up", "idle"], seen
    assert not errors  # the quiet end of a follow-up is no error
