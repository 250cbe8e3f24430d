"""The shapes of the event data voxhub reads, checked before any program sees an event.

A field of the wrong type would otherwise surface deep inside a program, after audio had
started, as an unhelpful "internal error": the endpoint checks every event against `FIELDS`
(`check_fields`) and answers a bad one with `error` code `bad-event` naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Any

from wyoming.event import Event

from voxhub.protocol.names import WyomingType as T

#: Audio formats the hub takes in: converting 1 Hz audio to 16 kHz would multiply its size by
#: 16000, so a small chunk could exhaust memory; nothing real is outside these bounds.
AUDIO_BOUNDS = {"rate": (4000, 192000), "width": (1, 4), "channels": (1, 8)}
#: Sample widths a reply can be encoded in (`snd_format.width`).
REPLY_WIDTHS = (1, 2, 4)
VOICE_FIELDS: dict[str, type | tuple[type, ...]] = {"name": str, "language": str,
                                                    "speaker": str}
#: Endpointing settings a satellite may choose for its own runs (`run-pipeline`'s
#: `endpointing`), within the ranges of the hub's pipeline settings of the same names.
ENDPOINTING_FIELDS = ("silence_s", "min_speech_s", "max_speech_s", "no_speech_s",
                      "vad_threshold", "early_answer", "early_pause_s")

Shape = dict[str, type | tuple[type, ...]]
#: The fields wyoming's `from_event` reads (and voxhub's programs use), with their JSON types,
#: for the events the hub answers; a required field is marked with "!". voxhub's extensions:
#: `transcribe`'s `translate`; `run-pipeline`'s `language`, `voice`, `satellite`,
#: `snd_format` and `endpointing` (`SatelliteRunPipeline`).
FIELDS: dict[str, Shape] = {
    T.SYNTHESIZE: {"text!": str, "voice": dict, "text_format": str},
    T.SYNTHESIZE_START: {"voice": dict, "text_format": str},
    T.SYNTHESIZE_CHUNK: {"text!": str},
    T.TRANSCRIBE: {"name": str, "language": str, "context": dict, "translate": str},
    T.AUDIO_START: {f"{name}!": int for name in AUDIO_BOUNDS},
    T.AUDIO_CHUNK: {f"{name}!": int for name in AUDIO_BOUNDS},
    T.RECOGNIZE: {"text!": str, "context": dict},
    T.TRANSCRIPT: {"text!": str, "language": str, "context": dict},
    T.INTENT: {"name!": str, "entities": list, "text": str, "context": dict},
    T.RUN_PIPELINE: {"start_stage!": str, "end_stage!": str, "announce_text": str,
                     "wake_word_name": str, "language": str, "voice": (str, dict),
                     "satellite": dict, "snd_format": dict, "endpointing": dict},
}
_JSON_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "an object",
               list: "a list", bool: "true or false"}


def check_fields(event: Event) -> None:
    """Raise ValueError naming the field when an event's data has the wrong shape."""
    data = event.data or {}
    check_shape(data, FIELDS.get(event.type, {}))
    voice = data.get("voice")
    if isinstance(voice, dict):
        check_shape(voice, VOICE_FIELDS, "voice.")
    if event.type == T.INTENT:
        for entity in data.get("entities") or []:
            if not isinstance(entity, dict):
                raise ValueError("'entities' must be a list of objects with a name and a value")
            check_shape(entity, {"name!": str}, "entities[].")
    if event.type in (T.AUDIO_START, T.AUDIO_CHUNK):
        for name, (low, high) in AUDIO_BOUNDS.items():
            if not low <= data[name] <= high:
                raise ValueError(f"audio {name} {data[name]} outside {low}..{high}")


def check_shape(data: dict[str, Any], fields: Shape, prefix: str = "") -> None:
    """Each field of `fields` in `data` has its JSON type ("name!": required)."""
    for key, kind in fields.items():
        name = key.rstrip("!")
        value = data.get(name)
        if value is None:
            if key.endswith("!"):
                raise ValueError(f"'{prefix}{name}' is required")
            continue
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            allowed = " or ".join(_JSON_NAMES[k] for k in kinds)
            raise ValueError(f"'{prefix}{name}' must be {allowed}, not {json.dumps(value)[:40]}")
        if isinstance(value, str):
            check_unicode(value, prefix + name)


def check_unicode(text: str, name: str) -> None:
    """JSON may carry a lone surrogate ("\\ud800"), which no encoder can write: refused here,
    before a program starts an audio stream it could not finish."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"'{name}' is not valid Unicode text (a lone surrogate at "
                         f"character {err.start})") from None


def json_number(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    """A JSON number for `name`, or a ValueError naming it (not Python's "invalid literal")."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (kind is int and not (math.isfinite(value) and value == int(value))):
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, "
                         f"not {value!r:.40}")
    return kind(value)
