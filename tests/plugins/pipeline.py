"""Fixtures for the satellite pipeline: spoken commands made at run time, and a satellite-like
wyoming client that speaks the hub's pipeline protocol exactly as the satellite daemon does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.pipeline import PipelineStage, RunPipeline

from rehearsal.speech import RATE as SAMPLE_RATE
from rehearsal.speech import espeak, silence, speech_bounds
from voxhub.audio import float_to_pcm16

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kitchen_command() -> np.ndarray:
    """'turn on the kitchen lights' with half a second of silence before and 2 s after."""
    return np.concatenate([silence(0.5), espeak("turn on the kitchen lights"),
                           silence(2.0)])


@dataclass
class RunLog:
    """What a satellite saw during one run, with the arrival time of each event."""

    events: list[tuple[float, Event]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    audio_format: dict[str, Any] = field(default_factory=dict)
    #: Wall time at which the last voiced sample was sent (for latency).
    last_voiced_sent: float | None = None

    def types(self) -> list[str]:
        return [event.type for _, event in self.events]

    def first(self, event_type: str) -> Event:
        return next(event for _, event in self.events if event.type == event_type)

    def time_of(self, event_type: str) -> float:
        return next(t for t, event in self.events if event.type == event_type)


async def run_command(uri: str, audio: np.ndarray, *, name: str = "kitchen-sat",
                      area: str | None = "Kitchen", rate: int = 24000, chunk_s: float = 0.064,
                      realtime: bool = True, extra: dict[str, Any] | None = None,
                      in_rate: int = SAMPLE_RATE, timeout: float = 60.0) -> RunLog:
    """Run one pipeline over a fresh connection, streaming `audio` (16 kHz float) like a
    satellite: in real time until the hub says voice-stopped, then audio-stop."""
    log = RunLog()
    speech_end = speech_bounds(audio)[1]
    client = AsyncClient.from_uri(uri)
    await client.connect()
    try:
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS,
                          wake_word_name="okay_nabu").event()
        run.data.update({"name": name, "satellite": {"name": name, "area": area},
                         "snd_format": {"rate": rate, "width": 2, "channels": 1},
                         **(extra or {})})
        await client.write_event(run)
        reader = asyncio.create_task(_read_until_end(client, log))
        pcm = float_to_pcm16(_resampled(audio, in_rate))
        step = int(chunk_s * in_rate) * 2
        await client.write_event(AudioStart(rate=in_rate, width=2, channels=1).event())
        begin = time.monotonic()
        for index, offset in enumerate(range(0, len(pcm), step)):
            if reader.done() or "voice-stopped" in log.types():
                break
            if realtime:
                await asyncio.sleep(max(0.0, begin + index * chunk_s - time.monotonic()))
            await client.write_event(AudioChunk(rate=in_rate, width=2, channels=1,
                                                audio=pcm[offset:offset + step]).event())
            sent_s = (offset + step) / 2 / in_rate
            if log.last_voiced_sent is None and sent_s >= speech_end:
                log.last_voiced_sent = time.monotonic()
        await client.write_event(AudioStop().event())
        await asyncio.wait_for(reader, timeout)
    finally:
        await client.disconnect()
    return log


def _resampled(audio: np.ndarray, rate: int) -> np.ndarray:
    from voxhub.audio import resample

    return resample(audio, SAMPLE_RATE, rate)


async def _read_until_end(client: AsyncClient, log: RunLog) -> None:
    while True:
        event = await client.read_event()
        if event is None:
            raise ConnectionError("hub closed the connection before run-end")
        log.events.append((time.monotonic(), event))
        if event.type == "audio-start":
            log.audio_format = dict(event.data)
        elif event.type == "audio-chunk":
            log.audio.extend(event.payload or b"")
        elif event.type == "run-end":
            return


@pytest.fixture(scope="session")
def pipeline_understander() -> Any:
    """The real Understander (Whisper + intents on the example home), loaded once."""
    from hub.config import HubConfig
    from hub.understanding import Understander

    config = HubConfig()
    config.intents.home = ROOT / "config" / "home.yaml"
    understander = Understander(config)
    understander.load()
    return understander


@pytest.fixture(scope="session")
def pipeline_hub(pipeline_understander: Any, synthesizer: Any) -> Any:
    """A hub endpoint serving only the pipeline, on its own loop, with the real models."""
    from hub.pipeline.config import PipelineConfig
    from hub.pipeline.program import PipelineProgram
    from tests.plugins.hub import ThreadedHub

    program = PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer)
    hub = ThreadedHub([program])
    hub.program = program
    yield hub
    hub.close()


# --- end to end: real processes -----------------------------------------------------------------


class SatelliteProcess:
    """`voxhub satellite` as a child process whose microphone is its stdin, fed in real time by
    the test: silence unless the test says something, like a quiet room."""

    BLOCK_S = 0.03

    def __init__(self, folder: Path, hub_uri: str, name: str, area: str | None,
                 mqtt_url: str | None) -> None:
        import yaml

        self.folder = folder
        self.name = name
        folder.mkdir(parents=True, exist_ok=True)
        self.snd_file = folder / "played.wav"
        self.log_path = folder / "satellite.log"
        config = folder / "satellite.yaml"
        config.write_text(yaml.safe_dump({
            "state_dir": str(folder / "state"),
            "hub": {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0, "ping_interval_s": 1.0,
                    "pong_timeout_s": 2.0},
        }))
        self.argv = [sys.executable, "-m", "voxhub.cli", "satellite", "--config", str(config),
                     "--hub", hub_uri, "--name", name, "--mic-stdin",
                     "--snd-file", str(self.snd_file)]
        if area:
            self.argv += ["--area", area]
        if mqtt_url:
            self.argv += ["--mqtt", mqtt_url]
        self.proc: asyncio.subprocess.Process | None = None
        self._pending: list[bytes] = []
        self._feeder: asyncio.Task | None = None
        self.spoken = asyncio.Event()

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=log, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._feeder = asyncio.create_task(self._feed())

    def say(self, audio: np.ndarray) -> None:
        """Queue speech (16 kHz float) for the microphone; `spoken` is set once it was fed."""
        pcm = float_to_pcm16(audio)
        step = int(self.BLOCK_S * SAMPLE_RATE) * 2
        self.spoken.clear()
        self._pending.extend(pcm[i:i + step] for i in range(0, len(pcm), step))

    async def _feed(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        silence_block = bytes(int(self.BLOCK_S * SAMPLE_RATE) * 2)
        begin, sent = time.monotonic(), 0
        while True:
            block = self._pending.pop(0) if self._pending else silence_block
            if not self._pending:
                self.spoken.set()
            try:
                self.proc.stdin.write(block)
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                return
            sent += 1
            await asyncio.sleep(max(0.0, begin + sent * self.BLOCK_S - time.monotonic()))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feeder
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture(scope="session")
def e2e_hub(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real `voxhub hub` process (Kokoro, Whisper, intents, the example home) for the session;
    tests that restart it use `restart_hub`, which keeps its port."""
    from rehearsal.hub_process import HubProcess
    from rehearsal.ports import free_port

    folder = tmp_path_factory.mktemp("e2e-hub")
    hub = HubProcess(folder / "hub.log", mqtt_port=free_port())
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def e2e_speech(e2e_hub: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """'Okay, Nabu.' and commands, spoken by the hub's Kokoro in am_michael (the replies use
    af_heart), as 16 kHz float audio."""
    from rehearsal.speech import speak

    async def make() -> dict[str, np.ndarray]:
        texts = {"wake": "Okay, Nabu.", "kitchen": "Turn on the kitchen lights.",
                 "garden": "Turn off the garden lights.", "fan": "Turn on the desk fan."}
        return {key: await speak(e2e_hub.uri, text, "am_michael") for key, text in texts.items()}

    return asyncio.run(make())


def wake_and_command(speech: dict[str, np.ndarray], command: str) -> np.ndarray:
    return np.concatenate([silence(0.3), speech["wake"], silence(0.7), speech[command],
                           silence(0.3)])
