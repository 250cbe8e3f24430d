"""Names said as a description: "the heater in the bedroom" for the entity "Bedroom Heater".

Home Assistant names entities after their room ("Bedroom Heater", "Bathroom Humidity",
"Kitchen Speaker"), and people say them the other way round: what it is, then where. Home
Assistant's templates want the name, so "turn the heater in the bedroom off" parses nowhere.
"Turn the heater on in the bedroom" keeps its "on" after the name. The rewrite is a word
order, not a guess: it applies only where the home has an entity in that
area whose name is the area's name followed by exactly the words heard, and every heard word
stays. Inside the room, the room is "here": "the humidity in here" from the bathroom's
satellite is the Bathroom Humidity, and only there. Outside is a place too: "the temperature
outside" is the Outside Temperature, and so is "how cold is it outside" where that entity is a
temperature sensor.

A shorter form of a name ("send the vacuum home" for the Robot Vacuum) is a guess, so it is a
separate step (`DescribedNames.completed`) that the engine holds to a repair's confidence: the
words heard must be the last words of exactly one entity's name in the satellite's room, or,
where the room has none, in the whole home; a part that is an area's or another entity's whole
name, or that several entities end with ("the lamp" in a home of three lamps), names nothing.
The engine tries these on a hypothesis that does not parse as heard (hub/intents/engine.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.intents.home import Area, Entity, Home
from hub.intents.sentences import canonical

#: The words that start the name of what is outside ("Outside Temperature", "Outdoor
#: Humidity"), and say where when they follow it ("the temperature outside").
_OUTSIDE = ("outside", "outdoor", "outdoors")
#: How a room is referred to from inside it (the satellite's own area).
_HERE = r"(?:in here|in this room|here)"


@dataclass(frozen=True)
class _Described:
    pattern: re.Pattern[str]
    name: str


def _first(rules: list[_Described], text: str) -> str | None:
    for rule in rules:
        found = rule.pattern.search(text)
        if found is not None:
            said = rule.name + (found.groupdict().get("state") or "")
            return text[:found.start()] + said + text[found.end():]
    return None


def _longest_first(rules: list[_Described]) -> list[_Described]:
    """Longest descriptions first: "ceiling light in the living room" before "light"."""
    return sorted(rules, key=lambda r: -len(r.pattern.pattern))


class DescribedNames:
    """The home's "<area> <what>" names, as patterns of "<what> in [the] <area>" (and "<what>
    in here" in that area), and the parts of names that only one entity's name ends with."""

    def __init__(self, home: Home) -> None:
        rules: list[_Described] = []
        here: dict[str, list[_Described]] = {}
        for entity in home.entities:
            area = home.find_area(entity.area)
            if area is not None:
                self._in_area(entity, area, rules, here.setdefault(area.id, []))
            self._outside(entity, rules)
        self._rules = _longest_first(rules)
        self._here = {area: _longest_first(found) for area, found in here.items()}
        self._parts = _NameParts(home)

    @staticmethod
    def _in_area(entity: Entity, area: Area, rules: list[_Described],
                 here: list[_Described]) -> None:
        """"<what> in [the] <area>", and "<what> in here" from that area."""
        for name in entity.names:
            spoken = canonical(name)
            for area_name in {canonical(n) for n in area.names}:
                what = spoken.removeprefix(area_name + " ")
                if what == spoken or not what:
                    continue
                rules.append(_Described(re.compile(
                    rf"\b{re.escape(what)}(?P<state> on| off)? (?:in|of|on) (?:the )?"
                    rf"{re.escape(area_name)}\b"), spoken))
                here.append(_Described(re.compile(
                    rf"\b{re.escape(what)}(?P<state> on| off)? {_HERE}\b"), spoken))

    @staticmethod
    def _outside(entity: Entity, rules: list[_Described]) -> None:
        """"the temperature outside" (and "how cold is it outside") for Outside Temperature."""
        outside = "|".join(_OUTSIDE)
        for name in entity.names:
            spoken = canonical(name)
            first, _, what = spoken.partition(" ")
            if first not in _OUTSIDE or not what:
                continue
            rules.append(_Described(re.compile(rf"\b{re.escape(what)} (?:{outside})\b"),
                                    spoken))
            if entity.device_class == "temperature":
                rules.append(_Described(re.compile(
                    rf"\bhow (?:cold|warm|hot) is it (?:{outside})\b"), f"what is the {spoken}"))

    def rewrite(self, text: str, area: Area | None = None) -> str | None:
        """`text` (canonical) with a described name said as the name; None when none is.
        `area`: the satellite's, whose entities "here" may describe."""
        said = _first(self._rules, text)
        if said is None and area is not None:
            said = _first(self._here.get(area.id, []), text)
        return said

    def completed(self, text: str, area: Area | None = None) -> str | None:
        """`text` (canonical) with a part of a name ("the vacuum") said as the whole name
        ("the robot vacuum"); None when no part names exactly one entity."""
        return self._parts.completed(text, area)


class _NameParts:
    """The last words of the home's entity names, each with the entities whose names end so."""

    def __init__(self, home: Home) -> None:
        whole = {canonical(n) for e in home.entities for n in e.names}
        whole |= {canonical(n) for a in home.areas for n in a.names}
        #: part → {entity id: its name}, over the home and per area.
        self._home: dict[str, dict[str, str]] = {}
        self._area: dict[str, dict[str, dict[str, str]]] = {}
        for entity in home.entities:
            spoken = canonical(entity.name)
            for name in entity.names:
                words = canonical(name).split()
                for start in range(1, len(words)):
                    part = " ".join(words[start:])
                    if part in whole:
                        continue
                    self._home.setdefault(part, {})[entity.id] = spoken
                    if entity.area:
                        self._area.setdefault(entity.area, {}).setdefault(
                            part, {})[entity.id] = spoken
        #: Where each entity is, by the area's spoken names: a part of a name is not completed
        #: into an entity of another room than the one heard ("the heater in the kitchen").
        self._places = {a.id: re.compile(r"\b(?:" + "|".join(
            re.escape(canonical(n)) for n in a.names) + r")\b") for a in home.areas}
        self._where = {e.id: e.area for e in home.entities}
        parts = sorted(self._home, key=lambda p: -len(p))
        self._pattern = re.compile(
            r"\b(?:the|my) (" + "|".join(re.escape(p) for p in parts) + r")\b") if parts else None

    def completed(self, text: str, area: Area | None) -> str | None:
        if self._pattern is None:
            return None
        for found in self._pattern.finditer(text):
            part = found.group(1)
            named = self._area.get(area.id, {}).get(part, {}) if area is not None else {}
            if not named:
                named = self._home.get(part, {})
            if len(named) == 1:
                ((entity, name),) = named.items()
                if any(pattern.search(text) for place, pattern in self._places.items()
                       if place != self._where[entity]):
                    return None
                return text[:found.start(1)] + name + text[found.end(1):]
        return None
