"""Home Assistant as the home model, against a local server speaking its websocket protocol."""

from __future__ import annotations

import asyncio
import logging

from hub.intents.home import Home
from hub.intents.home_assistant import HomeAssistantHomeSource
from tests.plugins.homeassistant import TOKEN, FakeHomeAssistant
from tests.waiting import wait_until


async def _source(fake: FakeHomeAssistant, **kwargs) -> HomeAssistantHomeSource:
    source = HomeAssistantHomeSource(fake.url, TOKEN, retry_min_s=0.05, retry_max_s=0.2,
                                     **kwargs)
    await source.start(wait_s=5)
    return source


async def test_reads_floors_areas_and_only_exposed_entities(home_assistant):
    source = await _source(home_assistant)
    try:
        home = source.current()
        assert home.to_mapping() == {
            "floors": [
                {"id": "ground_floor", "name": "Ground Floor", "aliases": ["downstairs"],
                 "level": 0},
                {"id": "first_floor", "name": "First Floor", "aliases": [], "level": 1},
            ],
            "areas": [
                {"id": "kitchen", "name": "Kitchen", "aliases": ["cookhouse"],
                 "floor": "ground_floor"},
                {"id": "garage", "name": "Garage", "aliases": [], "floor": "ground_floor"},
                {"id": "bedroom", "name": "Bedroom", "aliases": [], "floor": "first_floor"},
            ],
            "entities": [
                # The cover has no area of its own: it takes its device's (the garage).
                {"id": "cover.garage_door", "name": "Garage Door", "aliases": [],
                 "area": "garage", "device_class": "garage", "state": "closed",
                 "attributes": {"friendly_name": "Garage Door", "device_class": "garage",
                                "current_position": 0}},
                {"id": "light.bedroom_lamp", "name": "Bedroom Lamp", "aliases": [],
                 "area": "bedroom", "device_class": None, "state": "on",
                 "attributes": {"friendly_name": "Bedroom Lamp", "brightness": 120}},
                # Aliases come from the extended registry entry (get_entries).
                {"id": "light.kitchen_ceiling", "name": "Kitchen Ceiling",
                 "aliases": ["big light"], "area": "kitchen", "device_class": None,
                 "state": "off", "attributes": {"friendly_name": "Kitchen Ceiling",
                                                "supported_color_modes": ["brightness"],
                                                "brightness": None}},
                # Exposed but not in the entity registry (YAML-defined): still in the house.
                {"id": "sensor.outside_temperature", "name": "Outside Temperature",
                 "aliases": [], "area": None, "device_class": "temperature", "state": "12.5",
                 "attributes": {"friendly_name": "Outside Temperature",
                                "unit_of_measurement": "°C", "device_class": "temperature"}},
            ],
            # Devices with their area and all their entities, exposed or not.
            "devices": [
                {"id": "dev-garage-door", "name": "Garage door opener", "area": "garage",
                 "entities": ["cover.garage_door"]},
                {"id": "dev-kitchen-satellite", "name": "Kitchen satellite", "area": "kitchen",
                 "entities": ["assist_satellite.kitchen_satellite"]},
            ],
        }
        assert source.connected and source.ha_version == "2025.11.2"
        assert "switch.server_rack" not in {e.id for e in home.entities}, "not exposed"
        assert home.entity_floor(home.entity("cover.garage_door")).id == "ground_floor"
    finally:
        await source.stop()


async def test_state_changes_are_followed_live(home_assistant):
    source = await _source(home_assistant)
    rebuilt: list[Home] = []
    source.subscribe(rebuilt.append)
    try:
        await home_assistant.set_state("cover.garage_door", "open", current_position=100)
        assert await wait_until(
            lambda: source.current().entity("cover.garage_door").state == "open")
        door = source.current().entity("cover.garage_door")
        assert door.attributes["current_position"] == 100
        await home_assistant.set_state("switch.server_rack", "off")  # not exposed: ignored
        await home_assistant.set_state("light.bedroom_lamp", "off", brightness=None)
        assert await wait_until(
            lambda: source.current().entity("light.bedroom_lamp").state == "off")
        assert source.current().entity("switch.server_rack") is None
        assert rebuilt == [], "a state change does not change what can be said"
    finally:
        await source.stop()


async def test_registry_changes_give_subscribers_a_new_model(home_assistant):
    source = await _source(home_assistant)
    rebuilt: list[Home] = []
    source.subscribe(rebuilt.append)
    try:
        await home_assistant.rename_area("kitchen", "Scullery")
        assert await wait_until(lambda: bool(rebuilt))
        assert rebuilt[-1].area("kitchen").name == "Scullery"
        assert source.current() is rebuilt[-1]

        await home_assistant.expose("switch.server_rack")
        assert await wait_until(lambda: source.current().entity("switch.server_rack") is not None)
        assert source.current().entity("switch.server_rack").area == "garage"
        await home_assistant.expose("switch.server_rack", False)
        assert await wait_until(lambda: source.current().entity("switch.server_rack") is None)
    finally:
        await source.stop()


async def test_disconnect_keeps_the_model_and_reconnects(home_assistant, caplog):
    caplog.set_level(logging.WARNING, "hub.intents.home_assistant")
    source = await _source(home_assistant)
    try:
        before = source.current()
        await home_assistant.stop()  # Home Assistant restarts (e.g. an update)
        assert await wait_until(lambda: not source.connected)
        assert source.current() is before and len(before.entities) == 4, "last model kept"
        assert source.current().entity("light.kitchen_ceiling").name == "Kitchen Ceiling"

        # While it was down, the lamp was switched off; the fresh read after reconnecting
        # picks that up even though no event reached us.
        home_assistant.house["states"] = [
            {**s, "state": "off"} if s["entity_id"] == "light.bedroom_lamp" else s
            for s in home_assistant.house["states"]]
        await asyncio.sleep(0.3)  # a few refused reconnection attempts
        await home_assistant.start()
        assert await wait_until(lambda: source.connected)
        assert source.current().entity("light.bedroom_lamp").state == "off"
        assert any("keeping the last home model" in r.getMessage() for r in caplog.records)

        # A dropped connection (server still up) is also survived.
        await home_assistant.drop_connections()
        assert await wait_until(lambda: not source.connected)
        assert await wait_until(lambda: source.connected and home_assistant.clients == 1)
        await home_assistant.set_state("cover.garage_door", "opening")
        assert await wait_until(
            lambda: source.current().entity("cover.garage_door").state == "opening")
    finally:
        await source.stop()


async def test_unreachable_at_start_does_not_block_and_loads_later():
    fake = FakeHomeAssistant()
    await fake.start()
    port = fake.port
    await fake.stop()  # the port is known, but nothing listens yet
    source = HomeAssistantHomeSource(fake.url, TOKEN, retry_min_s=0.05, retry_max_s=0.2)
    try:
        await source.start(wait_s=0.3)
        assert source.current().entities == [] and "Error" in (source.last_error or "")
        fake.port = port
        await fake.start()
        assert await source.wait_loaded(5)
        assert len(source.current().entities) == 4
    finally:
        await source.stop()
        await fake.stop()


async def test_refused_token_is_reported_and_retried_slowly(home_assistant, caplog):
    caplog.set_level(logging.ERROR, "hub.intents.home_assistant")
    source = HomeAssistantHomeSource(home_assistant.url, "wrong", retry_min_s=0.05,
                                     retry_max_s=30)
    try:
        await source.start(wait_s=0.5)
        assert "refused the token" in (source.last_error or "")
        assert any("check the token" in r.getMessage() for r in caplog.records)
        attempts = len([r for r in caplog.records if "refused" in r.getMessage()])
        await asyncio.sleep(0.5)
        assert len([r for r in caplog.records if "refused" in r.getMessage()]) == attempts, \
            "a refused token waits the longest delay before trying again"
        assert source.current().entities == []
    finally:
        await source.stop()


async def test_odd_registry_entries_are_skipped_not_fatal(home_assistant):
    home_assistant.house["areas"].append({"area_id": "Über Room", "name": "Über", "aliases": [],
                                          "floor_id": "nowhere"})
    home_assistant.house["areas"][0]["floor_id"] = "demolished_floor"  # dangling floor
    source = await _source(home_assistant)
    try:
        home = source.current()
        assert [a.id for a in home.areas] == ["kitchen", "garage", "bedroom"]
        assert home.area("kitchen").floor is None
        assert len(home.entities) == 4
    finally:
        await source.stop()


async def test_a_home_assistant_satellite_is_in_its_devices_area(home_assistant):
    """Home Assistant sends a satellite's device_id / satellite_id, never an area: the device
    registry places it, so "this room" means the satellite's room, not the whole house."""
    from hub.intents.config import IntentsConfig
    from hub.intents.context import area_from_context
    from hub.intents.engine import IntentEngine

    source = await _source(home_assistant)
    try:
        home = source.current()
        by_device = area_from_context(home, {"device_id": "dev-kitchen-satellite"})
        by_satellite = area_from_context(
            home, {"satellite_id": "assist_satellite.kitchen_satellite"})
        assert by_device == by_satellite == "kitchen"
        # A named area wins when it is one of the home's (by alias too); an unknown one is
        # ignored in favour of the device, and nothing known gives no area at all.
        assert area_from_context(home, {"area": "Cookhouse", "device_id": "x"}) == "kitchen"
        assert area_from_context(home, {"area": "attic",
                                        "device_id": "dev-kitchen-satellite"}) == "kitchen"
        assert area_from_context(home, {"satellite_id": "assist_satellite.elsewhere"}) is None
        assert area_from_context(home, None) is None

        engine = IntentEngine(IntentsConfig(fuzzy=False, cache_index=False))
        engine.set_home(home, background=False)
        decision = engine.decide(["turn every light off in this room"], by_satellite)
        assert [e.id for e in decision.resolution.targets] == ["light.kitchen_ceiling"]
    finally:
        await source.stop()
