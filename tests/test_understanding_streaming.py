"""Streaming transcripts over Wyoming from a backend that can stream (Voxtral realtime, here the
tiny random checkpoint on CPU): transcript-start, chunks that add up to the transcript, stop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info

from voxhub.audio import float_to_pcm16

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "home.yaml"


@pytest.fixture(scope="module")
def streaming_hub(tiny_voxtral_dir: Path, tiny_voxtral_realtime_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Any:
    from hub.asr.program import AsrProgram
    from hub.config import HubConfig
    from hub.intents.home import StaticHomeSource, load_home
    from hub.understanding import Understander
    from tests.plugins.hub import ThreadedHub

    config = HubConfig(data_dir=tmp_path_factory.mktemp("data"))
    config.asr.backend = "voxtral"
    config.asr.voxtral.model = str(tiny_voxtral_dir)
    config.asr.voxtral.realtime_model = str(tiny_voxtral_realtime_dir)
    config.asr.voxtral.max_new_tokens = 8
    config.asr.voxtral.mode = "transcribe"
    config.intents.fuzzy = False
    understander = Understander(config, StaticHomeSource(load_home(EXAMPLE)))
    understander.load()
    hub = ThreadedHub([AsrProgram(understander)])
    yield hub
    hub.close()


async def test_streaming_backend_sends_transcript_chunks(streaming_hub: Any) -> None:
    t = np.arange(0, 2 * 16000) / 16000
    audio = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    async with AsyncClient.from_uri(streaming_hub.uri) as client:
        await client.write_event(Describe().event())
        info = Info.from_event(await asyncio.wait_for(client.read_event(), 30))
        assert info.asr[0].supports_transcript_streaming
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                            audio=float_to_pcm16(audio)).event())
        await client.write_event(AudioStop().event())
        events = []
        while not events or events[-1].type != "transcript-stop":
            event = await asyncio.wait_for(client.read_event(), 120)
            assert event is not None and event.type != "error", event
            events.append(event)
    types = [e.type for e in events]
    assert types[0] == "transcript-start"
    assert types[-2:] == ["transcript", "transcript-stop"]
    assert set(types[1:-2]) <= {"transcript-chunk"}
    chunks = "".join(e.data["text"] for e in events if e.type == "transcript-chunk")
    assert chunks.strip(), "no partial transcript was streamed"
    assert chunks.strip() == events[-2].data["text"]
