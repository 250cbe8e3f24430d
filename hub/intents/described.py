"""Names said as a description: "the heater in the bedroom" for the entity "Bedroom Heater".

Home Assistant names entities after their room ("Bedroom Heater", "Bathroom Humidity",
"Kitchen Speaker"), and people say them the other way round: what it is, then where. Home
Assistant's templates want the name, so "turn the heater in the bedroom off" parses nowhere.
"Turn the heater on in the bedroom" keeps its "on" after the name. The rewrite is a word
order, not a guess: it applies only where the home has an entity in that
area whose name is the area's name followed by exactly the words heard, and every heard word
stays. The engine tries it on a hypothesis that does not parse as heard
(hub/intents/engine.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.intents.home import Home
from hub.intents.sentences import canonical


@dataclass(frozen=True)
class _Described:
    pattern: re.Pattern[str]
    name: str


class DescribedNames:
    """The home's "<area> <what>" names, as patterns of "<what> in [the] <area>"."""

    def __init__(self, home: Home) -> None:
        rules: list[_Described] = []
        for entity in home.entities:
            area = home.find_area(entity.area)
            if area is None:
                continue
            for name in entity.names:
                spoken = canonical(name)
                for area_name in {canonical(n) for n in area.names}:
                    what = spoken.removeprefix(area_name + " ")
                    if what == spoken or not what:
                        continue
                    rules.append(_Described(re.compile(
                        rf"\b{re.escape(what)}(?P<state> on| off)? (?:in|of|on) (?:the )?"
                        rf"{re.escape(area_name)}\b"), spoken))
        # Longest descriptions first: "ceiling light in the living room" before "light".
        self._rules = sorted(rules, key=lambda r: -len(r.pattern.pattern))

    def rewrite(self, text: str) -> str | None:
        """`text` (canonical) with a described name said as the name; None when none is."""
        for rule in self._rules:
            found = rule.pattern.search(text)
            if found is not None:
                said = rule.name + (found.group("state") or "")
                return text[:found.start()] + said + text[found.end():]
        return None
