"""The satellite's wake words: the shared microWakeWord detector (voxhub/wake.py) built from the
satellite's `wake:` settings.

The detector core is shared with the hub's Wyoming wake program, so a word that wakes a
satellite wakes Home Assistant's pipelines served by the hub in the same way.
"""

from __future__ import annotations

from pymicro_wakeword import MicroWakeWord

from satellite.config import WakeConfig
from voxhub import wake
from voxhub.wake import BUILTIN, Detection
from voxhub.wake_word_config import WakeWordConfig

__all__ = ["BUILTIN", "Detection", "WakeWordDetector", "load_word"]


def load_word(word: WakeWordConfig) -> MicroWakeWord:
    """A built-in model by name or a model's JSON config by path, with a clear error."""
    return wake.load_model(word.model, word.threshold)


class WakeWordDetector(wake.WakeWordDetector):
    """Feed 16 kHz mono PCM; get the words detected in it, each at most once per refractory."""

    def __init__(self, config: WakeConfig) -> None:
        super().__init__(config.words, config.refractory_s)
