"""The satellite's local VAD: a safety net that notices speech, then a second of silence."""

from __future__ import annotations

import numpy as np
import pytest

from rehearsal.speech import espeak_wav
from satellite.vad import SpeechTracker
from voxhub.audio import float_to_pcm16, read_wav, to_mono16k


@pytest.fixture(scope="module")
def command_then_silence(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, float]:
    wav = tmp_path_factory.mktemp("vad") / "command.wav"
    speech = to_mono16k(*read_wav(espeak_wav("turn on the kitchen lights please", wav,
                                              speed=175)))  # espeak's default speed
    noise = np.random.default_rng(0).normal(0, 0.003, 16000 * 2).astype(np.float32)
    audio = np.concatenate([noise[:8000], speech, noise])
    return float_to_pcm16(audio), len(speech) / 16000


@pytest.mark.parametrize("stride", [1, 2])
def test_speech_is_heard_and_the_silence_after_it_is_measured(command_then_silence,
                                                             stride: int) -> None:
    pcm, speech_s = command_then_silence
    tracker = SpeechTracker(stride=stride)
    block = 2048
    heard_at = None
    for offset in range(0, len(pcm), block):
        tracker.process(pcm[offset:offset + block])
        if tracker.heard_speech and heard_at is None:
            heard_at = offset / 32000
    assert heard_at is not None and heard_at < 0.5 + 0.5
    assert tracker.speech_s > 0.5 * speech_s
    # Two seconds of noise follow the command: the net sees (nearly) all of it as silence.
    assert 1.6 <= tracker.silence_s <= 2.2


def test_a_muted_microphone_is_silence_without_asking_silero() -> None:
    tracker = SpeechTracker(stride=2)
    tracker.process(bytes(32000))
    assert not tracker.heard_speech and tracker.silence_s == pytest.approx(1.0, abs=0.05)
