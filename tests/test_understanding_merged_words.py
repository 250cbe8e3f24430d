"""Names heard with their words run together or split apart ("Playcorner" ↔ "play corner").

A recognizer writes a name the way it sounds: "playcorner" for the area Play Corner, "bath room"
for the Bathroom Light. Name repair matches such spans against the home's names with the
spaces taken out, but never swallows a small word of the sentence into a name ("the lights" is
not "den lights", "the playcorner" is "the" + a name), never splits a name into words the
commands use on their own ("are any lights" is not "garden lights" said in two), and never
takes a name heard exactly for a longer one it is part of ("living room" is not "living
roomba").
"""

from __future__ import annotations

import pytest

from hub.intents.config import IntentsConfig
from hub.intents.engine import IntentEngine
from hub.intents.fuzzy import joined_score, phrase_score
from hub.intents.home import Home


@pytest.fixture(scope="module")
def engine() -> IntentEngine:
    home = Home.from_mapping({
        "areas": [{"id": "playcorner", "name": "Playcorner"}, {"id": "den", "name": "Den"},
                  {"id": "laundry", "name": "Laundry Room"},
                  {"id": "sunroom", "name": "Sun Room"}],
        "entities": [
            {"id": "light.playcorner", "name": "Playcorner Lights", "area": "playcorner"},
            {"id": "light.den", "name": "Den Lights", "area": "den"},
            {"id": "light.laundry", "name": "Laundry Light", "area": "laundry"},
            {"id": "light.sunroom", "name": "Sunroom Lamp", "area": "sunroom"},
            {"id": "switch.washer", "name": "Washing Machine", "area": "laundry"},
            {"id": "light.bathroom", "name": "Bathroom Light"},
            {"id": "light.garden", "name": "Garden Lights"},
            {"id": "vacuum.roomba", "name": "Roomba", "area": "den"}]})
    engine = IntentEngine(IntentsConfig(sentences_per_template=5, cache_index=False))
    engine.set_home(home, background=False)
    return engine


@pytest.mark.parametrize(("heard", "area", "targets"), [
    ("turn on the play corner lights", None, ["light.playcorner"]),
    ("play corner lights on", None, ["light.playcorner"]),
    ("turn off the lights in the play corner", "den", ["light.playcorner"]),
    ("turn off the lights in the laundryroom", "den", ["light.laundry"]),
    ("turn on the washingmachine", "den", ["switch.washer"]),
    ("turn on the bath room light", None, ["light.bathroom"]),
    ("turn on the sunroomlamp", "den", ["light.sunroom"]),
    ("turn off the lights in the sunroom", "den", ["light.sunroom"]),
])
def test_a_name_run_together_or_split_apart_is_still_the_homes_name(
        engine: IntentEngine, heard: str, area: str | None, targets: list[str]) -> None:
    decision = engine.decide([heard], area)
    assert decision.match is not None and decision.resolution.error is None, (heard, decision)
    assert sorted(e.id for e in decision.resolution.targets) == targets, heard
    assert decision.confidence < 1.0  # a repair, not what was heard


@pytest.mark.parametrize(("heard", "area", "targets"), [
    ("turn off the lights", "laundry", ["light.laundry"]),
    ("turn on the lights", "playcorner", ["light.playcorner"]),
    ("turn on the lights in the den", "laundry", ["light.den"]),
])
def test_small_words_of_the_sentence_are_never_taken_into_a_name(
        engine: IntentEngine, heard: str, area: str, targets: list[str]) -> None:
    decision = engine.decide([heard], area)
    assert decision.match is not None and decision.method == "strict", (heard, decision)
    assert sorted(e.id for e in decision.resolution.targets) == targets
    repaired = engine._require().fuzzy.repair_names(heard)
    assert "den lights" not in repaired and "the playcorner" not in repaired, repaired


@pytest.mark.parametrize(("heard", "repaired"), [
    ("are any lights on in the laundry rooms", "are any lights on in the laundry room"),
    ("are any lights on in the laundry room", "are any lights on in the laundry room"),
    ("is the roomba in the laundry room", "is the roomba in the laundry room"),
])
def test_words_the_commands_use_and_names_heard_exactly_stay_as_they_were_heard(
        engine: IntentEngine, heard: str, repaired: str) -> None:
    assert engine._require().fuzzy.repair_names(heard) == repaired


def test_a_question_misheard_in_a_plural_is_answered_about_the_room_it_names(
        engine: IntentEngine) -> None:
    decision = engine.decide(["Are any lights on in the laundry rooms?"], "den",
                             asr_confidence=0.8)
    assert decision.match is not None, decision
    assert decision.match.intent == "HassGetState"
    assert decision.match.slots == {"area": "laundry", "domain": "light", "state": "on"}


def test_joined_and_word_by_word_scores() -> None:
    assert joined_score("playcorner", "play corner") == 100
    assert joined_score("bath room", "bathroom") == 100
    assert joined_score("lights", "den lights") == 0  # three letters short: not the name
    assert joined_score("the playcorner", "playcorner") == 0  # "the" is not part of it
    assert phrase_score("the lights", "den lights") == 0
    assert phrase_score("garbage door", "garage door") >= 80
