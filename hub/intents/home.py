"""The home model: floors, areas and entities, shaped like Home Assistant's registries.

Intent recognition needs the home's own names (slot lists), replies need entity states, and the
fuzzy stage needs to know which names exist so that a recognizer slip can be mapped back onto
them. The same mapping comes from `config/home.yaml` or from Home Assistant's websocket API (a
`HomeSource`), so one validated model serves both; a bad file fails with the file, the key and
what is allowed, and a file source keeps the last good model when an edit breaks it.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from voxhub.configfile import ConfigError, read_yaml

_LOGGER = logging.getLogger(__name__)

_ID = re.compile(r"^[a-z0-9_]+$")
_ENTITY_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


class HomeError(ValueError):
    """A home model that cannot be used; names the source, the key and what is allowed."""


def unaccented(text: str) -> str:
    """'Salón' → 'Salon', 'Entrée' → 'Entree': what a recognizer or a keyboard often gives."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _spoken_names(name: str, aliases: list[str]) -> list[str]:
    """The name and aliases, each followed by its unaccented spelling when that differs, so
    that "enciende la luz del salon" finds the Salón as Home Assistant's users expect."""
    names: list[str] = []
    for written in (name, *aliases):
        for form in (written, unaccented(written)):
            if form not in names:
                names.append(form)
    return names


@dataclass
class Floor:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    level: int | None = None

    @property
    def names(self) -> list[str]:
        return _spoken_names(self.name, self.aliases)


@dataclass
class Area:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    floor: str | None = None

    @property
    def names(self) -> list[str]:
        return _spoken_names(self.name, self.aliases)


@dataclass
class Entity:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    area: str | None = None
    device_class: str | None = None
    state: str = "unknown"
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def names(self) -> list[str]:
        return _spoken_names(self.name, self.aliases)


@dataclass
class Device:
    """A device of Home Assistant's device registry: where it is, and which entities it has.

    Satellites are devices: Home Assistant's conversation entity sends a request's
    `device_id` / `satellite_id` but never its area, so the area comes from here
    (hub/intents/context.py). Its entities need not be exposed to Assist.
    """

    id: str
    name: str = ""
    area: str | None = None
    entities: list[str] = field(default_factory=list)


@dataclass
class Home:
    floors: list[Floor] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    source: str = "<home>"
    devices: list[Device] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    # -- look-ups -----------------------------------------------------------------------------
    def area(self, area_id: str | None) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def floor(self, floor_id: str | None) -> Floor | None:
        return next((f for f in self.floors if f.id == floor_id), None)

    def entity(self, entity_id: str) -> Entity | None:
        return next((e for e in self.entities if e.id == entity_id), None)

    def find_area(self, name_or_id: str | None) -> Area | None:
        """An area by id, name or alias (case-insensitive): satellites send either."""
        if not name_or_id:
            return None
        key = name_or_id.strip().casefold()
        for area in self.areas:
            if area.id == key or any(n.casefold() == key for n in area.names):
                return area
        return None

    def find_floor(self, name_or_id: str | None) -> Floor | None:
        if not name_or_id:
            return None
        key = name_or_id.strip().casefold()
        for floor in self.floors:
            if floor.id == key or any(n.casefold() == key for n in floor.names):
                return floor
        return None

    def device(self, device_id: str | None) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None) if device_id else None

    def device_of_entity(self, entity_id: str | None) -> Device | None:
        """The device an entity (a satellite's `assist_satellite.*`) belongs to."""
        if not entity_id:
            return None
        return next((d for d in self.devices if entity_id in d.entities), None)

    def entity_floor(self, entity: Entity) -> Floor | None:
        area = self.area(entity.area)
        return self.floor(area.floor) if area else None

    def fingerprint(self) -> str:
        """What the sentence index depends on (names, areas, domains), not on states."""
        parts = [f"f:{f.id}:{'|'.join(f.names)}" for f in self.floors]
        parts += [f"a:{a.id}:{a.floor}:{'|'.join(a.names)}" for a in self.areas]
        parts += [f"e:{e.id}:{e.area}:{e.device_class}:{'|'.join(e.names)}"
                  for e in self.entities]
        return "\n".join(sorted(parts))

    # -- changes ------------------------------------------------------------------------------
    def update_state(self, entity_id: str, state: str,
                     attributes: dict[str, Any] | None = None) -> bool:
        """Apply a state change (from Home Assistant's state_changed events); False if unknown."""
        entity = self.entity(entity_id)
        if entity is None:
            return False
        with self._lock:
            entity.state = str(state)
            if attributes is not None:
                entity.attributes = dict(attributes)
        return True

    def to_mapping(self) -> dict[str, Any]:
        return {
            "floors": [{"id": f.id, "name": f.name, "aliases": f.aliases, "level": f.level}
                       for f in self.floors],
            "areas": [{"id": a.id, "name": a.name, "aliases": a.aliases, "floor": a.floor}
                      for a in self.areas],
            "entities": [{"id": e.id, "name": e.name, "aliases": e.aliases, "area": e.area,
                          "device_class": e.device_class, "state": e.state,
                          "attributes": e.attributes} for e in self.entities],
            "devices": [{"id": d.id, "name": d.name, "area": d.area, "entities": d.entities}
                        for d in self.devices],
        }

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Any, source: str = "<home>") -> Home:
        """Validate a registry-shaped mapping; every error names the source and the key."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise HomeError(f"{source}: the top level must be a mapping with floors, areas and "
                            f"entities, not {type(data).__name__}")
        unknown = set(data) - {"floors", "areas", "entities", "devices"}
        if unknown:
            raise HomeError(f"{source}: {sorted(unknown)[0]}: unknown key; allowed: areas, "
                            "devices, entities, floors")
        floors = [_floor(item, f"{source}: floors[{i}]")
                  for i, item in enumerate(_items(data, "floors", source))]
        areas = [_area(item, f"{source}: areas[{i}]")
                 for i, item in enumerate(_items(data, "areas", source))]
        entities = [_entity(item, f"{source}: entities[{i}]")
                    for i, item in enumerate(_items(data, "entities", source))]
        _unique([f.id for f in floors], f"{source}: floors")
        _unique([a.id for a in areas], f"{source}: areas")
        devices = [_device(item, f"{source}: devices[{i}]")
                   for i, item in enumerate(_items(data, "devices", source))]
        _unique([e.id for e in entities], f"{source}: entities")
        _unique([d.id for d in devices], f"{source}: devices")
        floor_ids = {f.id for f in floors}
        area_ids = {a.id for a in areas}
        for i, area in enumerate(areas):
            if area.floor is not None and area.floor not in floor_ids:
                raise HomeError(f"{source}: areas[{i}].floor: unknown floor '{area.floor}'; "
                                f"allowed: {', '.join(sorted(floor_ids)) or 'none defined'}")
        for i, entity in enumerate(entities):
            if entity.area is not None and entity.area not in area_ids:
                raise HomeError(f"{source}: entities[{i}].area: unknown area '{entity.area}'; "
                                f"allowed: {', '.join(sorted(area_ids)) or 'none defined'}")
        for i, device in enumerate(devices):
            if device.area is not None and device.area not in area_ids:
                raise HomeError(f"{source}: devices[{i}].area: unknown area '{device.area}'; "
                                f"allowed: {', '.join(sorted(area_ids)) or 'none defined'}")
        return cls(floors=floors, areas=areas, entities=entities, source=source,
                   devices=devices)


def load_home(path: str | Path) -> Home:
    try:
        data = read_yaml(path)
    except ConfigError as err:
        raise HomeError(str(err)) from err
    return Home.from_mapping(data, source=str(path))


def example_home_path(language: str = "en") -> Path:
    """The example home, shipped as package data so that any install finds it (a wheel, the
    add-on image), not only a source checkout; the repository's config/home.yaml links here.
    A language with an example home of its own (example_home.es.yaml: Cocina, Salón…) gets
    that one, so that its names are words of the language; the others get the English one."""
    package = resources.files("hub.intents")
    own = package.joinpath(f"example_home.{language.replace('_', '-').split('-')[0].lower()}"
                           ".yaml")
    if language.lower()[:2] != "en" and own.is_file():
        return Path(str(own))
    return Path(str(package.joinpath("example_home.yaml")))


class HomeSource(Protocol):
    """Where the current home model comes from (a file, Home Assistant's registries)."""

    def current(self) -> Home: ...

    def subscribe(self, callback: Callable[[Home], None]) -> None: ...


class StaticHomeSource:
    """A fixed home (tests, the CLI's --home)."""

    def __init__(self, home: Home) -> None:
        self._home = home

    def current(self) -> Home:
        return self._home

    def subscribe(self, callback: Callable[[Home], None]) -> None:
        """A static home never changes."""


class FileHomeSource:
    """A YAML file, reloaded when it changes; a broken edit keeps the last good model.

    Polls the file's modification time from a daemon thread: inotify is not available
    everywhere the hub runs (containers, network mounts) and one stat a second costs nothing.
    """

    def __init__(self, path: str | Path, poll_s: float = 1.0) -> None:
        self.path = Path(path)
        self.poll_s = poll_s
        self._home = load_home(self.path)
        self._stamp = self._mtime()
        self._callbacks: list[Callable[[Home], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def current(self) -> Home:
        return self._home

    def subscribe(self, callback: Callable[[Home], None]) -> None:
        self._callbacks.append(callback)
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="home-watch", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Reload if the file changed; True when a new model was loaded."""
        stamp = self._mtime()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            home = load_home(self.path)
        except HomeError as err:
            self.last_error = str(err)
            _LOGGER.error("Keeping the previous home model: %s", err)
            return False
        self.last_error = None
        self._home = home
        _LOGGER.info("Reloaded home model from %s (%d entities)", self.path, len(home.entities))
        for callback in list(self._callbacks):
            try:
                callback(home)
            except Exception:
                _LOGGER.exception("home model subscriber failed")
        return True

    def _mtime(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()


# -- validation helpers -----------------------------------------------------------------------
def _items(data: dict[str, Any], key: str, source: str) -> list[Any]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise HomeError(f"{source}: {key}: expected a list, got {type(items).__name__}")
    return items


def _fields(item: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise HomeError(f"{where}: expected a mapping, got {type(item).__name__}")
    unknown = set(item) - allowed
    if unknown:
        raise HomeError(f"{where}.{sorted(unknown)[0]}: unknown key; allowed: "
                        f"{', '.join(sorted(allowed))}")
    for key in sorted(required):
        if item.get(key) in (None, ""):
            raise HomeError(f"{where}.{key}: required")
    return item


def _text(item: dict[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise HomeError(f"{where}.{key}: expected text, got {type(value).__name__}")
    return str(value).strip()


def _aliases(item: dict[str, Any], where: str) -> list[str]:
    value = item.get("aliases") or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise HomeError(f"{where}.aliases: expected a list of non-empty names")
    return [v.strip() for v in value]


def _identifier(item: dict[str, Any], where: str, pattern: re.Pattern[str], example: str) -> str:
    value = _text(item, "id", where) or ""
    if not pattern.match(value):
        raise HomeError(f"{where}.id: '{value}' is not a valid id (lower case, digits and "
                        f"underscores, like '{example}')")
    return value


def _floor(item: Any, where: str) -> Floor:
    item = _fields(item, where, {"id", "name", "aliases", "level"}, {"id", "name"})
    level = item.get("level")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool)):
        raise HomeError(f"{where}.level: expected a whole number")
    return Floor(_identifier(item, where, _ID, "ground_floor"), _text(item, "name", where) or "",
                 _aliases(item, where), level)


def _area(item: Any, where: str) -> Area:
    item = _fields(item, where, {"id", "name", "aliases", "floor"}, {"id", "name"})
    return Area(_identifier(item, where, _ID, "kitchen"), _text(item, "name", where) or "",
                _aliases(item, where), _text(item, "floor", where))


def _entity(item: Any, where: str) -> Entity:
    item = _fields(item, where, {"id", "name", "aliases", "area", "device_class", "state",
                                 "attributes", "domain"}, {"id", "name"})
    entity_id = _identifier(item, where, _ENTITY_ID, "light.kitchen_ceiling")
    domain = item.get("domain")
    if domain is not None and domain != entity_id.split(".", 1)[0]:
        raise HomeError(f"{where}.domain: '{domain}' does not match the id's domain "
                        f"'{entity_id.split('.', 1)[0]}'")
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise HomeError(f"{where}.attributes: expected a mapping")
    state = item.get("state")
    if isinstance(state, bool):  # YAML reads a bare on/off as a boolean
        state = "on" if state else "off"
    return Entity(entity_id, _text(item, "name", where) or "", _aliases(item, where),
                  _text(item, "area", where), _text(item, "device_class", where),
                  "unknown" if state is None else str(state), dict(attributes))


def _device(item: Any, where: str) -> Device:
    item = _fields(item, where, {"id", "name", "area", "entities"}, {"id"})
    entities = item.get("entities") or []
    if not isinstance(entities, list) or not all(
            isinstance(e, str) and _ENTITY_ID.match(e) for e in entities):
        raise HomeError(f"{where}.entities: expected a list of entity ids "
                        "(like 'assist_satellite.kitchen')")
    return Device(_text(item, "id", where) or "", _text(item, "name", where) or "",
                  _text(item, "area", where), list(entities))


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise HomeError(f"{where}: duplicate id '{value}'")
        seen.add(value)
