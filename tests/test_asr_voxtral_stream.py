"""Partial transcripts from the realtime model while audio is still arriving.

The tiny random realtime checkpoint (tests/plugins/voxtral.py) runs transformers' real streaming
generate: mel windows pulled from a generator, text handed back through a streamer thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from hub.asr.base import RecognizeRequest
from hub.asr.config import AsrConfig
from hub.asr.voxtral import VoxtralRecognizer
from hub.asr.voxtral_stream import _AudioBuffer
from voxhub.configfile import from_mapping


def tone(start: int, count: int) -> np.ndarray:
    t = np.arange(start, start + count) / 16000
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def streaming(tiny_voxtral_dir: Path, tiny_voxtral_realtime_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> VoxtralRecognizer:
    config = from_mapping(AsrConfig, {"backend": "voxtral", "voxtral": {
        "model": str(tiny_voxtral_dir), "realtime_model": str(tiny_voxtral_realtime_dir),
        "max_new_tokens": 8}})
    recognizer = VoxtralRecognizer(config, tmp_path_factory.mktemp("data"))
    recognizer.load()
    return recognizer


def test_partials_arrive_before_the_audio_ends(streaming: VoxtralRecognizer):
    assert streaming.supports_streaming
    consumed = 0

    def microphone() -> Iterator[np.ndarray]:  # 100 ms chunks, 4 s in all
        nonlocal consumed
        for start in range(0, 64000, 1600):
            consumed += 1
            yield tone(start, 1600)

    seen = [(consumed, text) for text in streaming.stream_audio(microphone())]
    assert len(seen) >= 3
    assert seen[0][0] < 40  # the first words came while chunks were still to be read
    texts = [text for _, text in seen]
    assert all(text for text in texts)
    assert all(b.startswith(a) for a, b in pairwise(texts))  # each partial extends the last


def test_transcribe_stream_and_short_audio(streaming: VoxtralRecognizer):
    partials = list(streaming.transcribe_stream(RecognizeRequest(audio=tone(0, 24000))))
    assert partials and partials[-1]
    # Shorter than the model's first window (≈ 0.56 s): padded, still transcribed.
    assert list(streaming.transcribe_stream(RecognizeRequest(audio=tone(0, 3000))))


def test_the_audio_buffer_stays_bounded():
    buffer = _AudioBuffer(iter([tone(i, 1600) for i in range(0, 160000, 1600)]))
    assert buffer.read_until(9000) is not None
    start = 8800
    while (window := buffer.window(start, 1680, right_pad=2560)) is not None:
        assert len(window) == 1680
        buffer.forget_before(start)
        assert len(buffer.data) < 1680 + 1600 * 2
        start += 1280
    assert buffer.padded and start > 160000
