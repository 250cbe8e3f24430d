"""Speech translation in the recognizer's one pass: a Wyoming `transcribe`'s `translate` field.

Voxtral translates into its languages (the tiny random checkpoint of tests/plugins/voxtral.py:
its words are noise, the path and the result's language are real); Whisper only into English,
with its own translate task and a multilingual model; anything else is an `error` with a code,
after which the connection goes on working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe
from wyoming.client import AsyncClient
from wyoming.event import Event

from hub.asr.base import RecognizeRequest, TranslationUnsupported
from tests.test_understanding_wyoming import audio_events


def transcribe(translate: str | None, language: str | None = None) -> Event:
    event = Transcribe(language=language).event()
    if translate is not None:
        event.data["translate"] = translate
    return event


async def answers(uri: str, requests: list[list[Event]], timeout: float = 120.0) -> list[Event]:
    """One answer (a transcript or an error) per request, on one connection."""
    found: list[Event] = []
    async with AsyncClient.from_uri(uri) as client:
        for events in requests:
            for event in events:
                await client.write_event(event)
        while len(found) < len(requests):
            event = await asyncio.wait_for(client.read_event(), timeout)
            assert event is not None, "connection closed"
            if event.type in ("transcript", "error"):
                found.append(event)
    return found


async def test_whisper_english_only_refuses_translation_with_a_code_and_goes_on(
        understanding_hub: Any, spoken: Any) -> None:
    audio = spoken("turn on the kitchen lights")
    refused, bad, heard = await answers(understanding_hub.uri, [
        [transcribe("es-ES"), *audio_events(audio)],
        [transcribe("Spanish!"), *audio_events(audio)],
        [transcribe(None), *audio_events(audio)]])
    assert refused.type == "error" and refused.data["code"] == "translate-unsupported"
    assert "English-only" in refused.data["text"]
    assert bad.type == "error" and bad.data["code"] == "bad-event"
    assert "not a language tag" in bad.data["text"]
    assert heard.type == "transcript" and "kitchen" in heard.data["text"].lower()


@pytest.fixture(scope="module")
def voxtral_hub(tiny_voxtral_dir: Path) -> Iterator[Any]:
    from hub.asr.program import AsrProgram
    from hub.config import HubConfig
    from hub.understanding import Understander
    from tests.plugins.hub import ThreadedHub
    from voxhub.configfile import from_mapping

    config = from_mapping(HubConfig, {"asr": {"backend": "voxtral", "voxtral": {
        "model": str(tiny_voxtral_dir), "max_new_tokens": 10, "device": "cpu"}}})
    understander = Understander(config)
    understander.load()
    hub = ThreadedHub([AsrProgram(understander)])
    yield hub
    hub.close()


async def test_voxtral_answers_translate_with_the_translation_in_the_target_language(
        voxtral_hub: Any, spoken: Any) -> None:
    audio = spoken("good night")
    translated, refused = await answers(voxtral_hub.uri, [
        [transcribe("fr-FR", language="en"), *audio_events(audio)],
        [transcribe("xx"), *audio_events(audio)]])
    assert translated.type == "transcript" and translated.data["language"] == "fr"
    assert refused.type == "error" and refused.data["code"] == "translate-unsupported"
    assert "translates into" in refused.data["text"] and "fr" in refused.data["text"]


@pytest.fixture(scope="module")
def whisper_base() -> Any:
    from hub.asr.config import AsrConfig
    from hub.asr.whisper import WhisperRecognizer
    from hub.config import HubConfig
    from voxhub.configfile import from_mapping

    recognizer = WhisperRecognizer(from_mapping(AsrConfig, {"model": "base"}),
                                   HubConfig().data_path)
    recognizer.load()
    return recognizer


def test_multilingual_whisper_translates_spanish_speech_into_english(
        whisper_base: Any, spoken: Any) -> None:
    audio: np.ndarray = spoken("Mi hermano tiene un perro negro.", "es")
    heard = whisper_base.transcribe(RecognizeRequest(audio, language="es"))
    translated = whisper_base.transcribe(RecognizeRequest(audio, language="es",
                                                          translate_to="en-GB"))
    assert heard.language == "es" and "hermano" in heard.text.lower()
    assert translated.language == "en"
    assert "brother" in translated.text.lower() and "hermano" not in translated.text.lower()


def test_whisper_refuses_a_translation_into_another_language_than_english(
        whisper_base: Any) -> None:
    assert whisper_base.check_translation("en-US") == "en"
    with pytest.raises(TranslationUnsupported, match="into English only, not 'es'"):
        whisper_base.check_translation("es")
    with pytest.raises(TranslationUnsupported):
        whisper_base.transcribe(RecognizeRequest(np.zeros(16000, np.float32),
                                                 translate_to="de"))
