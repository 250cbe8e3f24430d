"""Text → intent, targets and reply: Home Assistant's sentences, slip recovery, honest rejection."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "home.yaml"


def understand(u: Any, text: str, area: str | None = None) -> Any:
    return asyncio.run(u.understand_text(text, area))


@pytest.mark.parametrize(("text", "area", "intent", "targets", "reply"), [
    ("turn on the kitchen lights", None, "HassTurnOn", ["light.kitchen_lights"],
     "Turned on the light"),
    ("Turn off the TV.", None, "HassTurnOff", ["media_player.living_room_tv"],
     "Turned off the media player"),
    ("turn on the lights", "kitchen", "HassTurnOn",
     ["light.kitchen_lights", "light.kitchen_counter"], "Turned on the lights"),
    ("open the garage door", None, "HassTurnOn", ["cover.garage_door"], "Opening"),
    ("lock the front door", None, "HassTurnOn", ["lock.front_door"], "Locking"),
    ("set the bedroom light to 50%", None, "HassLightSet", ["light.bedroom"],
     "Brightness set"),
    ("set the temperature to 22 degrees", "living_room", "HassClimateSetTemperature",
     ["climate.living_room_thermostat"], "Temperature set to 22 degrees"),
    ("what is the outside temperature", None, "HassGetState",
     ["sensor.outside_temperature"], "Outside temperature is 12.5 °C"),
    ("is the front door locked", None, "HassGetState", ["lock.front_door"], "Yes"),
    ("add milk to my shopping list", None, "HassListAddItem", ["todo.shopping_list"],
     "Added milk"),
    ("turn off the lights upstairs", None, "HassTurnOff",
     ["light.bedroom", "light.bedside_lamp", "light.kids_night_light", "light.office_desk",
      "light.bathroom_mirror"], "Turned off the lights"),
])
def test_home_assistant_sentences_act_on_the_right_entities(
        text_understander: Any, text: str, area: str | None, intent: str, targets: list[str],
        reply: str) -> None:
    result = understand(text_understander, text, area)
    assert result.intent is not None, result
    assert result.intent.name == intent
    assert sorted(result.targets) == sorted(targets)
    assert result.reply == reply
    assert result.confidence == 1.0


def test_slots_are_published_as_plain_values(text_understander: Any) -> None:
    result = understand(text_understander, "set the bedroom light to 50%")
    assert result.intent.slots == {"name": "Bedroom Light", "brightness": 50}
    data = result.to_dict()
    assert set(data) == {"text", "language", "intent", "targets", "reply", "confidence",
                         "timings_ms", "action", "answered_by", "conversation_id",
                         "continue_conversation", "understood"}
    assert data["action"] is None  # understood only: no actor has seen it yet


def test_time_and_date_come_from_the_hubs_clock(text_understander: Any) -> None:
    result = understand(text_understander, "what time is it")
    assert result.intent.name == "HassGetCurrentTime"
    assert re.fullmatch(r"\d{1,2}:\d\d [AP]M", result.reply)
    hour = int(result.reply.split(":")[0]) % 12
    assert hour in {time.localtime().tm_hour % 12, (time.localtime().tm_hour - 1) % 12}
    date = understand(text_understander, "what's the date today")
    assert date.intent.name == "HassGetCurrentDate"
    assert time.strftime("%B") in date.reply and str(time.localtime().tm_year) in date.reply


def test_the_satellites_area_narrows_a_name_only_where_one_exists(
        text_understander: Any) -> None:
    # No desk lamp in the kitchen: the name still means the office's desk lamp.
    result = understand(text_understander, "turn on the desk lamp", "kitchen")
    assert result.targets == ["light.office_desk"]
    # A room without lights: "the lights" there is an error reply, not the whole house.
    garage = understand(text_understander, "turn on the lights", "garage")
    assert garage.targets == []
    assert "Sorry" in garage.reply


@pytest.mark.parametrize(("heard", "intent", "targets"), [
    ("close the garbage door", "HassTurnOff", ["cover.garage_door"]),
    ("Lock the front dour.", "HassTurnOn", ["lock.front_door"]),
    ("switch of the coffee maker", "HassTurnOff", ["switch.coffee_maker"]),
    ("turn on the desk lamb", "HassTurnOn", ["light.office_desk"]),
])
def test_recognizer_slips_are_recovered_with_lower_confidence(
        text_understander: Any, heard: str, intent: str, targets: list[str]) -> None:
    result = understand(text_understander, heard)
    assert result.intent is not None, f"{heard!r} not recovered"
    assert result.intent.name == intent
    assert sorted(result.targets) == sorted(targets)
    assert 0.7 <= result.confidence < 1.0


@pytest.mark.parametrize("text", [
    "what's the capital of France",
    "tell me a joke",
    "how are you doing today",
    "the cat sat on the mat",
    "call my mother",
    "I think the weather is nice",
    "who won the football game yesterday",
    "turn on the dishwasher",  # no such device: better "Sorry" than a wrong one
    "open the pod bay doors",
    "asdf qwerty zxcv",
])
def test_out_of_domain_speech_is_not_turned_into_an_action(text_understander: Any,
                                                           text: str) -> None:
    result = understand(text_understander, text)
    assert result.intent is None, f"{text!r} → {result.intent} {result.targets}"
    assert result.targets == []
    assert result.reply.startswith("Sorry")


def test_empty_text_is_not_recognized_silently(text_understander: Any) -> None:
    result = understand(text_understander, "   ")
    assert result.intent is None and result.reply == ""


def test_is_complete_command_is_a_strict_check(text_understander: Any) -> None:
    assert asyncio.run(text_understander.is_complete_command("turn on the kitchen lights"))
    assert asyncio.run(text_understander.is_complete_command("turn on the lights", "kitchen"))
    assert not asyncio.run(text_understander.is_complete_command("turn on the"))
    assert not asyncio.run(text_understander.is_complete_command("open the garbage door"))


def test_custom_sentences_and_home_changes_are_picked_up(tmp_path: Path) -> None:
    from hub.config import HubConfig
    from hub.intents.home import FileHomeSource
    from hub.understanding import Understander

    custom = tmp_path / "custom_sentences" / "en"
    custom.mkdir(parents=True)
    (custom / "party.yaml").write_text(
        "language: en\n"
        "intents:\n"
        "  PartyMode:\n"
        "    data:\n"
        "      - sentences: ['(start|begin) the party [in the {area}]']\n"
        "responses:\n"
        "  intents:\n"
        "    PartyMode:\n"
        "      default: \"Let's party{% if slots.area %} in the {{ slots.area }}{% endif %}\"\n")
    home_file = tmp_path / "home.yaml"
    home_file.write_text(EXAMPLE.read_text())
    config = HubConfig(data_dir=tmp_path / "data")
    config.intents.custom_sentences = tmp_path / "custom_sentences"
    config.intents.sentences_per_template = 5
    source = FileHomeSource(home_file, poll_s=0.05)
    u = Understander(config, source)
    u.load(recognizer=False)
    try:
        party = asyncio.run(u.understand_text("start the party in the living room"))
        assert party.intent.name == "PartyMode"
        assert party.intent.slots == {"area": "living_room"}
        assert party.reply == "Let's party in the living room"

        assert asyncio.run(u.understand_text("turn on the sauna")).intent is None
        home_file.write_text(EXAMPLE.read_text() + "  - {id: switch.sauna, name: Sauna}\n")
        deadline = time.time() + 10
        while time.time() < deadline and u.home.entity("switch.sauna") is None:
            time.sleep(0.05)
        result = asyncio.run(u.understand_text("turn on the sauna"))
        assert result.targets == ["switch.sauna"]
    finally:
        source.close()


def test_broken_custom_sentences_name_the_file(tmp_path: Path) -> None:
    from hub.intents.grammar import Grammar, GrammarError

    (tmp_path / "bad.yaml").write_text("intents: [\n")
    with pytest.raises(GrammarError, match=r"bad\.yaml: not valid YAML"):
        Grammar.load("en", tmp_path)
    with pytest.raises(GrammarError, match="no built-in intents for 'xx'"):
        Grammar.load("xx")


def test_state_changes_show_in_replies_without_rebuilding_the_index() -> None:
    from hub.intents.config import IntentsConfig
    from hub.intents.engine import IntentEngine
    from hub.intents.home import Home, load_home

    engine = IntentEngine(IntentsConfig(sentences_per_template=5, cache_index=False))
    home = load_home(EXAMPLE)
    engine.set_home(home, background=False)
    fuzzy = engine._state.fuzzy
    assert engine.decide(["is the kitchen light on"]).reply == "No, off"

    changed = Home.from_mapping(home.to_mapping())
    changed.update_state("light.kitchen_lights", "on", {"brightness": 255})
    engine.set_home(changed)
    assert engine._state.fuzzy is fuzzy  # same names: nothing rebuilt
    assert engine.decide(["is the kitchen light on"]).reply == "Yes"
    assert engine.decide(["what is the bathroom humidity"]).reply == "Bathroom humidity is 64 %"


def test_the_sentence_index_cache_keeps_only_the_recently_used_homes(tmp_path: Path) -> None:
    import os

    from hub.intents.grammar import Grammar
    from hub.intents.sentences import KEEP_CACHED, load_or_build

    old = [tmp_path / f"sentences-old{i:02d}.gz" for i in range(KEEP_CACHED + 2)]
    for age, path in enumerate(old):
        path.write_bytes(b"")
        os.utime(path, (time.time() - 1000 - age, time.time() - 1000 - age))
    grammar = Grammar.load("en")
    built = load_or_build(grammar, "this-home", 1, tmp_path)
    kept = sorted(tmp_path.glob("sentences-*.gz"))
    assert len(kept) == KEEP_CACHED
    assert not {old[-1], old[-2], old[-3]} & set(kept)  # the three least recently used went
    assert load_or_build(grammar, "this-home", 1, tmp_path) == built  # read back from the cache
