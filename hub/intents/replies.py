"""Spoken replies from Home Assistant's own response templates (sandboxed Jinja2).

The templates ship in `home-assistant-intents` next to the sentences, so a reply sounds like Home
Assistant's ("Turned on the light", "Kitchen Lights is off"). They expect Home Assistant's
template objects (`slots`, `state`, `query`, `state_attr`); this module provides those from the
home model. Time and date come from the hub's clock. User templates run sandboxed: a custom
sentences file must not reach the hub's internals.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from hub.intents import phrases
from hub.intents.grammar import Grammar
from hub.intents.home import Entity, Home
from hub.intents.recognize import IntentMatch
from hub.intents.targets import Resolution

_LOGGER = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


class TemplateState:
    """The fields of Home Assistant's State object that response templates read."""

    def __init__(self, entity: Entity) -> None:
        self.entity_id = entity.id
        self.domain = entity.domain
        self.name = entity.name
        self.state = entity.state
        self.attributes = dict(entity.attributes)

    @property
    def state_with_unit(self) -> str:
        unit = self.attributes.get("unit_of_measurement")
        return f"{self.state} {unit}" if unit else self.state

    def __eq__(self, other: object) -> bool:  # templates compare `state == "not_home"`
        if isinstance(other, str):
            return self.state == other
        return isinstance(other, TemplateState) and other.entity_id == self.entity_id

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.state


class _Query:
    def __init__(self, matched: list[TemplateState], unmatched: list[TemplateState]) -> None:
        self.matched = matched
        self.unmatched = unmatched


class Replies:
    def __init__(self, grammar: Grammar, clock: Callable[[], dt.datetime] = dt.datetime.now,
                 ) -> None:
        self.grammar = grammar
        self.clock = clock
        self._env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self._cache: dict[str, Any] = {}
        self._example: str | None = None

    def render(self, match: IntentMatch, resolution: Resolution, home: Home) -> str:
        if resolution.error:
            return self.error(resolution.error, resolution.error_args)
        templates = self.grammar.responses.get(match.intent, {})
        template = templates.get(match.response) or templates.get("default")
        if template is None:
            # Custom intents without a response, or intents the language has no reply for.
            return phrases.phrase(self.grammar.language, "done")
        states = [TemplateState(e) for e in resolution.targets]
        now = self.clock()
        slots: dict[str, Any] = {}
        for name, value in match.slots.items():
            text = match.slot_texts.get(name)
            slots[name] = text or _spoken(name, value, home)
        slots.setdefault("time", now.time())
        slots.setdefault("date", now.date())
        slots.setdefault("canceled", 0)
        slots.setdefault("timers", [])
        variables = {
            "slots": slots,
            "state": states[0] if states else None,
            "query": _Query([TemplateState(e) for e in resolution.matched],
                            [TemplateState(e) for e in resolution.unmatched]),
            "state_attr": lambda entity_id, attr: _state_attr(home, entity_id, attr),
        }
        return self._render(template, variables) or ""

    def error(self, key: str, args: dict[str, Any] | None = None) -> str:
        sorry = phrases.phrase(self.grammar.language, "sorry")
        template = self.grammar.error_responses.get(key) or self.grammar.error_responses.get(
            "no_intent", sorry)
        return self._render(template, dict(args or {})) or sorry

    def not_recognized(self, home: Home, parses: Callable[[str], bool] | None = None) -> str:
        """Sorry, plus an example the home can actually do, so the user learns a phrasing.

        The example is the first of the language's phrasings (`phrases.EXAMPLE_COMMANDS`)
        that `parses` accepts with one of the home's lights, so that it is never a sentence
        the hub itself would not understand (Spanish names need their article)."""
        sorry = self.error("no_intent").rstrip(".")
        if self._example is None:
            self._example = self._example_command(home, parses)
        if not self._example:
            return sorry
        return phrases.phrase(self.grammar.language, "example", sorry=sorry,
                              command=self._example)

    def _example_command(self, home: Home, parses: Callable[[str], bool] | None) -> str:
        light = next((e for e in home.entities if e.domain == "light"), None)
        if light is None:
            return ""
        forms = [f.format(name=light.name.lower())
                 for f in phrases.example_commands(self.grammar.language)]
        if parses is None:
            return forms[0]
        return next((sentence for sentence in forms if parses(sentence)), "")

    def _render(self, template: str, variables: dict[str, Any]) -> str | None:
        try:
            compiled = self._cache.get(template)
            if compiled is None:
                compiled = self._cache[template] = self._env.from_string(template)
            return _SPACES.sub(" ", compiled.render(**variables)).strip()
        except Exception as err:  # a broken custom template must not fail the request
            _LOGGER.warning("response template failed: %s", err)
            return None


def _spoken(name: str, value: Any, home: Home) -> Any:
    """A slot's spoken form when it came from context: the area's name, not its id."""
    if name == "area" and (area := home.area(str(value))) is not None:
        return area.name
    if name == "floor" and (floor := home.floor(str(value))) is not None:
        return floor.name
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _state_attr(home: Home, entity_id: str, attr: str) -> Any:
    entity = home.entity(entity_id)
    return entity.attributes.get(attr) if entity else None
