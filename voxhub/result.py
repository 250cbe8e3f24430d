"""The result of understanding one spoken command.

One dataclass shared by `voxhub understand --json`, the hub's pipeline and the satellite's MQTT
`intent` topic, so that all three always publish the same shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


@dataclass
class IntentResult:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)


class ActionStatus(StrEnum):
    """What became of a recognized intent, as the MQTT `intent` message reports it."""

    #: Home Assistant carried it out (its answer named the entities it acted on).
    DONE = "done"
    #: Home Assistant answered that it could not (no such entity, an error, a refused token).
    FAILED = "failed"
    #: Home Assistant did not answer in time or could not be reached: nothing was changed.
    UNREACHABLE = "unreachable"
    #: Nothing to carry out: the hub answered it itself (the time, the date, "never mind").
    ANSWERED = "answered"
    #: Published on MQTT for the home's automations to act on (`intents.act: mqtt`, and timers,
    #: which no actor runs): nobody has confirmed that anything happened, and the reply says so.
    PUBLISHED = "published"
    #: Nobody is configured to act (`intents.act: none`).
    NOT_CARRIED_OUT = "not_carried_out"
    #: No intent was recognized, so nothing was attempted.
    NOT_UNDERSTOOD = "not_understood"


@dataclass
class ActionOutcome:
    """Who carried out a recognized intent and what happened.

    A voice assistant that says it did something it did not do is the worst failure it can have,
    so every result says plainly whether the house changed: `carried_out` is true only when the
    actor confirmed it (Home Assistant named the entities it acted on)."""

    by: str
    """`home_assistant`, `mqtt`, `hub` (answered itself) or `none`."""
    status: ActionStatus
    carried_out: bool = False
    #: Entities the actor reports having acted on (or answered about).
    targets: list[str] = field(default_factory=list)
    #: Entities the actor reports it could not act on.
    failed: list[str] = field(default_factory=list)
    #: Why it failed, in words (Home Assistant's message, the HTTP status, the network error).
    error: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionOutcome:
        return cls(by=str(data.get("by", "none")), status=ActionStatus(str(data.get("status"))),
                   carried_out=bool(data.get("carried_out", False)),
                   targets=list(data.get("targets") or []),
                   failed=list(data.get("failed") or []),
                   error=data.get("error"))


@dataclass
class UnderstandingResult:
    text: str
    language: str
    intent: IntentResult | None = None
    targets: list[str] = field(default_factory=list)
    reply: str = ""
    confidence: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: What became of the intent; None until an actor has seen it (`voxhub understand`).
    action: ActionOutcome | None = None
    #: Who gave the reply when it is a free-form answer rather than a home intent
    #: (`openai`, `home_assistant`, `recognizer`); None for an intent or a "Sorry". Automations
    #: tell answers from commands by this field.
    answered_by: str | None = None
    #: The conversation this result belongs to: carried to the answerer and back by the satellite
    #: when it listens again, so that a follow-up or a yes/no is understood in context.
    conversation_id: str | None = None
    #: The reply asks something ("Did you mean …?", an answer that wants more): the satellite
    #: listens again for a few seconds without the wake word.
    continue_conversation: bool = False
    #: The command as the hub understood it: the sentence matched, which after a repair is what
    #: the misheard words were taken for ("turn on the kitchen lights" for "turn on the kitchen
    #: lice"); empty when no intent was recognized. An honest reply repeats it.
    understood: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.action is not None:
            data["action"]["status"] = self.action.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnderstandingResult:
        intent = data.get("intent")
        return cls(
            text=str(data.get("text", "")),
            language=str(data.get("language", "")),
            intent=(IntentResult(intent["name"], dict(intent.get("slots") or {}))
                    if intent else None),
            targets=list(data.get("targets") or []),
            reply=str(data.get("reply", "")),
            confidence=float(data.get("confidence", 0.0)),
            understood=str(data.get("understood") or ""),
            timings_ms={k: float(v) for k, v in (data.get("timings_ms") or {}).items()},
            action=(ActionOutcome.from_dict(data["action"])
                    if isinstance(data.get("action"), dict) else None),
            answered_by=data.get("answered_by"),
            conversation_id=data.get("conversation_id"),
            continue_conversation=bool(data.get("continue_conversation", False)),
        )
