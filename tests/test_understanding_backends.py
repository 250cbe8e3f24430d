"""The intents stage with a one-pass audio-LLM backend (an OpenAI-compatible server, faked here
in vLLM's wire format): its tool call is checked against the grammar and the home before use."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "home.yaml"


@pytest.fixture(scope="module")
def llm_understander(openai_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from hub.config import HubConfig
    from hub.intents.home import StaticHomeSource, load_home
    from hub.understanding import Understander

    config = HubConfig(data_dir=tmp_path_factory.mktemp("data"))
    config.asr.backend = "openai"
    config.asr.openai.url = openai_server.url
    config.asr.openai.retries = 0
    config.intents.sentences_per_template = 5
    understander = Understander(config, StaticHomeSource(load_home(EXAMPLE)))
    understander.load()
    understander.wait_ready(60)
    return understander


def tool_message(name: str, arguments: dict[str, Any], content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": [{
        "id": "chatcmpl-tool-1", "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def test_a_valid_tool_call_becomes_the_intent(llm_understander: Any, fake_openai: Any,
                                              spoken: Any) -> None:
    fake_openai.message = tool_message(
        "HassTurnOn", {"name": "Kitchen Lights"},
        "Heard: turn on the kitchen lights\nReply: Turning on the kitchen lights.")
    result = asyncio.run(llm_understander.understand_audio(spoken("turn on the kitchen lights")))
    assert result.intent.name == "HassTurnOn"
    assert result.targets == ["light.kitchen_lights"]
    assert result.reply == "Turning on the kitchen lights."
    request = fake_openai.requests[0]["json"]
    tools = {t["function"]["name"]: t for t in request["tools"]}
    assert "HassTurnOn" in tools and "HassLightSet" in tools
    names = tools["HassTurnOn"]["function"]["parameters"]["properties"]["name"]["enum"]
    assert "Kitchen Lights" in names and "Garage Door" in names


def test_the_satellites_area_fills_a_call_without_target(llm_understander: Any,
                                                         fake_openai: Any,
                                                         spoken: Any) -> None:
    fake_openai.message = tool_message("HassTurnOff", {"domain": "light"},
                                       "Heard: turn off the lights")
    result = asyncio.run(llm_understander.understand_audio(spoken("turn off the lights"),
                                                           "bedroom"))
    assert sorted(result.targets) == ["light.bedroom", "light.bedside_lamp"]
    assert result.reply == "Turned off the light"


def test_a_call_naming_something_not_in_the_home_is_not_acted_on(
        llm_understander: Any, fake_openai: Any, spoken: Any) -> None:
    fake_openai.message = tool_message("HassTurnOn", {"name": "Jacuzzi"},
                                       "Heard: turn on the jacuzzi")
    result = asyncio.run(llm_understander.understand_audio(spoken("turn on the jacuzzi")))
    assert result.intent is None and result.targets == []


def test_without_a_tool_call_the_transcript_is_matched(llm_understander: Any,
                                                       fake_openai: Any, spoken: Any) -> None:
    fake_openai.message = {"role": "assistant",
                           "content": "Heard: close the garbage door\nReply: OK"}
    result = asyncio.run(llm_understander.understand_audio(spoken("close the garage door")))
    assert result.targets == ["cover.garage_door"]
    assert result.intent.name == "HassTurnOff"


def test_silence_never_reaches_the_server(llm_understander: Any, fake_openai: Any) -> None:
    result = asyncio.run(llm_understander.understand_audio(np.zeros(16000, dtype=np.float32)))
    assert result.intent is None and result.text == ""
