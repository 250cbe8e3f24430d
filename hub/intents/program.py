"""The Wyoming intent and handle programs: the hub as Home Assistant's conversation agent.

`recognize` (text) → `intent` with its slots, or `not-recognized`; `transcript` or `intent` to
handle → `handled` with the reply text, or `not-handled` with the reason. The area a request
comes from travels in the event's `context` (`{"area": "kitchen"}`, as our satellites send it),
and the answer's context repeats it together with the targets, so a follow-up can use them.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import HandleModel, Info, IntentModel
from wyoming.info import HandleProgram as HandleProgramInfo
from wyoming.info import IntentProgram as IntentProgramInfo
from wyoming.intent import Entity, Intent, NotRecognized, Recognize

from hub.asr.base import ToolCall
from hub.endpoint import ATTRIBUTION, Connection, Program, program_version
from hub.understanding import Understander
from voxhub.result import UnderstandingResult

_LOGGER = logging.getLogger(__name__)

#: Longest text accepted for one request; longer is refused, not truncated into a wrong command.
MAX_TEXT_CHARS = 1000


def _area(context: dict[str, Any] | None) -> str | None:
    if not isinstance(context, dict):
        return None
    area = context.get("area") or context.get("satellite_area")
    return str(area) if area else None


def _context(result: UnderstandingResult, area: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {"confidence": result.confidence, "targets": result.targets}
    if area:
        context["area"] = area
    return context


def _check_text(text: str) -> str | None:
    if len(text) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    return None


class IntentProgram(Program):
    event_types = frozenset({"recognize"})

    def __init__(self, understander: Understander) -> None:
        self.understander = understander

    def describe(self, info: Info) -> None:
        language = self.understander.config.intents.language
        info.intent.append(IntentProgramInfo(
            name="voxhub-intents", description="Home Assistant intents with slip recovery "
            "(voxhub)", attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[IntentModel(name=f"home-assistant-intents-{language}",
                                description="Home Assistant's sentence templates",
                                attribution=ATTRIBUTION, installed=True, version=None,
                                languages=[language])]))

    async def handle(self, event: Event, conn: Connection) -> None:
        recognize = Recognize.from_event(event)
        problem = _check_text(recognize.text)
        if problem:
            await conn.send_error(problem, "text-too-long")
            return
        conn.run_ordered(lambda: self._answer(recognize, conn))

    async def _answer(self, recognize: Recognize, conn: Connection) -> None:
        area = _area(recognize.context)
        result = await self.understander.understand_text(recognize.text, area)
        if result.intent is None:
            await conn.send(NotRecognized(text=result.reply, context=_context(result, area))
                            .event())
            return
        entities = [Entity(name=k, value=v) for k, v in result.intent.slots.items()]
        await conn.send(Intent(name=result.intent.name, entities=entities, text=result.reply,
                               context=_context(result, area)).event())


class HandleProgram(Program):
    event_types = frozenset({"transcript", "intent"})

    def __init__(self, understander: Understander) -> None:
        self.understander = understander

    def describe(self, info: Info) -> None:
        language = self.understander.config.intents.language
        info.handle.append(HandleProgramInfo(
            name="voxhub-conversation", description="voxhub conversation agent for the home",
            attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[HandleModel(name=f"voxhub-{language}", description="Home commands",
                                attribution=ATTRIBUTION, installed=True, version=None,
                                languages=[language])],
            supports_handled_streaming=False))

    async def handle(self, event: Event, conn: Connection) -> None:
        if Transcript.is_type(event.type):
            transcript = Transcript.from_event(event)
            problem = _check_text(transcript.text)
            if problem:
                await conn.send_error(problem, "text-too-long")
                return
            conn.run_ordered(lambda: self._handle_text(transcript, conn))
        else:
            intent = Intent.from_event(event)
            conn.run_ordered(lambda: self._handle_intent(intent, conn))

    async def _handle_text(self, transcript: Transcript, conn: Connection) -> None:
        area = _area(transcript.context)
        result = await self.understander.understand_text(transcript.text, area,
                                                         transcript.language)
        await self._send(result, area, conn)

    async def _handle_intent(self, intent: Intent, conn: Connection) -> None:
        area = _area(intent.context)
        call = ToolCall(intent.name, {e.name: e.value for e in intent.entities})
        engine = self.understander.engine
        assert engine is not None
        loop = asyncio.get_running_loop()
        decision = await loop.run_in_executor(None, partial(engine.decide_tool_call, call, area))
        if decision is None or decision.match is None:
            await conn.send(NotHandled(text=f"Sorry, I can't do {intent.name} with that",
                                       context={"area": area} if area else None).event())
            return
        context = {"targets": [e.id for e in decision.resolution.targets]}
        if area:
            context["area"] = area
        await conn.send(Handled(text=decision.reply, context=context).event())

    async def _send(self, result: UnderstandingResult, area: str | None,
                    conn: Connection) -> None:
        if result.intent is None:
            await conn.send(NotHandled(text=result.reply, context=_context(result, area))
                            .event())
        else:
            await conn.send(Handled(text=result.reply, context=_context(result, area)).event())
