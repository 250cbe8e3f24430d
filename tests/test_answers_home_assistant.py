"""Real Home Assistant Core's conversation API as the answerer (tests/plugins/ha_core.py).

Its built-in agent (`conversation.home_assistant`) stands in for the user's LLM agent: the wire
is the same (`POST /api/conversation/process` with agent_id, language and conversation_id),
and what it answers is checked against what Home Assistant itself says to the same request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncClient

from hub.answers.base import Question
from hub.answers.factory import create_answers
from hub.config import HubConfig
from hub.intents.program import HandleProgram
from tests.plugins.ha_core import HALLWAY_LIGHT, HomeAssistantCore
from tests.plugins.hub import ThreadedHub
from voxhub.configfile import override

AGENT = "conversation.home_assistant"


def ha_config(ha: HomeAssistantCore) -> HubConfig:
    config = HubConfig()
    for key, value in (("home_assistant.url", ha.url), ("home_assistant.token", ha.token),
                       ("answers.agent_id", AGENT), ("answers.by", "home_assistant")):
        config = override(config, key, value)
    return config


def what_home_assistant_says(ha: HomeAssistantCore, text: str) -> dict[str, Any]:
    return ha.post("conversation/process", {"text": text, "language": "en", "agent_id": AGENT})


async def test_home_assistants_agent_answers_through_the_conversation_api(
        home_assistant_core: HomeAssistantCore) -> None:
    ha = home_assistant_core
    ha.set_light(HALLWAY_LIGHT, False)
    text = "is the hallway light on"
    expected = what_home_assistant_says(ha, text)["response"]["speech"]["plain"]["speech"]
    answers = create_answers(ha_config(ha), understander=None)
    assert answers is not None and answers.name == "home_assistant"
    try:
        outcome = await answers.complete(Question(text, "en", area="Kitchen"))
        follow = await answers.complete(Question("is the kitchen light on", "en",
                                                 conversation_id=outcome.conversation_id))
    finally:
        await answers.close()
    assert outcome.text == expected and outcome.answered_by == "home_assistant"
    assert "off" in outcome.text.lower() or "no" in outcome.text.lower()
    assert outcome.conversation_id  # Home Assistant's own, carried to the next turn
    assert follow.conversation_id == outcome.conversation_id


@pytest.fixture
def ha_answer_hub(home_assistant_core: HomeAssistantCore,
                  text_understander: Any) -> Iterator[ThreadedHub]:
    answers = create_answers(ha_config(home_assistant_core), understander=None)
    hub = ThreadedHub([HandleProgram(text_understander, answers=answers)])
    yield hub
    hub.call(answers.close())  # type: ignore[union-attr]
    hub.close()


async def test_a_transcript_that_is_no_command_is_handled_with_what_home_assistant_said(
        home_assistant_core: HomeAssistantCore, ha_answer_hub: ThreadedHub) -> None:
    text = "how far away is the moon"
    said = what_home_assistant_says(home_assistant_core, text)
    async with AsyncClient.from_uri(ha_answer_hub.uri) as client:
        await client.write_event(Transcript(text=text).event())
        event = await asyncio.wait_for(client.read_event(), 30)
    assert event.type == "handled"
    assert event.data["text"] == said["response"]["speech"]["plain"]["speech"]
    assert event.data["context"]["answered_by"] == "home_assistant"


async def test_home_assistant_down_is_an_apology_not_silence(
        home_assistant_core: HomeAssistantCore) -> None:
    config = override(ha_config(home_assistant_core), "home_assistant.url",
                      "http://127.0.0.1:9")  # nothing listens on the discard port
    answers = create_answers(config, understander=None)
    assert answers is not None
    try:
        outcome = await answers.complete(Question("tell me a joke", "en"))
    finally:
        await answers.close()
    assert outcome.text == config.answers.unreachable_reply and outcome.answered_by is None
    assert "cannot reach Home Assistant" in (outcome.error or "")
