"""The stand-in Home Assistant (tests/plugins/homeassistant.py) speaks what the real one speaks.

The stand-in stays for the fault cases a real Home Assistant cannot stage (dropped connections,
registry bursts, refused tokens on demand); so that what it proves holds for the real thing,
every message it sends has the shape of real Home Assistant Core's answer to the same command:
the same keys for registries, states, extended entries and the expose list (devices: a subset
of the real keys, since the hub reads only a few of them).
"""

from __future__ import annotations

from typing import Any

from tests.plugins.ha_core import KITCHEN_LIGHT, HomeAssistantCore
from tests.plugins.homeassistant import _LIST_KEYS, sample_house


def _keys(rows: list[dict[str, Any]]) -> set[str]:
    assert rows, "the real Home Assistant answered an empty list: nothing to compare"
    return set(rows[0])


def test_registries_and_states_have_the_keys_of_real_home_assistant(
        home_assistant_core: HomeAssistantCore) -> None:
    ha, fake = home_assistant_core, sample_house()
    floor = ha.ws("config/floor_registry/create", name="Test Floor", level=2)
    try:
        assert set(fake["floors"][0]) == _keys(ha.ws("config/floor_registry/list"))
    finally:
        ha.ws("config/floor_registry/delete", floor_id=floor["floor_id"])
    assert set(fake["areas"][0]) == _keys(ha.ws("config/area_registry/list"))
    assert set(_LIST_KEYS) == _keys(ha.ws("config/entity_registry/list"))
    assert set(fake["states"][0]) == _keys(ha.get("states"))
    assert set(fake["states"][0]) == _keys(ha.ws("get_states"))
    assert set(fake["devices"][0]) <= _keys(ha.ws("config/device_registry/list"))


def test_extended_entries_and_the_expose_list_have_the_real_shape(
        home_assistant_core: HomeAssistantCore) -> None:
    ha, fake = home_assistant_core, sample_house()
    real = ha.ws("config/entity_registry/get_entries", entity_ids=[KITCHEN_LIGHT])
    assert set(fake["registry"][0]) == set(real[KITCHEN_LIGHT])
    exposed = ha.ws("homeassistant/expose_entity/list")
    assert set(exposed) == {"exposed_entities"}
    assert exposed["exposed_entities"][KITCHEN_LIGHT] == {"conversation": True}
    flags = next(iter(fake["exposed"].values()))
    assert set(flags) <= {"conversation", "cloud.alexa", "cloud.google_assistant"}
