"""People's everyday phrasings of Home Assistant's intents are understood as Home Assistant's
own sentences would be (hub/intents/colloquial/en.yaml): politeness and fillers, "put … on",
"kill the lights", "dim … to", "the heat", "make it louder", "how much longer", named timers
said first. They yield built-in intents with Home Assistant's slots, parse strictly, and widen
nothing: a near-miss stays a "Sorry"."""

from __future__ import annotations

from typing import Any

import pytest

from hub.intents.config import IntentsConfig
from hub.intents.engine import IntentEngine
from hub.intents.grammar import Grammar
from hub.intents.home import Home


@pytest.mark.parametrize(("heard", "area", "intent", "slots"), [
    ("okay so turn off the garden lights", "kitchen", "HassTurnOff", {"name": "Garden Lights"}),
    ("could you please turn the kitchen lights off", "kitchen", "HassTurnOff",
     {"name": "Kitchen Lights"}),
    ("can you put the night light on", "kids_room", "HassTurnOn", {"name": "Night Light"}),
    ("put the lights on downstairs", "bedroom", "HassTurnOn",
     {"floor": "ground_floor", "domain": "light"}),
    ("kill the lights", "kitchen", "HassTurnOff", {"domain": "light", "area": "kitchen"}),
    ("could you start the coffee maker", "kitchen", "HassTurnOn", {"name": "Coffee Maker"}),
    ("stop the dehumidifier", "office", "HassTurnOff", {"name": "Dehumidifier"}),
    ("turn the fan off in the bedroom", "kitchen", "HassTurnOff",
     {"domain": "fan", "area": "bedroom"}),
    ("dim the bedroom light to 20 percent", "bedroom", "HassLightSet",
     {"name": "Bedroom Light", "brightness": 20}),
    ("turn the kitchen lights down to 30 percent", "kitchen", "HassLightSet",
     {"name": "Kitchen Lights", "brightness": 30}),
    ("set the lights to 50 percent in the kitchen", "office", "HassLightSet",
     {"brightness": 50, "area": "kitchen", "domain": "light"}),
    ("make the kitchen lights warm white", "kitchen", "HassLightSet",
     {"name": "Kitchen Lights", "temperature": 2700}),
    ("set the heat to 21 degrees", "living_room", "HassClimateSetTemperature",
     {"temperature": 21, "area": "living_room"}),
    ("make it 22 degrees in here", "living_room", "HassClimateSetTemperature",
     {"temperature": 22, "area": "living_room"}),
    ("did i leave the garage door open", "bedroom", "HassGetState",
     {"name": "Garage Door", "state": "open"}),
    ("is the back door still unlocked", "bedroom", "HassGetState",
     {"name": "Back Door", "state": "unlocked"}),
    ("turn it up", "living_room", "HassSetVolumeRelative",
     {"volume_step": "up", "area": "living_room"}),
    ("quieter please", "living_room", "HassSetVolumeRelative",
     {"volume_step": "down", "area": "living_room"}),
    ("turn the tv volume down", "kitchen", "HassSetVolumeRelative",
     {"name": "TV", "volume_step": "down"}),
    ("volume 50", "kitchen", "HassSetVolume", {"volume_level": 50, "area": "kitchen"}),
    ("play the next song", "kitchen", "HassMediaNext", {"area": "kitchen"}),
    ("send the roomba home", "kitchen", "HassVacuumReturnToBase", {"name": "Robot Vacuum"}),
    ("tell everyone that the car is here", "hallway", "HassBroadcast",
     {"message": "the car is here"}),
    ("set a pizza timer for 12 minutes", "kitchen", "HassStartTimer",
     {"minutes": 12, "name": "pizza"}),
    ("set a timer for an hour and a half", "kitchen", "HassStartTimer",
     {"hours": 1, "minutes": 30}),
    ("take a minute off the timer", "kitchen", "HassDecreaseTimer", {"minutes": 1}),
    ("how much longer on the timer", "kitchen", "HassTimerStatus", {}),
    ("unpause the timer", "kitchen", "HassUnpauseTimer", {}),
    ("do you know what time it is", "kitchen", "HassGetCurrentTime", {}),
    ("what day is it today", "kitchen", "HassGetCurrentDate", {}),
    ("what's the weather like today", "kitchen", "HassGetWeather", {}),
    ("set the living room blinds to half way", "living_room", "HassSetPosition",
     {"name": "Living Room Blinds", "position": 50}),
    ("turn the heater on in the bedroom", "kitchen", "HassTurnOn", {"name": "Bedroom Heater"}),
])
def test_an_everyday_phrasing_parses_as_home_assistants_sentence_would(
        text_understander: Any, heard: str, area: str, intent: str,
        slots: dict[str, Any]) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is not None, (heard, decision.method, decision.matched_text)
    assert decision.method == "strict" and not decision.confirm
    got = {k: (float(v) if isinstance(v, (int, float)) else v)
           for k, v in decision.match.slots.items()}
    want = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in slots.items()}
    assert (decision.match.intent, got) == (intent, want)
    assert decision.resolution.error is None


@pytest.mark.parametrize("heard", [
    "put the kettle on", "kill the engine", "start the car", "make it twenty",
    "make it snappy", "louder than words", "how much longer until christmas",
    "how long left until dinner", "what day is it tomorrow", "put a sock in it",
    "who left the lights on", "she left the door open", "send the kids home",
])
def test_a_near_miss_of_an_everyday_phrasing_does_nothing(text_understander: Any,
                                                          heard: str) -> None:
    decision = text_understander.engine.decide([heard], "kitchen")
    assert decision.match is None, (heard, decision.match)


def test_every_colloquial_sentence_is_a_builtin_intent_that_home_assistant_can_carry_out(
) -> None:
    """Home Assistant's intent API knows only its own intents: the pack adds none."""
    grammar = Grammar.load("en", colloquial=True)
    assert grammar.custom_intents == set()
    assert len(grammar.skip_words) > len(Grammar.load("en").skip_words)


def test_colloquial_off_is_home_assistants_sentences_only(example_home: Home) -> None:
    engine = IntentEngine(IntentsConfig(colloquial=False, fuzzy=False))
    engine.set_home(example_home, background=False)
    assert engine.decide(["kill the lights"], "kitchen").match is None
    assert engine.decide(["turn off the kitchen lights"], "kitchen").match is not None


def test_a_lights_colour_temperature_is_checked_in_kelvin_not_as_a_thermostat(
        text_understander: Any) -> None:
    """Home Assistant's own "set the kitchen lights to warm white" (2700 K) was refused as a
    temperature out of a thermostat's range."""
    decision = text_understander.engine.decide(["set the kitchen lights to warm white"],
                                               "kitchen")
    assert decision.match is not None and decision.match.slots["temperature"] == 2700
