"""Whisper's repetition loop (hub/asr/loops.py): the command it repeats is heard once."""

from __future__ import annotations

import pytest

from hub.asr.loops import without_repeats


@pytest.mark.parametrize(("looped", "once"), [
    ("Turn on the kitchen light, turn on the kitchen light, turn on the kitchen light, turn on",
     "Turn on the kitchen light"),
    ("Lights off. Lights off. Lights off.", "Lights off"),
    ("No, no, no.", "No"),
    ("Enciende la luz de la cocina. Enciende la luz de la cocina. Enciende la",
     "Enciende la luz de la cocina"),
])
def test_a_transcript_that_repeats_one_phrase_to_the_end_is_that_phrase_once(looped, once):
    assert without_repeats(looped) == once


@pytest.mark.parametrize("text", [
    "Turn on the kitchen light.",
    "Play la la la by Naughty Boy",
    "Turn off the light and turn off the fan",
    "Set a timer for 10 minutes, 10 minutes",
    "No",
    "",
])
def test_speech_that_is_not_one_phrase_repeated_is_left_alone(text):
    assert without_repeats(text) == text
