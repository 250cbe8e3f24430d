"""Free text and numbers are checked, not taken at full confidence (issue 13).

The grammar takes any words as a timer's name and any number in its ranges, so a recognizer's
slip parses as well as what was said. Each rule is stated over several names, numbers and
sentences of the example home.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.asr.base import Transcription
from hub.intents.slots import _numbers, implausible_timer_name, sound_alike

TIMER_SENTENCES = ["cancel the {} timer", "pause the {} timer", "resume the {} timer",
                   "how much time is left on the {} timer"]
#: What free text swallowed instead of a name: a scope, a duration, a phrase cut short.
NOT_NAMES = ["heat's a", "well hour", "every kitchen", "all", "it's a", "of the", "well minute",
             "set for the"]
NAMES = ["pizza", "tea", "laundry", "mom's", "pasta sauce", "egg"]


def acts(decision: Any) -> bool:
    return decision.match is not None and decision.resolution.error is None


@pytest.mark.parametrize("sentence", TIMER_SENTENCES)
def test_a_timer_name_nobody_gives_a_timer_is_refused_when_no_list_says_which_run(
        text_understander: Any, sentence: str) -> None:
    for name in NOT_NAMES:
        decision = text_understander.engine.decide([sentence.format(name)], "kitchen")
        assert not acts(decision), (sentence, name, decision.match)
    for name in NAMES:
        decision = text_understander.engine.decide([sentence.format(name)], "kitchen")
        assert acts(decision), (sentence, name)
        assert decision.match.slots["name"].casefold() == name


def test_a_name_that_looks_wrong_is_still_the_running_timer_it_sounds_like(
        text_understander: Any) -> None:
    # The list wins over the look of the name: a running timer's name is a name.
    assert implausible_timer_name("tea for two")
    decision = text_understander.engine.decide(["cancel the tea for two timer"],
                                               timers=["Tea for Two"])
    assert acts(decision) and decision.match.slots["name"] == "Tea for Two"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("heard", ["T", "at the", "up each", "well hour"])
@pytest.mark.parametrize("sentence", ["set a {} timer for 12 minutes",
                                      "set a timer for 12 minutes named {}"])
def test_a_new_timer_takes_the_plausible_name_another_hypothesis_heard(
        text_understander: Any, sentence: str, heard: str, name: str) -> None:
    # Whisper writes "tea" as "T" and "a pizza" as "up each" in its best hypothesis, with
    # the right words further down: the name is the one someone would give a timer.
    decision = text_understander.engine.decide(
        [sentence.format(heard), sentence.format(name), sentence.format(heard)], "kitchen")
    assert acts(decision), (sentence, heard, name)
    assert decision.match.slots["name"].casefold() == name
    assert decision.match.slots["minutes"] == 12


@pytest.mark.parametrize("heard", ["at the", "up each", "T", "of the", "up"])
def test_a_new_timer_heard_only_with_a_name_nobody_gives_starts_without_one(
        text_understander: Any, heard: str) -> None:
    # The duration was heard; a timer called "at the" would be a name nobody said.
    decision = text_understander.engine.decide([f"set a {heard} timer for 4 minutes"],
                                               "kitchen")
    assert acts(decision)
    assert decision.match.intent == "HassStartTimer"
    assert decision.match.slots.get("minutes") == 4 and "name" not in decision.match.slots
    reply = " " + decision.reply.casefold().strip(".!") + " "
    assert f" {heard.casefold()} " not in reply, reply


def test_a_repaired_new_timer_drops_a_name_nobody_gives_as_a_strict_parse_does(
        text_understander: Any) -> None:
    heard = ["Set a timer for 15 minutes name to you.", "Set a timer for 15 minutes name to."]
    decision = text_understander.engine.decide(heard, "kitchen", asr_confidence=0.8)
    assert acts(decision) and decision.match.intent == "HassStartTimer", decision
    assert decision.match.slots.get("minutes") == 15 and "name" not in decision.match.slots


def test_a_new_timer_keeps_the_name_people_give_timers(text_understander: Any) -> None:
    for name in NAMES:
        decision = text_understander.engine.decide([f"set a {name} timer for 4 minutes"],
                                                   "kitchen")
        assert acts(decision) and decision.match.slots["name"].casefold() == name, name


@pytest.mark.parametrize(("said", "alike"), [(90, 19), (40, 14), (30, 13), (60, 16)])
@pytest.mark.parametrize(("sentence", "slot"), [("set the volume to {}", "volume_level"),
                                                ("set brightness to {} percent", "brightness")])
def test_a_number_heard_as_often_as_its_sound_alike_is_not_used(
        text_understander: Any, said: int, alike: int, sentence: str, slot: str) -> None:
    engine = text_understander.engine
    for first, second in ((said, alike), (alike, said)):
        tied = engine.decide([sentence.format(first), sentence.format(second)], "living_room")
        assert not acts(tied) and tied.reason == "number", (first, second, tied.match)
    # With a majority, the number most hypotheses heard, whichever came first.
    for hypotheses in ([alike, said, said], [said, alike, said]):
        decision = engine.decide([sentence.format(n) for n in hypotheses], "living_room")
        assert acts(decision) and decision.match.slots[slot] == said, hypotheses
        assert decision.confidence < 1.0  # one hypothesis heard otherwise


@pytest.mark.parametrize(("words", "digits"), [("ninety", 90), ("forty", 40),
                                               ("thirty", 30)])
def test_numbers_written_as_words_are_votes_like_digits(text_understander: Any, words: str,
                                                        digits: int) -> None:
    alike = digits // 10 + 10
    decision = text_understander.engine.decide(
        [f"set the volume to {alike}", f"set the volume to {words}",
         f"set the volume to {digits}"], "living_room")
    assert acts(decision) and decision.match.slots["volume_level"] == digits


@pytest.mark.parametrize(("confidence", "used"), [(0.2, False), (0.25, False), (0.9, True),
                                                  (0.7, True)])
@pytest.mark.parametrize("sentence", ["add eggs to my shopping list",
                                      "broadcast that dinner is ready"])
def test_free_text_coming_back_from_home_assistant_carries_the_recognizers_confidence(
        text_understander: Any, confidence: float, used: bool, sentence: str) -> None:
    text_understander.recent.remember(Transcription(sentence, "en", confidence, [sentence]))
    result = asyncio.run(text_understander.understand_text(sentence, "kitchen"))
    assert (result.intent is not None) == used, (sentence, confidence, result.confidence)
    assert result.confidence <= 0.4 + confidence or result.intent is None


def test_spoken_numbers_and_sound_alikes() -> None:
    assert _numbers("set the volume to ninety") == [90.0]
    assert _numbers("Set, 45 seconds; twenty-five or twenty five, not 1.5") == [
        45.0, 1.5, 25.0, 25.0]
    assert _numbers("a hundred percent") == [100.0]
    assert all(sound_alike(10 + n, 10 * n) and sound_alike(10 * n, 10 + n) for n in range(3, 10))
    assert not any(sound_alike(a, b) for a, b in [(12, 20), (19, 91), (90, 90), (20, 25)])


@pytest.mark.parametrize("name", [*NOT_NAMES, "the", "pizza and", "one two three four", "b",
                                  "up", "you", "out"])
def test_names_nobody_gives_a_timer(name: str) -> None:
    assert implausible_timer_name(name)


@pytest.mark.parametrize("name", [*NAMES, "Anna's", "banana bread", "i", "wake up",
                                  "time out"])
def test_names_people_give_timers(name: str) -> None:
    assert not implausible_timer_name(name)
