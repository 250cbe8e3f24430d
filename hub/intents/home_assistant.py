"""Home Assistant as the home model: floors, areas, exposed entities and live states.

Intents only match names the house really has, and state questions ("is the garage door open?")
must answer from the live state, so the hub reads Home Assistant's registries over its websocket
API and follows `state_changed` events. Only entities exposed to Assist (`conversation`) enter
the model: that is the list the user curated in Settings → Voice assistants → Expose, and the
one Home Assistant's own Assist obeys.

Home Assistant goes away (restarts, updates, the network): the source keeps the last model it
had, so the hub keeps understanding commands, and reconnects with exponential backoff. Registry
changes (an area renamed, an entity exposed) trigger a fresh read of the registries, which
subscribers receive as a new `Home`; state changes are applied to the current model in place,
since they do not change what can be said, only what the replies say.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hub.intents.home import Home, HomeError, HomeSource

if TYPE_CHECKING:
    from hub.intents.home_assistant_config import HomeAssistantConfig

_LOGGER = logging.getLogger(__name__)

ASSISTANT = "conversation"
#: Registry events after which the model is read again.
REGISTRY_EVENTS = ("entity_registry_updated", "area_registry_updated",
                   "floor_registry_updated", "device_registry_updated")
_COMMAND_TIMEOUT_S = 30.0
_REFRESH_DEBOUNCE_S = 0.5
_ID = re.compile(r"^[a-z0-9_]+$")
_ENTITY_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


class HomeAssistantError(RuntimeError):
    """Home Assistant answered with an error or broke the protocol."""


class AuthenticationError(HomeAssistantError):
    """The token was refused: retrying soon cannot help, so the retry waits longest."""


class _Session:
    """One authenticated websocket connection: numbered commands, results and events."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self.ha_version = ""

    async def authenticate(self, token: str) -> None:
        hello = await self._receive()
        if hello.get("type") != "auth_required":
            raise HomeAssistantError(f"expected auth_required, got {hello.get('type')!r}")
        await self._ws.send(json.dumps({"type": "auth", "access_token": token}))
        answer = await self._receive()
        if answer.get("type") == "auth_invalid":
            raise AuthenticationError(f"Home Assistant refused the token: "
                                      f"{answer.get('message', 'auth_invalid')}")
        if answer.get("type") != "auth_ok":
            raise HomeAssistantError(f"expected auth_ok, got {answer.get('type')!r}")
        self.ha_version = str(answer.get("ha_version", ""))
        self._reader = asyncio.create_task(self._read(), name="home-assistant-reader")

    async def command(self, kind: str, **data: Any) -> Any:
        """Send one command and wait for its result; errors raise HomeAssistantError."""
        msg_id = next(self._ids)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            await self._ws.send(json.dumps({"id": msg_id, "type": kind, **data}))
            message = await asyncio.wait_for(future, _COMMAND_TIMEOUT_S)
        finally:
            self._pending.pop(msg_id, None)
        if not message.get("success", False):
            error = message.get("error") or {}
            raise HomeAssistantError(f"{kind}: {error.get('code', 'error')}: "
                                     f"{error.get('message', '')}")
        return message.get("result")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._ws.close()

    async def _receive(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self._ws.recv(), _COMMAND_TIMEOUT_S)
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise HomeAssistantError(f"unexpected message {raw[:80]!r}")
        return message

    async def _read(self) -> None:
        """Route every incoming message; when the socket closes, fail what still waits."""
        error: BaseException = ConnectionError("Home Assistant closed the connection")
        try:
            async for raw in self._ws:
                payload = json.loads(raw)
                # Home Assistant may coalesce several messages into one JSON list.
                for message in payload if isinstance(payload, list) else [payload]:
                    self._dispatch(message)
        except Exception as err:
            error = err
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)
            self.events.put_nowait(None)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") == "event":
            self.events.put_nowait(message.get("event") or {})
            return
        ident = message.get("id")
        future = self._pending.get(ident) if isinstance(ident, int) else None
        if future is not None and not future.done():
            future.set_result(message)


class HomeAssistantHomeSource(HomeSource):
    """The home model read from Home Assistant and kept current."""

    def __init__(self, url: str, token: str, *, retry_min_s: float = 1.0,
                 retry_max_s: float = 60.0, assistant: str = ASSISTANT) -> None:
        self.url = url
        self._token = token
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.assistant = assistant
        self._home = Home(source=url)
        self._callbacks: list[Callable[[Home], None]] = []
        self._task: asyncio.Task | None = None
        self._loaded = asyncio.Event()
        self.connected = False
        self.last_error: str | None = None
        self.ha_version = ""

    @classmethod
    def from_config(cls, config: HomeAssistantConfig) -> HomeAssistantHomeSource:
        """From a `HomeAssistantConfig` (hub/intents/home_assistant_config.py)."""
        return cls(config.websocket_url(), config.resolve_token(),
                   retry_max_s=config.retry_max_s)

    # -- HomeSource ---------------------------------------------------------------------------
    def current(self) -> Home:
        return self._home

    def subscribe(self, callback: Callable[[Home], None]) -> None:
        self._callbacks.append(callback)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self, wait_s: float | None = 10.0) -> None:
        """Connect in the background; wait up to `wait_s` for the first model.

        The hub must start even while Home Assistant is down (a power cut brings both up at
        once), so an unreachable Home Assistant only delays the first model, never the start.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="home-assistant")
        if wait_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._loaded.wait(), wait_s)
            if not self._loaded.is_set():
                _LOGGER.warning("Home Assistant at %s not loaded yet (%s); retrying in the "
                                "background", self.url, self.last_error or "no answer")

    async def wait_loaded(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), timeout)
        return self._loaded.is_set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.connected = False

    # -- the connection loop ------------------------------------------------------------------
    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        delay = self.retry_min_s
        while True:
            try:
                async with connect(self.url, max_size=64 * 1024 * 1024, open_timeout=10,
                                   ping_interval=20, ping_timeout=20) as ws:
                    session = _Session(ws)
                    try:
                        await session.authenticate(self._token)
                        self.ha_version = session.ha_version
                        await self._follow(session)
                    finally:
                        await session.close()
                self.last_error = "connection closed"
                _LOGGER.warning("Home Assistant at %s closed the connection; keeping the last "
                                "home model, reconnecting", self.url)
            except asyncio.CancelledError:
                raise
            except AuthenticationError as err:
                self.last_error = str(err)
                delay = self.retry_max_s
                _LOGGER.error("%s; check the token (home_assistant.token)", err)
            except Exception as err:  # unreachable, dropped, protocol error: all retried
                self.last_error = f"{type(err).__name__}: {err}"
                _LOGGER.warning("Home Assistant at %s: %s; keeping the last home model "
                                "(%d entities), retrying in %.0f s", self.url, self.last_error,
                                len(self._home.entities), delay)
            if self.connected:  # it worked for a while: start the backoff again from the bottom
                delay = self.retry_min_s
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)

    async def _follow(self, session: _Session) -> None:
        """Subscribe, read the model, then apply events until the connection ends."""
        # Subscribing before reading means no change between the read and the subscription
        # is missed; events queued meanwhile are applied after the read, in order.
        await session.command("subscribe_events", event_type="state_changed")
        for event_type in REGISTRY_EVENTS:
            await session.command("subscribe_events", event_type=event_type)
        await self._refresh(session)
        self.connected = True
        _LOGGER.info("Home Assistant %s at %s: %d floors, %d areas, %d exposed entities",
                     session.ha_version, self.url, len(self._home.floors),
                     len(self._home.areas), len(self._home.entities))
        while True:
            event = await session.events.get()
            if event is None:
                return
            if event.get("event_type") in REGISTRY_EVENTS:
                await self._refresh_after_burst(session)
            elif event.get("event_type") == "state_changed":
                self._apply_state(event.get("data") or {})

    async def _refresh_after_burst(self, session: _Session) -> None:
        """Registry changes come in bursts (a device with ten entities): read once after."""
        await asyncio.sleep(_REFRESH_DEBOUNCE_S)
        while not session.events.empty():
            event = session.events.get_nowait()
            if event is None:
                session.events.put_nowait(None)
                break
            if event.get("event_type") == "state_changed":
                self._apply_state(event.get("data") or {})
        await self._refresh(session)

    async def _refresh(self, session: _Session) -> None:
        floors = await _optional(session, "config/floor_registry/list", [])
        areas = await session.command("config/area_registry/list")
        devices = await _optional(session, "config/device_registry/list", [])
        registry = await session.command("config/entity_registry/list")
        exposed_result = await _optional(session, "homeassistant/expose_entity/list", None)
        states = await session.command("get_states")
        exposed = exposed_ids(exposed_result, registry, self.assistant)
        registered = sorted(exposed & {entry.get("entity_id") for entry in registry})
        extended = await _optional(session, "config/entity_registry/get_entries", {},
                                   entity_ids=registered) if registered else {}
        mapping = build_home_mapping(floors=floors, areas=areas, devices=devices,
                                     registry=registry, extended=extended or {},
                                     exposed=exposed, states=states)
        try:
            home = Home.from_mapping(mapping, source=f"Home Assistant at {self.url}")
        except HomeError as err:
            raise HomeAssistantError(f"unusable home model: {err}") from err
        changed = home.fingerprint() != self._home.fingerprint() or not self._loaded.is_set()
        self._home = home
        self._loaded.set()
        if changed:
            for callback in list(self._callbacks):
                try:
                    callback(home)
                except Exception:
                    _LOGGER.exception("home model subscriber failed")

    def _apply_state(self, data: dict[str, Any]) -> None:
        new_state = data.get("new_state")
        entity_id = data.get("entity_id")
        if not entity_id or self._home.entity(entity_id) is None:
            return  # not exposed: none of Assist's business
        if new_state is None:
            self._home.update_state(entity_id, "unavailable", {})
            return
        self._home.update_state(entity_id, str(new_state.get("state", "unknown")),
                                dict(new_state.get("attributes") or {}))


async def _optional(session: _Session, kind: str, default: Any, **data: Any) -> Any:
    """Commands older Home Assistant releases lack (floors: 2024.4, exposure: 2023.5)."""
    try:
        return await session.command(kind, **data)
    except HomeAssistantError as err:
        _LOGGER.debug("%s unavailable: %s", kind, err)
        return default


def exposed_ids(exposed_result: Any, registry: list[dict[str, Any]],
                assistant: str = ASSISTANT) -> set[str]:
    """Entities exposed to `assistant`: the expose list, else the registry's should_expose."""
    if isinstance(exposed_result, dict) and isinstance(
            exposed_result.get("exposed_entities"), dict):
        return {entity_id for entity_id, flags in exposed_result["exposed_entities"].items()
                if isinstance(flags, dict) and flags.get(assistant) is True}
    return {entry["entity_id"] for entry in registry
            if ((entry.get("options") or {}).get(assistant) or {}).get("should_expose")}


def build_home_mapping(*, floors: list[dict[str, Any]], areas: list[dict[str, Any]],
                       devices: list[dict[str, Any]], registry: list[dict[str, Any]],
                       extended: dict[str, Any], exposed: set[str],
                       states: list[dict[str, Any]]) -> dict[str, Any]:
    """Home Assistant's registries and states → the mapping `Home.from_mapping` validates.

    Names follow what Assist matches: the state's friendly name, then the registry's names.
    An entity without an area of its own takes its device's area, as in Home Assistant. Entries
    that cannot be represented (odd ids, no state) are left out with a warning, so one strange
    integration cannot cost the whole house its voice control.
    """
    floor_rows = [{"id": f["floor_id"], "name": f.get("name") or f["floor_id"],
                   "aliases": _names(f.get("aliases")), "level": _level(f.get("level"))}
                  for f in floors if _ID.match(str(f.get("floor_id", "")))]
    floor_ids = {f["id"] for f in floor_rows}
    area_rows = []
    for area in areas:
        if not _ID.match(str(area.get("area_id", ""))):
            _LOGGER.warning("skipping area with id %r", area.get("area_id"))
            continue
        floor = area.get("floor_id")
        area_rows.append({"id": area["area_id"], "name": area.get("name") or area["area_id"],
                          "aliases": _names(area.get("aliases")),
                          "floor": floor if floor in floor_ids else None})
    area_ids = {a["id"] for a in area_rows}
    device_area = {d.get("id"): d.get("area_id") for d in devices}
    by_id = {entry.get("entity_id"): entry for entry in registry}
    state_by_id = {s.get("entity_id"): s for s in states}
    entity_rows = []
    for entity_id in sorted(exposed):
        state = state_by_id.get(entity_id)
        if state is None or not _ENTITY_ID.match(entity_id):
            _LOGGER.debug("skipping exposed entity %s (no state or unusual id)", entity_id)
            continue
        entry = by_id.get(entity_id) or {}
        if entry.get("disabled_by"):
            continue
        extra = extended.get(entity_id) or {}
        attributes = dict(state.get("attributes") or {})
        name = (attributes.get("friendly_name") or entry.get("name")
                or entry.get("original_name") or entity_id.split(".", 1)[1].replace("_", " "))
        area_id = entry.get("area_id") or device_area.get(entry.get("device_id"))
        device_class = (attributes.get("device_class") or extra.get("device_class")
                        or extra.get("original_device_class"))
        entity_rows.append({
            "id": entity_id,
            "name": str(name).strip(),
            "aliases": _names(extra.get("aliases")),
            "area": area_id if area_id in area_ids else None,
            "device_class": device_class,
            "state": str(state.get("state", "unknown")),
            "attributes": attributes,
        })
    # Devices keep their area and all their entities, exposed or not: a satellite's own
    # entity is rarely exposed, and its device's area is the room a request comes from.
    entities_of: dict[str, list[str]] = {}
    for entry in registry:
        entity_id = str(entry.get("entity_id", ""))
        if entry.get("device_id") and _ENTITY_ID.match(entity_id):
            entities_of.setdefault(str(entry["device_id"]), []).append(entity_id)
    device_rows = []
    for device in devices:
        device_id = device.get("id")
        if not isinstance(device_id, str) or not device_id.strip():
            continue
        area_id = device.get("area_id")
        device_rows.append({"id": device_id,
                            "name": str(device.get("name_by_user") or device.get("name") or ""),
                            "area": area_id if area_id in area_ids else None,
                            "entities": sorted(entities_of.get(device_id, []))})
    return {"floors": floor_rows, "areas": area_rows, "entities": entity_rows,
            "devices": device_rows}


def _names(value: Any) -> list[str]:
    """Aliases as a clean list (Home Assistant sends sets as lists, sometimes with nulls)."""
    if not isinstance(value, (list, tuple, set)):
        return []
    seen: list[str] = []
    for item in value:
        if isinstance(item, str) and item.strip() and item.strip() not in seen:
            seen.append(item.strip())
    return seen


def _level(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
