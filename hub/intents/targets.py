"""Which entities an intent acts on: name, area, floor, domain and device class against the home.

Mirrors Home Assistant's target matching closely enough that the hub's `targets` are what Home
Assistant would act on: a name wins over an area, the satellite's area only narrows a name when
an entity of that name is there, and an empty result is an error with Home Assistant's own error
key (so its response template says what was missing) rather than a silent no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.intents.home import Entity, Home
from hub.intents.recognize import IntentMatch

#: Intents that act on no entity (answered by the hub or by the satellite's timers).
UNTARGETED = frozenset({
    "HassGetCurrentTime", "HassGetCurrentDate", "HassNevermind", "HassRespond", "HassBroadcast",
    "HassStartTimer", "HassCancelTimer", "HassIncreaseTimer", "HassDecreaseTimer",
    "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus", "HassCancelAllTimers",
})

#: Domains an intent can only mean, when the sentence does not name one.
INTENT_DOMAINS: dict[str, tuple[str, ...]] = {
    "HassLightSet": ("light",),
    "HassClimateSetTemperature": ("climate",),
    "HassClimateGetTemperature": ("climate",),
    "HassClimateSetFanMode": ("climate",),
    "HassFanSetSpeed": ("fan",),
    "HassSetPosition": ("cover", "valve"),
    "HassMediaPause": ("media_player",), "HassMediaUnpause": ("media_player",),
    "HassMediaNext": ("media_player",), "HassMediaPrevious": ("media_player",),
    "HassSetVolume": ("media_player",), "HassSetVolumeRelative": ("media_player",),
    "HassMediaPlayerMute": ("media_player",), "HassMediaPlayerUnmute": ("media_player",),
    "HassMediaSearchAndPlay": ("media_player",),
    "HassVacuumStart": ("vacuum",), "HassVacuumReturnToBase": ("vacuum",),
    "HassVacuumCleanArea": ("vacuum",),
    "HassLawnMowerStartMowing": ("lawn_mower",), "HassLawnMowerDock": ("lawn_mower",),
    "HassListAddItem": ("todo",), "HassListCompleteItem": ("todo",),
    "HassListRemoveItem": ("todo",), "HassShoppingListAddItem": ("todo",),
    "HassShoppingListCompleteItem": ("todo",), "HassGetWeather": ("weather",),
}

#: Intents that usually have one device in a home: a satellite in a room without one still
#: means the home's (the thermostat, the TV), unlike "turn on the lights".
FALLBACK_TO_HOME = frozenset({
    "HassClimateSetTemperature", "HassClimateGetTemperature", "HassClimateSetFanMode",
    "HassGetWeather", "HassMediaPause", "HassMediaUnpause", "HassMediaNext", "HassMediaPrevious",
    "HassSetVolume", "HassSetVolumeRelative", "HassMediaPlayerMute", "HassMediaPlayerUnmute",
    "HassMediaSearchAndPlay", "HassVacuumStart", "HassVacuumReturnToBase",
    "HassShoppingListAddItem", "HassShoppingListCompleteItem",
})

_STATE_ALIASES = {"on": {"on"}, "off": {"off"}, "locked": {"locked"}, "unlocked": {"unlocked"},
                  "open": {"open", "on"}, "closed": {"closed", "off"}}


@dataclass
class Resolution:
    targets: list[Entity] = field(default_factory=list)
    #: Home Assistant error key (`no_entity`, `no_domain_in_area`, …) when nothing matched.
    error: str | None = None
    error_args: dict[str, Any] = field(default_factory=dict)
    #: For state questions: which targets are / are not in the asked state.
    matched: list[Entity] = field(default_factory=list)
    unmatched: list[Entity] = field(default_factory=list)


def _as_set(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, (list, tuple, set)):
        return {str(v) for v in value}
    return {str(value)}


def resolve(match: IntentMatch, home: Home) -> Resolution:
    if match.intent in UNTARGETED:
        return Resolution()
    slots = match.slots
    domains = _as_set(slots.get("domain")) or set(INTENT_DOMAINS.get(match.intent, ()))
    device_classes = _as_set(slots.get("device_class"))
    name = slots.get("name")
    area_id = slots.get("area")
    floor_id = slots.get("floor")
    if match.intent == "HassShoppingListAddItem" and not name:
        name = "Shopping List"

    candidates = [e for e in home.entities
                  if (not domains or e.domain in domains)
                  and (not device_classes or e.device_class in device_classes)]
    if name:
        key = str(name).casefold()
        candidates = [e for e in candidates if any(n.casefold() == key for n in e.names)]
        if not candidates:
            return Resolution(error="no_entity", error_args={"entity": name})
    if floor_id:
        candidates = [e for e in candidates
                      if (f := home.entity_floor(e)) is not None and f.id == floor_id]
    if area_id:
        in_area = [e for e in candidates if e.area == area_id]
        area_from_context = "area" in match.context_slots
        # The home's device only when it is the one: a satellite in a room without a media
        # player does not play or pause on every player of the house.
        fallback = area_from_context and (
            name or (match.intent in FALLBACK_TO_HOME and len(candidates) == 1))
        if in_area or not fallback:
            candidates = in_area
    if not candidates:
        return _no_targets(home, domains, device_classes, area_id, floor_id)

    resolution = Resolution(targets=candidates)
    wanted = slots.get("state")
    if match.intent == "HassGetState" and wanted is not None:
        accepted = _STATE_ALIASES.get(str(wanted), {str(wanted)})
        for entity in candidates:
            (resolution.matched if entity.state in accepted else resolution.unmatched
             ).append(entity)
    return resolution


def _no_targets(home: Home, domains: set[str], device_classes: set[str], area_id: Any,
                floor_id: Any) -> Resolution:
    area = home.area(area_id) if area_id else None
    floor = home.floor(floor_id) if floor_id else None
    args: dict[str, Any] = {"area": area.name if area else area_id,
                            "floor": floor.name if floor else floor_id}
    if device_classes:
        args["device_class"] = sorted(device_classes)[0]
        suffix = "_in_area" if area_id else "_in_floor" if floor_id else ""
        return Resolution(error=f"no_device_class{suffix}", error_args=args)
    args["domain"] = sorted(domains)[0] if domains else "device"
    suffix = "_in_area" if area_id else "_in_floor" if floor_id else ""
    return Resolution(error=f"no_domain{suffix}", error_args=args)
