"""The Kokoro inference interface both backends implement.

Tokens in (phoneme ids without the padding zeros), a [1, 256] style vector and a speed; float32
audio at 24 kHz out. Calls are blocking: the engine runs them in its worker threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

SAMPLE_RATE = 24000


class KokoroBackend(ABC):
    name = "backend"

    @abstractmethod
    def infer(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        """Render one piece (at most 510 tokens) to float32 mono audio at 24 kHz."""
