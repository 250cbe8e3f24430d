"""Kokoro voice packs: discovery, metadata for Wyoming `info`, and weighted blends.

A voice pack is a [510, 1, 256] float32 table: row n-1 is the style vector for an utterance of n
phoneme tokens. A blend ("af_heart:0.7,af_bella:0.3") is the weighted mean of whole tables, so it
behaves like any other voice and can be cached under its own name.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STYLE_ROWS = 510
STYLE_DIM = 256

#: voice name prefix letter → (G2P language code, language tag for Wyoming, description)
LANGUAGES = {
    "a": ("en-us", "en_US", "American English"),
    "b": ("en-gb", "en_GB", "British English"),
    "e": ("es", "es_ES", "Spanish"),
    "f": ("fr-fr", "fr_FR", "French"),
    "h": ("hi", "hi_IN", "Hindi"),
    "i": ("it", "it_IT", "Italian"),
    "j": ("ja", "ja_JP", "Japanese"),
    "p": ("pt-br", "pt_BR", "Brazilian Portuguese"),
    "z": ("zh", "zh_CN", "Mandarin Chinese"),
}
GENDERS = {"f": "female", "m": "male"}
ATTRIBUTION_NAME = "hexgrad (Kokoro-82M, Apache-2.0)"
ATTRIBUTION_URL = "https://huggingface.co/hexgrad/Kokoro-82M"


class UnknownVoiceError(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(close)}" if close else ""
        super().__init__(f"unknown voice '{name}'{hint}")
        self.name = name
        self.closest = close


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    g2p_language: str
    language: str
    description: str

    @property
    def speaker(self) -> str:
        return self.name.split("_", 1)[-1]


def voice_info(name: str) -> VoiceInfo:
    prefix = name[:1]
    g2p_lang, tag, lang_desc = LANGUAGES.get(prefix, ("en-us", "en_US", "English"))
    gender = GENDERS.get(name[1:2], "")
    speaker = name.split("_", 1)[-1].replace("_", " ").title()
    return VoiceInfo(name, g2p_lang, tag, f"{speaker} ({lang_desc}, {gender})".replace(", )", ")"))


class VoiceLibrary:
    """The voices found in one or more folders, loaded on first use and kept."""

    def __init__(self, folders: list[Path]) -> None:
        self._files: dict[str, Path] = {}
        for folder in folders:
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.suffix in (".bin", ".npy"):
                        self._files.setdefault(path.stem, path)
        self._loaded: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return sorted(self._files)

    def infos(self) -> list[VoiceInfo]:
        return [voice_info(n) for n in self.names]

    def parse(self, spec: str) -> list[tuple[str, float]]:
        """'af_heart:0.7,af_bella:0.3' → normalised weights; unknown names raise with hints."""
        parts: list[tuple[str, float]] = []
        for item in spec.split(","):
            name, _, weight = item.strip().partition(":")
            name = name.strip()
            if name not in self._files:
                raise UnknownVoiceError(name, self.names)
            try:
                value = float(weight) if weight else 1.0
            except ValueError:
                raise ValueError(f"voice blend weight '{weight}' for {name} is not a number") \
                    from None
            if value <= 0:
                raise ValueError(f"voice blend weight for {name} must be positive")
            parts.append((name, value))
        if not parts:
            raise ValueError("empty voice")
        total = sum(w for _, w in parts)
        return [(n, w / total) for n, w in parts]

    def info_for(self, spec: str) -> VoiceInfo:
        """The language of a blend is that of its heaviest voice."""
        parts = self.parse(spec)
        return voice_info(max(parts, key=lambda p: p[1])[0])

    def style_table(self, spec: str) -> np.ndarray:
        parts = self.parse(spec)
        with self._lock:
            key = ",".join(f"{n}:{w:.4f}" for n, w in parts)
            if key not in self._loaded:
                table = sum(w * self._load(n) for n, w in parts)
                self._loaded[key] = np.asarray(table, dtype=np.float32)
            return self._loaded[key]

    def _load(self, name: str) -> np.ndarray:
        path = self._files[name]
        data = np.load(path) if path.suffix == ".npy" else np.fromfile(path, dtype="<f4")
        data = np.asarray(data, dtype=np.float32).reshape(-1, 1, STYLE_DIM)
        if data.shape[0] != STYLE_ROWS:
            raise ValueError(f"{path}: voice pack has {data.shape[0]} rows, expected {STYLE_ROWS}")
        return data

    def style(self, spec: str, token_count: int) -> np.ndarray:
        """The [1, 256] style vector for an utterance of `token_count` phoneme tokens."""
        table = self.style_table(spec)
        row = min(max(token_count - 1, 0), STYLE_ROWS - 1)
        return table[row]
