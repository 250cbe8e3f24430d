"""Barge-in on the hub: a new run on a satellite's connection stops an announcement mid-stream."""

from __future__ import annotations

import asyncio
import time

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.ping import Ping
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.tts import Synthesize

from hub.pipeline.config import PipelineConfig
from hub.pipeline.program import PipelineProgram
from hub.tts.program import TtsServerProgram
from tests.plugins.hub import ThreadedHub
from voxhub.audio import float_to_pcm16


async def test_a_new_run_stops_the_announcement_still_streaming(pipeline_understander,
                                                                synthesizer,
                                                                kitchen_command) -> None:
    hub = ThreadedHub([TtsServerProgram(synthesizer),
                       PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer)])
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            story = " ".join(f"Paragraph {i} of a long announcement about the house."
                             for i in range(40))
            await client.write_event(Synthesize(text=story).event())
            assert (await asyncio.wait_for(client.read_event(), 60)).type == "audio-start"
            # The wake word was heard again: the satellite starts a new run on the connection.
            run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
            run.data["satellite"] = {"name": "kitchen-sat", "area": "Kitchen"}
            await client.write_event(run)
            pcm = float_to_pcm16(kitchen_command)
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            for offset in range(0, len(pcm), 2048):
                await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                    audio=pcm[offset:offset + 2048]).event())
            await client.write_event(AudioStop().event())
            types, announcement_chunks, seen_run_event = [], 0, False
            while not types or types[-1] != "run-end":
                event = await asyncio.wait_for(client.read_event(), 60)
                types.append(event.type)
                seen_run_event = seen_run_event or event.type in ("voice-started", "transcript")
                if event.type == "audio-chunk" and not seen_run_event:
                    announcement_chunks += 1
            # Nothing of the announcement follows the run: it was cancelled, not just delayed.
            try:
                late = await asyncio.wait_for(client.read_event(), 3.0)
            except TimeoutError:
                late = None
            assert late is None, f"announcement kept streaming: {late.type}"
        # 40 sentences are about two minutes of speech; only what was already queued arrived.
        assert announcement_chunks * 0.1 < 20
        assert "intent-result" in types and types.count("audio-start") == 1
    finally:
        hub.close()


async def _pong_within(client: AsyncClient, limit_s: float) -> float:
    """Send a ping and read until its pong (skipping the audio still in flight); seconds taken."""
    text = f"p{time.monotonic()}"
    sent = time.monotonic()
    await client.write_event(Ping(text=text).event())
    while True:
        event = await asyncio.wait_for(client.read_event(), limit_s * 50)
        assert event is not None, "hub closed the connection"
        if event.type == "pong" and (event.data or {}).get("text") == text:
            return time.monotonic() - sent


async def test_a_connection_answers_ping_at_once_after_each_barge_in_on_an_announcement(
        pipeline_understander, synthesizer, kitchen_command) -> None:
    hub = ThreadedHub([TtsServerProgram(synthesizer),
                       PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer)])
    story = " ".join(f"Paragraph {i} of a long announcement about the house." for i in range(40))
    pcm = float_to_pcm16(kitchen_command[:16000])
    delays = []
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            for attempt in range(8):
                await client.write_event(Synthesize(text=f"{attempt}. {story}").event())
                while (await asyncio.wait_for(client.read_event(), 60)).type != "audio-chunk":
                    pass
                # Barge-in: a new run replaces the announcement, alternately from audio and
                # as a spoken announcement of its own (a run replaced by a run).
                stage = PipelineStage.ASR if attempt % 2 else PipelineStage.TTS
                run = RunPipeline(start_stage=stage, end_stage=PipelineStage.TTS,
                                  announce_text=story if stage == PipelineStage.TTS else None)
                await client.write_event(run.event())
                if stage == PipelineStage.ASR:
                    await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
                    await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                        audio=pcm).event())
                delays.append(await _pong_within(client, 0.1))
        assert max(delays) < 0.1 * 10, delays  # hung connections take minutes, not 1 s
        assert sorted(delays)[len(delays) // 2] < 0.1, delays
    finally:
        hub.close()
