"""Whisper tiny.en on the CPU: real inference on espeak-ng speech, n-best, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from voxhub.audio import float_to_pcm16, resample, to_mono16k


def words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c == " ").split())


def test_whisper_transcribes_a_spoken_command_with_hypotheses(understander: Any,
                                                              spoken: Any) -> None:
    result = asyncio.run(understander.transcribe(spoken("turn on the kitchen lights")))
    assert words(result.text) == "turn on the kitchen lights"
    assert result.language == "en"
    assert 0.0 < result.confidence <= 1.0
    assert result.hypotheses[0] == result.text
    assert 1 <= len(result.hypotheses) <= 5
    assert len(set(result.hypotheses)) == len(result.hypotheses)
    assert result.timings_ms["asr"] > 0


def test_the_home_prompt_is_built_from_command_words_and_names(understander: Any) -> None:
    prompt = understander.engine.prompt
    assert "Kitchen Lights" in prompt and "Garage Door" in prompt and "Living Room" in prompt
    assert "turn" in prompt.split(", ") or "turn" in prompt


def test_silence_gives_an_empty_transcript(understander: Any) -> None:
    result = asyncio.run(understander.transcribe(np.zeros(16000, dtype=np.float32)))
    assert result.text == "" and result.hypotheses == []
    quiet = asyncio.run(understander.understand_audio(np.zeros(8000, dtype=np.float32)))
    assert quiet.text == "" and quiet.intent is None and quiet.reply == ""


def test_other_formats_are_converted_not_refused(understander: Any, spoken: Any) -> None:
    """8 kHz stereo 32-bit PCM, as a telephone-grade client might send it."""
    audio = resample(spoken("open the garage door"), 16000, 8000)
    stereo = np.stack([audio, audio], axis=1).reshape(-1)
    pcm32 = (np.clip(stereo, -1, 1) * (2**31 - 1)).astype("<i4").tobytes()
    converted = to_mono16k(pcm32, 8000, 4, 2)
    result = asyncio.run(understander.understand_audio(converted))
    assert result.intent is not None and result.targets == ["cover.garage_door"]


def test_long_audio_is_cut_to_the_limit(understander: Any, spoken: Any,
                                        caplog: pytest.LogCaptureFixture) -> None:
    command = spoken("turn on the kitchen lights")
    long_audio = np.concatenate([command, np.zeros(16000 * 40, dtype=np.float32)])
    with caplog.at_level("WARNING"):
        result = asyncio.run(understander.understand_audio(long_audio))
    assert "cut to asr.max_audio_s" in caplog.text
    assert result.targets == ["light.kitchen_lights"]


def test_recognizer_model_errors_are_clear(tmp_path: Any) -> None:
    from hub.asr.config import AsrConfig
    from hub.asr.factory import create_recognizer
    from hub.asr.whisper import ModelNotFound, resolve_model

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match=r"holds no CTranslate2 model\.bin"):
        resolve_model(str(tmp_path / "empty"), tmp_path)
    config = AsrConfig()
    config.backend = "nope"
    with pytest.raises(ValueError, match="allowed: whisper, voxtral, openai"):
        create_recognizer(config, tmp_path)


def test_pcm16_round_trip_of_test_speech(spoken: Any) -> None:
    audio = spoken("never mind")
    assert np.abs(to_mono16k(float_to_pcm16(audio), 16000, 2, 1) - audio).max() < 1e-3


@pytest.mark.parametrize("voice", ["af_heart", "bm_george"])
def test_the_hubs_own_kokoro_voices_are_understood(understander: Any, synthesizer: Any,
                                                   voice: str) -> None:
    pcm = synthesizer.synthesize("Please open the garage door.", voice=voice)
    result = asyncio.run(understander.understand_audio(to_mono16k(pcm, 24000, 2, 1), "kitchen"))
    assert result.intent is not None and result.intent.name == "HassTurnOn"
    assert result.targets == ["cover.garage_door"]
    assert result.reply == "Opening"
