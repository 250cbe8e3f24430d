"""Commands understood against the house Home Assistant describes, with its live states.

The real intent engine (hassil with Home Assistant's sentences) runs on the model read from the
websocket stand-in: names, areas and aliases come from Home Assistant's registries, and a state
question answers from the state Home Assistant last reported.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest_asyncio

from hub.config import HubConfig
from hub.intents.home_assistant import HomeAssistantHomeSource
from hub.understanding import Understander
from tests.plugins.homeassistant import TOKEN
from tests.waiting import wait_until


@pytest_asyncio.fixture(loop_scope="function")
async def understander(home_assistant):
    source = HomeAssistantHomeSource(home_assistant.url, TOKEN, retry_min_s=0.05,
                                     retry_max_s=0.2)
    await source.start(wait_s=5)
    understander = Understander(HubConfig(), source)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: understander.load(recognizer=False))
    assert await loop.run_in_executor(None, understander.wait_ready, 120)
    try:
        yield understander
    finally:
        await source.stop()


async def _understand(understander: Understander, text: str, area: str | None = None) -> Any:
    return await understander.understand_text(text, area)


async def test_commands_use_home_assistants_names_and_aliases(understander):
    result = await _understand(understander, "turn on the kitchen ceiling")
    assert result.intent.name == "HassTurnOn" and result.targets == ["light.kitchen_ceiling"]
    alias = await _understand(understander, "turn on the big light")
    assert alias.targets == ["light.kitchen_ceiling"]
    area_alias = await _understand(understander, "turn on the lights in the cookhouse")
    assert area_alias.targets == ["light.kitchen_ceiling"]
    by_satellite_area = await _understand(understander, "turn off the lights", "bedroom")
    assert by_satellite_area.targets == ["light.bedroom_lamp"]


async def test_entities_not_exposed_to_assist_are_out_of_reach(understander):
    result = await _understand(understander, "turn off the server rack")
    assert result.targets == []


async def test_state_questions_answer_from_live_states(understander, home_assistant):
    before = await _understand(understander, "is the garage door open")
    assert before.intent.name == "HassGetState" and before.targets == ["cover.garage_door"]
    assert before.reply.startswith("No")
    await home_assistant.set_state("cover.garage_door", "open", current_position=100)
    assert await wait_until(
        lambda: understander.home.entity("cover.garage_door").state == "open")
    after = await _understand(understander, "is the garage door open")
    assert after.reply.startswith("Yes")


async def test_a_renamed_area_is_understood_without_a_restart(understander, home_assistant):
    await home_assistant.rename_area("kitchen", "Scullery")
    assert await wait_until(lambda: understander.home.area("kitchen").name == "Scullery")
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, understander.wait_ready, 120)
    result = await _understand(understander, "turn on the lights in the scullery")
    assert result.targets == ["light.kitchen_ceiling"]
