"""A name said as a description ("the heater in the bedroom") is the home's name for it
("Bedroom Heater"); the rewrite is only a word order, and only where the home has that name."""

from __future__ import annotations

import dataclasses
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


@pytest.mark.parametrize(("heard", "area", "name", "state"), [
    ("what's the humidity in here", "bathroom", "Bathroom Humidity", None),
    ("What's the humidity here?", "bathroom", "Bathroom Humidity", None),
    ("is there any motion in the hallway", "kitchen", "Hallway Motion", "on"),
    ("Is there motion in here?", "hallway", "Hallway Motion", "on"),
])
def test_here_is_the_satellites_room_and_presence_is_asked_as_is_there(
        text_understander: Any, heard: str, area: str, name: str, state: str | None) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is not None, heard
    assert decision.match.intent == "HassGetState"
    assert decision.match.slots.get("name") == name
    assert decision.match.slots.get("state") == state
    assert decision.confidence == 1.0 and decision.resolution.error is None


@pytest.mark.parametrize(("heard", "area"), [
    ("what's the humidity in here", "kitchen"),   # the humidity sensor is in the bathroom
    ("is there any motion in here", "bathroom"),  # the motion sensor is in the hallway
])
def test_here_names_nothing_in_another_room(text_understander: Any, heard: str,
                                            area: str) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is None or decision.match.slots.get("name") not in (
        "Bathroom Humidity", "Hallway Motion"), decision.match


@pytest.mark.parametrize(("heard", "area", "intent", "name"), [
    ("send the vacuum back to its dock", "kitchen", "HassVacuumReturnToBase", "Robot Vacuum"),
    ("start the vacuum", "office", "HassVacuumStart", "Robot Vacuum"),
    ("turn on the speaker", "bedroom", "HassTurnOn", "Kitchen Speaker"),
    ("is the door locked", "hallway", "HassGetState", "Front Door"),  # the hallway's door
])
def test_the_end_of_one_entitys_name_is_that_entity_but_only_as_sure_as_a_repair(
        text_understander: Any, heard: str, area: str, intent: str, name: str) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is not None, heard
    assert (decision.match.intent, decision.match.slots.get("name")) == (intent, name)
    assert decision.resolution.error is None
    assert 0.72 < decision.confidence < 1.0  # a guess: below what an unsafe action needs


def test_an_unsafe_action_on_a_completed_name_is_asked_about(text_understander: Any) -> None:
    decision = text_understander.engine.decide(["unlock the door"], "hallway")
    assert decision.match is None and decision.confirm
    assert decision.pending is not None
    assert decision.pending.slots.get("name") == "Front Door"
    assert "front door" in decision.reply.casefold()


@pytest.mark.parametrize(("heard", "area"), [
    ("lock the door", "office"),       # two locks, neither in the office: which one?
    ("is the lamp on", "kitchen"),     # three lamps, none in the kitchen
    ("is the fan on", "kitchen"),      # a ceiling fan and a desk fan
    ("turn on the heater in the kitchen", "office"),  # the only heater is in the bedroom
])
def test_a_part_several_names_share_or_a_room_contradicts_completes_nothing(
        text_understander: Any, heard: str, area: str) -> None:
    decision = text_understander.engine.decide([heard], area)
    assert decision.match is None or decision.match.slots.get("name") is None, decision.match
    assert not decision.confirm


@pytest.mark.parametrize("heard", ["what's the temperature outside", "How cold is it outside?",
                                   "how warm is it outdoors"])
def test_outside_is_where_the_outside_temperature_is(text_understander: Any, heard: str) -> None:
    decision = text_understander.engine.decide([heard], "kitchen")
    assert decision.match is not None, heard
    assert (decision.match.intent, decision.match.slots) == (
        "HassGetState", {"name": "Outside Temperature"})
    assert "12.5" in decision.reply


def test_how_cold_is_it_outside_needs_a_temperature_sensor_outside(example_home: Home) -> None:
    """Only the name decides: with no outside sensor, "outside" names nothing."""
    home = dataclasses.replace(example_home, entities=[
        e for e in example_home.entities if e.id != "sensor.outside_temperature"])
    assert DescribedNames(home).rewrite("how cold is it outside") is None
    assert DescribedNames(example_home).rewrite("how cold is it outside") == (
        "what is the outside temperature")
