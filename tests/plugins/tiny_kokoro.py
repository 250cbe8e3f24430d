"""A tiny random Kokoro checkpoint (KModel's architecture, a few small layers) for the torch path.

A GPU hub loads Kokoro's real .pth; no model hub is reachable here, so tests (and the GPU check,
scripts/gpu_check.py) write one with Kokoro's v1.0 config, one LSTM layer and a small PL-BERT.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


def build_tiny_kokoro(folder: Path) -> tuple[Path, Path]:
    """Write `tiny.pth` and its `config.json` into `folder`; returns both paths."""
    import torch
    from kokoro.model import KModel

    from hub.tts.g2p import kokoro_config

    config = copy.deepcopy(kokoro_config())
    config.update(n_layer=1)  # hidden_dim stays 512: the decoder hard-codes it
    config["plbert"].update(hidden_size=32, num_attention_heads=2, intermediate_size=64,
                            num_hidden_layers=1)
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    empty = folder / "empty.pth"  # KModel insists on a checkpoint: an empty one keeps its init
    torch.save({}, empty)
    torch.manual_seed(0)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(empty),
                   disable_complex=True)
    checkpoint = folder / "tiny.pth"
    torch.save({name: getattr(model, name).state_dict()
                for name in ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")},
               checkpoint)
    return checkpoint, config_path


@pytest.fixture(scope="session")
def tiny_kokoro(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_tiny_kokoro(tmp_path_factory.mktemp("tiny-kokoro"))
