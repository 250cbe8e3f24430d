"""Run the hub's GPU code paths on CUDA with tiny random models; prints one JSON object.

CI has no GPU, so the test suite runs these paths on CPU. This script is the check to run on a
machine with one (a GPU hub, or a lent test machine): the Kokoro torch backend
(`tts.backend: torch, device: cuda`), Voxtral through transformers in bfloat16
(`asr.backend: voxtral`, one-pass understanding with tools), and the Voxtral realtime streamer.
The models are the test suite's tiny random ones (tests/plugins/), so what they say is noise:
the check is that the real loading, placement, dtype and generate paths run on the GPU and that
the torch Kokoro gives the same audio there as on CPU.

    python scripts/gpu_check.py            # needs torch with CUDA, transformers, kokoro,
                                           # mistral-common[audio]
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def import_kokoro_model_only() -> None:
    """Import `kokoro.model` without `kokoro/__init__`, which pulls misaki's spaCy G2P for its
    KPipeline; the hub does its own G2P and only uses KModel."""
    if "kokoro" in sys.modules:
        return
    spec = importlib.util.find_spec("kokoro")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("the kokoro package is not installed")
    package = types.ModuleType("kokoro")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["kokoro"] = package


def check_kokoro(folder: Path, device: str) -> dict:
    import torch

    from hub.tts.torch_backend import TorchBackend
    from tests.plugins.tiny_kokoro import build_tiny_kokoro

    checkpoint, config = build_tiny_kokoro(folder)
    tokens = list(range(40, 52))
    style = np.random.default_rng(0).normal(0, 0.1, 256).astype(np.float32)
    result: dict = {}
    audio = {}
    for place in ("cpu", device):
        backend = TorchBackend(str(checkpoint), config, place)
        parameter = next(backend.model.parameters())
        backend.infer(tokens, style, 1.0)  # warm-up (CUDA kernels, cuDNN autotune)
        torch.manual_seed(0)
        started = time.perf_counter()
        audio[place] = backend.infer(tokens, style, 1.0)  # .cpu() inside waits for the GPU
        result[f"{place}_infer_s"] = round(time.perf_counter() - started, 4)
        result[f"{place}_parameters_on"] = str(parameter.device)
    slower = backend.infer(tokens, style, 0.5)
    result["speed_0.5_is_longer"] = len(slower) > len(audio[device])
    a, b = audio["cpu"], audio[device]
    result["samples"] = [len(a), len(b)]
    result["finite"] = bool(np.isfinite(b).all())
    # Kokoro's source draws random phases and noise, from a different generator on each device,
    # so the waveforms differ; durations (the length) and the spectrum must not.
    result["same_length"] = len(a) == len(b)
    result["cpu_vs_device_spectrum_correlation"] = round(float(np.corrcoef(
        _log_spectrum(a), _log_spectrum(b))[0, 1]), 4)
    return result


def _log_spectrum(audio: np.ndarray, size: int = 1024) -> np.ndarray:
    """Long-term average log spectrum: independent of phase and of the noise's draw."""
    frames = audio[: len(audio) // size * size].reshape(-1, size) * np.hanning(size)
    return np.log(np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-12)


def check_voxtral(folder: Path, data_dir: Path, device: str) -> dict:
    from hub.asr.base import RecognizeRequest
    from hub.asr.config import AsrConfig
    from hub.asr.llm_tools import IntentSpec, build_tools
    from hub.asr.voxtral import VoxtralRecognizer
    from tests.plugins.voxtral import build_tiny_voxtral, build_tiny_voxtral_realtime
    from voxhub.configfile import from_mapping

    model = build_tiny_voxtral(folder / "voxtral")
    realtime = build_tiny_voxtral_realtime(folder / "voxtral-realtime")
    config = from_mapping(AsrConfig, {"backend": "voxtral", "voxtral": {
        "model": str(model), "realtime_model": str(realtime), "device": device,
        "dtype": "auto", "max_new_tokens": 8}})
    recognizer = VoxtralRecognizer(config, data_dir)
    started = time.perf_counter()
    recognizer.load()
    result: dict = {"load_s": round(time.perf_counter() - started, 2),
                    "device": recognizer.device,
                    "dtype": str(recognizer.model.dtype),
                    "parameters_on": str(next(recognizer.model.parameters()).device),
                    "streaming": recognizer.supports_streaming}
    t = np.arange(24000) / 16000
    audio = (0.2 * np.sin(2 * np.pi * 220 * t)
             + 0.05 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)
    started = time.perf_counter()
    text = recognizer.transcribe(RecognizeRequest(audio=audio, language="en"))
    result["transcribe_s"] = round(time.perf_counter() - started, 3)
    result["transcribe_text_chars"] = len(text.text)
    tools = build_tools([IntentSpec("HassTurnOn", ["name", "area"])],
                        names=["Kitchen Light"], areas=["Kitchen"])
    started = time.perf_counter()
    understood = recognizer.transcribe(RecognizeRequest(audio=audio, language="en", tools=tools))
    result["understand_s"] = round(time.perf_counter() - started, 3)
    result["understand_confidence"] = understood.confidence
    partials = list(recognizer.transcribe_stream(RecognizeRequest(audio=audio)))
    result["stream_partials"] = len(partials)
    result["stream_last_chars"] = len(partials[-1]) if partials else 0
    return result


def main() -> int:
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="torch device to check (default cuda; "
                        "cpu runs the same script where there is no GPU)")
    device = parser.parse_args().device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        return 1
    import_kokoro_model_only()
    report: dict = {"device": torch.cuda.get_device_name(0) if device.startswith("cuda")
                    else "cpu", "torch": torch.__version__}
    import transformers

    report["transformers"] = transformers.__version__
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, check in (("kokoro_torch", lambda: check_kokoro(folder / "kokoro", device)),
                            ("voxtral", lambda: check_voxtral(folder, folder / "data", device))):
            try:
                report[name] = check()
            except Exception as err:  # report every check, even after one fails
                report[name] = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps(report, indent=2))
    return 0 if not any("error" in v for v in report.values() if isinstance(v, dict)) else 1


if __name__ == "__main__":
    sys.exit(main())
