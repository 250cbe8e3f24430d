"""The Wyoming intent and handle programs: the hub as Home Assistant's conversation agent.

`recognize` (text) → `intent` with its slots, or `not-recognized`. As a conversation agent
(`transcript` to handle) the hub answers a recognized command with the `intent` itself, named and
filled as Home Assistant's intent handlers take them, so that Home Assistant carries it out with
its own handlers and exposure rules and speaks its own response; `handled` is only for what the
hub answers itself (the time, the date), and `not-handled` for what it cannot recognize. An
`intent` sent to handle is carried out by the hub's actor (`intents.act`), and the answer says
what really happened. The area a request comes from travels in the event's `context`
(`{"area": "kitchen"}`, as our satellites send it), and the answer's context repeats it together
with the targets, so a follow-up can use them; Home Assistant's own satellites send their
`satellite_id`/`device_id` instead, which the home model maps to the device's area.
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

from hub.actions.actor import (
    ANSWERED_BY_HUB,
    NOTHING_ACTS,
    Actor,
    HomeAssistantActor,
    MqttActor,
)
from hub.asr.base import ToolCall
from hub.auth import guard
from hub.endpoint import ATTRIBUTION, Connection, Program, program_version
from hub.intents.context import area_from_context
from hub.understanding import Understander
from voxhub.language import advertised, with_common_regions
from voxhub.result import ActionStatus, IntentResult, UnderstandingResult

_LOGGER = logging.getLogger(__name__)

#: Longest text accepted for one request; longer is refused, not truncated into a wrong command.
MAX_TEXT_CHARS = 1000


def _languages(language: str) -> list[str]:
    """The intents' language as Home Assistant and automations spell it (en, en-US, en_US…):
    Home Assistant compares these strings exactly when it picks a conversation agent."""
    return advertised(with_common_regions([language]))


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
            name="voxhub conversation", description="Home Assistant intents with slip recovery "
            "(voxhub)", attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[IntentModel(name=f"home-assistant-intents-{language}",
                                description="Home Assistant's sentence templates",
                                attribution=ATTRIBUTION, installed=True, version=None,
                                languages=_languages(language))]))

    async def handle(self, event: Event, conn: Connection) -> None:
        recognize = Recognize.from_event(event)
        problem = _check_text(recognize.text)
        if problem:
            await conn.send_error(problem, "text-too-long")
            return
        conn.run_ordered(lambda: self._answer(recognize, conn))

    async def _answer(self, recognize: Recognize, conn: Connection) -> None:
        area = area_from_context(self.understander.home, recognize.context)
        result = guard(conn, await self.understander.understand_text(recognize.text, area),
                       self.understander)
        if result.intent is None:
            await conn.send(NotRecognized(text=result.reply, context=_context(result, area))
                            .event())
            return
        entities = [Entity(name=k, value=v) for k, v in result.intent.slots.items()]
        await conn.send(Intent(name=result.intent.name, entities=entities, text=result.reply,
                               context=_context(result, area)).event())


class HandleProgram(Program):
    event_types = frozenset({"transcript", "intent"})

    def __init__(self, understander: Understander, actor: Actor | None = None) -> None:
        self.understander = understander
        self.actor: Actor = actor or MqttActor()

    def describe(self, info: Info) -> None:
        language = self.understander.config.intents.language
        info.handle.append(HandleProgramInfo(
            name="voxhub conversation", description="voxhub conversation agent for the home",
            attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[HandleModel(name=f"voxhub-{language}", description="Home commands",
                                attribution=ATTRIBUTION, installed=True, version=None,
                                languages=_languages(language))],
            supports_handled_streaming=False,
            # Only an `intent` sent to handle is carried out by the hub itself, and only when
            # Home Assistant is its actor; transcripts are answered with the intent instead.
            supports_home_control=isinstance(self.actor, HomeAssistantActor)))

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
        area = area_from_context(self.understander.home, transcript.context)
        result = guard(conn, await self.understander.understand_text(
            transcript.text, area, transcript.language), self.understander)
        context = _context(result, area)
        if isinstance(transcript.context, dict) and transcript.context.get("conversation_id"):
            context["conversation_id"] = transcript.context["conversation_id"]
        if result.intent is None:
            await conn.send(NotHandled(text=result.reply, context=context).event())
        elif result.intent.name in ANSWERED_BY_HUB:
            await conn.send(Handled(text=result.reply, context=context).event())
        else:
            # Home Assistant runs its own handler for this intent and speaks its response; our
            # reply text is what it says when its handler has no speech of its own.
            entities = [Entity(name=k, value=v) for k, v in result.intent.slots.items()]
            await conn.send(Intent(name=result.intent.name, entities=entities,
                                   text=result.reply, context=context).event())

    async def _handle_intent(self, intent: Intent, conn: Connection) -> None:
        area = area_from_context(self.understander.home, intent.context)
        call = ToolCall(intent.name, {e.name: e.value for e in intent.entities})
        engine = self.understander.engine
        assert engine is not None
        loop = asyncio.get_running_loop()
        decision = await loop.run_in_executor(None, partial(engine.decide_tool_call, call, area))
        if decision is None or decision.match is None:
            await conn.send(NotHandled(text=f"Sorry, I can't do {intent.name} with that",
                                       context={"area": area} if area else None).event())
            return
        result = UnderstandingResult(
            intent.text or "", self.understander.config.intents.language,
            IntentResult(decision.match.intent, dict(decision.match.slots)),
            [e.id for e in decision.resolution.targets], decision.reply, decision.confidence)
        result = guard(conn, result, self.understander)
        if result.intent is None:
            await conn.send(NotHandled(text=result.reply, context={"area": area} if area
                                       else None).event())
            return
        result = await self.actor.carry_out(result, engine, area)
        action = result.action
        context: dict[str, Any] = {"targets": result.targets}
        if action is not None:
            context["action"] = {"by": action.by, "status": action.status.value,
                                 "carried_out": action.carried_out}
        if area:
            context["area"] = area
        if action is not None and action.carried_out:
            await conn.send(Handled(text=result.reply, context=context).event())
        elif action is not None and action.status in (ActionStatus.FAILED,
                                                      ActionStatus.UNREACHABLE):
            await conn.send(NotHandled(text=result.reply, context=context).event())
        else:  # published for satellites' automations, or nobody acts: nothing happened here
            await conn.send(NotHandled(text=NOTHING_ACTS, context=context).event())
