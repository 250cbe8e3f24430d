"""microWakeWord detection (pymicro-wakeword), shared by the satellite and the hub's wake program.

Why microWakeWord: its models run on an ESP32, so on a Pi Zero 2 they cost a few thousandths of
a CPU second per second of audio, leaving the satellite idle-cool, and a hub can run one detector
per Home Assistant stream at no noticeable cost. The spectral features are the same for every
model, so they are computed once and fed to each word.

The core lives here, outside `satellite/` and `hub/`, so that both use one detector without the
hub importing the satellite; it imports only numpy and pymicro-wakeword (a dependency of both the
`satellite` and the `hub` extras).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

from voxhub.wake_word_config import WakeWordConfig

_LOGGER = logging.getLogger(__name__)
BUILTIN = tuple(m.value for m in Model)
SAMPLE_RATE = 16000
"""The detector takes 16 kHz mono 16-bit PCM."""


@dataclass
class Detection:
    name: str
    """Model id, e.g. okay_nabu."""
    phrase: str
    """What the user says, e.g. "Okay Nabu"."""
    probability: float
    audio_s: float
    """Position in the audio stream (seconds since the detector started)."""


def load_model(model: str, threshold: float | None = None) -> MicroWakeWord:
    """A built-in model by name or a model's JSON config by path, with a clear error."""
    if model in BUILTIN:
        loaded = MicroWakeWord.from_builtin(Model(model))
    else:
        path = Path(model).expanduser()
        if path.suffix != ".json" or not path.is_file():
            raise ValueError(f"wake word model '{model}' is neither a built-in model "
                             f"({', '.join(BUILTIN)}) nor an existing microWakeWord .json file")
        loaded = MicroWakeWord.from_config(path)
    if threshold is not None:
        loaded.probability_cutoff = threshold
    return loaded


def _probability(model: MicroWakeWord, features: np.ndarray) -> float | None:
    """`MicroWakeWord.process_streaming_prob` (pymicro-wakeword 2.5.0, pinned) with the window
    averaged by numpy instead of `statistics.mean`, whose exact Fraction arithmetic was a fifth of
    the satellite's idle CPU. The model calls are the library's own."""
    if not model.interpreter or not model.model:
        return None
    model._features.append(features)
    if len(model._features) < model.stride:
        return 0.0
    quantized = np.round(np.concatenate(model._features, axis=1) / model.input_scale
                         + model.input_zero_point).astype(model.input_dtype)
    model._features.clear()
    lib = model.lib
    lib.TfLiteTensorCopyFromBuffer(model.input_tensor, quantized.ctypes.data_as(ctypes.c_void_p),
                                   quantized.nbytes)
    lib.TfLiteInterpreterInvoke(model.interpreter)
    size = lib.TfLiteTensorByteSize(model.output_tensor)
    output = np.empty(size // np.dtype(model.output_dtype).itemsize, dtype=model.output_dtype)
    lib.TfLiteTensorCopyToBuffer(model.output_tensor, output.ctypes.data_as(ctypes.c_void_p), size)
    model._probabilities.append(
        float((output.astype(np.float32) - model.output_zero_point)[0] * model.output_scale))
    if len(model._probabilities) < model.sliding_window_size:
        return 0.0
    return float(np.mean(model._probabilities))


class WakeWordDetector:
    """Feed 16 kHz mono PCM; get the words detected in it, each at most once per refractory.

    A detector holds the models' streaming state (each model is a stateful TFLite
    interpreter), so every audio stream needs its own; building one costs about a millisecond
    per model."""

    def __init__(self, words: Sequence[WakeWordConfig], refractory_s: float) -> None:
        if not words:
            raise ValueError("wake.words: at least one wake word is required")
        self.models = [load_model(w.model, w.threshold) for w in words]
        self.refractory_s = refractory_s
        self._features = MicroWakeWordFeatures()
        self._last: dict[str, float] = {}
        self._samples = 0
        self.max_probability: dict[str, float] = {m.id: 0.0 for m in self.models}

    @property
    def names(self) -> list[str]:
        return [m.id for m in self.models]

    def process(self, pcm: bytes) -> list[Detection]:
        """Blocking (a fraction of a millisecond per block): call it from an executor."""
        found: list[Detection] = []
        self._samples += len(pcm) // 2
        for features in self._features.process_streaming(pcm):
            for model in self.models:
                prob = _probability(model, features)
                if prob is None:
                    continue
                if prob > self.max_probability[model.id]:
                    self.max_probability[model.id] = prob
                if prob <= model.probability_cutoff:
                    continue
                now = self._samples / SAMPLE_RATE
                last = self._last.get(model.id)
                if last is not None and now - last < self.refractory_s:
                    continue
                self._last[model.id] = now
                # Forget the window that fired so the same utterance cannot fire twice.
                model._probabilities.clear()
                _LOGGER.debug("wake word %s (p=%.3f) at %.2f s", model.id, prob, now)
                found.append(Detection(model.id, model.wake_word, prob, now))
        return found

    def close(self) -> None:
        """Free the interpreters now rather than when the garbage collector gets to them.
        Never while `process` runs in another thread."""
        for model in self.models:
            model.close()
