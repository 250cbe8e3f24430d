"""`asr.recovered_transcript`: Home Assistant's STT entity gets the command the hub recovered.

Home Assistant's own agent parses the STT transcript strictly, so a recognizer slip ("turn of
the desk lamb") fails there; the hub, which knows the home's sentences, hands on the command it
is confident was meant, and never turns speech that is not a command into one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub.asr.base import Transcription
from hub.config import HubConfig
from hub.intents.home import StaticHomeSource, load_home
from hub.understanding import Understander
from tests.plugins.understanding import EXAMPLE_HOME
from voxhub.configfile import override


@pytest.fixture(scope="module")
def recovering(text_understander: Any) -> Understander:
    config = override(HubConfig(), "asr.recovered_transcript", "on")
    understander = Understander(config, StaticHomeSource(load_home(EXAMPLE_HOME)))
    understander.engine = text_understander.engine  # the same loaded grammar and index
    return understander


def _heard(text: str, *more: str) -> Transcription:
    return Transcription(text, "en", hypotheses=[text, *more])


def test_a_slipped_command_is_handed_on_as_the_command_meant(recovering: Understander) -> None:
    recovered = asyncio.run(recovering.recovered_text(_heard("Turn of the desk lamb.")))
    assert recovered == "turn off the desk lamp"


def test_a_command_heard_right_is_handed_on_as_heard(recovering: Understander) -> None:
    assert asyncio.run(recovering.recovered_text(_heard("Turn on the kitchen lights."))) == \
        "Turn on the kitchen lights."


@pytest.mark.parametrize("speech", ["What's the capital of France?", "Tell me a joke.",
                                    "I need to buy a new car.", ""])
def test_speech_that_is_not_a_command_is_handed_on_as_heard(recovering: Understander,
                                                            speech: str) -> None:
    assert asyncio.run(recovering.recovered_text(_heard(speech))) == speech


def test_auto_recovers_only_for_the_users_own_home(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    assert not Understander(HubConfig()).recovers_transcripts  # the example home
    own = override(HubConfig(), "intents.home", str(tmp_path / "home.yaml"))
    assert Understander(own).recovers_transcripts
    with_ha = override(HubConfig(), "home_assistant.url", "http://ha.local:8123")
    assert Understander(with_ha).recovers_transcripts
    off = override(own, "asr.recovered_transcript", "off")
    assert not Understander(off).recovers_transcripts
