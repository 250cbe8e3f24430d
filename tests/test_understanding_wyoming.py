"""The hub as Home Assistant's speech-to-text and conversation agent, through the wyoming client."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Entity, Intent, NotRecognized, Recognize

from voxhub.audio import float_to_pcm16


async def exchange(uri: str, events: list[Event], answer_type: str,
                   timeout: float = 60.0) -> Event:
    async with AsyncClient.from_uri(uri) as client:
        for event in events:
            await client.write_event(event)
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout)
            assert event is not None, "connection closed"
            if event.type in (answer_type, "error") or answer_type == "*":
                return event


def audio_events(audio: np.ndarray, rate: int = 16000, chunk: int = 3200) -> list[Event]:
    pcm = float_to_pcm16(audio)
    events = [AudioStart(rate=rate, width=2, channels=1).event()]
    for i in range(0, len(pcm), chunk * 2):
        events.append(AudioChunk(rate=rate, width=2, channels=1,
                                 audio=pcm[i:i + chunk * 2]).event())
    events.append(AudioStop().event())
    return events


async def test_describe_advertises_asr_intent_and_handle(understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri, [Describe().event()], "info")
    info = Info.from_event(event)
    languages = info.asr[0].models[0].languages
    # Whisper's own code first; then what Home Assistant's /api/stt passes on, which it
    # compares with the advertised list verbatim (en-US would otherwise be refused with 415).
    assert languages[0] == "en" and {"en-US", "en_US", "en-us", "en-GB"} <= set(languages)
    assert {tag.split("-")[0].split("_")[0] for tag in languages} == {"en"}
    assert info.asr[0].supports_transcript_streaming is False
    for program in (info.intent[0], info.handle[0]):
        # The conversation agent is picked by the pipeline's language, compared verbatim.
        assert program.name == "voxhub conversation"
        assert program.models[0].languages[0] == "en"
        assert {"en-US", "en_US", "en-us"} <= set(program.models[0].languages)


async def test_transcribe_then_audio_gives_a_transcript(understanding_hub: Any,
                                                        spoken: Any) -> None:
    events = [Transcribe(language="en").event(), *audio_events(spoken("turn on the kitchen "
                                                                      "lights"))]
    event = await exchange(understanding_hub.uri, events, "transcript")
    transcript = Transcript.from_event(event)
    assert "kitchen lights" in transcript.text.lower()
    assert transcript.language == "en"


@pytest.mark.parametrize("language", ["en-US", "en_US", "en-us"])
async def test_transcribe_takes_the_language_as_home_assistant_writes_it(
        understanding_hub: Any, spoken: Any, language: str) -> None:
    events = [Transcribe(language=language).event(),
              *audio_events(spoken("turn on the kitchen lights"))]
    transcript = Transcript.from_event(await exchange(understanding_hub.uri, events,
                                                      "transcript"))
    assert "kitchen lights" in transcript.text.lower()
    assert transcript.language == "en"


async def test_the_speech_to_text_program_reads_well_as_a_home_assistant_title(
        understanding_hub: Any) -> None:
    info = Info.from_event(await exchange(understanding_hub.uri, [Describe().event()], "info"))
    # Home Assistant titles the integration after the first speech-to-text program.
    assert info.asr[0].name == "voxhub"
    assert "Whisper" in info.asr[0].description


async def test_transcribe_accepts_8khz_stereo(understanding_hub: Any, spoken: Any) -> None:
    from voxhub.audio import resample

    mono = resample(spoken("open the garage door"), 16000, 8000)
    pcm = float_to_pcm16(np.stack([mono, mono], axis=1).reshape(-1))
    events = [Transcribe().event(), AudioStart(rate=8000, width=2, channels=2).event(),
              AudioChunk(rate=8000, width=2, channels=2, audio=pcm).event(),
              AudioStop().event()]
    event = await exchange(understanding_hub.uri, events, "transcript")
    assert "garage door" in Transcript.from_event(event).text.lower()


async def test_recognize_returns_the_intent_with_its_slots(understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri, [Recognize(
        text="turn on the lights", context={"area": "kitchen"}).event()], "intent")
    intent = Intent.from_event(event)
    assert intent.name == "HassTurnOn"
    assert {e.name: e.value for e in intent.entities} == {"domain": "light", "area": "kitchen"}
    assert intent.text == "Turned on the lights"
    assert sorted(intent.context["targets"]) == ["light.kitchen_counter",
                                                 "light.kitchen_lights"]


async def test_recognize_nonsense_is_not_recognized(understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri,
                           [Recognize(text="what's the capital of France").event()],
                           "not-recognized")
    assert NotRecognized.from_event(event).text.startswith("Sorry")


async def test_handle_a_transcript_answers_with_the_intent_for_home_assistant_to_carry_out(
        understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri, [Transcript(
        text="is the front door locked", context={"conversation_id": "c1"}).event()], "*")
    assert event.type == "intent"  # Home Assistant runs its own handler, nothing is claimed here
    intent = Intent.from_event(event)
    assert intent.name == "HassGetState"
    assert {e.name: e.value for e in intent.entities}["name"] == "Front Door"
    assert intent.text == "Yes"  # what Home Assistant says when its handler has no speech
    assert intent.context["conversation_id"] == "c1"
    event = await exchange(understanding_hub.uri,
                           [Transcript(text="tell me a joke").event()], "*")
    assert event.type == "not-handled"
    assert NotHandled.from_event(event).text.startswith("Sorry")


async def test_handle_a_transcript_the_hub_answers_itself_is_handled(
        understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri,
                           [Transcript(text="what time is it").event()], "*")
    assert event.type == "handled" and Handled.from_event(event).text


async def test_handle_an_intent_never_claims_an_action_nobody_carried_out(
        understanding_hub: Any) -> None:
    # This hub knows no Home Assistant: intents.act is mqtt, which only satellites publish.
    good = Intent(name="HassTurnOff", entities=[Entity(name="name", value="Desk Lamp")])
    event = await exchange(understanding_hub.uri, [good.event()], "*")
    assert event.type == "not-handled"
    assert "nothing is set up to carry it out" in NotHandled.from_event(event).text
    assert event.data["context"]["action"]["carried_out"] is False
    bad = Intent(name="HassTurnOff", entities=[Entity(name="name", value="Jacuzzi")])
    event = await exchange(understanding_hub.uri, [bad.event()], "*")
    assert event.type == "not-handled"


async def test_bad_events_get_an_error_and_the_connection_lives(understanding_hub: Any) -> None:
    async with AsyncClient.from_uri(understanding_hub.uri) as client:
        await client.write_event(Event(type="recognize", data={"context": {}}))
        error = await asyncio.wait_for(client.read_event(), 30)
        assert error.type == "error"
        await client.write_event(Recognize(text="x" * 5000).event())
        error = await asyncio.wait_for(client.read_event(), 30)
        assert error.type == "error" and "longer than" in error.data["text"]
        await client.write_event(Recognize(text="never mind").event())
        answer = await asyncio.wait_for(client.read_event(), 30)
        assert answer.type == "intent" and answer.data["name"] == "HassNevermind"


@pytest.mark.parametrize(("audio_format", "message"), [
    ({"rate": 0, "width": 2, "channels": 1}, "rate 0 outside 4000..192000"),
    ({"rate": 1, "width": 2, "channels": 1}, "rate 1 outside"),  # 16000-fold on conversion
    ({"rate": 16000, "width": 5, "channels": 1}, "width 5 outside 1..4"),
    ({"rate": 16000, "width": 2, "channels": 0}, "channels 0 outside 1..8"),
    ({"rate": "16000", "width": 2, "channels": 1}, "'rate' must be an integer"),
    ({"width": 2, "channels": 1}, "'rate' is required"),
])
async def test_audio_in_a_format_that_cannot_be_converted_is_refused(
        understanding_hub: Any, audio_format: dict[str, Any], message: str) -> None:
    async with AsyncClient.from_uri(understanding_hub.uri) as client:
        await client.write_event(Transcribe().event())
        await client.write_event(Event("audio-chunk", audio_format, payload=b"\0\1" * 2000))
        error = await asyncio.wait_for(client.read_event(), 30)
        assert error.type == "error" and message in error.data["text"]
        await client.write_event(AudioStop().event())  # the utterance itself goes on
        assert (await asyncio.wait_for(client.read_event(), 30)).type == "transcript"


async def test_audio_stop_without_audio_gets_an_error_instead_of_silence(
        understanding_hub: Any) -> None:
    event = await exchange(understanding_hub.uri, [
        AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * 640).event(),
        AudioStop().event()], "*")
    assert event.type == "error" and "audio-stop without" in event.data["text"]


@pytest.mark.parametrize(("event", "message"), [
    (Event("recognize", {"text": 5}), "'text' must be a string"),
    (Event("transcript", {"text": "turn on the light", "context": [1]}),
     "'context' must be an object"),
    (Event("intent", {"name": "HassTurnOn", "entities": ["lamp"]}), "list of objects"),
])
async def test_fields_of_the_wrong_type_are_named_in_the_error(understanding_hub: Any,
                                                               event: Event,
                                                               message: str) -> None:
    answer = await exchange(understanding_hub.uri, [event], "*")
    assert answer.type == "error" and message in answer.data["text"]
