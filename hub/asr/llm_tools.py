"""Home Assistant intents as tools for an audio-LLM, and reading the model's answer back.

An audio-LLM (Voxtral, in-process or behind vLLM) can pick the intent itself when it is given the
intents as function tools. The tools are built here from plain data — intent names with their slot
names and the home's names, areas and floors — so this module knows nothing about hassil or the
home model; the intents stage hands it what it has.

A model's tool call is a guess, so nothing here trusts it: `validate_call` keeps only calls of a
known tool whose arguments are declared, of the right type and (for names, areas, floors and other
enumerations) one of the allowed values, snapping case and spacing slips. The intents stage then
checks the call against the home model before acting on it.

Output formats read (Mistral's tokenizer versions write tool calls differently):

* v2–v7 (Voxtral): ``[TOOL_CALLS][{"name": "HassTurnOn", "arguments": {"name": "Kitchen"}}]``
* v11: ``[TOOL_CALLS]HassTurnOn[ARGS]{"name": "Kitchen"}``
* v13: ``[TOOL_CALLS]HassTurnOn[CALL_ID]a1b2c3d4e[ARGS]{"name": "Kitchen"}``
* OpenAI chat completions: ``message.tool_calls[].function.{name, arguments}`` (arguments JSON
  text), which is what vLLM returns after parsing the above with ``--tool-call-parser mistral``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.asr.base import ToolCall

log = logging.getLogger(__name__)

TOOL_CALLS = "[TOOL_CALLS]"
ARGS = "[ARGS]"
CALL_ID = "[CALL_ID]"
#: Control tokens that may survive decoding with special tokens kept; never part of an answer.
_NOISE = re.compile(r"</s>|<s>|<pad>|<unk>")


@dataclass
class IntentSpec:
    """One intent offered to the model: its name, its slot names and what it does."""

    name: str
    slots: Sequence[str] = ()
    #: Shown to the model; empty uses the built-in description of Home Assistant's intent.
    description: str = ""
    #: Slots the model must fill (most Home Assistant intents have none strictly required).
    required: Sequence[str] = ()


#: Short descriptions of Home Assistant's built-in intents, in the words the model sees.
INTENT_DESCRIPTIONS: dict[str, str] = {
    "HassTurnOn": "Turns on, opens or presses a device or entity, or all of a kind in an area.",
    "HassTurnOff": "Turns off or closes a device or entity, or all of a kind in an area.",
    "HassToggle": "Toggles a device or entity.",
    "HassLightSet": "Sets the brightness (percent) or the color of lights.",
    "HassClimateSetTemperature": "Sets the target temperature of a thermostat or climate device.",
    "HassClimateGetTemperature": "Tells the current temperature of an area or climate device.",
    "HassSetPosition": "Sets the position (percent open) of a cover, blind or valve.",
    "HassGetState": "Answers a question about the state of a device, entity or area.",
    "HassGetWeather": "Tells the current weather.",
    "HassGetCurrentTime": "Tells the current time.",
    "HassGetCurrentDate": "Tells the current date.",
    "HassNevermind": "Cancels the request when the user changes their mind.",
    "HassCancelAllTimers": "Cancels all timers.",
    "HassStartTimer": "Starts a timer for a duration, optionally with a name.",
    "HassCancelTimer": "Cancels a timer.",
    "HassIncreaseTimer": "Adds time to a timer.",
    "HassDecreaseTimer": "Removes time from a timer.",
    "HassPauseTimer": "Pauses a timer.",
    "HassUnpauseTimer": "Resumes a paused timer.",
    "HassTimerStatus": "Tells how much time is left on timers.",
    "HassShoppingListAddItem": "Adds an item to the shopping list.",
    "HassShoppingListCompleteItem": "Checks off an item on the shopping list.",
    "HassListAddItem": "Adds an item to a named to-do list.",
    "HassListCompleteItem": "Checks off an item on a named to-do list.",
    "HassMediaPause": "Pauses media playback.",
    "HassMediaUnpause": "Resumes media playback.",
    "HassMediaNext": "Skips to the next track.",
    "HassMediaPrevious": "Goes back to the previous track.",
    "HassSetVolume": "Sets the volume of a media player (percent).",
    "HassSetVolumeRelative": "Turns the volume of a media player up or down.",
    "HassMediaSearchAndPlay": "Searches for and plays media.",
    "HassVacuumStart": "Starts a vacuum cleaner.",
    "HassVacuumReturnToBase": "Sends a vacuum cleaner back to its dock.",
    "HassLawnMowerStartMowing": "Starts a lawn mower.",
    "HassLawnMowerDock": "Sends a lawn mower back to its dock.",
    "HassFanSetSpeed": "Sets the speed of a fan (percent).",
    "HassBroadcast": "Broadcasts a spoken message to the satellites.",
    "HassRespond": "Answers with a fixed response.",
}

_PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
_COUNT = {"type": "integer", "minimum": 0}
#: JSON schemas of Home Assistant's well-known slots; other slots are free text.
SLOT_SCHEMAS: dict[str, dict[str, Any]] = {
    "brightness": {**_PERCENT, "description": "Brightness in percent."},
    "position": {**_PERCENT, "description": "Position in percent open."},
    "volume_level": {**_PERCENT, "description": "Volume in percent."},
    "percentage": {**_PERCENT, "description": "Percentage."},
    "temperature": {"type": "number", "description": "Temperature in the home's unit."},
    "hours": {**_COUNT, "description": "Hours of the duration."},
    "minutes": {**_COUNT, "description": "Minutes of the duration."},
    "seconds": {**_COUNT, "description": "Seconds of the duration."},
    "color": {"type": "string", "description": "Color name, such as red or warm white."},
    "domain": {"type": "string", "description": "Kind of device, such as light, cover or fan.",
               "enum": ["light", "switch", "fan", "cover", "lock", "climate", "media_player",
                        "scene", "script", "vacuum", "valve", "sensor", "binary_sensor",
                        "input_boolean", "button", "todo", "weather", "lawn_mower"]},
    "item": {"type": "string", "description": "The item, in the user's words."},
    "search_query": {"type": "string", "description": "What to search for, in the user's words."},
    "message": {"type": "string", "description": "The message, in the user's words."},
}
_HOME_SLOTS = {"name": "Name of the device or entity.", "area": "Name of the area (room).",
               "floor": "Name of the floor."}


def build_tools(intents: Iterable[IntentSpec | str], names: Iterable[str] = (),
                areas: Iterable[str] = (), floors: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Intents as function tools (the OpenAI/Mistral `tools` format), one per intent.

    `name`, `area` and `floor` slots are enumerations of the home's own names, so the model can
    only pick something that exists (it still may pick the wrong one: the caller validates).
    """
    allowed = {"name": _unique(names), "area": _unique(areas), "floor": _unique(floors)}
    tools = []
    for spec in intents:
        if isinstance(spec, str):
            spec = IntentSpec(spec)
        properties = {slot: _slot_schema(slot, allowed) for slot in spec.slots}
        tools.append({"type": "function", "function": {
            "name": spec.name,
            "description": spec.description or INTENT_DESCRIPTIONS.get(spec.name, spec.name),
            "parameters": {"type": "object", "properties": properties,
                           "required": [s for s in spec.required if s in properties]},
        }})
    return tools


def _slot_schema(slot: str, allowed: Mapping[str, list[str]]) -> dict[str, Any]:
    if slot in _HOME_SLOTS:
        schema: dict[str, Any] = {"type": "string", "description": _HOME_SLOTS[slot]}
        if allowed[slot]:
            schema["enum"] = list(allowed[slot])
        return schema
    return dict(SLOT_SCHEMAS.get(slot, {"type": "string"}))


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


@dataclass
class ModelOutput:
    """What an audio-LLM said: its tool calls and the text around them."""

    calls: list[ToolCall] = field(default_factory=list)
    content: str = ""


def parse_tool_calls(text: str) -> ModelOutput:
    """Split raw decoded output (special tokens kept) into tool calls and plain content.

    Malformed call JSON is dropped with a warning instead of failing the request: the user then
    hears "not understood", never a guessed action.
    """
    text = _NOISE.sub("", text)
    calls: list[ToolCall] = []
    content: list[str] = []
    pos = 0
    while (start := text.find(TOOL_CALLS, pos)) >= 0:
        content.append(text[pos:start])
        pos = start + len(TOOL_CALLS)
        body = text[pos:].lstrip()
        skipped = len(text[pos:]) - len(body)
        if body.startswith("[") or body.startswith("{"):
            found, used = _read_json_calls(body)
        else:
            found, used = _read_args_call(body)
        calls.extend(found)
        pos += skipped + max(used, 0)
        if used < 0:  # unreadable: give up on the rest rather than treat it as speech
            log.warning("Unreadable tool call in model output: %r", text[start:start + 200])
            pos = len(text)
    content.append(text[pos:])
    return ModelOutput(calls=calls, content=" ".join(" ".join(content).split()))


def _read_json_calls(body: str) -> tuple[list[ToolCall], int]:
    """v2–v7: a JSON list (or object) of {"name", "arguments"} right after the marker."""
    try:
        value, used = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return [], -1
    items = value if isinstance(value, list) else [value]
    calls = [c for c in (_call_from_mapping(item) for item in items) if c is not None]
    return calls, used


def _read_args_call(body: str) -> tuple[list[ToolCall], int]:
    """v11/v13: NAME[CALL_ID]id[ARGS]{json}."""
    args_at = body.find(ARGS)
    if args_at < 0:
        return [], -1
    name = body[:args_at].split(CALL_ID)[0].strip()
    rest = body[args_at + len(ARGS):]
    stripped = rest.lstrip()
    try:
        arguments, used = json.JSONDecoder().raw_decode(stripped)
    except json.JSONDecodeError:
        return [], -1
    if not name or not isinstance(arguments, dict):
        return [], -1
    return [ToolCall(name, arguments)], args_at + len(ARGS) + (len(rest) - len(stripped)) + used


def _call_from_mapping(item: Any) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    function: dict[str, Any] = (item["function"] if isinstance(item.get("function"), dict)
                                else item)
    name = function.get("name")
    arguments = function.get("arguments", function.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            log.warning("Tool call %r has arguments that are not JSON: %r", name, arguments)
            return None
    if not isinstance(name, str) or not name or not isinstance(arguments, dict):
        return None
    return ToolCall(name, arguments)


def calls_from_openai(message: Mapping[str, Any]) -> ModelOutput:
    """Tool calls and content of an OpenAI chat-completion `message`.

    A server without a tool parser returns the raw ``[TOOL_CALLS]…`` text as content; that is read
    too, so either vLLM set-up works.
    """
    calls = [c for c in (_call_from_mapping(tc) for tc in message.get("tool_calls") or [])
             if c is not None]
    parsed = parse_tool_calls(message.get("content") or "")
    return ModelOutput(calls=calls + parsed.calls, content=parsed.content)


def split_heard_reply(content: str) -> tuple[str | None, str | None]:
    """The 'Heard:' and 'Reply:' lines the understanding instruction asks for, when present.

    Without labels the whole content is taken as the reply (a model answering in its own words).
    """
    heard = re.search(r"heard\s*:\s*(.*?)(?=\breply\s*:|$)", content, re.I | re.S)
    reply = re.search(r"reply\s*:\s*(.*?)(?=\bheard\s*:|$)", content, re.I | re.S)
    heard_text = _clean(heard.group(1)) if heard else None
    reply_text = _clean(reply.group(1)) if reply else None
    if heard is None and reply is None:
        reply_text = _clean(content)
    return heard_text or None, reply_text or None


def _clean(text: str) -> str:
    return " ".join(text.split()).strip().strip('"').strip()


def validate_call(call: ToolCall,
                  tools: Sequence[Mapping[str, Any]]) -> tuple[ToolCall | None, str]:
    """The call made safe against the tools' schemas, or None and the reason it was refused.

    Enumerated values are matched ignoring case, spacing and punctuation (a model writing
    "kitchen light" for "Kitchen Light" is right); anything else not allowed refuses the call.
    """
    schema = next((t["function"] for t in tools if t.get("function", {}).get("name") == call.name),
                  None)
    if schema is None:
        return None, f"unknown tool {call.name!r}"
    params = schema.get("parameters", {})
    properties: Mapping[str, Any] = params.get("properties", {})
    clean: dict[str, Any] = {}
    for key, value in call.arguments.items():
        if value is None or value == "":
            continue
        prop = properties.get(key)
        if prop is None:
            return None, f"{call.name}: unknown argument {key!r}"
        fixed, problem = _check_value(value, prop)
        if problem:
            return None, f"{call.name}.{key}: {problem}"
        clean[key] = fixed
    missing = [k for k in params.get("required", []) if k not in clean]
    if missing:
        return None, f"{call.name}: missing {', '.join(missing)}"
    return ToolCall(call.name, clean), ""


def first_valid_call(calls: list[ToolCall], tools: list[dict]) -> ToolCall | None:
    """The first call that passes the tools' schemas; refusals are logged, never acted on."""
    for call in calls:
        valid, problem = validate_call(call, tools)
        if valid is not None:
            return valid
        log.info("Refused tool call %s(%s): %s", call.name, call.arguments, problem)
    return None


def _check_value(value: Any, prop: Mapping[str, Any]) -> tuple[Any, str]:
    kind = prop.get("type", "string")
    if kind in ("integer", "number"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None, f"{value!r} is not a number"
        if kind == "integer":
            if number != int(number):
                return None, f"{value!r} is not a whole number"
            number = int(number)
        lo, hi = prop.get("minimum"), prop.get("maximum")
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            return None, f"{number} is out of range"
        return number, ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return None, f"{value!r} is not text"
    text = str(value).strip()
    allowed = prop.get("enum")
    if allowed:
        wanted = _fold(text)
        match = next((a for a in allowed if _fold(a) == wanted), None)
        if match is None:
            return None, f"{text!r} is not one of the allowed values"
        return match, ""
    return text, ""


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


#: English names of languages Voxtral speaks well, for instructions written in English.
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish",
                  "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "hi": "Hindi"}


def language_name(code: str) -> str:
    """'fr' → 'French'; an unknown code or a name is passed through."""
    return LANGUAGE_NAMES.get(code.lower().split("-")[0].split("_")[0], code)
