"""The satellite's MQTT commands, from a topic's payload to what the satellite is asked to do.

Why here and strict: the payloads come from automations and Home Assistant's entities, typed by
people. A payload of the wrong shape is refused with a warning naming what was expected, never
guessed at (a `{"text": null}` used to be spoken as "None", an unknown mute value unmuted).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)

#: The command topics under `<prefix>/<satellite>/` (and `<prefix>/all/say`).
COMMANDS = ("say", "listen", "stop", "mute", "volume")
#: Commands to act on once, now; mute and volume are states, so a retained one is honoured.
MOMENTARY = ("say", "listen", "stop")
#: Switch payloads (Home Assistant's switch sends ON/OFF).
_SWITCH = {"ON": True, "TRUE": True, "1": True, "MUTE": True,
           "OFF": False, "FALSE": False, "0": False, "UNMUTE": False}


@dataclass(frozen=True)
class Say:
    """Speak `text` (plain text, or `{"text": TEXT, "voice": NAME}`)."""

    text: str
    voice: str | None = None


@dataclass(frozen=True)
class Listen:
    """Listen for a command without the wake word."""


@dataclass(frozen=True)
class Stop:
    """Silence now and drop the rest of the current run."""


@dataclass(frozen=True)
class Mute:
    muted: bool


@dataclass(frozen=True)
class Volume:
    """0–100 (a number out of range is clamped by the satellite)."""

    level: int


MqttCommand = Say | Listen | Stop | Mute | Volume


def parse_command(name: str, payload: bytes) -> MqttCommand | None:
    """The command on topic `name` with this payload, or None (logged) if it has no use."""
    text = payload.decode("utf-8", errors="replace").strip()
    if name == "say":
        return _say(text)
    if name == "listen":
        return Listen()
    if name == "stop":
        return Stop()
    if name == "mute":
        value = _SWITCH.get(text.upper())
        if value is None:
            _LOGGER.warning("mute: expected ON or OFF, got %.50r", text)
            return None
        return Mute(value)
    if name == "volume":
        try:
            return Volume(round(float(text)))
        except (ValueError, OverflowError):  # (OverflowError: inf)
            _LOGGER.warning("volume: %.50r is not a number 0–100", text)
            return None
    _LOGGER.warning("unknown MQTT command %.50r", name)
    return None


def _say(text: str) -> Say | None:
    if not text.startswith("{"):
        return Say(text) if text else None
    try:
        data = json.loads(text)
    except ValueError:
        _LOGGER.warning("say: invalid JSON, speaking it as text")
        return Say(text)
    spoken = data.get("text") if isinstance(data, dict) else None
    voice = data.get("voice") if isinstance(data, dict) else None
    if not isinstance(spoken, str) or not isinstance(voice, str | None):
        _LOGGER.warning("say: expected {\"text\": TEXT, \"voice\": NAME}, got %.200s", text)
        return None
    return Say(spoken, voice) if spoken else None
