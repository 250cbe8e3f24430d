"""Settings of the hub's Wyoming wake word program (Home Assistant's own satellites and pipelines).

A word's own settings are the satellite's too (voxhub/wake_word_config.py); these are the
program's: which words it offers and how often one may fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.configfile import setting
from voxhub.wake_word_config import BUILTIN_MODELS, WakeWordConfig


@dataclass
class WakeConfig:
    words: list[WakeWordConfig] = setting(
        factory=lambda: [WakeWordConfig(model) for model in BUILTIN_MODELS],
        doc="Wake words offered to Home Assistant. A `detect` naming some of them runs only "
            "those; one naming none runs them all. Each costs about a millisecond to load and "
            "a few CPU milliseconds per second of audio, per stream.")
    refractory_s: float = setting(2.0, "After a detection, the same word is ignored this long "
                                  "within one stream (one utterance, one detection).",
                                  minimum=0.0, maximum=60.0)
