"""A name said as a description ("the heater in the bedroom") is the home's name for it
("Bedroom Heater"); the rewrite is only a word order, and only where the home has that name."""

from __future__ import annotations

from typing import Any

import pytest

from hub.intents.described import DescribedNames
from hub.intents.home import Home


@pytest.mark.parametrize(("heard", "area", "intent", "name"), [
    ("turn the heater in the bedroom off", "bedroom", "HassTurnOff", "Bedroom Heater"),
    ("Turn the heater in the bedroom, off.", "kitchen", "HassTurnOff", "Bedroom Heater"),
    ("what's the humidity in the bathroom", "bathroom", "HassGetState", "Bathroom Humidity"),
    ("turn on the speaker in the kitchen", "office", "HassTurnOn", "Kitchen Speaker"),
])
def test_what_then_where_is_the_entity_named_where_then_what(
        text_understander: Any, heard: str, area: str, intent: str, name: str) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is not None, heard
    assert (decision.match.intent, decision.match.slots.get("name")) == (intent, name)
    assert decision.method == "strict" and decision.resolution.error is None


def test_a_room_command_stays_a_room_command(text_understander: Any) -> None:
    """"the lights in the kitchen" parses as every light there; it is not rewritten into the
    entity named Kitchen Lights."""
    decision = text_understander.engine.decide(["turn on the lights in the kitchen"], "office")
    assert decision.match is not None
    assert decision.match.slots == {"area": "kitchen", "domain": "light"}


@pytest.mark.parametrize("heard", [
    "turn the heater in the kitchen off",   # the heater is in the bedroom
    "what's the humidity in the garden",    # no such sensor there
    "the heater in the bedroom is broken",  # not a command either way
])
def test_no_rewrite_invents_an_entity_or_a_command(text_understander: Any, example_home: Home,
                                                  heard: str) -> None:
    decision = text_understander.engine.decide([heard], "office")
    assert decision.match is None or decision.match.slots.get("name") not in (
        "Bedroom Heater", "Bathroom Humidity"), (heard, decision.match)
    assert DescribedNames(example_home).rewrite("turn the heater in the kitchen off") is None
