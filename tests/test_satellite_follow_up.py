"""Listening again without the wake word after a reply that asks something.

The real satellite daemon (microphone from a WAV file in real time, speaker into a WAV file)
against the hub stand-in, answering the first command with a question: the satellite must
start a second run by itself, carry the conversation id, take the answer, and go back to idle
quietly when nothing is said.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from rehearsal.speech import espeak, silence
from satellite.daemon import Satellite
from tests.plugins.satellite import HubStandIn, satellite_config, save


class AskingHub(HubStandIn):
    """Answers the first run with `reply` (and, if given, continue_conversation and an id)."""

    def __init__(self, reply: str, continue_conversation: bool = False,
                 conversation_id: str | None = None) -> None:
        super().__init__(reply_s=1.0)
        self.reply = reply
        self.continue_conversation = continue_conversation
        self.conversation_id = conversation_id

    def result(self) -> dict[str, Any]:
        data = super().result()
        if len(self.runs) == 1:
            data.update(intent=None, targets=[], reply=self.reply,
                        continue_conversation=self.continue_conversation,
                        conversation_id=self.conversation_id)
        return data


async def converse(tmp_path: Any, hub: HubStandIn, *parts: np.ndarray,
                   **overrides: Any) -> Satellite:
    await hub.start()
    try:
        mic = save(tmp_path / "mic.wav", *parts)
        satellite = Satellite(satellite_config(tmp_path, hub.uri, mic, realtime=True,
                                               **overrides))
        assert await asyncio.wait_for(satellite.run(), 90) == 0
    finally:
        await hub.stop()
    return satellite


def command(sat_speech: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [silence(1.0), sat_speech["wake"], silence(0.8), sat_speech["command"]]


async def test_a_reply_ending_in_a_question_is_followed_by_listening_that_times_out_to_idle(
        tmp_path: Any, sat_speech: dict[str, np.ndarray]) -> None:
    hub = AskingHub("Which room do you mean?")
    satellite = await converse(tmp_path, hub, *command(sat_speech), silence(8.0),
                               conversation__follow_up_s=2.0)
    assert [d.name for d in satellite.detections] == ["okay_nabu"]  # one wake word, two runs
    assert len(hub.runs) == 2
    follow_up = hub.runs[1].data
    assert follow_up.get("wake_word_name") is None
    assert "conversation_id" not in follow_up  # the hub gave none: none is invented
    # The hub must not give up before the satellite does.
    assert follow_up["endpointing"]["no_speech_s"] >= 2.0
    assert hub.runs[1].stopped
    history = satellite.state_history
    assert history[-2:] == ["follow-up", "idle"], history
    assert history.index("speaking") < history.index("follow-up")


async def test_the_follow_up_carries_the_conversation_id_and_streams_the_answer(
        tmp_path: Any, sat_speech: dict[str, np.ndarray]) -> None:
    hub = AskingHub("I found two timers.", continue_conversation=True,
                    conversation_id="conv-7f3a")
    answer = espeak("yes please")
    satellite = await converse(tmp_path, hub, *command(sat_speech), silence(3.2), answer,
                               silence(3.0), conversation__follow_up_s=4.0)
    assert len(hub.runs) == 2
    second = hub.runs[1]
    assert second.data["conversation_id"] == "conv-7f3a"
    assert second.completed  # answered like any command
    heard = np.frombuffer(bytes(second.audio), dtype="<i2").astype(np.float32) / 32768
    assert np.abs(heard).max() > 0.1  # the answer reached the hub
    history = satellite.state_history
    after = history[history.index("follow-up"):]
    assert after[:3] == ["follow-up", "listening", "thinking"], history
    assert history[-1] == "idle"


async def test_follow_up_listening_can_be_switched_off(tmp_path: Any,
                                                       sat_speech: dict[str, np.ndarray]) -> None:
    hub = AskingHub("Did you mean: open the garage door?", continue_conversation=True,
                    conversation_id="conv-off")
    satellite = await converse(tmp_path, hub, *command(sat_speech), silence(4.0),
                               conversation__follow_up_s=0.0)
    assert len(hub.runs) == 1
    assert "follow-up" not in satellite.state_history
    assert satellite.state_history[-1] == "idle"
