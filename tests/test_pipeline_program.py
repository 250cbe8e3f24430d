"""The hub's pipeline endpoint, spoken to over TCP like a satellite, with real Whisper, intents and
Kokoro behind it."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.ping import Ping
from wyoming.pipeline import PipelineStage, RunPipeline

from rehearsal.speech import espeak, silence, speech_bounds
from tests.plugins.pipeline import run_command
from voxhub.audio import pcm_to_float
from voxhub.result import UnderstandingResult


async def test_a_spoken_command_gets_its_intent_and_a_streamed_reply(pipeline_hub,
                                                                     kitchen_command):
    log = await run_command(pipeline_hub.uri, kitchen_command)
    types = log.types()
    order = ["voice-started", "voice-stopped", "transcript", "intent-result", "synthesize",
             "audio-start", "audio-chunk", "audio-stop", "run-end"]
    assert [t for t in order if t in types] == order
    assert types.index("audio-stop") == len(types) - 2 and types[-1] == "run-end"
    assert [types.index(t) for t in order] == sorted(types.index(t) for t in order)

    result = UnderstandingResult.from_dict(log.first("intent-result").data)
    assert "kitchen" in result.text.lower()
    assert result.intent is not None and result.intent.name == "HassTurnOn"
    assert "light.kitchen_lights" in result.targets
    assert log.first("synthesize").data["text"] == result.reply != ""
    assert log.first("run-end").data["error"] is None

    fmt = log.audio_format
    assert (fmt["rate"], fmt["width"], fmt["channels"]) == (24000, 2, 1)
    reply = pcm_to_float(bytes(log.audio), 2, 1)
    assert len(reply) / 24000 > 0.5 and float(np.abs(reply).max()) > 0.1


async def test_the_reply_comes_at_the_rate_the_satellite_asked_for(pipeline_hub,
                                                                   kitchen_command):
    log = await run_command(pipeline_hub.uri, kitchen_command, rate=16000, realtime=False)
    assert log.audio_format["rate"] == 16000
    chunks = [e for _, e in log.events if e.type == "audio-chunk"]
    assert all(c.data["rate"] == 16000 for c in chunks)
    seconds = len(log.audio) / 2 / 16000
    assert 0.5 < seconds < 6.0


async def test_the_satellite_area_is_the_default_area_of_its_commands(pipeline_hub):
    audio = np.concatenate([silence(0.3), espeak("turn on the lights"),
                            silence(1.5)])
    log = await run_command(pipeline_hub.uri, audio, name="bedroom-sat", area="Bedroom",
                            realtime=False)
    result = UnderstandingResult.from_dict(log.first("intent-result").data)
    assert result.intent is not None and result.intent.name == "HassTurnOn"
    assert any(target.startswith("light.bed") for target in result.targets)
    assert not any("kitchen" in target for target in result.targets)


async def test_a_complete_command_is_answered_before_the_full_silence(pipeline_hub,
                                                                      kitchen_command):
    """Early answer: the partial transcript after a short pause is already a whole command."""
    slow = {"endpointing": {"early_answer": False, "silence_s": 1.5}}
    early = await run_command(pipeline_hub.uri, kitchen_command)
    late = await run_command(pipeline_hub.uri, kitchen_command, extra=slow)
    assert early.first("run-end").data["timings_ms"]["early_answer"] == 1.0
    assert late.first("run-end").data["timings_ms"]["early_answer"] == 0.0

    def stopped_after_speech(log):
        return log.time_of("voice-stopped") - log.last_voiced_sent

    assert stopped_after_speech(late) >= 1.5
    assert stopped_after_speech(early) < stopped_after_speech(late) - 0.5
    # Both understood the same command.
    intents = [UnderstandingResult.from_dict(log.first("intent-result").data).intent
               for log in (early, late)]
    assert intents[0] == intents[1] and intents[0] is not None


async def test_audio_in_another_format_is_converted(pipeline_hub, kitchen_command):
    log = await run_command(pipeline_hub.uri, kitchen_command, in_rate=48000, realtime=False)
    result = UnderstandingResult.from_dict(log.first("intent-result").data)
    assert result.intent is not None and result.intent.name == "HassTurnOn"


async def test_silence_ends_the_run_with_a_no_speech_error(pipeline_hub):
    log = await run_command(pipeline_hub.uri, silence(3.0), realtime=False,
                            extra={"endpointing": {"no_speech_s": 1.0}})
    assert "voice-stopped" in log.types()
    assert log.first("error").data["code"] == "no-speech"
    assert log.first("run-end").data["error"]["code"] == "no-speech"
    assert "intent-result" not in log.types()


async def test_an_announcement_run_speaks_the_text(pipeline_hub):
    client = AsyncClient.from_uri(pipeline_hub.uri)
    await client.connect()
    try:
        run = RunPipeline(start_stage=PipelineStage.TTS, end_stage=PipelineStage.TTS,
                          announce_text="Dinner is ready.").event()
        run.data["snd_format"] = {"rate": 22050, "width": 2, "channels": 2}
        await client.write_event(run)
        events = []
        while not events or events[-1].type != "run-end":
            events.append(await asyncio.wait_for(client.read_event(), 60))
    finally:
        await client.disconnect()
    types = [e.type for e in events]
    assert types[0] == "synthesize" and events[0].data["text"] == "Dinner is ready."
    assert types[1] == "audio-start" and events[1].data["channels"] == 2
    audio = b"".join(e.payload or b"" for e in events if e.type == "audio-chunk")
    assert len(audio) / 4 / 22050 > 0.5
    assert events[-1].data["error"] is None


async def test_bad_requests_get_an_error_and_the_connection_lives_on(pipeline_hub):
    client = AsyncClient.from_uri(pipeline_hub.uri)
    await client.connect()
    try:
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        first = await asyncio.wait_for(client.read_event(), 10)
        assert first.type == "error" and first.data["code"] == "no-run"

        await client.write_event(Event("run-pipeline", {"start_stage": "wake",
                                                        "end_stage": "tts"}))
        second = await asyncio.wait_for(client.read_event(), 10)
        assert second.type == "error" and "start_stage" in second.data["text"]

        bad_format = RunPipeline(start_stage=PipelineStage.ASR,
                                 end_stage=PipelineStage.TTS).event()
        bad_format.data["snd_format"] = {"rate": 24000, "width": 3, "channels": 1}
        await client.write_event(bad_format)
        third = await asyncio.wait_for(client.read_event(), 10)
        assert third.type == "error" and "width" in third.data["text"]

        await client.write_event(Ping(text="still there?").event())
        pong = await asyncio.wait_for(client.read_event(), 10)
        assert pong.type == "pong" and pong.data["text"] == "still there?"
    finally:
        await client.disconnect()


async def test_a_satellite_that_vanishes_mid_run_frees_its_run(pipeline_hub, kitchen_command):
    program = pipeline_hub.program
    client = AsyncClient.from_uri(pipeline_hub.uri)
    await client.connect()
    run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
    run.data["satellite"] = {"name": "flaky", "area": "Kitchen"}
    await client.write_event(run)
    chunk = (kitchen_command[:16000] * 32767).astype("<i2").tobytes()
    await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=chunk).event())
    deadline = time.monotonic() + 10
    while program.active_runs == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert program.active_runs == 1
    await client.disconnect()
    while (program.active_runs or pipeline_hub.endpoint.connections) \
            and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert program.active_runs == 0
    assert not pipeline_hub.endpoint.connections


async def test_many_satellites_run_at_once(pipeline_hub, kitchen_command):
    other = np.concatenate([silence(0.4), espeak("turn off the garden lights"),
                            silence(2.0)])
    runs = [run_command(pipeline_hub.uri, audio, name=f"sat{i}", area=None)
            for i, audio in enumerate([kitchen_command, other] * 2)]
    logs = await asyncio.gather(*runs)
    for i, log in enumerate(logs):
        result = UnderstandingResult.from_dict(log.first("intent-result").data)
        expected = "HassTurnOn" if i % 2 == 0 else "HassTurnOff"
        assert result.intent is not None and result.intent.name == expected, result
        assert log.first("run-end").data["error"] is None
        assert len(log.audio) > 24000


def test_speech_bounds_helper_finds_the_words(kitchen_command):
    """The latency clock of these tests starts at the last voiced sample: check the helper."""
    start, end = speech_bounds(kitchen_command)
    assert 0.45 < start < 0.6 and end < len(kitchen_command) / 16000 - 1.9
