"""Checks on the values a match carries: timer names, free text and numbers.

The grammar accepts any words as a timer name and any number its ranges allow, so recognizer
garbage ("Heat's a" for "pizza") or a misheard number (19 for 90) parses at full confidence.
Three checks keep them honest:

- a timer the command refers to must be one that is running on the satellite, when the caller
  knows which are (its name is snapped to the running one it sounds like);
- free text carries the agreement of the hypotheses (how many of them heard the same words);
- a number must be what most hypotheses heard, and within a range that makes sense for the
  slot (a thermostat at 2 degrees is "increase by 2" misheard, not a wish).
"""

from __future__ import annotations

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
#: How close (0-100) a heard timer name must be to a running timer's.
TIMER_NAME_SCORE = 70.0
#: Sensible values per numeric slot; temperatures depend on the unit (below).
RANGES: dict[str, tuple[float, float]] = {
    "brightness": (1, 100), "volume_level": (0, 100), "position": (0, 100),
    "percentage": (0, 100), "hours": (0, 24), "minutes": (0, 600), "seconds": (0, 3600),
}
TEMPERATURE_RANGES = {"°C": (5.0, 35.0), "°F": (40.0, 95.0)}

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(n) for n in _NUMBER.findall(text)]


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
        return None

    def _range(self, slot: str, match: IntentMatch) -> tuple[float, float]:
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
