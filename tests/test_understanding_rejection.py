"""Never confidently wrong: rejection, safe scopes, unsafe actions, free text and numbers.

Each case is one of the failures found on commands written by people and heard by voices the
hub never used (issue 13), stated as the behaviour that must hold, over the example home.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.intents.home import Home
from hub.intents.safety import is_unsafe


def decide(u: Any, hypotheses: list[str], area: str | None = None, **kwargs: Any) -> Any:
    return u.engine.decide(hypotheses, area, **kwargs)


def acts(decision: Any) -> bool:
    return decision.match is not None and decision.resolution.error is None


@pytest.mark.parametrize("heard", [
    "how far away is the moon",          # was: "how many fans is the on"
    "how many calories are in a banana",  # was: a person in state "a banana"
    "what's the weather in paris",        # was: the home's weather, Paris dropped
    "Tell me that joke.",                 # was: today's date
    "what's the capital of australia",
    "who is the president of france",
    "the kitchen was a mess after the party",
    "she switched off the light and went to sleep",
])
def test_words_the_match_cannot_explain_keep_speech_from_becoming_an_action(
        text_understander: Any, heard: str) -> None:
    decision = decide(text_understander, [heard], "living_room")
    assert not acts(decision), (heard, decision.match, decision.confidence)


@pytest.mark.parametrize("room", ["dining room", "attic", "conservatory", "guest room"])
@pytest.mark.parametrize("phrase", ["dim the {room} lights", "turn off the {room} lights",
                                    "In the {room} lights.", "{room} lights off"])
def test_a_room_the_home_lacks_is_not_dropped_to_act_elsewhere(
        text_understander: Any, room: str, phrase: str) -> None:
    heard = phrase.format(room=room)
    for area in (None, "kitchen"):
        decision = decide(text_understander, [heard], area)
        assert not acts(decision) or decision.method == "strict", (heard, area, decision.match)
        assert len(decision.resolution.targets) <= 1 or not acts(decision)


def test_a_room_only_a_lower_hypothesis_names_is_asked_about_before_acting_on_it(
        text_understander: Any) -> None:
    """The recognizer's best guess says a room the home lacks; a lower one parses strictly
    for another room: every light there is not switched on on that evidence."""
    heard = ["Turn on the lights in the dining room.", "Turn on the lights and the dining room.",
             "Turn on the lights in the living room.", "Turn on the lights in the diving room."]
    decision = decide(text_understander, heard, "garage")
    assert not acts(decision) and decision.confirm and decision.reason == "several"
    assert decision.pending is not None and decision.pending.slots["area"] == "living_room"
    best = decide(text_understander, heard[2:3] + heard[:2], "garage")  # the best says it
    assert acts(best) and best.match.slots["area"] == "living_room"


@pytest.mark.parametrize("heard", ["Get your lights off.", "Get the light soft.",
                                   "the lights of"])
def test_a_repair_never_widens_to_every_light_in_the_house(text_understander: Any,
                                                           heard: str) -> None:
    decision = decide(text_understander, [heard])
    assert not (acts(decision) and len(decision.resolution.targets) > 1), decision.match


def test_every_light_off_needs_every_or_all_or_a_place_heard(text_understander: Any) -> None:
    for heard in ("turn off all the lights", "turn every light off"):
        decision = decide(text_understander, [heard])
        assert acts(decision) and len(decision.resolution.targets) > 1, heard  # as said
    # Without a word of scope or a room, the grammar has no parse; its repair ("turn off
    # every lights") would widen what was said to the whole house.
    vague = decide(text_understander, ["turn off the lights"])
    assert not acts(vague) and vague.reason == "scope"
    in_room = decide(text_understander, ["turn off the lights"], "bedroom")
    assert {e.area for e in in_room.resolution.targets} == {"bedroom"}
    # A floor that only sounds like the one heard: several lights, so asked about first.
    floor = decide(text_understander, ["turn off the lights on the first four"])
    assert floor.confirm and not acts(floor) and floor.reason == "several"
    done = text_understander.engine.confirmed(floor)
    assert {e.area for e in done.resolution.targets} == {"bedroom", "kids_room", "bathroom",
                                                          "office"}
    # A room the home lacks that sounds like one it has is never acted on directly.
    dining = decide(text_understander, ["turn on the lamp in the dining room"], "hallway")
    assert not acts(dining)


@pytest.mark.parametrize(("said", "slip"), [
    ("unlock the front door", "and lock the front door"),
    ("open the garage door", "often the garage door"),
    ("cancel all timers", "cancel all time us"),
    ("turn off all the lights", "turn of all the lights"),
])
def test_unsafe_actions_heard_uncertainly_become_a_question(text_understander: Any, said: str,
                                                           slip: str) -> None:
    exact = decide(text_understander, [said], "office")
    assert acts(exact) and not exact.confirm and exact.confidence == 1.0
    assert is_unsafe(exact.match, exact.resolution)
    # The same command as the recognizer's second guess, or repaired from a slip: not acted
    # on, but asked about; a yes carries it out.
    for hypotheses in ([slip, said], [slip]):
        asked = decide(text_understander, hypotheses, "office")
        if asked.match is None and not asked.confirm:
            continue  # rejected outright: also safe
        assert asked.confirm and asked.match is None, (hypotheses, asked)
        assert asked.reply.startswith("Did you mean")
        done = text_understander.engine.confirmed(asked)
        assert done.match.key() == exact.match.key()
        assert sorted(e.id for e in done.resolution.targets) == sorted(
            e.id for e in exact.resolution.targets)


def test_a_repaired_unsafe_action_is_always_asked_about(text_understander: Any) -> None:
    decision = decide(text_understander, ["open the garbage door"])
    assert decision.confirm and decision.match is None
    assert decision.pending is not None and decision.pending.slots["name"] == "Garage Door"
    safe = decide(text_understander, ["close the garbage door"])
    assert acts(safe) and not safe.confirm


def test_timer_names_must_be_running_timers_when_the_satellite_says_which(
        text_understander: Any) -> None:
    running = ["pizza", "tea"]
    garbage = decide(text_understander, ["Heat's a timer status"], timers=running)
    assert not acts(garbage) and garbage.reason == "timer"
    misheard = decide(text_understander, ["how much time is left on the pitza timer"],
                      timers=running)
    assert acts(misheard) and misheard.match.slots["name"] == "pizza"
    assert not acts(decide(text_understander, ["cancel the tea timer"], timers=[]))


def test_free_text_the_hypotheses_disagree_on_gives_way_to_a_parse_without_it(
        text_understander: Any) -> None:
    decision = decide(text_understander, ["pause well hour timer", "pause 1 hour timer"])
    assert acts(decision)
    assert "name" not in decision.match.slots, decision.match.slots


@pytest.mark.parametrize(("name", "area"), [("Bedside Lamp", "bedroom"),
                                           ("Kitchen Lights", "kitchen"),
                                           ("Reading Lamp", "living_room")])
def test_a_word_the_best_hypothesis_lost_at_its_end_decides_the_intent(
        text_understander: Any, name: str, area: str) -> None:
    # "Bedside lamp" alone turns it on; "bedside lamp off" further down heard the last word.
    lost = decide(text_understander, [f"{name},", f"{name}, off.", f"{name}, path."], area)
    assert acts(lost) and lost.match.intent == "HassTurnOff", lost.match
    assert lost.match.slots["name"] == name
    # A lower hypothesis's parse: below the bar an unsafe action needs, so one is asked about.
    assert lost.confidence < 0.95
    # Words a lower hypothesis adds that make no other intent change nothing.
    kept = decide(text_understander, [f"{name}", f"{name}, path."], area)
    assert acts(kept) and kept.match.intent == "HassTurnOn"
    # Nor does a lower hypothesis that heard other words, not more of them.
    other = decide(text_understander, [f"turn on the {name}", f"turn off the {name}"], area)
    assert acts(other) and other.match.intent == "HassTurnOn"


@pytest.mark.parametrize(("name", "area"), [("Bedside Lamp", "bedroom"),
                                           ("Desk Lamp", "office"),
                                           ("Kitchen Lights", "kitchen")])
def test_a_spoken_name_alone_does_not_say_what_to_do_with_it(
        text_understander: Any, name: str, area: str) -> None:
    """Home Assistant's grammar takes a bare name as "turn it on"; spoken, a bare name is
    also what is left of "bedside lamp off" when the recognizer drops the last word."""
    for heard in ([f"{name},"], [f"{name} door.", f"{name},", f"the {name}."]):
        spoken = decide(text_understander, heard, area, asr_confidence=0.8)
        assert not acts(spoken), (heard, spoken.match)
    # A hypothesis that heard what to do decides, whichever way it says it.
    told = decide(text_understander, [f"{name},", f"{name} off."], area, asr_confidence=0.8)
    assert acts(told) and told.match.intent == "HassTurnOff"
    told = decide(text_understander, [f"{name} on"], area, asr_confidence=0.8)
    assert acts(told) and told.match.intent == "HassTurnOn" and told.confidence == 1.0
    # Typed, the name means what Home Assistant's grammar says.
    typed = decide(text_understander, [f"the {name}"], area)
    assert acts(typed) and typed.match.intent == "HassTurnOn"


def test_a_number_is_what_most_hypotheses_heard(text_understander: Any) -> None:
    decision = decide(text_understander, ["Volume to 19.", "Volume to 90.", "volume to 90",
                                          "Volume to 90?"], "living_room")
    assert not acts(decision) or decision.match.slots["volume_level"] == 90
    strict = decide(text_understander, ["set the volume to 19", "set the volume to 90",
                                        "set the volume to 90."], "living_room")
    assert acts(strict) and strict.match.slots["volume_level"] == 90


@pytest.mark.parametrize("heard", ["increase the temperature by 2 degrees",
                                   "set the thermostat to 200 degrees"])
def test_numbers_outside_a_sensible_range_are_not_used(text_understander: Any,
                                                       heard: str) -> None:
    decision = decide(text_understander, [heard], "living_room")
    assert not acts(decision), decision.match


@pytest.mark.parametrize(("heard", "intent", "slot", "value"), [
    ("Broad as that dinner is ready.", "HassBroadcast", "message", "dinner is ready"),
    ("at eggs to my shopping list", "HassListAddItem", "item", "eggs"),
])
def test_a_slipped_verb_of_a_free_text_template_is_found_but_only_used_when_sure(
        text_understander: Any, heard: str, intent: str, slot: str, value: str) -> None:
    found = text_understander.engine.assess([heard])
    assert found is not None and found.match.intent == intent
    assert found.match.slots[slot] == value
    decision = decide(text_understander, [heard])
    # Measured on the development set, a repair this far from what was heard is as often
    # out-of-domain speech: it is refused ("Sorry") unless its evidence clears the threshold.
    assert acts(decision) == (found.confidence >= text_understander.config.intents.min_confidence)
    if acts(decision):
        assert decision.match.intent == intent


def test_merged_and_split_words_still_name_the_homes_names() -> None:
    from hub.intents.config import IntentsConfig
    from hub.intents.engine import IntentEngine

    home = Home.from_mapping({
        "areas": [{"id": "play_corner", "name": "Play Corner"}, {"id": "den", "name": "Den"}],
        "entities": [
            {"id": "light.play_corner", "name": "Play Corner Lights", "area": "play_corner"},
            {"id": "light.den", "name": "Den Lights", "area": "den"},
            {"id": "light.bathroom", "name": "Bathroom Light"}]})
    engine = IntentEngine(IntentsConfig(sentences_per_template=5, cache_index=False))
    engine.set_home(home, background=False)
    for heard, target in [("Playcorner lights on", "light.play_corner"),
                          ("turn on the playcorner lights", "light.play_corner"),
                          ("turn on the bath room light", "light.bathroom")]:
        decision = engine.decide([heard])
        assert acts(decision), heard
        assert [e.id for e in decision.resolution.targets] == [target]
        assert decision.confidence < 1.0  # a repair, not what was heard
