"""The recognizer answerer streams Voxtral's answer and stops its generation on a barge-in.

The real path on a CPU: the tiny random Voxtral checkpoint (tests/plugins/voxtral.py) behind a
real Understander, made to say a known long answer so that words and steps can be counted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hub.answers.base import AnswerError, Question
from hub.answers.recognizer import RecognizerAnswerer
from hub.config import HubConfig
from hub.understanding import Understander
from tests.test_asr_voxtral_model import CountSteps, forcing, says, speechlike
from voxhub.configfile import from_mapping


@pytest.fixture(scope="module")
def understander(tiny_voxtral_dir: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Understander]:
    config = from_mapping(HubConfig, {
        "data_dir": str(tmp_path_factory.mktemp("data")),
        "asr": {"backend": "voxtral", "max_audio_s": 5, "voxtral": {
            "model": str(tiny_voxtral_dir), "max_new_tokens": 10, "device": "cpu"}}})
    understander = Understander(config)
    understander.load()
    yield understander


def question(seed: int) -> Question:
    return Question(text="", language="en", audio=speechlike(1.0, seed=seed))


def answering_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "voxtral-answer"]


async def test_pieces_reach_the_listener_while_the_model_generates(understander: Understander):
    voxtral = understander.recognizer
    text = " ".join(f"word{i}" for i in range(15)) + "."
    counter = CountSteps(pause_s=0.01)
    with forcing(voxtral, says(voxtral, text), counter):
        arrivals = [(piece, counter.steps)
                    async for piece in RecognizerAnswerer(understander).answer(question(1))]
    assert len(arrivals) > 1 and " ".join("".join(p for p, _ in arrivals).split()) == text
    assert arrivals[0][1] < counter.steps


async def test_cancelling_the_listener_stops_the_generation_thread(understander: Understander):
    voxtral = understander.recognizer
    tokens = says(voxtral, " ".join(f"word{i}" for i in range(100)))
    counter = CountSteps(pause_s=0.01)
    first = asyncio.Event()

    async def listen() -> None:
        async for _ in RecognizerAnswerer(understander).answer(question(2)):
            first.set()

    with forcing(voxtral, tokens, counter):
        task = asyncio.create_task(listen())
        await asyncio.wait_for(first.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        steps = counter.steps
        assert not answering_threads()  # joined before the cancellation completed
    assert steps < len(tokens) // 2


async def test_closing_the_answer_stops_the_generation_thread(understander: Understander):
    voxtral = understander.recognizer
    tokens = says(voxtral, " ".join(f"word{i}" for i in range(100)))
    counter = CountSteps(pause_s=0.01)
    with forcing(voxtral, tokens, counter):
        stream = RecognizerAnswerer(understander).answer(question(3))
        assert await anext(stream)
        await stream.aclose()
        assert not answering_threads()
    assert counter.steps < len(tokens) // 2


async def test_silence_has_no_answer(understander: Understander):
    silent = Question(text="", language="en", audio=np.zeros(16000, np.float32))
    with pytest.raises(AnswerError, match="no answer"):
        async for _ in RecognizerAnswerer(understander).answer(silent):
            pass
