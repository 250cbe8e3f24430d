"""Reading audio-LLM output back: tool calls in Mistral's real formats, validated before use.

The outputs below are written the way Voxtral and other Mistral models print them (decoded with
special tokens kept), so the parser is checked against the wire format, not against itself.
"""

from __future__ import annotations

import logging

import pytest

from hub.asr.base import ToolCall
from hub.asr.llm_tools import (
    IntentSpec,
    build_tools,
    calls_from_openai,
    language_name,
    parse_tool_calls,
    split_heard_reply,
    validate_call,
)

TOOLS = build_tools(
    [IntentSpec("HassTurnOn", ["name", "area", "floor", "domain"]),
     IntentSpec("HassTurnOff", ["name", "area", "domain"]),
     IntentSpec("HassLightSet", ["name", "area", "brightness", "color"]),
     IntentSpec("HassStartTimer", ["hours", "minutes", "seconds", "name"],
                description="Starts a timer."),
     IntentSpec("HassShoppingListAddItem", ["item"], required=["item"]),
     "HassGetCurrentTime"],
    names=["Kitchen Light", "Garage Door", "Living Room TV"],
    areas=["Kitchen", "Garage", "Living Room"], floors=["First Floor"])

# Voxtral Mini/Small (tokenizer v7): a JSON list right after the marker, then end of sequence.
VOXTRAL_CALL = '[TOOL_CALLS][{"name": "HassTurnOn", "arguments": {"name": "kitchen light"}}]</s>'
VOXTRAL_TEXT_THEN_CALL = (
    "Heard: turn off the lights in the garage\nReply: Turning off the garage lights."
    '[TOOL_CALLS][{"name": "HassTurnOff", "arguments": {"area": "Garage", "domain": "light"}}]'
    "</s>")
VOXTRAL_TWO_CALLS = (
    '[TOOL_CALLS][{"name": "HassTurnOn", "arguments": {"area": "Kitchen", "domain": "light"}}, '
    '{"name": "HassLightSet", "arguments": {"area": "Kitchen", "brightness": 40}}]</s>')
# Mistral tokenizer v11 and v13 (Mistral Small 3.2, Magistral, Voxtral successors).
V11_CALL = '[TOOL_CALLS]HassLightSet[ARGS]{"area": "Kitchen", "brightness": 40}</s>'
V13_CALL = '[TOOL_CALLS]HassTurnOn[CALL_ID]Ab3dE5gH7[ARGS]{"name": "Garage Door"}</s>'
V11_TWO_CALLS = ('[TOOL_CALLS]HassTurnOn[ARGS]{"area": "Kitchen"}'
                 '[TOOL_CALLS]HassStartTimer[ARGS]{"minutes": 5}</s>')
PLAIN_ANSWER = "The capital of France is Paris.</s>"
TRUNCATED = '[TOOL_CALLS][{"name": "HassTurnOn", "arguments": {"name": "Kitchen Li'
STRING_ARGUMENTS = ('[TOOL_CALLS][{"name": "HassTurnOn", '
                    '"arguments": "{\\"name\\": \\"Kitchen Light\\"}"}]</s>')


def test_voxtral_tool_call():
    out = parse_tool_calls(VOXTRAL_CALL)
    assert out.calls == [ToolCall("HassTurnOn", {"name": "kitchen light"})]
    assert out.content == ""


def test_text_before_the_call_is_the_heard_line_and_the_reply():
    out = parse_tool_calls(VOXTRAL_TEXT_THEN_CALL)
    assert out.calls == [ToolCall("HassTurnOff", {"area": "Garage", "domain": "light"})]
    assert split_heard_reply(out.content) == ("turn off the lights in the garage",
                                              "Turning off the garage lights.")


def test_several_calls_keep_their_order():
    assert [c.name for c in parse_tool_calls(VOXTRAL_TWO_CALLS).calls] == ["HassTurnOn",
                                                                         "HassLightSet"]
    assert [c.name for c in parse_tool_calls(V11_TWO_CALLS).calls] == ["HassTurnOn",
                                                                     "HassStartTimer"]


@pytest.mark.parametrize("raw,call", [
    (V11_CALL, ToolCall("HassLightSet", {"area": "Kitchen", "brightness": 40})),
    (V13_CALL, ToolCall("HassTurnOn", {"name": "Garage Door"})),
    (STRING_ARGUMENTS, ToolCall("HassTurnOn", {"name": "Kitchen Light"})),
])
def test_newer_mistral_formats(raw: str, call: ToolCall):
    assert parse_tool_calls(raw).calls == [call]


def test_an_answer_without_a_call_is_content():
    out = parse_tool_calls(PLAIN_ANSWER)
    assert out.calls == [] and out.content == "The capital of France is Paris."
    assert split_heard_reply(out.content) == (None, "The capital of France is Paris.")


def test_a_truncated_call_is_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        out = parse_tool_calls(TRUNCATED)
    assert out.calls == [] and out.content == ""
    assert "Unreadable tool call" in caplog.text


def test_openai_message_with_parsed_tool_calls():
    """A vLLM chat-completion message when the server runs --tool-call-parser mistral."""
    message = {"role": "assistant", "content": "Heard: open the garage door", "tool_calls": [
        {"id": "chatcmpl-tool-3f1c", "type": "function",
         "function": {"name": "HassTurnOn", "arguments": '{"name": "Garage Door"}'}}]}
    out = calls_from_openai(message)
    assert out.calls == [ToolCall("HassTurnOn", {"name": "Garage Door"})]
    assert split_heard_reply(out.content)[0] == "open the garage door"


def test_openai_message_with_raw_mistral_output_as_content():
    """The same server without a tool parser passes the model's text through."""
    out = calls_from_openai({"role": "assistant", "content": V11_CALL, "tool_calls": []})
    assert out.calls == [ToolCall("HassLightSet", {"area": "Kitchen", "brightness": 40})]


def test_tools_are_openai_functions_with_the_homes_names():
    by_name = {t["function"]["name"]: t["function"] for t in TOOLS}
    assert all(t["type"] == "function" for t in TOOLS)
    turn_on = by_name["HassTurnOn"]["parameters"]
    assert turn_on["type"] == "object" and turn_on["required"] == []
    assert turn_on["properties"]["name"]["enum"] == ["Kitchen Light", "Garage Door",
                                                     "Living Room TV"]
    assert turn_on["properties"]["floor"]["enum"] == ["First Floor"]
    assert "light" in turn_on["properties"]["domain"]["enum"]
    brightness = by_name["HassLightSet"]["parameters"]["properties"]["brightness"]
    assert (brightness["type"], brightness["minimum"], brightness["maximum"]) == ("integer", 0,
                                                                                   100)
    assert by_name["HassStartTimer"]["description"] == "Starts a timer."
    assert by_name["HassGetCurrentTime"]["parameters"]["properties"] == {}
    assert by_name["HassShoppingListAddItem"]["parameters"]["required"] == ["item"]
    assert "enum" not in build_tools([IntentSpec("HassTurnOn", ["name"])])[0]["function"][
        "parameters"]["properties"]["name"]


def test_mistral_common_accepts_the_tools():
    from mistral_common.protocol.instruct.request import ChatCompletionRequest

    request = ChatCompletionRequest.from_openai(
        messages=[{"role": "user", "content": "turn on the kitchen light"}], tools=TOOLS)
    assert [t.function.name for t in request.tools] == [t["function"]["name"] for t in TOOLS]


@pytest.mark.parametrize("call,expected", [
    (ToolCall("HassTurnOn", {"name": "kitchen light"}), {"name": "Kitchen Light"}),
    (ToolCall("HassTurnOn", {"name": "Living-Room TV", "area": ""}), {"name": "Living Room TV"}),
    (ToolCall("HassLightSet", {"area": "Kitchen", "brightness": "50"}),
     {"area": "Kitchen", "brightness": 50}),
    (ToolCall("HassStartTimer", {"minutes": 5.0}), {"minutes": 5}),
    (ToolCall("HassShoppingListAddItem", {"item": " oat milk "}), {"item": "oat milk"}),
])
def test_valid_calls_are_normalized(call: ToolCall, expected: dict):
    valid, problem = validate_call(call, TOOLS)
    assert problem == "" and valid == ToolCall(call.name, expected)


@pytest.mark.parametrize("call,reason", [
    (ToolCall("HassUnlockEverything", {}), "unknown tool"),
    (ToolCall("HassTurnOn", {"name": "Front Door"}), "not one of the allowed values"),
    (ToolCall("HassTurnOn", {"entity_id": "lock.front"}), "unknown argument"),
    (ToolCall("HassLightSet", {"brightness": 150}), "out of range"),
    (ToolCall("HassLightSet", {"brightness": 40.5}), "not a whole number"),
    (ToolCall("HassLightSet", {"brightness": "bright"}), "not a number"),
    (ToolCall("HassTurnOn", {"name": ["Kitchen Light"]}), "not text"),
    (ToolCall("HassShoppingListAddItem", {}), "missing item"),
])
def test_invalid_calls_are_refused_with_a_reason(call: ToolCall, reason: str):
    valid, problem = validate_call(call, TOOLS)
    assert valid is None and reason in problem


def test_language_names_for_instructions():
    assert language_name("fr") == "French" and language_name("de-DE") == "German"
    assert language_name("Klingon") == "Klingon"
