"""One wake word's settings, as the satellite and the hub's wake program both declare it.

One class for both sides, so that a word written in a satellite's YAML means the same in the
hub's. The names of the built-in models are spelled out here rather than read from
pymicro-wakeword so that loading the settings (`voxhub --help`, `voxhub config-doc`,
`voxhub-satellite --print-config`) imports no model code; a name that is wrong is refused with
the list when the detector loads (voxhub/wake.py).
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
