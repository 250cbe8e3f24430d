"""Endpointing with Silero VAD on real speech (espeak-ng): when does a command start and end?"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hub.pipeline.config import PipelineConfig
from hub.pipeline.endpointing import Endpointer, EndpointKind
from rehearsal.speech import espeak, silence, speech_bounds


def events_of(audio: np.ndarray, config: PipelineConfig, chunk: int = 1024):
    endpointer = Endpointer(config)
    events = []
    for offset in range(0, len(audio), chunk):
        events.extend(endpointer.process(audio[offset:offset + chunk]))
    return events


def test_a_command_starts_and_stops_near_the_spoken_words(kitchen_command):
    config = PipelineConfig(early_answer=False)
    start, end = speech_bounds(kitchen_command)
    events = events_of(kitchen_command, config)
    assert [e.kind for e in events] == [EndpointKind.VOICE_STARTED, EndpointKind.VOICE_STOPPED]
    assert abs(events[0].at_s - start) < 0.15
    assert abs(events[1].at_s - end) < 0.15


def test_the_silence_setting_decides_how_long_the_hub_waits(kitchen_command):
    """The decision comes silence_s after the last word: audio processed tells when."""
    for silence_s in (0.5, 1.2):
        endpointer = Endpointer(PipelineConfig(early_answer=False, silence_s=silence_s))
        for offset in range(0, len(kitchen_command), 512):
            if any(e.final for e in endpointer.process(kitchen_command[offset:offset + 512])):
                break
        assert endpointer.done is not None
        waited = endpointer.audio_s - endpointer.done.at_s
        assert silence_s - 0.04 <= waited <= silence_s + 0.07


def test_chunk_size_does_not_change_the_decision(kitchen_command):
    config = PipelineConfig(early_answer=False)
    small = events_of(kitchen_command, config, chunk=160)
    large = events_of(kitchen_command, config, chunk=4000)
    assert small == large


def test_silence_alone_ends_as_no_speech():
    events = events_of(silence(3.0), PipelineConfig(no_speech_s=2.0))
    assert [e.kind for e in events] == [EndpointKind.NO_SPEECH]
    assert events[0].at_s == pytest.approx(2.0, abs=0.04)


def test_speech_shorter_than_the_minimum_is_ignored():
    word = espeak("hey")
    audio = np.concatenate([silence(0.3), word, silence(2.5)])
    spoken = speech_bounds(audio)
    assert spoken[1] - spoken[0] < 0.5
    events = events_of(audio, PipelineConfig(min_speech_s=0.6, no_speech_s=2.5))
    assert [e.kind for e in events] == [EndpointKind.NO_SPEECH]


def test_a_long_monologue_is_cut_at_max_speech():
    talk = espeak("this is a very long sentence that keeps going on and on without a single "
                  "break because somebody is reading the news aloud in the kitchen", speed=200)
    audio = np.concatenate([silence(0.3), talk])
    events = events_of(audio, PipelineConfig(max_speech_s=2.0, silence_s=1.5))
    assert events[-1].kind == EndpointKind.MAX_SPEECH
    assert events[-1].at_s - events[0].at_s == pytest.approx(2.0, abs=0.05)


def test_a_short_pause_is_reported_and_withdrawn_when_speech_resumes():
    first = espeak("turn on the lights")
    second = espeak("in the kitchen")
    audio = np.concatenate([silence(0.3), first, silence(0.45), second, silence(1.5)])
    config = PipelineConfig(early_pause_s=0.25, silence_s=0.7)
    kinds = [e.kind for e in events_of(audio, config)]
    assert kinds == [EndpointKind.VOICE_STARTED, EndpointKind.PAUSE, EndpointKind.RESUMED,
                     EndpointKind.PAUSE, EndpointKind.VOICE_STOPPED]
    events = events_of(audio, config)
    assert events[1].pause_id != events[3].pause_id
    # The final silence continues the second pause: an early answer for it would be current.
    assert events[-1].pause_id == events[3].pause_id


def test_no_pause_events_without_early_answering(kitchen_command):
    config = dataclasses.replace(PipelineConfig(), early_answer=False)
    assert EndpointKind.PAUSE not in [e.kind for e in events_of(kitchen_command, config)]
