"""Fixtures for speech understanding: the example home, the real Understander, spoken commands.

Speech is made at test time with Debian's espeak-ng (never committed); Whisper tiny.en and the
sentence index are loaded once per session and shared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rehearsal.speech import espeak_wav

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_HOME = ROOT / "config" / "home.yaml"


def wav_audio(path: Path) -> np.ndarray:
    from voxhub.audio import read_wav, to_mono16k

    return to_mono16k(*read_wav(path))


@pytest.fixture(scope="session")
def example_home() -> Any:
    from hub.intents.home import load_home

    return load_home(EXAMPLE_HOME)


@pytest.fixture(scope="session")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., np.ndarray]:
    """`spoken("turn on the kitchen lights")` → 16 kHz float32 speech (cached per text)."""
    folder = tmp_path_factory.mktemp("spoken")
    cache: dict[tuple[str, str], np.ndarray] = {}

    def make(text: str, voice: str = "en-us") -> np.ndarray:
        if (text, voice) not in cache:
            path = folder / f"{len(cache)}.wav"
            cache[(text, voice)] = wav_audio(espeak_wav(text, path, voice))
        return cache[(text, voice)]

    return make


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    folder = tmp_path_factory.mktemp("spoken-wav")

    def make(text: str, voice: str = "en-us") -> Path:
        return espeak_wav(text, folder / f"{abs(hash((text, voice)))}.wav", voice)

    return make


@pytest.fixture(scope="session")
def understander() -> Any:
    """The real Understander: Whisper tiny.en (int8, CPU), the example home, the fuzzy index."""
    from hub.config import HubConfig
    from hub.intents.home import StaticHomeSource, load_home
    from hub.understanding import Understander

    understander = Understander(HubConfig(), StaticHomeSource(load_home(EXAMPLE_HOME)))
    understander.load()
    assert understander.wait_ready(120), "sentence index not built"
    return understander


@pytest.fixture(scope="session")
def text_understander() -> Any:
    """Intents only (no recognizer), for the many text cases."""
    from hub.config import HubConfig
    from hub.intents.home import StaticHomeSource, load_home
    from hub.understanding import Understander

    understander = Understander(HubConfig(), StaticHomeSource(load_home(EXAMPLE_HOME)))
    understander.load(recognizer=False)
    assert understander.wait_ready(120), "sentence index not built"
    return understander


@pytest.fixture(scope="session")
def understanding_hub(understander: Any) -> Any:
    """An endpoint serving the asr, intent and handle programs with the real models."""
    from hub.asr.program import AsrProgram
    from hub.intents.program import HandleProgram, IntentProgram
    from tests.plugins.hub import ThreadedHub

    hub = ThreadedHub([AsrProgram(understander), IntentProgram(understander),
                       HandleProgram(understander)])
    yield hub
    hub.close()
