"""Kokoro on onnxruntime: the CPU default, with the CUDA execution provider when asked for."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from hub.tts.backend import KokoroBackend

_LOGGER = logging.getLogger(__name__)


class OnnxBackend(KokoroBackend):
    name = "onnx"

    def __init__(self, model_path: Path, device: str = "cpu", threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # onnxruntime's pool threads busy-wait for the next operator by default: between the
        # graph's many small operators (and between renders) each keeps a core spinning that
        # the event loop, answering every other client, needs. On a loaded machine the spin
        # is worse than idle: a spinning thread holds the core its sibling would render on.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise RuntimeError("tts.device is 'cuda' but onnxruntime has no CUDA execution "
                                   "provider: install onnxruntime-gpu, or use device: cpu")
            providers.insert(0, "CUDAExecutionProvider")
        self.model_path = Path(model_path)
        self.session = ort.InferenceSession(str(model_path), sess_options=options,
                                            providers=providers)
        self._inputs = {i.name for i in self.session.get_inputs()}
        _LOGGER.info("Kokoro ONNX loaded from %s on %s", model_path, providers[0])

    def infer(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        ids = np.array([[0, *tokens, 0]], dtype=np.int64)
        feeds: dict[str, np.ndarray] = {"style": np.asarray(style, dtype=np.float32).reshape(1, -1),
                 "speed": np.array([speed], dtype=np.float32)}
        feeds["tokens" if "tokens" in self._inputs else "input_ids"] = ids
        (audio,) = self.session.run(None, feeds)[:1]
        return np.asarray(audio, dtype=np.float32).reshape(-1)
