"""A local stand-in for Home Assistant's websocket API (a live Home Assistant cannot run here).

It speaks the real wire format of `/api/websocket`: `auth_required` → `auth` → `auth_ok` or
`auth_invalid`; numbered commands answered by `{"id", "type": "result", "success", "result"}` or
an `error` with a code; `subscribe_events` followed by `{"id", "type": "event", "event": {...}}`
messages. It answers the commands the hub uses, with payloads shaped like Home Assistant 2025's
(registry entries carry the same keys, states carry `last_changed`, `context`, …), and lets a test
change states, change the registries, drop every connection or go down and come back.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from websockets.asyncio.server import ServerConnection, serve

HA_VERSION = "2025.11.2"
TOKEN = "test-long-lived-token"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _context() -> dict[str, Any]:
    return {"id": f"01JCTX{next(_ctx):08d}", "parent_id": None, "user_id": None}


_ctx = itertools.count(1)


def _state(entity_id: str, state: str, **attributes: Any) -> dict[str, Any]:
    now = _now()
    return {"entity_id": entity_id, "state": state, "attributes": attributes,
            "last_changed": now, "last_reported": now, "last_updated": now,
            "context": _context()}


def _registry_entry(entity_id: str, *, area_id: str | None = None, device_id: str | None = None,
                    name: str | None = None, original_name: str | None = None,
                    aliases: list[str] | None = None, device_class: str | None = None,
                    disabled_by: str | None = None) -> dict[str, Any]:
    """An extended entity registry entry (`get_entries`); `list` returns a subset of it."""
    return {
        "area_id": area_id, "categories": {}, "config_entry_id": "01JCFG0000000000000000",
        "config_subentry_id": None, "created_at": 0.0, "device_id": device_id,
        "disabled_by": disabled_by, "entity_category": None, "entity_id": entity_id,
        "has_entity_name": True, "hidden_by": None, "icon": None,
        "id": f"reg-{entity_id}", "labels": [], "modified_at": 0.0, "name": name,
        "options": {"conversation": {"should_expose": True}}, "original_name": original_name,
        "platform": "demo", "translation_key": None, "unique_id": f"uid-{entity_id}",
        # Only in `get_entries` (extended) answers:
        "aliases": aliases or [], "capabilities": None, "device_class": device_class,
        "original_device_class": None, "original_icon": None,
    }


_LIST_KEYS = ("area_id", "categories", "config_entry_id", "config_subentry_id", "created_at",
              "device_id", "disabled_by", "entity_category", "entity_id", "has_entity_name",
              "hidden_by", "icon", "id", "labels", "modified_at", "name", "options",
              "original_name", "platform", "translation_key", "unique_id")


def sample_house() -> dict[str, Any]:
    """A small house: two floors, three areas, a device carrying the area of its entity."""
    return {
        "floors": [
            {"floor_id": "ground_floor", "name": "Ground Floor", "aliases": ["downstairs"],
             "icon": None, "level": 0, "created_at": 0.0, "modified_at": 0.0},
            {"floor_id": "first_floor", "name": "First Floor", "aliases": [], "icon": None,
             "level": 1, "created_at": 0.0, "modified_at": 0.0},
        ],
        "areas": [
            {"area_id": "kitchen", "name": "Kitchen", "aliases": ["cookhouse"],
             "floor_id": "ground_floor", "icon": None, "picture": None, "labels": [],
             "humidity_entity_id": None, "temperature_entity_id": None,
             "created_at": 0.0, "modified_at": 0.0},
            {"area_id": "garage", "name": "Garage", "aliases": [], "floor_id": "ground_floor",
             "icon": None, "picture": None, "labels": [], "humidity_entity_id": None,
             "temperature_entity_id": None, "created_at": 0.0, "modified_at": 0.0},
            {"area_id": "bedroom", "name": "Bedroom", "aliases": [], "floor_id": "first_floor",
             "icon": None, "picture": None, "labels": [], "humidity_entity_id": None,
             "temperature_entity_id": None, "created_at": 0.0, "modified_at": 0.0},
        ],
        "devices": [
            {"id": "dev-garage-door", "area_id": "garage", "name": "Garage door opener",
             "name_by_user": None, "manufacturer": "Demo", "model": "Opener",
             "config_entries": ["01JCFG0000000000000000"], "disabled_by": None,
             "identifiers": [["demo", "garage"]], "labels": []},
            # A voice satellite: Home Assistant sends its device_id / satellite_id, no area.
            {"id": "dev-kitchen-satellite", "area_id": "kitchen", "name": "Voice PE",
             "name_by_user": "Kitchen satellite", "manufacturer": "Nabu Casa",
             "model": "Voice PE", "config_entries": ["01JCFG0000000000000001"],
             "disabled_by": None, "identifiers": [["esphome", "kitchen-sat"]], "labels": []},
        ],
        "registry": [
            _registry_entry("light.kitchen_ceiling", area_id="kitchen",
                            original_name="Ceiling", aliases=["big light"]),
            _registry_entry("cover.garage_door", device_id="dev-garage-door",
                            original_name="Door", device_class="garage"),
            _registry_entry("light.bedroom_lamp", area_id="bedroom", original_name="Lamp"),
            _registry_entry("switch.server_rack", area_id="garage", original_name="Server rack"),
            _registry_entry("assist_satellite.kitchen_satellite",
                            device_id="dev-kitchen-satellite", original_name="Assist satellite"),
        ],
        # What Settings → Voice assistants → Expose shows; the server rack is not exposed.
        "exposed": {
            "light.kitchen_ceiling": {"conversation": True, "cloud.alexa": False},
            "cover.garage_door": {"conversation": True},
            "light.bedroom_lamp": {"conversation": True},
            "switch.server_rack": {"conversation": False},
            "sensor.outside_temperature": {"conversation": True},
        },
        "states": [
            _state("light.kitchen_ceiling", "off", friendly_name="Kitchen Ceiling",
                   supported_color_modes=["brightness"], brightness=None),
            _state("cover.garage_door", "closed", friendly_name="Garage Door",
                   device_class="garage", current_position=0),
            _state("light.bedroom_lamp", "on", friendly_name="Bedroom Lamp", brightness=120),
            _state("switch.server_rack", "on", friendly_name="Server rack"),
            # A YAML-defined entity without a registry entry (no unique_id) can be exposed too.
            _state("sensor.outside_temperature", "12.5", friendly_name="Outside Temperature",
                   unit_of_measurement="°C", device_class="temperature"),
            _state("sun.sun", "above_horizon", friendly_name="Sun"),
        ],
    }


class FakeHomeAssistant:
    """Home Assistant's websocket API on a local port, with a house a test can change."""

    def __init__(self, house: dict[str, Any] | None = None, token: str = TOKEN) -> None:
        self.house = house or sample_house()
        self.token = token
        self.port = 0
        self.commands: list[str] = []
        self._server: Any = None
        self._connections: set[ServerConnection] = set()
        self._subscriptions: dict[ServerConnection, dict[int, str]] = {}

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/websocket"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again on the same port after `stop`, like a restarted Home Assistant)."""
        self._server = await serve(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Go down: close every connection and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> None:
        """Close every client connection but keep listening (a network hiccup)."""
        for ws in list(self._connections):
            await ws.close()

    @property
    def clients(self) -> int:
        return len(self._connections)

    # -- changing the house -------------------------------------------------------------------
    async def set_state(self, entity_id: str, state: str, **attributes: Any) -> None:
        old = next((s for s in self.house["states"] if s["entity_id"] == entity_id), None)
        merged = {**(old or {}).get("attributes", {}), **attributes}
        new = _state(entity_id, state, **merged)
        self.house["states"] = [s for s in self.house["states"] if s["entity_id"] != entity_id]
        self.house["states"].append(new)
        await self.fire("state_changed", {"entity_id": entity_id, "old_state": old,
                                          "new_state": new})

    async def rename_area(self, area_id: str, name: str) -> None:
        for area in self.house["areas"]:
            if area["area_id"] == area_id:
                area["name"] = name
        await self.fire("area_registry_updated", {"action": "update", "area_id": area_id})

    async def expose(self, entity_id: str, exposed: bool = True) -> None:
        self.house["exposed"].setdefault(entity_id, {})["conversation"] = exposed
        for entry in self.house["registry"]:
            if entry["entity_id"] == entity_id:
                entry["options"]["conversation"]["should_expose"] = exposed
        await self.fire("entity_registry_updated", {"action": "update", "entity_id": entity_id,
                                                    "changes": {"options": {}}})

    async def fire(self, event_type: str, data: dict[str, Any]) -> None:
        event = {"event_type": event_type, "data": data, "origin": "LOCAL",
                 "time_fired": _now(), "context": _context()}
        for ws, subs in list(self._subscriptions.items()):
            for sub_id, sub_type in subs.items():
                if sub_type in (event_type, None):
                    with contextlib.suppress(Exception):
                        await ws.send(json.dumps({"id": sub_id, "type": "event",
                                                  "event": event}))

    # -- the protocol -------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        self._connections.add(ws)
        try:
            await ws.send(json.dumps({"type": "auth_required", "ha_version": HA_VERSION}))
            auth = json.loads(await ws.recv())
            if auth.get("type") != "auth" or auth.get("access_token") != self.token:
                await ws.send(json.dumps({"type": "auth_invalid",
                                          "message": "Invalid access token or password"}))
                return
            await ws.send(json.dumps({"type": "auth_ok", "ha_version": HA_VERSION}))
            self._subscriptions[ws] = {}
            last_id = 0
            async for raw in ws:
                message = json.loads(raw)
                msg_id = message.get("id")
                if not isinstance(msg_id, int) or msg_id <= last_id:
                    await self._error(ws, msg_id, "id_reuse", "Identifier values have to "
                                      "increase.")
                    continue
                last_id = msg_id
                self.commands.append(message.get("type", ""))
                await self._command(ws, msg_id, message)
        except Exception:  # a client going away mid-message is normal here
            pass
        finally:
            self._connections.discard(ws)
            self._subscriptions.pop(ws, None)

    async def _command(self, ws: ServerConnection, msg_id: int, message: dict[str, Any]) -> None:
        kind = message.get("type")
        house = self.house
        if kind == "subscribe_events":
            self._subscriptions[ws][msg_id] = message.get("event_type")
            await self._result(ws, msg_id, None)
        elif kind == "config/floor_registry/list":
            await self._result(ws, msg_id, copy.deepcopy(house["floors"]))
        elif kind == "config/area_registry/list":
            await self._result(ws, msg_id, copy.deepcopy(house["areas"]))
        elif kind == "config/device_registry/list":
            await self._result(ws, msg_id, copy.deepcopy(house["devices"]))
        elif kind == "config/entity_registry/list":
            await self._result(ws, msg_id, [{k: e[k] for k in _LIST_KEYS}
                                            for e in house["registry"]])
        elif kind == "config/entity_registry/get_entries":
            by_id = {e["entity_id"]: e for e in house["registry"]}
            await self._result(ws, msg_id, {eid: copy.deepcopy(by_id.get(eid))
                                            for eid in message.get("entity_ids", [])})
        elif kind == "homeassistant/expose_entity/list":
            await self._result(ws, msg_id, {"exposed_entities": copy.deepcopy(house["exposed"])})
        elif kind == "get_states":
            await self._result(ws, msg_id, copy.deepcopy(house["states"]))
        elif kind == "ping":
            await ws.send(json.dumps({"id": msg_id, "type": "pong"}))
        else:
            await self._error(ws, msg_id, "unknown_command", "Unknown command.")

    @staticmethod
    async def _result(ws: ServerConnection, msg_id: int, result: Any) -> None:
        await ws.send(json.dumps({"id": msg_id, "type": "result", "success": True,
                                  "result": result}))

    @staticmethod
    async def _error(ws: ServerConnection, msg_id: Any, code: str, text: str) -> None:
        await ws.send(json.dumps({"id": msg_id, "type": "result", "success": False,
                                  "error": {"code": code, "message": text}}))


@pytest_asyncio.fixture(loop_scope="function")
async def home_assistant():
    """A running fake Home Assistant with `sample_house()`; stopped after the test."""
    fake = FakeHomeAssistant()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


