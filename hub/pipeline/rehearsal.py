"""Rehearsing the whole loop on one machine: a hub process and recorded spoken commands.

`voxhub demo`, `benchmarks/e2e.py` and the end-to-end tests all need the same two things: a real
`voxhub hub` process to talk to, and recordings of "Okay, Nabu … <command>" to play to a
satellite. The recordings are spoken by the hub itself (its Wyoming `synthesize`), in a different
voice than the reply voice, so that no audio has to be committed and the satellite never hears its
own reply voice as the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.client import AsyncClient
from wyoming.tts import Synthesize, SynthesizeVoice

from hub.intents.home import example_home_path
from voxhub.audio import float_to_pcm16, pcm_to_float, resample, write_wav

_LOGGER = logging.getLogger(__name__)

RATE = 16000
WAKE_PHRASE = "Okay, Nabu."
#: Silence before the wake word, between wake word and command (the user waits for the chime),
#: and after the command (room for the reply before the next command).
LEAD_S, GAP_S, AFTER_S = 0.5, 0.7, 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def speak(uri: str, text: str, voice: str, timeout: float = 120.0) -> np.ndarray:
    """Text → 16 kHz mono float32, rendered by the hub's TTS over Wyoming."""
    client = AsyncClient.from_uri(uri)
    await client.connect()
    try:
        await client.write_event(Synthesize(text=text,
                                            voice=SynthesizeVoice(name=voice)).event())
        rate, pcm = 24000, bytearray()
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout)
            if event is None:
                raise ConnectionError("hub closed the connection while speaking")
            if event.type == "error":
                raise RuntimeError(f"hub could not speak '{text}': {event.data.get('text')}")
            if event.type == "audio-start":
                rate = int(event.data["rate"])
            elif event.type == "audio-chunk":
                pcm.extend(event.payload or b"")
            elif event.type == "audio-stop":
                break
    finally:
        await client.disconnect()
    return resample(pcm_to_float(bytes(pcm), 2, 1), rate, RATE)


def voiced_end(audio: np.ndarray, threshold: float = 0.02) -> float:
    """Seconds to the last sample above `threshold` (the end of the spoken words)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return float(loud[-1] + 1) / RATE if len(loud) else 0.0


async def build_recording(uri: str, path: Path, commands: list[tuple[str, str]],
                          voice: str = "am_michael", wake: bool = True,
                          ) -> tuple[Path, list[tuple[float, str]]]:
    """A WAV of "Okay, Nabu … command" for each (command, label); returns the path and, for
    each command, the time of its last voiced sample in the file with its label."""
    wake_audio = await speak(uri, WAKE_PHRASE, voice) if wake else None
    spoken: dict[str, np.ndarray] = {}
    parts: list[np.ndarray] = []
    ends: list[tuple[float, str]] = []
    position = 0

    def add(samples: np.ndarray) -> None:
        nonlocal position
        parts.append(samples.astype(np.float32, copy=False))
        position += len(samples)

    for text, label in commands:
        if text not in spoken:
            spoken[text] = await speak(uri, text, voice)
        add(np.zeros(int(LEAD_S * RATE), np.float32))
        if wake_audio is not None:
            add(wake_audio)
            add(np.zeros(int(GAP_S * RATE), np.float32))
        ends.append((position / RATE + voiced_end(spoken[text]), label))
        add(spoken[text])
        add(np.zeros(int(AFTER_S * RATE), np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, float_to_pcm16(np.concatenate(parts)), RATE)
    return path, ends


class HubProcess:
    """`voxhub hub` as a child process on a free port, its output in a log file.

    Blocking start/stop (plain `subprocess`), so one object can outlive event loops: a test
    session starts it once and tests on their own loops restart it.
    """

    def __init__(self, log_path: Path, port: int | None = None, mqtt_port: int | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.log_path = log_path
        self.port = port or free_port()
        self.mqtt_port = mqtt_port
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen | None = None
        self.uri = f"tcp://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "voxhub.cli", "hub", "--uri", self.uri,
                "--home", str(example_home_path())]
        if self.mqtt_port:
            args += ["--set", f"mqtt.embedded_port={self.mqtt_port}"]
        return args + self.extra_args

    def start(self, timeout: float = 600.0) -> None:
        """Start and wait until the hub prints that it is ready (models loaded)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if b"ready on" in log.read():
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}; see "
                                   f"{self.log_path}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"hub not ready after {timeout} s; see {self.log_path}")

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Run:
    """One command as a satellite lived it: wall-clock times of each step and what came back."""

    expected: str
    last_voiced: float
    times: dict[str, float] = field(default_factory=dict)
    intent: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    hub_timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    reply_pcm: bytearray = field(default_factory=bytearray)
    reply_rate: int = 24000

    @property
    def latency(self) -> float | None:
        first = self.times.get("first_audio")
        return None if first is None else first - self.last_voiced


_STEPS = {"voice-started": "voice_started", "voice-stopped": "voice_stopped",
          "transcript": "transcript", "intent-result": "intent", "audio-chunk": "first_audio",
          "audio-stop": "reply_end", "run-end": "run_end"}


class TimedSatellite:
    """A real satellite (`satellite.daemon.Satellite`, wake word and all) listening to a WAV in
    real time, with clocks on what it is fed and what it receives from the hub.

    `speech_ends` are the file times of each command's last voiced sample: the latency clock of a
    command starts when the block holding that sample is fed. `endpointing` is added to every
    `run-pipeline` (per-satellite endpointing, e.g. the benchmark's reference).
    """

    def __init__(self, hub_uri: str, wav: Path, speech_ends: list[tuple[float, str]],
                 name: str, area: str | None, endpointing: dict[str, Any] | None = None,
                 settings: list[tuple[str, Any]] | None = None,
                 listener: Any = None) -> None:
        from satellite.config import SatelliteConfig
        from satellite.daemon import Satellite
        from voxhub.configfile import override

        config = SatelliteConfig(name=name, area=area)
        for key, value in [("hub.uri", hub_uri), ("mic.source", "file"), ("mic.file", str(wav)),
                           ("mic.tail_silence_s", 1.0), ("snd.sink", "none"),
                           *(settings or [])]:
            config = override(config, key, value, source="rehearsal")
        self.sat = Satellite(config)
        self.pending = list(speech_ends)
        self.runs: list[Run] = []
        self.wake_times: list[float] = []
        self._listener = listener
        original_mic = self.sat._on_mic
        original_event = self.sat.hub._on_event
        original_send = self.sat.hub.send

        async def on_mic(block: bytes) -> None:
            block_end = self.sat.audio_s + len(block) / (2 * RATE)
            if self.pending and self.pending[0][0] <= block_end:
                self.runs.append(Run(self.pending.pop(0)[1], time.monotonic()))
                self._notify("last-voiced", None)
            detections = len(self.sat.detections)
            await original_mic(block)
            if len(self.sat.detections) > detections:
                self.wake_times.append(time.monotonic())
                self._notify("wake", self.sat.detections[-1])

        async def on_event(event: Any) -> None:
            self._record(event)
            await original_event(event)

        async def send(event: Any) -> bool:
            if endpointing and event.type == "run-pipeline":
                event.data["endpointing"] = endpointing
            return await original_send(event)

        self.sat._on_mic = on_mic
        self.sat.hub._on_event = on_event
        self.sat.hub.send = send

    def _notify(self, what: str, detail: Any) -> None:
        if self._listener is not None:
            self._listener(what, detail)

    def _record(self, event: Any) -> None:
        if not self.runs or event.type == "pong":
            return
        run = self.runs[-1]
        key = _STEPS.get(event.type)
        if key and key not in run.times:
            run.times[key] = time.monotonic()
            self._notify(key, event)
        data = event.data or {}
        if event.type == "intent-result":
            run.result = dict(data)
            run.intent = (data.get("intent") or {}).get("name")
        elif event.type == "audio-start":
            run.reply_rate = int(data.get("rate", run.reply_rate))
        elif event.type == "audio-chunk":
            run.reply_pcm.extend(event.payload or b"")
        elif event.type == "run-end":
            run.hub_timings = dict(data.get("timings_ms") or {})
            if data.get("error"):
                run.error = str(data["error"])
        elif event.type == "error" and run.error is None:
            run.error = str(data.get("text"))

    async def run(self) -> list[Run]:
        await self.sat.run()
        return self.runs
