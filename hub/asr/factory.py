"""hub.yaml's `asr.backend` → a Recognizer.

Backends import their heavy dependencies (torch, transformers, httpx) only when chosen, so a CPU
hub never loads what the GPU backend needs.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from hub.asr.base import Recognizer
from hub.asr.config import AsrConfig

#: backend name → (module, class); every class takes (AsrConfig, data_dir).
BACKENDS: dict[str, tuple[str, str]] = {
    "whisper": ("hub.asr.whisper", "WhisperRecognizer"),
    "voxtral": ("hub.asr.voxtral", "VoxtralRecognizer"),
    "openai": ("hub.asr.openai", "OpenAIRecognizer"),
}


def create_recognizer(config: AsrConfig, data_dir: Path) -> Recognizer:
    """The configured recognizer, not yet loaded (call `.load()` in an executor)."""
    try:
        module_name, class_name = BACKENDS[config.backend]
    except KeyError:
        raise ValueError(f"asr.backend: unknown backend '{config.backend}'; allowed: "
                         f"{', '.join(BACKENDS)}") from None
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(config, Path(data_dir))
