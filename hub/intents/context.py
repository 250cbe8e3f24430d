"""The area a request comes from, read from a Wyoming event's `context`.

Our satellites send `{"area": "kitchen"}`. Home Assistant's conversation entity sends the
`satellite_id` (an `assist_satellite.*` entity) and the `device_id` of the device that heard
the command, never an area: without a mapping, "close the curtains" or "turn every light off
in this room" from a Home Assistant satellite has no room (and the latter becomes the whole
house). Home Assistant's device registry, read into the home model, says where each device is.

Order of trust: an area the client names (it knows best), then the device, then the satellite
entity's own area, then its device's. A name that is not an area of this home is ignored (with
a debug log), never guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hub.intents.home import Home

_LOGGER = logging.getLogger(__name__)


def area_from_context(home: Home, context: Mapping[str, Any] | None) -> str | None:
    """The id of the home's area a request comes from, or None when the context says nothing
    this home knows (`area`/`satellite_area` by id, name or alias; `device_id`;
    `satellite_id`)."""
    if not isinstance(context, Mapping):
        return None
    for key in ("area", "satellite_area", "area_id"):
        value = context.get(key)
        if isinstance(value, str) and value.strip():
            area = home.find_area(value)
            if area is not None:
                return area.id
            _LOGGER.debug("context %s=%r is not an area of this home", key, value)
    device = home.device(_text(context.get("device_id")))
    if device is not None and device.area and home.area(device.area) is not None:
        return device.area
    satellite = _text(context.get("satellite_id"))
    if satellite:
        entity = home.entity(satellite)
        if entity is not None and entity.area:
            return entity.area
        device = home.device_of_entity(satellite)
        if device is not None and device.area and home.area(device.area) is not None:
            return device.area
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
