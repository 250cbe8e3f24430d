"""The torch backend (hexgrad's KModel) runs its real loading and inference path on CPU.

A GPU hub loads Kokoro's real .pth; here a tiny randomly initialised checkpoint with Kokoro's
architecture (tests/plugins/tiny_kokoro.py) goes through the same code: config + .pth → KModel →
audio. scripts/gpu_check.py runs the same on CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest

from hub.tts.config import TtsConfig
from hub.tts.engine import Synthesizer


def test_torch_backend_loads_a_local_checkpoint_and_renders_audio(tiny_kokoro, data_dir) -> None:
    checkpoint, config_path = tiny_kokoro
    config = TtsConfig(backend="torch", model=str(checkpoint), torch_config=config_path)
    synth = Synthesizer(config, data_dir)
    synth.load()
    try:
        assert synth.backend is not None and synth.backend.name == "torch"
        pcm = synth.synthesize("Lights on.", speed=1.0)
        audio = np.frombuffer(pcm, dtype="<i2")
        assert len(audio) > 2400 and np.isfinite(audio).all()
        tokens = synth.phonemizer.tokens(synth.phonemizer.phonemes("Lights on.", "en-us"))
        style = synth.voices.style("af_heart", len(tokens))
        normal = synth.backend.infer(tokens, style, 1.0)
        slower = synth.backend.infer(tokens, style, 0.5)
        assert len(slower) > len(normal)
    finally:
        synth.close()


def test_torch_backend_needs_a_model(data_dir) -> None:
    synth = Synthesizer(TtsConfig(backend="torch"), data_dir)
    with pytest.raises(ValueError, match=r"tts\.model"):
        synth.load()
