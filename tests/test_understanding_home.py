"""The home model: registry-shaped YAML, validated with clear errors, reloaded on change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hub.intents.home import FileHomeSource, Home, HomeError, load_home

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "home.yaml"


def test_example_home_is_a_realistic_house() -> None:
    home = load_home(EXAMPLE)
    domains = {e.domain for e in home.entities}
    assert len(home.floors) >= 3 and len(home.areas) >= 8 and len(home.entities) >= 30
    assert {"light", "switch", "cover", "lock", "climate", "media_player", "sensor", "fan",
            "todo"} <= domains
    assert home.entity("cover.garage_door").device_class == "garage"
    kitchen = home.entity("light.kitchen_lights")
    assert kitchen.area == "kitchen" and kitchen.domain == "light"
    assert home.entity_floor(kitchen).name == "Ground Floor"


def test_areas_are_found_by_id_name_or_alias(example_home: Home) -> None:
    assert example_home.find_area("living_room").id == "living_room"
    assert example_home.find_area("Living Room").id == "living_room"
    assert example_home.find_area("lounge").id == "living_room"
    assert example_home.find_area("attic") is None


@pytest.mark.parametrize(("data", "message"), [
    ({"rooms": []}, "rooms: unknown key; allowed: areas, devices, entities, floors"),
    ({"areas": [{"id": "kitchen"}]}, "areas[0].name: required"),
    ({"areas": [{"id": "kitchen", "name": "Kitchen", "floor": "attic"}]},
     "areas[0].floor: unknown floor 'attic'"),
    ({"entities": [{"id": "kitchen light", "name": "Kitchen"}]}, "is not a valid id"),
    ({"entities": [{"id": "light.a", "name": "A", "area": "nowhere"}]},
     "entities[0].area: unknown area 'nowhere'"),
    ({"entities": [{"id": "light.a", "name": "A", "colour": "red"}]},
     "entities[0].colour: unknown key"),
    ({"entities": [{"id": "light.a", "name": "A"}, {"id": "light.a", "name": "B"}]},
     "duplicate id 'light.a'"),
    ({"entities": [{"id": "light.a", "name": "A", "domain": "switch"}]},
     "does not match the id's domain"),
    ({"floors": "ground"}, "floors: expected a list"),
])
def test_invalid_homes_name_the_source_and_key(data: dict, message: str) -> None:
    with pytest.raises(HomeError) as err:
        Home.from_mapping(data, source="my-home.yaml")
    assert str(err.value).startswith("my-home.yaml: ")
    assert message in str(err.value)


def test_bad_yaml_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("areas: [\n")
    with pytest.raises(HomeError, match=r"home\.yaml: not valid YAML"):
        load_home(path)


def test_state_updates_change_one_entity(example_home: Home) -> None:
    home = Home.from_mapping(example_home.to_mapping())
    assert home.update_state("light.hallway", "on", {"brightness": 200})
    assert home.entity("light.hallway").state == "on"
    assert home.entity("light.hallway").attributes == {"brightness": 200}
    assert not home.update_state("light.unknown", "on")
    # The fuzzy index depends on names, not on states.
    assert home.fingerprint() == example_home.fingerprint()


def _touch(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_file_source_reloads_and_keeps_the_last_good_model(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("areas: [{id: kitchen, name: Kitchen}]\n"
                    "entities: [{id: light.kitchen, name: Kitchen Light, area: kitchen}]\n")
    source = FileHomeSource(path, poll_s=0.05)
    seen: list[Home] = []
    source.subscribe(seen.append)
    try:
        _touch(path, "areas: [{id: kitchen, name: Kitchen}]\n"
               "entities: [{id: light.kitchen, name: Kitchen Light, area: kitchen},\n"
               "           {id: fan.kitchen, name: Kitchen Fan, area: kitchen}]\n")
        deadline = time.time() + 5
        while not seen and time.time() < deadline:
            time.sleep(0.05)
        assert seen and len(seen[-1].entities) == 2
        assert len(source.current().entities) == 2

        _touch(path, "entities: [{id: fan.kitchen, name: Kitchen Fan, area: cellar}]\n")
        time.sleep(0.1)
        source.check()
        assert "unknown area 'cellar'" in (source.last_error or "")
        assert len(source.current().entities) == 2  # the broken edit was not applied
    finally:
        source.close()
