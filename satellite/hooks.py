"""What the satellite lets others watch: microphone blocks, wake words, hub events.

Why public hooks: the demo and the benchmarks drive a real satellite from a timed recording
and clock what it hears and receives; they used to replace the daemon's private methods to do
so, which broke silently whenever those changed. Observers are called in the order they were
added, before the satellite acts on the block or event (a wake observer: once the conversation
it starts has begun), and one that fails is logged without stopping the satellite. States have
their own observers (`StateMachine.on_state`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from wyoming.event import Event

from satellite.wake import Detection

_LOGGER = logging.getLogger(__name__)

#: (block, start_s): a 16 kHz mono block and where it starts in the audio heard so far.
MicObserver = Callable[[bytes, float], None]
WakeObserver = Callable[[Detection], None]
HubEventObserver = Callable[[Event], None]


class Hooks:
    def __init__(self) -> None:
        self._mic: list[MicObserver] = []
        self._wake: list[WakeObserver] = []
        self._hub_event: list[HubEventObserver] = []

    def on_mic(self, observer: MicObserver) -> None:
        self._mic.append(observer)

    def on_wake(self, observer: WakeObserver) -> None:
        self._wake.append(observer)

    def on_hub_event(self, observer: HubEventObserver) -> None:
        self._hub_event.append(observer)

    def mic(self, block: bytes, start_s: float) -> None:
        self._call(self._mic, block, start_s)

    def wake(self, detection: Detection) -> None:
        self._call(self._wake, detection)

    def hub_event(self, event: Event) -> None:
        self._call(self._hub_event, event)

    @staticmethod
    def _call(observers: list[Callable[..., None]], *args: Any) -> None:
        for observer in list(observers):
            try:
                observer(*args)
            except Exception:  # an observer's bug must not take the satellite down
                _LOGGER.exception("satellite observer %r failed", observer)
