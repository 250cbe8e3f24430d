"""The satellite's named states: the transition table, the observers, and a real conversation
followed through the public hooks only (states, microphone blocks, wake words, hub events)."""

from __future__ import annotations

import asyncio
import itertools
import logging

import numpy as np
import pytest
from wyoming.event import Event

from satellite.audio import RATE
from satellite.daemon import Satellite
from satellite.mqtt_commands import Listen, Mute, Say, Stop, Volume, parse_command
from satellite.publisher import Publisher, error_payload, make_publisher
from satellite.state import TRANSITIONS, State, StateMachine
from satellite.wake import Detection
from tests.plugins.satellite import satellite_config, save


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def test_every_state_has_its_transitions_and_keeps_its_published_value():
    assert set(TRANSITIONS) == set(State)
    for targets in TRANSITIONS.values():
        assert targets <= set(State)
    # MQTT `state` and Home Assistant's sensor show these strings.
    assert State.FOLLOW_UP == "follow-up" and f"{State.THINKING}" == "thinking"


def test_a_change_outside_the_table_is_logged_counted_and_still_made(caplog):
    machine = StateMachine()
    seen: list[tuple[State, State]] = []
    machine.on_state(lambda old, new: seen.append((old, new)))
    with caplog.at_level(logging.ERROR, logger="satellite.state"):
        assert machine.set(State.THINKING)  # idle → thinking: no command was heard
    assert machine.state is State.THINKING
    assert machine.illegal == [(State.IDLE, State.THINKING)]
    assert "idle → thinking" in caplog.text
    assert seen == [(State.IDLE, State.THINKING)]


def test_observers_see_each_change_and_a_state_set_again_and_one_failing_stops_none():
    machine = StateMachine()
    seen: list[tuple[State, State]] = []

    def broken(old: State, new: State) -> None:
        raise RuntimeError("observer bug")

    machine.on_state(broken)
    machine.on_state(lambda old, new: seen.append((old, new)))
    machine.set(State.LISTENING)
    assert not machine.set(State.LISTENING)  # no change: told again, not in the history
    machine.set(State.THINKING)
    assert seen == [(State.IDLE, State.LISTENING), (State.LISTENING, State.LISTENING),
                    (State.LISTENING, State.THINKING)]
    assert machine.history == [State.IDLE, State.LISTENING, State.THINKING]
    assert machine.illegal == []


@pytest.mark.parametrize(("topic", "payload", "command"), [
    ("say", b"Dinner is ready", Say("Dinner is ready")),
    ("say", b'{"text": "Hello", "voice": "bf_emma"}', Say("Hello", "bf_emma")),
    ("say", b"{not json", Say("{not json")),  # spoken as it came
    ("say", b'{"text": null}', None),  # was spoken as "None"
    ("say", b'{"text": "Hi", "voice": 3}', None),
    ("say", b"  ", None),
    ("listen", b"listen", Listen()),
    ("stop", b"", Stop()),
    ("mute", b"on", Mute(True)),
    ("mute", b"UNMUTE", Mute(False)),
    ("mute", b"maybe", None),  # used to unmute
    ("volume", b"42.4", Volume(42)),
    ("volume", b"inf", None),
    ("volume", b"loud", None),
    ("reboot", b"now", None),
])
def test_mqtt_payloads_become_commands_or_are_refused(topic, payload, command):
    assert parse_command(topic, payload) == command


async def test_a_satellite_without_mqtt_has_a_publisher_that_does_nothing(tmp_path):
    async def ignore(command: object) -> None:
        raise AssertionError("no command can arrive without MQTT")

    publisher = make_publisher(satellite_config(tmp_path, "tcp://127.0.0.1:1", None), ignore)
    assert type(publisher) is Publisher
    assert publisher.start(muted=False, volume=80) == []
    publisher.error("lost", "hub-unavailable", "satellite")
    await publisher.drain(0.1)
    assert not publisher.connected.is_set()
    assert error_payload("lost", "hub-unavailable", "satellite") == {
        "message": "lost", "code": "hub-unavailable", "source": "satellite"}


async def test_a_conversation_followed_through_the_public_hooks(tmp_path, sat_speech,
                                                               hub_standin):
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.8),
               sat_speech["command"], silence(1.5))
    satellite = Satellite(satellite_config(tmp_path, hub_standin.uri, mic))
    changes: list[tuple[State, State]] = []
    blocks: list[tuple[int, float]] = []
    wakes: list[Detection] = []
    events: list[Event] = []
    satellite.on_state(lambda old, new: changes.append((old, new)))
    satellite.hooks.on_mic(lambda block, start_s: blocks.append((len(block), start_s)))
    satellite.hooks.on_wake(wakes.append)
    satellite.hooks.on_hub_event(events.append)
    assert await asyncio.wait_for(satellite.run(), 60) == 0

    moves = [(old, new) for old, new in changes if old is not new]
    assert [new for _, new in moves] == satellite.state_history[1:]
    assert [new for _, new in moves][-4:] == [State.LISTENING, State.THINKING, State.SPEAKING,
                                              State.IDLE]
    assert satellite.states.illegal == []
    # Every block, in order, each starting where the previous one ended.
    assert blocks[0][1] == 0.0
    for (size, start), (_, following) in itertools.pairwise(blocks):
        assert following == pytest.approx(start + size / (2 * RATE))
    assert [wake.name for wake in wakes] == [d.name for d in satellite.detections]
    kinds = [event.type for event in events]
    assert kinds.index("transcript") < kinds.index("intent-result") < kinds.index("run-end")
    assert kinds[-1] == "run-end"
