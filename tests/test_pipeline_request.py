"""What a satellite may ask for in `run-pipeline`, and the clear errors for what it may not."""

from __future__ import annotations

import numpy as np
import pytest
from wyoming.event import Event
from wyoming.pipeline import PipelineStage, RunPipeline

from hub.pipeline.config import PipelineConfig
from hub.pipeline.request import RunRequest
from hub.tts.speech_stream import encode
from voxhub.protocol import SndFormat


def run_event(**data) -> Event:
    event = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
    event.data.update(data)
    return event


def test_the_satellite_says_who_it_is_and_what_its_speaker_wants():
    request = RunRequest.from_event(run_event(
        satellite={"name": "kitchen-pi", "area": "Kitchen"},
        snd_format={"rate": 16000, "width": 2, "channels": 1}), PipelineConfig())
    assert (request.satellite, request.area) == ("kitchen-pi", "Kitchen")
    assert request.snd_format == SndFormat(16000, 2, 1)


def test_a_stock_wyoming_client_gets_sensible_defaults():
    request = RunRequest.from_event(run_event(), PipelineConfig())
    assert request.area is None
    assert request.snd_format == SndFormat(24000, 2, 1)
    assert request.config == PipelineConfig()


def test_a_satellite_may_choose_its_own_endpointing_within_the_hub_limits():
    config = PipelineConfig()
    request = RunRequest.from_event(
        run_event(endpointing={"silence_s": 1.0, "early_answer": False}), config)
    assert request.config.silence_s == 1.0 and request.config.early_answer is False
    assert config.silence_s == 0.7  # the hub's own settings are untouched
    with pytest.raises(ValueError, match=r"silence_s=9\.0 outside"):
        RunRequest.from_event(run_event(endpointing={"silence_s": 9}), config)
    with pytest.raises(ValueError, match="vad_threads cannot be set per run"):
        RunRequest.from_event(run_event(endpointing={"vad_threads": 8}), config)
    with pytest.raises(ValueError, match="true or false"):
        RunRequest.from_event(run_event(endpointing={"early_answer": "yes"}), config)


@pytest.mark.parametrize("endpointing", [
    {"silence_s": float("nan")},  # NaN is neither below a minimum nor above a maximum
    {"max_speech_s": float("inf")},
    {"max_speech_s": 1e9, "no_speech_s": 1e9},  # would keep a run's audio without bound
])
def test_a_satellite_cannot_make_a_run_listen_forever(endpointing):
    with pytest.raises(ValueError, match="outside"):
        RunRequest.from_event(run_event(endpointing=endpointing), PipelineConfig())


@pytest.mark.parametrize(("data", "message"), [
    ({"start_stage": "wake", "end_stage": "tts"}, "start_stage 'wake' is not supported"),
    ({"start_stage": "tts", "end_stage": "tts"}, "needs announce_text"),
    ({"start_stage": "asr", "end_stage": "tts", "snd_format": {"rate": 100}}, "rate 100"),
    ({"start_stage": "asr", "end_stage": "tts", "snd_format": "24000"}, "snd_format must be"),
    ({"start_stage": "asr", "end_stage": "tts", "satellite": "kitchen"}, "'satellite' must be"),
    ({"start_stage": "asr", "end_stage": "tts", "snd_format": {"rate": "abc"}},
     "snd_format.rate must be an integer, not 'abc'"),
    ({"start_stage": "asr", "end_stage": "tts", "snd_format": {"width": 1.5}},
     "snd_format.width must be an integer"),
    ({"start_stage": "asr", "end_stage": "tts", "endpointing": {"silence_s": "long"}},
     "endpointing.silence_s must be a number, not 'long'"),
])
def test_requests_the_hub_cannot_serve_are_refused_with_the_reason(data, message):
    with pytest.raises(ValueError, match=message):
        RunRequest.from_event(Event("run-pipeline", data), PipelineConfig())


def test_reply_audio_is_encoded_in_the_width_and_channels_asked_for():
    samples = np.array([0.0, 0.5, -0.5, 1.0], dtype=np.float32)
    mono16 = np.frombuffer(encode(samples, SndFormat(24000, 2, 1)), "<i2")
    assert mono16.tolist() == [0, 16383, -16383, 32767]
    stereo16 = np.frombuffer(encode(samples, SndFormat(24000, 2, 2)), "<i2")
    assert stereo16.tolist() == [0, 0, 16383, 16383, -16383, -16383, 32767, 32767]
    wide = np.frombuffer(encode(samples, SndFormat(24000, 4, 1)), "<i4")
    assert wide[1] == pytest.approx(2**30, rel=1e-6)
    narrow = np.frombuffer(encode(samples, SndFormat(24000, 1, 1)), np.uint8)
    assert narrow.tolist() == [128, 191, 64, 255]
