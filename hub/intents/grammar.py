"""The sentence grammar: Home Assistant's intents for a language, custom sentences, home slot lists.

`home-assistant-intents` ships every built-in intent's templates and response templates inside
the wheel, so the hub understands the same commands as Home Assistant's own agent, offline. A
user's `custom_sentences` folder (Home Assistant's format) is merged on top, and the slot lists
`name`, `area` and `floor` are rebuilt from the home model whenever it changes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hassil.intents import Intents, SlotList, TextSlotList, TextSlotValue
from hassil.util import merge_dict

from hub.intents.home import Home

_LOGGER = logging.getLogger(__name__)

#: The hub's everyday phrasings of the built-in intents, one file per language.
COLLOQUIAL = Path(__file__).resolve().parent / "colloquial"


#: The slots an audio-LLM may fill when it picks the intent itself; the others (context slots,
#: response-only ones) are the matcher's business.
TOOL_SLOTS = frozenset({"name", "area", "floor", "domain", "device_class", "brightness", "color",
                        "temperature", "position", "volume_level", "percentage", "hours",
                        "minutes", "seconds", "item", "search_query", "message", "state"})


class GrammarError(ValueError):
    """Intents that cannot be loaded (unknown language, broken custom sentences)."""


def builtin_languages() -> list[str]:
    import home_assistant_intents

    return sorted(home_assistant_intents.get_languages())


def _builtin_data(language: str) -> dict[str, Any]:
    import home_assistant_intents

    path = Path(home_assistant_intents.__file__).parent / "data" / f"{language}.json"
    if not path.exists():
        raise GrammarError(f"intents.language: no built-in intents for '{language}'; allowed: "
                           f"{', '.join(builtin_languages())}")
    return json.loads(path.read_text(encoding="utf-8"))


def colloquial_file(language: str) -> Path | None:
    """The hub's own sentences for a language (hub/intents/colloquial/<language>.yaml, Home
    Assistant's custom_sentences format), or None where it has none."""
    path = COLLOQUIAL / f"{language}.yaml"
    return path if path.is_file() else None


def _custom_files(folder: Path, language: str) -> list[Path]:
    """Home Assistant keeps custom sentences in `custom_sentences/<language>/*.yaml`."""
    if not folder.is_dir():
        raise GrammarError(f"intents.custom_sentences: '{folder}' is not a folder")
    lang_dir = folder / language
    base = lang_dir if lang_dir.is_dir() else folder
    return sorted([*base.glob("*.yaml"), *base.glob("*.yml")])


@dataclass
class Grammar:
    """Everything the matchers need for one language and one home."""

    language: str
    data: dict[str, Any]
    intents: Intents
    responses: dict[str, dict[str, str]]
    error_responses: dict[str, str]
    skip_words: list[str]
    slot_lists: dict[str, SlotList] = field(default_factory=dict)
    custom_intents: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, language: str, custom_sentences: Path | None = None,
             colloquial: bool = False) -> Grammar:
        """Home Assistant's intents for `language`; with `colloquial`, the hub's everyday
        phrasings of them (`colloquial_file`) on top; then the user's custom sentences."""
        data = _builtin_data(language)
        builtin = set(data["intents"])
        paths = [colloquial_file(language)] if colloquial else []
        if custom_sentences is not None:
            paths += _custom_files(Path(custom_sentences), language)
        for path in (p for p in paths if p is not None):
            try:
                custom = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as err:
                raise GrammarError(f"{path}: not valid YAML: {err}") from err
            if not isinstance(custom, dict) or not isinstance(custom.get("intents", {}),
                                                              dict):
                raise GrammarError(f"{path}: expected a mapping with 'intents'")
            custom.pop("language", None)
            try:
                merge_dict(data, custom)
            except AssertionError as err:
                raise GrammarError(f"{path}: does not fit the built-in intents: {err}") from err
            _LOGGER.info("Loaded custom sentences from %s", path)
        try:
            intents = Intents.from_dict(data)
        except Exception as err:  # hassil raises several parse error types
            raise GrammarError(f"intents for '{language}' do not parse: {err}") from err
        responses = data.get("responses", {})
        return cls(
            language=language, data=data, intents=intents,
            responses=responses.get("intents", {}),
            error_responses=responses.get("errors", {}),
            skip_words=list(data.get("skip_words", [])),
            custom_intents=set(data["intents"]) - builtin,
        )

    def with_home(self, home: Home) -> Grammar:
        """A copy whose name/area/floor lists come from `home` (the grammar itself is shared)."""
        return Grammar(self.language, self.data, self.intents, self.responses,
                       self.error_responses, self.skip_words, build_slot_lists(home),
                       self.custom_intents)

    def intent_slots(self) -> dict[str, list[str]]:
        """Each intent's slots that an audio-LLM's tools describe (`TOOL_SLOTS`): the lists its
        sentences use and the slots they fix. The tool builder (`hub/asr/llm_tools.py`) takes
        this plain data, so that only this module walks hassil's sentence trees."""
        rules = self.intents.expansion_rules
        found: dict[str, list[str]] = {}
        for name, intent in self.intents.intents.items():
            slots: set[str] = set()
            for data in intent.data:
                for sentence in data.sentences:
                    slots.update(sentence.list_names(rules))
                slots.update((data.slots or {}).keys())
            found[name] = sorted(slots & TOOL_SLOTS)
        return found


def build_slot_lists(home: Home) -> dict[str, SlotList]:
    """Slot lists as Home Assistant's default agent builds them.

    An entity name carries its domain and device class as context, which templates test with
    `requires_context` ("open the garage door" needs a cover); areas and floors carry their id.
    """
    names: list[TextSlotValue] = []
    seen: set[tuple[str, str, str | None]] = set()
    for entity in home.entities:
        context = {"domain": entity.domain}
        if entity.device_class:
            context["device_class"] = entity.device_class
        for name in entity.names:
            key = (name.casefold(), entity.domain, entity.device_class)
            if key in seen:
                continue
            seen.add(key)
            names.append(TextSlotValue.from_tuple((name, entity.name, context),
                                                  allow_template=False))
    areas = [TextSlotValue.from_tuple((name, area.id), allow_template=False)
             for area in home.areas for name in area.names]
    floors = [TextSlotValue.from_tuple((name, floor.id), allow_template=False)
              for floor in home.floors for name in floor.names]
    return {"name": TextSlotList(name="name", values=names),
            "area": TextSlotList(name="area", values=areas),
            "floor": TextSlotList(name="floor", values=floors)}
