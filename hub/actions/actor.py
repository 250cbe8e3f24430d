"""Who carries out a recognized intent (`intents.act`), and the reply that says what happened.

- `HomeAssistantActor`: every intent goes to Home Assistant's intent API with the satellite's area
  as `preferred_area_id` (what Home Assistant's own satellites pass), and the reply is rewritten
  from Home Assistant's answer: its speech when it has one, the hub's reply when Home Assistant
  confirmed the targets, an honest apology naming the reason otherwise.
- `MqttActor`: the satellite publishes the intent on MQTT and the home's automations act on it.
  The hub cannot know whether one did, so the reply says that the command was handed on and
  repeats it as understood ("Sent to your automations: turn on the kitchen lights"), never
  "Turned on the light"; an automation that acts speaks its own confirmation through the
  satellite's `say` topic. Timers, which no actor runs, are handed on the same way.
- `NoActor`: nobody acts; the reply says so instead of claiming the action.

Every actor fills `UnderstandingResult.action`, which the satellite publishes on its `intent`
topic, so an automation always knows whether the command was carried out, by whom, and how.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import replace

from hub.actions.home_assistant import HomeAssistantIntents, IntentAnswer
from hub.config import HubConfig
from hub.intents import phrases
from hub.intents.engine import IntentEngine
from hub.intents.home import Home
from hub.intents.targets import UNTARGETED
from voxhub.configfile import ConfigError
from voxhub.result import ActionOutcome, ActionStatus, UnderstandingResult

_LOGGER = logging.getLogger(__name__)

#: Intents the hub answers itself: nothing in the house is involved.
ANSWERED_BY_HUB = frozenset({"HassGetCurrentTime", "HassGetCurrentDate", "HassNevermind",
                             "HassRespond"})
#: Questions about the home that the hub answers from its home model when Home Assistant does
#: not act (with Home Assistant the model's states are Home Assistant's live states anyway).
QUERIES = frozenset({"HassGetState", "HassClimateGetTemperature", "HassGetWeather",
                     "HassTimerStatus", "HassGetTodoItems"})
#: Timers belong to the satellite that started them; Home Assistant only runs timers for
#: devices registered with it, so these are published on the satellite's MQTT topic.
TIMERS = frozenset(name for name in UNTARGETED if "Timer" in name)


class Actor(ABC):
    """Carries out one recognized intent and fills in `result.action` and an honest reply."""

    by = "none"
    #: Whether questions about the home (QUERIES) are answered from the hub's home model
    #: rather than handed on: true where Home Assistant does not act (an automation acts on
    #: commands, or nobody does), so a state question is still answered.
    answers_from_home_model = False

    async def carry_out(self, result: UnderstandingResult, engine: IntentEngine,
                        area: str | None = None) -> UnderstandingResult:
        """`result` with `action` filled in and, where needed, an honest reply; `engine`
        gives the home model (names of targets) and the language's phrases."""
        if result.intent is None:
            return replace(result, action=ActionOutcome("none", ActionStatus.NOT_UNDERSTOOD))
        name = result.intent.name
        if name in ANSWERED_BY_HUB:
            return replace(result, action=ActionOutcome("hub", ActionStatus.ANSWERED, True))
        if self.answers_from_home_model and name in QUERIES:
            return replace(result, action=ActionOutcome("hub", ActionStatus.ANSWERED, True,
                                                        list(result.targets)))
        return await self._act(result, engine, area)

    @abstractmethod
    async def _act(self, result: UnderstandingResult, engine: IntentEngine,
                   area: str | None) -> UnderstandingResult:
        """Carry out `result.intent` (never None here)."""

    async def close(self) -> None:
        """Release connections at shutdown."""


class MqttActor(Actor):
    by = "mqtt"
    answers_from_home_model = True

    async def _act(self, result: UnderstandingResult, engine: IntentEngine,
                   area: str | None) -> UnderstandingResult:
        return published(result, engine, list(result.targets))


class NoActor(Actor):
    by = "none"
    answers_from_home_model = True

    async def _act(self, result: UnderstandingResult, engine: IntentEngine,
                   area: str | None) -> UnderstandingResult:
        return replace(result, reply=phrases.phrase(engine.grammar.language, "nothing_acts"),
                       action=ActionOutcome("none", ActionStatus.NOT_CARRIED_OUT,
                                            error="intents.act is none"))


#: What NoActor says in English (other languages: `hub.intents.phrases`).
NOTHING_ACTS = phrases.PHRASES["en"]["nothing_acts"]


class HomeAssistantActor(Actor):
    by = "home_assistant"

    def __init__(self, intents: HomeAssistantIntents) -> None:
        self.intents = intents

    async def _act(self, result: UnderstandingResult, engine: IntentEngine,
                   area: str | None) -> UnderstandingResult:
        assert result.intent is not None
        name = result.intent.name
        if name in TIMERS:
            return published(result, engine)
        slots = dict(result.intent.slots)
        area_obj = engine.home.find_area(area)
        if area_obj is not None and "area" not in slots:
            # Home Assistant's own satellites pass their area this way: "turn on the lights"
            # means this room's, a name means that entity wherever it is.
            slots["preferred_area_id"] = area_obj.id
        answer = await self.intents.handle(name, slots, targeted=name not in UNTARGETED)
        if answer.status is ActionStatus.DONE:
            action = ActionOutcome(self.by, ActionStatus.DONE, True, answer.success,
                                   answer.failed)
            return replace(result, reply=answer.speech or result.reply, action=action)
        _LOGGER.warning("Home Assistant did not carry out %s %s: %s", name, slots, answer.error)
        action = ActionOutcome(self.by, answer.status, False, answer.success, answer.failed,
                               answer.error)
        return replace(result, reply=failure_reply(answer, result, engine), action=action)

    async def close(self) -> None:
        await self.intents.close()


def published(result: UnderstandingResult, engine: IntentEngine,
              targets: list[str] | None = None) -> UnderstandingResult:
    """`result` handed on to the home's automations over MQTT: nobody has confirmed anything,
    so the reply repeats the command as understood instead of claiming that it was done."""
    sentence = (result.understood or result.text).strip().rstrip(".!?")
    return replace(result, reply=phrases.phrase(engine.grammar.language, "published",
                                                sentence=sentence),
                   action=ActionOutcome("mqtt", ActionStatus.PUBLISHED, False, targets or []))


def failure_reply(answer: IntentAnswer, result: UnderstandingResult,
                  engine: IntentEngine) -> str:
    """What to say when Home Assistant did not carry a command out: never that it did.

    It names the reason and the devices, in the home's language (`hub.intents.phrases`); a
    language without the hub's sentences says its own Home Assistant phrase for a failed
    command (`handle_error`) rather than English."""
    language = engine.grammar.language
    if phrases.table_language(language) == "en" and not language.lower().startswith("en"):
        return engine.grammar.error_responses.get("handle_error") or answer.speech or "Error"
    home: Home = engine.home
    if answer.status is ActionStatus.UNREACHABLE and answer.uncertain:
        return phrases.phrase(language, "ha_no_answer")
    if answer.status is ActionStatus.UNREACHABLE:
        return phrases.phrase(language, "ha_unreachable")
    ids = answer.failed or result.targets
    names = [entity.name for entity_id in ids if (entity := home.entity(entity_id)) is not None]
    if names:
        return phrases.phrase(language, "ha_failed_for", names=phrases.listing(language, names))
    return phrases.phrase(language, "ha_failed")


def resolve_act(act: str, home_assistant_known: bool) -> str:
    """`intents.act: auto` → home_assistant when the hub knows Home Assistant, else mqtt."""
    if act == "auto":
        return "home_assistant" if home_assistant_known else "mqtt"
    return act


def create_actor(config: HubConfig) -> Actor:
    """The actor `intents.act` names; a choice that cannot work stops start-up by its key."""
    ha = config.home_assistant
    act = resolve_act(config.intents.act, ha.enabled)
    if act == "home_assistant":
        if not ha.enabled:
            raise ConfigError("intents.act: home_assistant needs home_assistant.url and a token "
                              "(or the add-on's Supervisor); use mqtt or none without it")
        return HomeAssistantActor(HomeAssistantIntents(
            ha.api_url("intent/handle"), ha.resolve_token(), ha.action_timeout_s))
    return MqttActor() if act == "mqtt" else NoActor()
