"""Checks on the values a match carries: timer names, free text and numbers.

The grammar accepts any words as a timer name and any number its ranges allow, so recognizer
garbage ("Heat's a" for "pizza") or a misheard number (19 for 90) parses at full confidence.
Three checks keep them honest:

- a timer the command refers to must be one that is running on the satellite, when the caller
  knows which are (its name is snapped to the running one it sounds like); when nobody knows,
  a name no one gives a timer — a scope word ("all kitchen"), a duration ("well hour"), a
  phrase cut off at a small word ("Heat's a") — is the free text swallowing a slip, and the
  command is refused rather than guessed; a new timer with such a name takes a lower
  hypothesis's plausible one ("named tea" for "named T") or starts without a name;
- free text carries the agreement of the hypotheses (how many of them heard the same words)
  and the recognizer's confidence (the engine caps it);
- a number must be what most hypotheses heard (digits or words: "90", "ninety"), never one
  that as many hypotheses heard as its sound-alike ("nineteen" / "ninety", "fourteen" /
  "forty"), and within a range that makes sense for the slot (a thermostat at 2 degrees is
  "increase by 2" misheard, not a wish).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from rapidfuzz import fuzz, process

from hub.intents.home import Home
from hub.intents.recognize import IntentMatch
from hub.intents.sentences import canonical
from hub.intents.targets import Resolution

#: Intents that refer to a timer that already runs (a name must be one of those running).
TIMER_REFERENCES = frozenset({"HassCancelTimer", "HassPauseTimer", "HassUnpauseTimer",
                              "HassTimerStatus", "HassIncreaseTimer", "HassDecreaseTimer"})
#: Every intent whose `name` slot names a timer: the references and a new timer.
TIMER_INTENTS = TIMER_REFERENCES | {"HassStartTimer"}
#: How close (0-100) a heard timer name must be to a running timer's.
TIMER_NAME_SCORE = 70.0
#: Sensible values per numeric slot; temperatures depend on the unit (below).
RANGES: dict[str, tuple[float, float]] = {
    "brightness": (1, 100), "volume_level": (0, 100), "position": (0, 100),
    "percentage": (0, 100), "hours": (0, 24), "minutes": (0, 600), "seconds": (0, 3600),
}
TEMPERATURE_RANGES = {"°C": (5.0, 35.0), "°F": (40.0, 95.0)}
#: A light's `temperature` is its colour temperature in kelvin ("warm white" is 2700).
COLOR_TEMPERATURE_K = (1000.0, 10000.0)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z]+")
_UNITS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen"))}
_TENS = {w: 10 * (i + 2) for i, w in enumerate((
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))}

#: Words never part of a timer's name (the name swallowed a scope or a duration instead).
NOT_IN_TIMER_NAMES = frozenset({
    "all", "every", "each", "both", "any", "these", "those", "timer", "timers", "hour",
    "hours", "minute", "minutes", "second", "seconds", "half", "quarter"})
#: Small words a name does not begin or end with ("Heat's a", "of the"): a phrase cut short.
NOT_AT_NAME_EDGES = frozenset({
    "a", "an", "the", "of", "to", "and", "or", "is", "are", "was", "for", "in", "on", "at",
    "with", "by", "from", "my", "your", "our", "it", "this", "that", "than", "then", "but"})
#: Words that are never a timer's whole name ("start up timer for 8 minutes" for "start a
#: timer"): particles and pronouns a slipped article turns into, fine inside a name ("wake up").
NOT_A_WHOLE_NAME = frozenset({"up", "down", "off", "out", "over", "back", "you", "me", "him",
                              "her", "them", "us", "so", "as", "too", "there", "here", "now"})
#: Contractions ("it's", "they're") are words of a sentence, not of a name ("mom's" is one).
_CONTRACTION = re.compile(r"^(?:it|that|what|there|here|he|she|who|where|how|let)'s$"
                          r"|'(?:re|ll|ve|d|m)$|n't$")
#: The longest name a timer is given, in words.
MAX_TIMER_NAME_WORDS = 3


def _numbers(text: str) -> list[float]:
    """The numbers in a hypothesis, written as digits or as words ("ninety", "twenty five")."""
    found = [float(n) for n in _NUMBER.findall(text)]
    words = _WORD.findall(text.casefold().replace("-", " "))
    i = 0
    while i < len(words):
        word = words[i]
        if word in _TENS:
            value = _TENS[word]
            if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
                value += _UNITS[words[i + 1]]
                i += 1
            found.append(float(value))
        elif word in _UNITS:
            found.append(float(_UNITS[word]))
        elif word == "hundred":
            found.append(100.0)
        i += 1
    return found


def sound_alike(a: float, b: float) -> bool:
    """Numbers a recognizer confuses: a teen and its ten (19 / 90, 14 / 40, 13 / 30)."""
    pair = sorted((a, b))
    return pair[0] in range(13, 20) and pair[1] == 10 * (pair[0] - 10)


def implausible_timer_name(name: str) -> bool:
    """Whether free text heard as a timer's name is no name anyone gives a timer."""
    words = canonical(name).split()
    if not words:
        return False
    if len(words) > MAX_TIMER_NAME_WORDS or words[0] in NOT_AT_NAME_EDGES \
            or words[-1] in NOT_AT_NAME_EDGES or words == [w for w in words
                                                           if w in NOT_A_WHOLE_NAME]:
        return True
    return any(w in NOT_IN_TIMER_NAMES or _numbers(w) or _CONTRACTION.search(w)
               or (len(w) == 1 and w != "i") for w in words)


def implausible_free_text(match: IntentMatch) -> bool:
    """Whether the free text a parse took is no value anyone says: a timer named "T", "at
    the" or "up each" (Whisper writing "tea" as a letter, or a slipped article read as a
    name)."""
    return (match.intent in TIMER_INTENTS and "name" in match.wildcard_slots
            and implausible_timer_name(str(match.slots.get("name") or "")))


def without_implausible_name(match: IntentMatch) -> IntentMatch:
    """A new timer without the name no one gives a timer ("set at the timer for 4 minutes"
    starts a 4-minute timer, not one named "at the"); other parses unchanged."""
    if match.intent != "HassStartTimer" or not implausible_free_text(match):
        return match
    slots = {k: v for k, v in match.slots.items() if k != "name"}
    if not any(k in slots for k in ("hours", "minutes", "seconds")):
        return match  # nothing left to start
    return dataclasses.replace(
        match, slots=slots, wildcard_slots=match.wildcard_slots - {"name"},
        slot_texts={k: v for k, v in match.slot_texts.items() if k != "name"})


def free_text_agreement(match: IntentMatch, hits: list[tuple[int, IntentMatch, Resolution]],
                        hypotheses: int) -> float:
    """A factor (0.75-1) for free text: 1 when every hypothesis parsed the same words."""
    if hypotheses <= 1:
        return 1.0
    values = {s: canonical(str(match.slots.get(s, ""))) for s in match.wildcard_slots}
    same = sum(1 for _, other, _ in hits if other.intent == match.intent and all(
        canonical(str(other.slots.get(s, ""))) == v for s, v in values.items()))
    return 0.75 + 0.25 * same / min(hypotheses, max(len(hits), 1))


class SlotChecks:
    def __init__(self, home: Home, hypotheses: list[str], timers: list[str] | None) -> None:
        self.home = home
        self.hypotheses = hypotheses
        self.timers = timers

    def check(self, match: IntentMatch,
              hits: list[tuple[int, IntentMatch, Resolution]]) -> str | None:
        """Why the match's values cannot be used (`timer`, `number`), or None."""
        if match.intent in TIMER_REFERENCES and self.timers is None \
                and implausible_timer_name(str(match.slots.get("name") or "")):
            return "timer"
        if match.intent in TIMER_REFERENCES and self.timers is not None \
                and match.slots.get("name"):
            running = [t for t in self.timers if t]
            heard = canonical(str(match.slots["name"]))
            found = process.extractOne(heard, [canonical(t) for t in running],
                                       scorer=fuzz.ratio, score_cutoff=TIMER_NAME_SCORE)
            if found is None:
                return "timer"
            match.slots["name"] = running[found[2]]
        for slot, value in match.slots.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            low, high = self._range(slot, match)
            if not low <= float(value) <= high:
                return "number"
            if slot not in match.context_slots and self._rivalled(float(value)):
                return "number"
        return None

    def _rivalled(self, value: float) -> bool:
        """Whether as many hypotheses heard a sound-alike of `value` as heard `value`."""
        heard = [set(_numbers(h)) for h in self.hypotheses]
        support = sum(value in nums for nums in heard)
        rivals = {n for nums in heard for n in nums if sound_alike(n, value)}
        return any(sum(r in nums for nums in heard) >= support for r in rivals)

    def _range(self, slot: str, match: IntentMatch) -> tuple[float, float]:
        if slot == "temperature" and match.intent == "HassLightSet":
            return COLOR_TEMPERATURE_K
        if slot == "temperature":
            unit = "°C"
            for entity in self.home.entities:
                if entity.domain == "climate":
                    unit = str(entity.attributes.get("unit_of_measurement") or unit)
                    break
            return TEMPERATURE_RANGES.get(unit, (-50.0, 150.0))
        return RANGES.get(slot, (float("-inf"), float("inf")))

    def number_agreement(self, match: IntentMatch) -> float:
        """The share of the hypotheses with numbers that heard this match's numbers (a factor
        0.5-1: a number only one of five hypotheses heard is a guess)."""
        wanted = [float(v) for v in match.slots.values()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not wanted:
            return 1.0
        with_numbers = [set(_numbers(h)) for h in self.hypotheses if _numbers(h)]
        if not with_numbers:
            return 1.0
        share = sum(all(w in nums for w in wanted) for nums in with_numbers) / len(with_numbers)
        return 0.5 + 0.5 * share

    def number_support(self, match: IntentMatch) -> float:
        """The share of the hypotheses that heard all of this match's numbers."""
        return self.number_agreement(match) * 2 - 1


def prefer_supported_numbers(checks: SlotChecks, chosen: tuple[int, IntentMatch, Any],
                             hits: list[tuple[int, IntentMatch, Resolution]]
                             ) -> tuple[int, IntentMatch, Any]:
    """Among parses of the same intent, the one whose numbers most hypotheses heard."""
    same = [h for h in hits if h[1].intent == chosen[1].intent and h[2].error is None]
    if len(same) < 2:
        return chosen
    best = max(same, key=lambda h: (round(checks.number_support(h[1]), 3), -h[0]))
    if checks.number_support(best[1]) > checks.number_support(chosen[1]):
        return best
    return chosen
