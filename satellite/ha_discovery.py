"""Home Assistant MQTT discovery payloads: one device per satellite.

Why these entities: an `event` entity fires on every recognised intent (automations trigger on
it); sensors show the state and the last transcript; a switch mutes, a number sets the volume, a
button starts listening without the wake word and a text entity makes announcements. Removing
the device publishes an empty retained config for each, which is how HA forgets entities cleanly
(no duplicate devices after re-discovery).
"""

from __future__ import annotations

import json
from typing import Any

from voxhub import __version__

#: Intents of home-assistant-intents a satellite reports as HA event types (plus the fallback).
EVENT_TYPES = [
    "HassTurnOn", "HassTurnOff", "HassToggle", "HassLightSet", "HassGetState",
    "HassClimateSetTemperature", "HassClimateGetTemperature", "HassSetPosition",
    "HassMediaPause", "HassMediaUnpause", "HassMediaNext", "HassMediaPrevious",
    "HassSetVolume", "HassListAddItem", "HassShoppingListAddItem", "HassStartTimer",
    "HassCancelTimer", "HassGetCurrentTime", "HassGetCurrentDate", "HassGetWeather",
    "HassNevermind", "HassVacuumStart", "HassVacuumReturnToBase", "other", "not_recognized",
]

# The intent topic carries the full UnderstandingResult; HA's event entity wants event_type.
_EVENT_TEMPLATE = (
    "{% set n = value_json.intent.name if value_json.intent else 'not_recognized' %}"
    "{{ {'event_type': n if n in " + json.dumps(EVENT_TYPES) + " else 'other', "
    "'intent': n, 'text': value_json.text, 'reply': value_json.reply, "
    "'slots': (value_json.intent.slots if value_json.intent else {}), "
    "'targets': value_json.targets, "
    "'action': (value_json.action if value_json.action is defined else none)} | tojson }}"
)


def discovery_messages(prefix: str, topic_base: str, slug: str, name: str,
                       area: str | None) -> dict[str, dict[str, Any]]:
    """config topic → payload for every entity of the satellite's device."""
    node = f"voxhub_{slug}"
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": f"voxhub {name}",
        "manufacturer": "voxhub",
        "model": "voxhub satellite",
        "sw_version": __version__,
    }
    if area:
        device["suggested_area"] = area
    common = {
        "availability_topic": f"{topic_base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": device,
    }
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("event", "intent"): {
            "name": "Intent", "state_topic": f"{topic_base}/intent",
            "event_types": EVENT_TYPES, "value_template": _EVENT_TEMPLATE,
            "icon": "mdi:account-voice",
        },
        ("sensor", "state"): {
            "name": "State", "state_topic": f"{topic_base}/state", "icon": "mdi:microphone-message",
        },
        ("sensor", "transcript"): {
            "name": "Last transcript", "state_topic": f"{topic_base}/transcript",
            "icon": "mdi:text-recognition",
        },
        ("switch", "mute"): {
            "name": "Mute", "command_topic": f"{topic_base}/mute",
            "state_topic": f"{topic_base}/mute/state", "payload_on": "ON", "payload_off": "OFF",
            "icon": "mdi:microphone-off",
        },
        ("number", "volume"): {
            "name": "Volume", "command_topic": f"{topic_base}/volume",
            "state_topic": f"{topic_base}/volume/state", "min": 0, "max": 100, "step": 1,
            "unit_of_measurement": "%", "icon": "mdi:volume-high",
        },
        ("button", "listen"): {
            "name": "Listen", "command_topic": f"{topic_base}/listen", "payload_press": "listen",
            "icon": "mdi:microphone",
        },
        ("text", "say"): {
            "name": "Announce", "command_topic": f"{topic_base}/say", "max": 255,
            "icon": "mdi:bullhorn",
        },
    }
    messages = {}
    for (component, object_id), payload in entities.items():
        payload = {**payload, **common, "unique_id": f"{node}_{object_id}",
                   "object_id": f"{node}_{object_id}"}
        messages[f"{prefix}/{component}/{node}/{object_id}/config"] = payload
    return messages
