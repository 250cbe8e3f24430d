"""A real satellite listening to a recording in real time, with clocks on every step.

`voxhub demo` and `benchmarks/e2e.py` time a command from the moment its last voiced sample
reaches the satellite's wake word and streaming code to each event the hub sends back, the first
reply audio above all. The satellite is `satellite.daemon.Satellite` as shipped (wake word,
pre-roll, chimes, MQTT), only its microphone is a WAV file played in real time and its speaker
a file or nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wyoming.event import Event

from rehearsal.speech import RATE
from voxhub.protocol import EventType, WyomingType

#: `listener(what, detail)`: "last-voiced" (None), "wake" (the Detection), then each step of
#: `STEPS` with the hub's event, as it happens.
Listener = Callable[[str, Any], None]

#: Hub event type → the name of its step in `Run.times` (the first of each per run counts).
STEPS: dict[str, str] = {
    WyomingType.VOICE_STARTED: "voice_started", WyomingType.VOICE_STOPPED: "voice_stopped",
    WyomingType.TRANSCRIPT: "transcript", EventType.INTENT_RESULT: "intent",
    WyomingType.AUDIO_CHUNK: "first_audio", WyomingType.AUDIO_STOP: "reply_end",
    EventType.RUN_END: "run_end"}


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

    def record(self, event: Event, at: float) -> str | None:
        """Take in one hub event; the name of the step it started, if it started one."""
        key = STEPS.get(event.type)
        started = None
        if key and key not in self.times:
            self.times[key] = at
            started = key
        data = event.data or {}
        if event.type == EventType.INTENT_RESULT:
            self.result = dict(data)
            self.intent = (data.get("intent") or {}).get("name")
        elif event.type == WyomingType.AUDIO_START:
            self.reply_rate = int(data.get("rate", self.reply_rate))
        elif event.type == WyomingType.AUDIO_CHUNK:
            self.reply_pcm.extend(event.payload or b"")
        elif event.type == EventType.RUN_END:
            self.hub_timings = dict(data.get("timings_ms") or {})
            error = data.get("error")
            if error:  # {"code", "text"}; an older hub's bare string is kept as it is
                self.error = (f"{error.get('code')}: {error.get('text')}"
                              if isinstance(error, dict) else str(error))
        elif event.type == WyomingType.ERROR and self.error is None:
            self.error = str(data.get("text"))
        return started


class TimedSatellite:
    """A real satellite (wake word and all) listening to `wav` in real time.

    `speech_ends` are the file times of each command's last voiced sample with a label: the
    latency clock of a command starts when the block holding that sample is fed. `endpointing`
    is added to every `run-pipeline` (per-satellite endpointing, e.g. the benchmark's
    reference); `settings` are (key, value) overrides of the satellite's configuration. It
    watches the satellite through its public hooks only (`Satellite.hooks`, `run_endpointing`).
    """

    def __init__(self, hub_uri: str, wav: Path, speech_ends: list[tuple[float, str]],
                 name: str, area: str | None, endpointing: dict[str, Any] | None = None,
                 settings: list[tuple[str, Any]] | None = None,
                 listener: Listener | None = None) -> None:
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
        if endpointing:
            self.sat.run_endpointing = dict(endpointing)
        self.sat.hooks.on_mic(self._on_mic)
        self.sat.hooks.on_wake(self._on_wake)
        self.sat.hooks.on_hub_event(self._on_hub_event)

    def _notify(self, what: str, detail: Any) -> None:
        if self._listener is not None:
            self._listener(what, detail)

    def _on_mic(self, block: bytes, start_s: float) -> None:
        """Before the satellite hears `block`: a command's clock starts with the block that
        holds its last voiced sample."""
        if self.pending and self.pending[0][0] <= start_s + len(block) / (2 * RATE):
            self.runs.append(Run(self.pending.pop(0)[1], time.monotonic()))
            self._notify("last-voiced", None)

    def _on_wake(self, detection: Any) -> None:
        self.wake_times.append(time.monotonic())
        self._notify("wake", detection)

    def _on_hub_event(self, event: Event) -> None:
        if not self.runs or event.type == WyomingType.PONG:
            return
        step = self.runs[-1].record(event, time.monotonic())
        if step:
            self._notify(step, event)

    async def run(self) -> list[Run]:
        await self.sat.run()
        return self.runs

