"""Audio chunks of any byte length, odd ones included, are heard as the same words.

Home Assistant's `/api/stt` passes the HTTP body on in the pieces it arrived in; a satellite may
cut its stream anywhere too. Both reach the real hub endpoint here over the real `wyoming`
client, with real Whisper listening.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.pipeline import PipelineStage, RunPipeline

from rehearsal.speech import espeak, silence
from tests.plugins.hub import normalize_words
from voxhub.audio import float_to_pcm16
from voxhub.result import UnderstandingResult

CHUNK_SIZES = [1, 1023, 4095, 8191, 65536]


async def transcribe_in_chunks(uri: str, pcm: bytes, size: int, language: str = "en") -> str:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Transcribe(language=language).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for offset in range(0, len(pcm), size):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=pcm[offset:offset + size]).event())
        await client.write_event(AudioStop().event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 120)
            assert event is not None, "connection closed before the transcript"
            assert event.type != "error", event.data
            if Transcript.is_type(event.type):
                return normalize_words(Transcript.from_event(event).text)


@pytest.fixture(scope="module")
def reassembly_hub(understander: Any) -> Any:
    """The asr program on an endpoint whose event budget (`server.max_events_per_s`) does not
    slow a client down: 1-byte chunks are 64,000 events for this command, which the default
    budget reads at 200 a second, as it reads any flood (tests/test_hub_event_budget.py).
    Here only the reassembly is under test."""
    from hub.asr.program import AsrProgram
    from hub.endpoint import Limits
    from tests.plugins.hub import ThreadedHub

    hub = ThreadedHub([AsrProgram(understander)],
                      limits=Limits(max_events_per_s=1e6, event_burst=1_000_000))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def command_pcm(spoken: Any) -> bytes:
    return float_to_pcm16(spoken("turn on the kitchen lights"))


@pytest.fixture(scope="module")
def whole_transcript(reassembly_hub: Any, command_pcm: bytes) -> str:
    """The transcript of the command sent as one chunk: what every chunking must give."""
    return asyncio.run(transcribe_in_chunks(reassembly_hub.uri, command_pcm,
                                            len(command_pcm)))


def test_the_command_sent_whole_is_heard_right(whole_transcript: str) -> None:
    assert "kitchen lights" in whole_transcript


@pytest.mark.parametrize("size", CHUNK_SIZES)
async def test_chunks_of_any_byte_length_give_the_same_transcript(
        reassembly_hub: Any, command_pcm: bytes, whole_transcript: str, size: int) -> None:
    assert await transcribe_in_chunks(reassembly_hub.uri, command_pcm, size) \
        == whole_transcript


async def test_a_satellite_run_in_odd_chunks_understands_the_command(pipeline_hub: Any) -> None:
    audio = np.concatenate([silence(0.4), espeak("turn on the kitchen lights"),
                            silence(1.8)])
    pcm = float_to_pcm16(audio)
    async with AsyncClient.from_uri(pipeline_hub.uri) as client:
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.INTENT).event()
        run.data.update({"name": "odd-sat", "satellite": {"name": "odd-sat", "area": "Kitchen"}})
        await client.write_event(run)
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for offset in range(0, len(pcm), 1023):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=pcm[offset:offset + 1023]).event())
        await client.write_event(AudioStop().event())
        result = None
        while True:
            event = await asyncio.wait_for(client.read_event(), 120)
            assert event is not None, "connection closed before run-end"
            if event.type == "intent-result":
                result = UnderstandingResult.from_dict(event.data)
            if event.type == "run-end":
                assert event.data["error"] is None
                break
    assert result is not None
    assert "kitchen lights" in normalize_words(result.text)
    assert result.intent is not None and result.intent.name == "HassTurnOn"
