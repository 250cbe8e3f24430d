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

A `transcript`'s context also carries Home Assistant's `conversation_id`: an unsafe command heard
uncertainly is answered `handled` with "Did you mean …?" (context `continue_conversation`), and
the next transcript of that conversation that is a yes gets the proposed `intent`, a no "OK, I
won't." (`hub/intents/conversation.py`).

What the home grammar rejects is not always "Sorry": with an answerer that takes text
(`answers.by`: openai or home_assistant; `hub/answers/`), a `recognize` or `transcript` that is no
command is answered `handled` with the answerer's words, and the context says `answered_by`,
the `conversation_id` and whether to `continue_conversation`; an answerer that fails gives the
apology (`not-recognized` / `not-handled`). Commands and state questions never reach it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
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
from hub.answers.speech import Answers, wants_answer
from hub.asr.base import ToolCall
from hub.auth import guard
from hub.endpoint import ATTRIBUTION, Connection, Program, Session, program_version
from hub.intents.context import area_from_context
from hub.intents.conversation import Turn, check_id
from hub.mqtt.results import NoResults, ResultSink
from hub.understanding import Understander
from voxhub.language import advertised, with_common_regions
from voxhub.protocol import ErrorCode, WyomingType
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


def _turn(context: Any) -> Turn:
    """Home Assistant's conversation as a turn: its satellite or device asks, its
    conversation_id (a ULID it makes for every conversation) is the conversation."""
    context = context if isinstance(context, dict) else {}
    asker = next((str(context[k]) for k in ("satellite_id", "device_id") if context.get(k)), "")
    try:
        conversation_id = check_id(context.get("conversation_id"))
    except ValueError:
        conversation_id = None  # no conversation to continue; the text is still answered
    return Turn(f"home-assistant:{asker}", conversation_id)


def _answerable(answers: Answers | None, understood: UnderstandingResult) -> bool:
    return answers is not None and answers.takes_text and wants_answer(understood)


async def _answer(answers: Answers | None, understood: UnderstandingResult,
                  understander: Understander, area: str | None,
                  conversation_id: str | None) -> dict[str, Any]:
    """The answer as `text` and the context keys that describe it."""
    assert answers is not None
    place = understander.home.find_area(area) if area else None
    outcome = await answers.answer_text(understood, place.name if place else area,
                                        conversation_id)
    found: dict[str, Any] = {"text": outcome.text, "answered_by": outcome.answered_by}
    if outcome.conversation_id:
        found["conversation_id"] = outcome.conversation_id
    if outcome.continue_conversation:
        found["continue_conversation"] = True
    return found


def _as_answered(result: UnderstandingResult, reply: str,
                 context: dict[str, Any]) -> UnderstandingResult:
    """`result` as it was answered: the words sent and who gave them (an answerer's, or a
    "Did you mean …?" that continues the conversation)."""
    return replace(result, reply=reply,
                   answered_by=context.get("answered_by") or result.answered_by,
                   conversation_id=context.get("conversation_id") or result.conversation_id,
                   continue_conversation=bool(context.get("continue_conversation")
                                              or result.continue_conversation))


def _check_text(text: str) -> str | None:
    if len(text) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    return None


class IntentProgram(Program[Session]):
    event_types = frozenset({WyomingType.RECOGNIZE})

    def __init__(self, understander: Understander, answers: Answers | None = None,
                 results: ResultSink | None = None) -> None:
        self.understander = understander
        self.answers = answers
        self.results: ResultSink = results or NoResults()

    def describe(self, info: Info) -> None:
        language = self.understander.config.intents.language_code
        info.intent.append(IntentProgramInfo(
            name="voxhub conversation", description="Home Assistant intents with slip recovery "
            "(voxhub)", attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[IntentModel(name=f"home-assistant-intents-{language}",
                                description="Home Assistant's sentence templates",
                                attribution=ATTRIBUTION, installed=True, version=None,
                                languages=_languages(language))]))

    def open_session(self, conn: Connection) -> Session:
        return Session(conn)  # nothing is kept between requests

    async def handle(self, event: Event, session: Session) -> None:
        conn = session.conn
        recognize = Recognize.from_event(event)
        problem = _check_text(recognize.text)
        if problem:
            await conn.send_error(problem, ErrorCode.TEXT_TOO_LONG)
            return
        conn.run_ordered(lambda: self._answer(recognize, conn))

    async def _answer(self, recognize: Recognize, conn: Connection) -> None:
        area = area_from_context(self.understander.home, recognize.context)
        answered = await self._respond(recognize, area, conn)
        self.results.result(answered, "recognize", area, recognize.context)

    async def _respond(self, recognize: Recognize, area: str | None,
                       conn: Connection) -> UnderstandingResult:
        """Send the answer; the result as answered (for MQTT)."""
        understood = await self.understander.understand_text(recognize.text, area)
        result = guard(conn, understood, self.understander)
        if result.intent is None and _answerable(self.answers, understood):
            outcome = await _answer(self.answers, understood, self.understander, area, None)
            context = {**_context(result, area), **outcome}
            answer = context.pop("text")
            event = Handled if context.get("answered_by") else NotRecognized
            await conn.send(event(text=answer, context=context).event())
            return _as_answered(result, answer, context)
        if result.intent is None:
            await conn.send(NotRecognized(text=result.reply, context=_context(result, area))
                            .event())
            return result
        entities = [Entity(name=k, value=v) for k, v in result.intent.slots.items()]
        await conn.send(Intent(name=result.intent.name, entities=entities, text=result.reply,
                               context=_context(result, area)).event())
        return result


class HandleProgram(Program[Session]):
    event_types = frozenset({WyomingType.TRANSCRIPT, WyomingType.INTENT})

    def __init__(self, understander: Understander, actor: Actor | None = None,
                 answers: Answers | None = None, results: ResultSink | None = None) -> None:
        self.understander = understander
        self.actor: Actor = actor or MqttActor()
        self.answers = answers
        self.results: ResultSink = results or NoResults()

    def describe(self, info: Info) -> None:
        language = self.understander.config.intents.language_code
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

    def open_session(self, conn: Connection) -> Session:
        return Session(conn)  # nothing is kept between requests

    async def handle(self, event: Event, session: Session) -> None:
        conn = session.conn
        if Transcript.is_type(event.type):
            transcript = Transcript.from_event(event)
            problem = _check_text(transcript.text)
            if problem:
                await conn.send_error(problem, ErrorCode.TEXT_TOO_LONG)
                return
            conn.run_ordered(lambda: self._handle_text(transcript, conn))
        else:
            intent = Intent.from_event(event)
            conn.run_ordered(lambda: self._handle_intent(intent, conn))

    async def _handle_text(self, transcript: Transcript, conn: Connection) -> None:
        area = area_from_context(self.understander.home, transcript.context)
        answered = await self._respond_text(transcript, area, conn)
        self.results.result(answered, "transcript", area, transcript.context)

    async def _respond_text(self, transcript: Transcript, area: str | None,
                            conn: Connection) -> UnderstandingResult:
        """Send the answer; the result as answered (for MQTT)."""
        turn = _turn(transcript.context)
        understood = await self.understander.understand_text(
            transcript.text, area, transcript.language, turn=turn)
        result = guard(conn, understood, self.understander)
        context = _context(result, area)
        if result.conversation_id or turn.conversation_id:
            context["conversation_id"] = result.conversation_id or turn.conversation_id
        if result.intent is None and result.continue_conversation:
            context["continue_conversation"] = True  # "Did you mean …?": nothing was done
            await conn.send(Handled(text=result.reply, context=context).event())
            return _as_answered(result, result.reply, context)
        elif result.intent is None and _answerable(self.answers, understood):
            # Not a command: the answerer's words, which Home Assistant speaks and acts on
            # nothing for (`handled`); an apology when it had none (`not-handled`).
            context.update(await _answer(self.answers, understood, self.understander, area,
                                         turn.conversation_id))
            answer = context.pop("text")
            event = Handled if context.get("answered_by") else NotHandled
            await conn.send(event(text=answer, context=context).event())
            return _as_answered(result, answer, context)
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
        return _as_answered(result, result.reply, context)

    async def _handle_intent(self, intent: Intent, conn: Connection) -> None:
        area = area_from_context(self.understander.home, intent.context)
        answered = await self._carry_out(intent, area, conn)
        self.results.result(answered, "intent", area, intent.context)

    async def _carry_out(self, intent: Intent, area: str | None,
                         conn: Connection) -> UnderstandingResult:
        """Send what became of the intent; the result as carried out (for MQTT)."""
        language = self.understander.config.intents.language_code
        call = ToolCall(intent.name, {e.name: e.value for e in intent.entities})
        engine = self.understander.engine
        assert engine is not None
        loop = asyncio.get_running_loop()
        decision = await loop.run_in_executor(None, partial(engine.decide_tool_call, call, area))
        if decision is None or decision.match is None:
            sorry = f"Sorry, I can't do {intent.name} with that"
            await conn.send(NotHandled(text=sorry, context={"area": area} if area else None)
                            .event())
            return UnderstandingResult(intent.text or "", language, reply=sorry)
        result = UnderstandingResult(
            intent.text or "", language,
            IntentResult(decision.match.intent, dict(decision.match.slots)),
            [e.id for e in decision.resolution.targets], decision.reply, decision.confidence,
            understood=decision.match.text or intent.text or "")
        result = guard(conn, result, self.understander)
        if result.intent is None:
            await conn.send(NotHandled(text=result.reply, context={"area": area} if area
                                       else None).event())
            return result
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
        return result
