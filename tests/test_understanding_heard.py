"""Home Assistant's path decides as the hub's own pipeline: the hypotheses behind a transcript.

Home Assistant sends audio to the hub's speech-to-text program, then the transcript it got back
to the hub's conversation agent: one sentence, where the pipeline decides with five hypotheses
and the recognizer's confidence. The hub keeps what it heard for each text it handed out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.intent import Intent, Recognize

from hub.asr.base import Transcription
from hub.asr.recent import RecentTranscriptions
from tests.test_understanding_wyoming import audio_events, exchange
from voxhub.audio import float_to_pcm16


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def heard(text: str, *more: str, confidence: float = 0.6) -> Transcription:
    return Transcription(text, "en", confidence, [text, *more])


# ---- the store ------------------------------------------------------------------------------

def test_a_transcription_is_found_under_every_text_handed_out_and_only_once() -> None:
    recent = RecentTranscriptions()
    recent.remember(heard("Turn of the desk lamb.", "Turn off the desk lamp."),
                    "Turn of the desk lamb.", "turn off the desk lamp")
    found = recent.take("Turn off the desk lamp")  # casing and punctuation aside
    assert found is not None and found.hypotheses[1] == "Turn off the desk lamp."
    assert found.confidence == 0.6
    assert recent.take("Turn of the desk lamb.") is None  # taken under both texts at once
    assert len(recent) == 0


@pytest.mark.parametrize("other", ["turn off the desk", "please turn off the desk lamp now",
                                   "turn on the desk lamp", ""])
def test_only_exactly_the_text_handed_out_finds_it(other: str) -> None:
    recent = RecentTranscriptions()
    recent.remember(heard("turn off the desk lamp"))
    assert recent.take(other) is None
    assert recent.take("turn off the desk lamp") is not None


def test_transcriptions_expire_and_the_store_stays_bounded() -> None:
    clock = Clock()
    recent = RecentTranscriptions(max_entries=3, max_age_s=30.0, clock=clock)
    for i in range(5):
        recent.remember(heard(f"set the volume to {i}"))
    assert len(recent) == 3  # the oldest went first
    assert recent.take("set the volume to 0") is None
    assert recent.take("set the volume to 4") is not None
    clock.now += 31.0
    assert len(recent) == 0 and recent.take("set the volume to 3") is None


def test_nothing_heard_is_not_kept() -> None:
    recent = RecentTranscriptions()
    recent.remember(heard(""), "")
    recent.remember(Transcription("  ", "en"))
    assert len(recent) == 0
    with pytest.raises(ValueError, match="max_entries"):
        RecentTranscriptions(max_entries=0)


def test_text_coming_back_is_decided_with_all_hypotheses(text_understander: Any) -> None:
    slip = heard("Commute.", "Mute.", "Commute,", "Mute,")
    alone = asyncio.run(text_understander.understand_text("Commute.", "living_room"))
    assert alone.intent is None  # the first hypothesis alone is not a command
    text_understander.recent.remember(slip)
    back = asyncio.run(text_understander.understand_text("Commute.", "living_room"))
    assert back.intent is not None and back.intent.name == "HassMediaPlayerMute"
    assert back.confidence < 1.0  # the second hypothesis, not what was handed on
    again = asyncio.run(text_understander.understand_text("Commute.", "living_room"))
    assert again.intent is None  # a second request for the same text is decided as sent


# ---- over the real Wyoming client, with Whisper -----------------------------------------------

#: Commands spoken by espeak-ng that Whisper tiny.en heard wrong as its first hypothesis ("Light
#: Song", "Commute", "It is the best lamp on") and right further down, in the area they are
#: said in. Which of them slip depends on the model; the test asks that at least one does.
SLIPPING = [("lights on", "living_room"), ("mute", "living_room"),
            ("is the desk lamp on", "office"), ("skip", "living_room")]


def _as_sent(audio: np.ndarray) -> np.ndarray:
    """The audio as the hub receives it over Wyoming (16-bit PCM)."""
    return np.frombuffer(float_to_pcm16(audio), dtype="<i2").astype(np.float32) / 32768.0


def _decision(name: str | None, slots: dict[str, Any], confidence: float) -> tuple[Any, ...]:
    return name, {k: str(v).casefold() for k, v in slots.items()}, round(confidence, 3)


def pipeline_key(result: Any) -> tuple[Any, ...]:
    return (result.intent.name, tuple(sorted((k, str(v).casefold())
                                             for k, v in result.intent.slots.items())))


async def test_speech_to_text_then_recognize_decides_as_the_hubs_pipeline(
        understanding_hub: Any, understander: Any, spoken: Any) -> None:
    slipped = []
    for said, area in SLIPPING:
        audio = spoken(said)
        pipeline = await understander.understand_audio(_as_sent(audio), area)
        event = await exchange(understanding_hub.uri,
                               [Transcribe(language="en").event(), *audio_events(audio)],
                               "transcript")
        text = Transcript.from_event(event).text
        answer = await exchange(understanding_hub.uri, [Recognize(
            text=text, context={"area": area}).event()], "*")
        if pipeline.intent is None:
            assert answer.type == "not-recognized", (said, text, answer)
            continue
        assert answer.type == "intent", (said, text, pipeline, answer)
        intent = Intent.from_event(answer)
        got = _decision(intent.name, {e.name: e.value for e in intent.entities},
                        intent.context["confidence"])
        assert got == _decision(pipeline.intent.name, pipeline.intent.slots,
                                pipeline.confidence), (said, text)
        alone = understander.engine.decide([text], area)  # the text without its hypotheses
        if alone.match is None or alone.match.key() != pipeline_key(pipeline):
            slipped.append(said)
    assert slipped, "no command slipped in its first hypothesis: the test proves nothing"


async def test_a_transcript_handed_to_the_conversation_agent_uses_the_hypotheses(
        understanding_hub: Any, understander: Any, spoken: Any) -> None:
    for said, area in SLIPPING:
        audio = spoken(said)
        event = await exchange(understanding_hub.uri,
                               [Transcribe(language="en").event(), *audio_events(audio)],
                               "transcript")
        text = Transcript.from_event(event).text
        if understander.engine.decide([text], area).match is not None:
            continue  # heard right the first time: nothing to show here
        answer = await exchange(understanding_hub.uri, [Transcript(
            text=text, context={"area": area, "conversation_id": "c7"}).event()], "*")
        assert answer.type == "intent", (said, text, answer)
        assert Intent.from_event(answer).context["conversation_id"] == "c7"
        return
    pytest.fail("no command slipped in its first hypothesis: the test proves nothing")
