"""Feedback sounds: awake, done, error and follow-up chimes, from WAV files or generated.

Generated rather than shipped so that no audio file lives in the repository, and so that a
satellite without any sound files still tells its user what it is doing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satellite.config import SoundsConfig
from voxhub.audio import float_to_pcm16, pcm_to_float, read_wav, resample


def chime(freqs: list[float], rate: int, tone_s: float = 0.09, level: float = 0.3) -> bytes:
    """Short sine tones with soft edges (no clicks)."""
    parts = []
    n = int(tone_s * rate)
    t = np.arange(n) / rate
    fade = min(n // 4, int(0.01 * rate))
    env = np.ones(n, dtype=np.float32)
    env[:fade] = np.linspace(0, 1, fade)
    env[n - fade:] = np.linspace(1, 0, fade)
    for f in freqs:
        parts.append((np.sin(2 * np.pi * f * t) * env * level).astype(np.float32))
        parts.append(np.zeros(int(0.02 * rate), dtype=np.float32))
    return float_to_pcm16(np.concatenate(parts))


def _from_file(path: Path, rate: int) -> bytes:
    pcm, src_rate, width, channels = read_wav(path)
    return float_to_pcm16(resample(pcm_to_float(pcm, width, channels), src_rate, rate))


class Sounds:
    """The sounds as PCM at the speaker's rate (empty when sounds are disabled)."""

    def __init__(self, config: SoundsConfig, rate: int) -> None:
        def pick(path: Path | None, freqs: list[float]) -> bytes:
            if not config.enabled:
                return b""
            return _from_file(path, rate) if path else chime(freqs, rate)

        self.awake = pick(config.awake, [880.0, 1320.0])
        self.done = pick(config.done, [1320.0, 880.0])
        self.error = pick(config.error, [330.0, 0.0, 330.0])
        #: Listening again without the wake word: one tone, shorter than the awake chime.
        self.follow_up = pick(config.follow_up, [1320.0])
        self.rate = rate

    def seconds(self, pcm: bytes) -> float:
        return len(pcm) / 2 / self.rate
