"""The torch backend (hexgrad's KModel) runs its real loading and inference path on CPU.

A GPU hub loads Kokoro's real .pth; here a tiny randomly initialised checkpoint with Kokoro's
architecture, written by the test, goes through the same code: config + .pth → KModel → audio.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from hub.tts.config import TtsConfig
from hub.tts.engine import Synthesizer
from hub.tts.g2p import kokoro_config


@pytest.fixture(scope="module")
def tiny_kokoro(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import torch
    from kokoro.model import KModel

    config = copy.deepcopy(kokoro_config())
    config.update(n_layer=1)  # hidden_dim stays 512: the decoder hard-codes it
    config["plbert"].update(hidden_size=32, num_attention_heads=2, intermediate_size=64,
                            num_hidden_layers=1)
    folder = tmp_path_factory.mktemp("tiny-kokoro")
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    torch.manual_seed(0)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=_empty_checkpoint(folder),
                   disable_complex=True)
    checkpoint = folder / "tiny.pth"
    torch.save({name: getattr(model, name).state_dict()
                for name in ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")},
               checkpoint)
    return checkpoint, config_path


def _empty_checkpoint(folder: Path) -> str:
    """KModel insists on loading a checkpoint; an empty one keeps its random initialisation."""
    import torch

    path = folder / "empty.pth"
    torch.save({}, path)
    return str(path)


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
