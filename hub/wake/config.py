"""Settings of the hub's Wyoming wake word program (Home Assistant's own satellites and pipelines).

The names of the built-in models are spelled out here rather than read from pymicro-wakeword so
that loading the settings (`voxhub --help`, `voxhub config-doc`) imports no model code; a name
that is wrong is refused with the list when the hub starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.configfile import setting

#: pymicro-wakeword 2.5.0's built-in models (voxhub.wake.BUILTIN, checked by the tests).
BUILTIN_MODELS = ("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa")


@dataclass
class WakeWordConfig:
    model: str = setting("okay_nabu", "Built-in microWakeWord model (okay_nabu, hey_jarvis, "
                         "hey_mycroft, alexa) or path to a model's .json.")
    threshold: float | None = setting(None, "Detection threshold 0–1 (empty: the model's "
                                      "own cut-off).", minimum=0.0, maximum=1.0)


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
