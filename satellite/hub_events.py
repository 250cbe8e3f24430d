"""The events the satellite sends the hub and what it reads from the hub's answers.

Why lenient on reading: a field the satellite cannot use (a result without a usable
conversation id, a run-end whose error is a bare string from another hub: voxhub.protocol's
run_error_of) must cost at most
that field, never the run: the command was still answered, the run still ended. The shapes
themselves are voxhub/protocol's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wyoming.event import Event
from wyoming.pipeline import PipelineStage

from voxhub.protocol import (
    EventType,
    IntentResultEvent,
    SatelliteInfo,
    SatelliteRunPipeline,
    SndFormat,
    WyomingType,
)

_LOGGER = logging.getLogger(__name__)

#: Events of a reply that may still be in flight after the satellite interrupted it.
REPLY_TAIL = frozenset({WyomingType.AUDIO_START, WyomingType.AUDIO_CHUNK,
                        WyomingType.AUDIO_STOP, WyomingType.SYNTHESIZE, EventType.RUN_END})


def asks(text: object) -> bool:
    """Whether a reply ends with a question (closing quotes aside; "？" too)."""
    return isinstance(text, str) and text.rstrip().rstrip("\"'»”)").endswith(("?", "？"))


@dataclass
class Asked:
    """What the last reply asked of the user: a follow-up is due if it ends in a question or
    its result said continue_conversation; `conversation_id` goes with the follow-up."""

    question: bool = False
    continues: bool = False
    conversation_id: str | None = None

    @property
    def due(self) -> bool:
        return self.question or self.continues


def asked_by(event: Event) -> Asked:
    """The follow-up an intent-result asks for; nothing if the result is malformed."""
    try:
        result = IntentResultEvent.from_event(event).result
    except ValueError as err:
        _LOGGER.warning("intent-result not understood (no follow-up): %s", err)
        return Asked()
    return Asked(asks(result.reply), bool(result.continue_conversation),
                 result.conversation_id or None)


def run_pipeline(name: str, area: str | None, reply_rate: int, wake_word: str | None,
                 conversation_id: str | None = None, follow_up_s: float | None = None,
                 endpointing: dict[str, float | bool] | None = None) -> Event:
    """A command's run: from speech (ASR) to the spoken reply (TTS), in the speaker's rate.
    `follow_up_s`: a follow-up, which the satellite gives up after that long with nothing
    said: the hub must not give up first. `endpointing` is added as it is."""
    fields: dict[str, float | bool] = {}
    if follow_up_s is not None:
        fields["no_speech_s"] = min(60.0, max(1.0, follow_up_s + 1.0))
    return SatelliteRunPipeline(
        start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS, wake_word_name=wake_word,
        satellite=SatelliteInfo(name, area), snd_format=SndFormat(reply_rate, 2, 1),
        conversation_id=conversation_id, endpointing={**fields, **(endpointing or {})}).event()


# wyoming's own fields, read leniently: a hub event the satellite cannot fully use still counts.

def text_of(event: Event) -> str:
    """A transcript's or a synthesize's text; "" when it has none."""
    return str((event.data or {}).get("text", ""))


def error_of(event: Event) -> tuple[object, object]:
    """(text, code) of a hub's `error`, None for what it lacks."""
    data = event.data or {}
    return data.get("text"), data.get("code")


def reply_format(event: Event, default_rate: int) -> tuple[int, int, int]:
    """(rate, width, channels) of a reply's audio-start; what is missing: the speaker's rate,
    16-bit mono. A value that is no number raises (the hub client skips the event)."""
    data = event.data or {}
    return (int(data.get("rate", default_rate)), int(data.get("width", 2)),
            int(data.get("channels", 1)))
