"""Satellite fixtures: spoken wake words made with espeak-ng at test time, and a hub stand-in.

The stand-in speaks the hub's pipeline protocol exactly as the real hub does (run-pipeline with
`satellite` and `snd_format`, audio in, voice-started / voice-stopped / transcript /
intent-result / synthesize / reply audio / run-end out, announcements, ping/pong, a new
run-pipeline cancelling the running one) but decides the end of speech by energy and answers
with a fixed result and a tone: the satellite's behaviour is what these tests examine; the real
hub is exercised end to end by the pipeline tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event

from rehearsal.ports import free_port
from rehearsal.speech import RATE, espeak
from voxhub.audio import float_to_pcm16, write_wav


def save(path: Path, *parts: np.ndarray) -> Path:
    write_wav(path, float_to_pcm16(np.concatenate(parts)), RATE)
    return path


@pytest.fixture(scope="session")
def sat_speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """The phrases the satellite tests speak (voice en-us at 160 wpm triggers okay_nabu)."""
    return {
        "wake": espeak("okay nabu"),
        "command": espeak("turn on the kitchen lights"),
        "jarvis": espeak("hey jarvis"),
    }


@dataclass
class StandInRun:
    data: dict[str, Any]
    audio: bytearray = field(default_factory=bytearray)
    audio_format: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    cancelled: bool = False
    completed: bool = False


class HubStandIn:
    """A Wyoming server on a free port answering like the hub (see module docstring)."""

    def __init__(self, reply_s: float = 1.0, reply_rate: int = 24000,
                 transcript: str = "turn on the kitchen lights", port: int | None = None) -> None:
        self.port = port or free_port()
        self.reply_s = reply_s
        self.reply_rate = reply_rate
        self.transcript = transcript
        self.runs: list[StandInRun] = []
        self.announcements: list[dict[str, Any]] = []
        self.pings = 0
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def result(self) -> dict[str, Any]:
        return {"text": self.transcript, "language": "en",
                "intent": {"name": "HassTurnOn", "slots": {"area": "kitchen", "domain": "light"}},
                "targets": ["light.kitchen"], "reply": "Turned on the kitchen lights",
                "confidence": 0.93, "timings_ms": {"asr": 100.0}}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        run_task: asyncio.Task | None = None
        run: StandInRun | None = None
        speech = silence = 0.0
        ended = asyncio.Event()
        lock = asyncio.Lock()

        async def send(event: Event) -> None:
            async with lock:
                await async_write_event(event, writer)

        async def answer(current: StandInRun, done: asyncio.Event) -> None:
            await done.wait()
            await send(Event("voice-stopped", {"timestamp": 0}))
            await send(Event("transcript", {"text": self.transcript}))
            await send(Event("intent-result", self.result()))
            await send(Event("synthesize", {"text": self.result()["reply"]}))
            await self._tone(send, self.reply_s, current.data.get("snd_format", {}))
            await send(Event("run-end", {"error": None, "timings_ms": {}}))
            current.completed = True

        try:
            while True:
                event = await async_read_event(reader)
                if event is None:
                    break
                if event.type == "ping":
                    self.pings += 1
                    await send(Event("pong", {"text": event.data.get("text")}))
                elif event.type == "run-pipeline":
                    if run_task is not None and not run_task.done():  # barge-in: cancel, no end
                        run_task.cancel()
                        if run is not None:
                            run.cancelled = True
                    run = StandInRun(dict(event.data))
                    self.runs.append(run)
                    speech = silence = 0.0
                    ended = asyncio.Event()
                    run_task = asyncio.create_task(answer(run, ended))
                elif event.type == "audio-start" and run is not None:
                    run.audio_format = dict(event.data)
                elif event.type == "audio-chunk" and run is not None:
                    chunk = AudioChunk.from_event(event)
                    run.audio.extend(chunk.audio)
                    samples = np.frombuffer(chunk.audio, dtype="<i2").astype(np.float32) / 32768
                    step = len(samples) / RATE
                    loud = len(samples) and float(np.sqrt(np.mean(samples ** 2))) > 0.01
                    if loud:  # like the hub: speech shorter than 0.3 s is not a command
                        speech += step
                        silence = 0.0
                        if speech >= 0.3 and not run.data.get("_voice"):
                            run.data["_voice"] = True
                            await send(Event("voice-started", {"timestamp": 0}))
                    elif run.data.get("_voice"):
                        silence += step
                        if silence >= 0.5:
                            ended.set()
                elif event.type == "audio-stop" and run is not None:
                    run.stopped = True
                    ended.set()
                elif event.type == "synthesize":
                    self.announcements.append(dict(event.data))
                    text = str(event.data.get("text", ""))
                    await self._tone(send, min(3.0, 0.05 * len(text) + 0.3), {})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if run_task is not None:
                run_task.cancel()
            writer.close()

    async def _tone(self, send, seconds: float, snd_format: dict[str, Any]) -> None:
        rate = int(snd_format.get("rate", self.reply_rate))
        t = np.arange(int(seconds * rate)) / rate
        pcm = float_to_pcm16((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
        await send(AudioStart(rate, 2, 1).event())
        step = rate // 10 * 2
        for offset in range(0, len(pcm), step):  # faster than real time, like the hub
            await send(AudioChunk(rate, 2, 1, pcm[offset:offset + step]).event())
        await send(AudioStop().event())


@pytest_asyncio.fixture(loop_scope="function")
async def hub_standin():
    """Runs on the test's own event loop (the satellite under test shares it)."""
    hub = HubStandIn()
    await hub.start()
    yield hub
    await hub.stop()


def satellite_config(tmp_path: Path, hub_uri: str, mic_file: Path | None, *,
                     name: str = "kitchen-sat", realtime: bool = False,
                     mqtt_url: str | None = None, **overrides: Any):
    """A test satellite: WAV in, WAV out, quick reconnects, everything else as shipped."""
    from satellite.config import SatelliteConfig
    from voxhub.configfile import from_mapping, override

    mapping: dict[str, Any] = {
        "name": name, "area": "Kitchen", "state_dir": str(tmp_path / "state"),
        "hub": {"uri": hub_uri, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5,
                "ping_interval_s": 1.0, "pong_timeout_s": 2.0, "connect_timeout_s": 1.0},
        "mic": {"source": "file", "file": str(mic_file) if mic_file else None,
                "realtime": realtime, "tail_silence_s": 1.0},
        "snd": {"sink": "file", "file": str(tmp_path / f"{name}-played.wav")},
        "mqtt": {"url": mqtt_url},
    }
    config = from_mapping(SatelliteConfig, mapping, source="test")
    for key, value in overrides.items():
        config = override(config, key.replace("__", "."), value, source="test")
    return config
