"""Strict matching of a text against the grammar (hassil), with the satellite's area as context.

This is exactly what Home Assistant's default agent accepts; it is also the final check on every
sentence the fuzzy stage proposes, so nothing reaches the home that the grammar would not parse.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from hassil.recognize import recognize_best

from hub.intents.grammar import Grammar
from hub.intents.home import Area

_LOGGER = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


@dataclass
class IntentMatch:
    """One parse of a sentence: the intent, its slot values and how they were spoken."""

    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    #: The words that filled each slot ("the kitchen lights"); empty for slots from context.
    slot_texts: dict[str, str] = field(default_factory=dict)
    response: str = "default"
    #: Slots filled from the request's context (the satellite's area), not from the words.
    context_slots: set[str] = field(default_factory=set)
    wildcard_slots: set[str] = field(default_factory=set)
    text: str = ""

    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Identity of the action (for agreement between hypotheses)."""
        return (self.intent, tuple(sorted((k, str(v).casefold()) for k, v in self.slots.items())))


def normalize(text: str) -> str:
    """What Whisper writes ("Turn on the lights.") into what the grammar expects."""
    text = text.strip().replace("’", "'")
    text = re.sub(r"[\"“”!?,;:]+", " ", text)
    text = re.sub(r"\.(?!\d)", " ", text)  # keep decimal points
    return _SPACES.sub(" ", text).strip()


class StrictMatcher:
    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar

    def match(self, text: str, area: Area | None = None) -> IntentMatch | None:
        text = normalize(text)
        if not text:
            return None
        context: dict[str, Any] = {}
        if area is not None:
            context["area"] = {"value": area.id, "text": area.name}
        try:
            result = recognize_best(
                text, self.grammar.intents, slot_lists=self.grammar.slot_lists,
                skip_words=self.grammar.skip_words, intent_context=context,
                language=self.grammar.language, best_slot_name="name")
        except Exception:  # a grammar corner case must not fail the request
            _LOGGER.exception("hassil failed on %r", text)
            return None
        if result is None:
            return None
        slots: dict[str, Any] = {}
        texts: dict[str, str] = {}
        from_context: set[str] = set()
        wildcards: set[str] = set()
        for name, entity in result.entities.items():
            value = entity.value
            if isinstance(value, str):
                value = value.strip()
            slots[name] = value
            texts[name] = entity.text_clean if entity.text_span is not None else ""
            if entity.text_span is None and name in context:
                from_context.add(name)
            if entity.is_wildcard:
                wildcards.add(name)
        # Intent-level fixed slots (domain: light) that hassil reports as entities too.
        for name, value in (result.intent_data.slots or {}).items():
            slots.setdefault(name, value)
        return IntentMatch(result.intent.name, slots, texts, result.response or "default",
                           from_context, wildcards, text)
