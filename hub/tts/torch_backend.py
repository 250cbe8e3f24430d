"""Kokoro on PyTorch with hexgrad's `kokoro` package (KModel), for GPU hubs.

The voices stay ours (passed as tensors): given a voice name, kokoro would fetch it from a model
hub. The model is a local .pth with its config.json, or a hub id when the hub is reachable.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from hub.tts.backend import KokoroBackend
from hub.tts.g2p import kokoro_config

_LOGGER = logging.getLogger(__name__)


class TorchBackend(KokoroBackend):
    name = "torch"

    def __init__(self, model: str, config_path: Path | None = None, device: str = "cpu",
                 threads: int = 2) -> None:
        import torch
        from kokoro.model import KModel

        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("tts.device is 'cuda' but torch sees no CUDA device")
        if device == "cpu":
            torch.set_num_threads(threads)
        config = json.loads(Path(config_path).read_text()) if config_path else kokoro_config()
        local = Path(model)
        if local.exists():
            self.model = KModel(repo_id="hexgrad/Kokoro-82M", config=config, model=str(local),
                                disable_complex=True)
        else:  # a model-hub id such as hexgrad/Kokoro-82M, when online
            self.model = KModel(repo_id=model, disable_complex=True)
        self.model = self.model.to(device).eval()
        self.device = device
        self._torch = torch
        _LOGGER.info("Kokoro torch model loaded from %s on %s", model, device)

    def infer(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        torch = self._torch
        ids = torch.LongTensor([[0, *tokens, 0]]).to(self.device)
        ref = torch.from_numpy(np.asarray(style, dtype=np.float32).reshape(1, -1)).to(self.device)
        with torch.no_grad():
            output = self.model.forward_with_tokens(ids, ref, speed)
        audio = output[0] if isinstance(output, tuple) else output
        return audio.squeeze().float().cpu().numpy()
