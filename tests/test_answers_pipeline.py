"""Answers through the real Wyoming pipeline: a satellite-like client asks something that is not
a command, the real recognizer and intents reject it, and the hub streams the chat server's
answer through Kokoro; and Home Assistant's `transcript`/`recognize` get the answer as text.

The chat server is a real HTTP server streaming server-sent events as Ollama does
(tests/plugins/chat_server.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.intent import Recognize
from wyoming.pipeline import PipelineStage, RunPipeline

from hub.answers.config import AnswersConfig
from hub.answers.openai_chat import OpenAIChatAnswerer
from hub.answers.sentences import SentenceSplitter
from hub.answers.speech import Answers
from hub.intents.program import HandleProgram, IntentProgram
from hub.pipeline.config import PipelineConfig
from hub.pipeline.program import PipelineProgram
from rehearsal.speech import espeak, silence
from tests.plugins.chat_server import ChatServer, tokens_of
from tests.plugins.hub import ThreadedHub
from tests.plugins.pipeline import run_command
from voxhub.audio import float_to_pcm16

QUESTION = "how far away is the moon"


def spoken_answer(text: str) -> str:
    splitter = SentenceSplitter()
    return " ".join(splitter.feed(text) + splitter.flush())


def answers_for(server: ChatServer, **limits: Any) -> Answers:
    config = AnswersConfig(by="openai", url=server.url, model="llama3.2:3b", **limits)
    return Answers(config, OpenAIChatAnswerer(
        server.url, "llama3.2:3b", prompt=config.system_prompt, max_tokens=config.max_tokens,
        read_timeout_s=config.first_sentence_timeout_s))


class AnswerHub:
    """A hub serving the pipeline, intent and handle programs with an OpenAI answerer."""

    def __init__(self, understander: Any, synthesizer: Any, server: ChatServer,
                 **limits: Any) -> None:
        self.answers = answers_for(server, **limits)
        self.hub = ThreadedHub([
            PipelineProgram(PipelineConfig(), understander, synthesizer, answers=self.answers),
            IntentProgram(understander, self.answers),
            HandleProgram(understander, answers=self.answers)])
        self.uri = self.hub.uri

    def close(self) -> None:
        self.hub.call(self.answers.close())
        self.hub.close()


@pytest.fixture(scope="module")
def question_audio() -> np.ndarray:
    return np.concatenate([silence(0.4), espeak(QUESTION), silence(1.5)])


@pytest.fixture
def answer_hub(pipeline_understander: Any, synthesizer: Any,
               chat_server: ChatServer) -> Iterator[AnswerHub]:
    # A hub's first reply after start-up pays Kokoro's warm-up (seconds here); these tests
    # measure a hub that has spoken before.
    synthesizer.synthesize("The Moon is about 384,400 kilometres away.")
    hub = AnswerHub(pipeline_understander, synthesizer, chat_server,
                    first_sentence_timeout_s=2.0)
    yield hub
    hub.close()


def intent_result(log: Any) -> dict[str, Any]:
    return dict(log.first("intent-result").data)


async def test_a_question_that_is_no_command_is_answered_aloud_first_audio_before_it_is_complete(
        answer_hub: AnswerHub, chat_server: ChatServer, question_audio: np.ndarray) -> None:
    # Nine sentences at 20 tokens/s (about 5 s): Kokoro's first sentence on this shared CPU
    # takes 0.3-3 s, the answer's first sentence is complete after about 0.6 s.
    chat_server.reset(answer=" ".join([chat_server.answer] * 3), token_s=0.05)
    log = await run_command(answer_hub.uri, question_audio)
    result = intent_result(log)
    assert result["intent"] is None and result["answered_by"] == "openai"
    assert result["reply"] == spoken_answer(chat_server.answer)
    assert result["action"]["carried_out"] is False  # nothing in the house was touched
    stream = chat_server.streams[0]
    assert stream.body["messages"][-1]["content"].lower().startswith("how far")
    assert "Kitchen" in stream.body["messages"][0]["content"]  # the satellite's area
    first_audio = log.time_of("audio-chunk")
    assert stream.finished is not None and first_audio < stream.finished, (
        "the first sentence must be heard while the rest is still being generated")
    types = log.types()
    assert types.index("transcript") < types.index("audio-start") < types.index(
        "intent-result") < types.index("run-end")
    assert len(log.audio) / 2 / log.audio_format["rate"] > 4.0  # three sentences of speech


async def test_barge_in_during_an_answer_stops_it_and_its_generation(
        answer_hub: AnswerHub, chat_server: ChatServer, question_audio: np.ndarray) -> None:
    chat_server.reset(token_s=0.12, answer=chat_server.answer * 2)
    async with AsyncClient.from_uri(answer_hub.uri) as client:
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
        run.data["satellite"] = {"name": "kitchen-sat", "area": "Kitchen"}
        await client.write_event(run)
        pcm = float_to_pcm16(question_audio)
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for offset in range(0, len(pcm), 2048):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=pcm[offset:offset + 2048]).event())
        await client.write_event(AudioStop().event())
        while (await asyncio.wait_for(client.read_event(), 60)).type != "audio-chunk":
            pass
        # The wake word again: a new run (here an announcement) replaces the answer.
        barged = time.monotonic()
        await client.write_event(RunPipeline(start_stage=PipelineStage.TTS,
                                             end_stage=PipelineStage.TTS,
                                             announce_text="Okay.").event())
        types = []
        while not types or types[-1] != "run-end":
            event = await asyncio.wait_for(client.read_event(), 60)
            types.append(event.type)
    assert await asyncio.to_thread(chat_server.wait_for,
                                   lambda: chat_server.streams[0].disconnected, 5)
    stream = chat_server.streams[0]
    # Cut, not finished: the generation was closed long before the answer's last token.
    assert stream.disconnected_at is not None and stream.disconnected_at > barged
    assert stream.finished is None and stream.tokens_sent < len(tokens_of(chat_server.answer))
    assert "intent-result" not in types  # the cut answer's run ended without claiming one


@pytest.mark.parametrize("mode", ["hang", "error"])
async def test_an_answerer_that_hangs_or_fails_gets_a_spoken_apology_in_time(
        answer_hub: AnswerHub, chat_server: ChatServer, question_audio: np.ndarray,
        mode: str) -> None:
    chat_server.reset(mode=mode)
    log = await run_command(answer_hub.uri, question_audio)
    result = intent_result(log)
    assert result["reply"] == AnswersConfig().unreachable_reply
    assert result["answered_by"] is None and result["intent"] is None
    waited = log.time_of("audio-chunk") - log.time_of("transcript")
    # A hanging answerer would keep the satellite waiting for ever: the apology comes after the
    # first-sentence limit (2 s) and Kokoro's first audio, bounded loosely for a busy machine.
    assert waited < 15.0, f"apology after {waited:.1f} s"
    assert len(log.audio) > 0


async def exchange(uri: str, event: Any) -> Any:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(event)
        return await asyncio.wait_for(client.read_event(), 30)


@pytest.fixture
def text_hub(text_understander: Any, chat_server: ChatServer) -> Iterator[AnswerHub]:
    hub = AnswerHub(text_understander, None, chat_server, first_sentence_timeout_s=2.0)
    yield hub
    hub.close()


async def test_home_assistants_transcript_that_is_no_command_is_handled_with_the_answer(
        text_hub: AnswerHub, chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.005)
    event = await exchange(text_hub.uri, Transcript(
        text=QUESTION, context={"conversation_id": "01JQ8ZK3W1"}).event())
    assert event.type == "handled"
    assert event.data["text"] == spoken_answer(chat_server.answer)
    assert event.data["context"]["answered_by"] == "openai"
    assert event.data["context"]["conversation_id"] == "01JQ8ZK3W1"


async def test_a_recognize_that_is_no_command_is_answered_and_one_that_fails_is_not_recognized(
        text_hub: AnswerHub, chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.005)
    event = await exchange(text_hub.uri, Recognize(text=QUESTION).event())
    assert event.type == "handled" and event.data["text"] == spoken_answer(chat_server.answer)
    chat_server.reset(mode="error")
    event = await exchange(text_hub.uri, Recognize(text=QUESTION).event())
    assert event.type == "not-recognized"
    assert event.data["text"] == AnswersConfig().unreachable_reply


@pytest.mark.parametrize("text", ["is the kitchen light on", "turn on the kitchen lights"])
async def test_home_commands_and_state_questions_never_reach_the_answerer(
        text_hub: AnswerHub, chat_server: ChatServer, text: str) -> None:
    event = await exchange(text_hub.uri, Transcript(text=text).event())
    assert event.type == "intent"
    assert chat_server.streams == []


async def test_an_answerer_that_fails_gives_home_assistant_an_apology_to_speak(
        text_hub: AnswerHub, chat_server: ChatServer) -> None:
    chat_server.reset(mode="hang")
    started = time.monotonic()
    event = await exchange(text_hub.uri, Transcript(text=QUESTION).event())
    assert time.monotonic() - started < 15.0  # the answerer hangs for ever; the limit is 2 s
    assert event.type == "not-handled"
    assert event.data["text"] == AnswersConfig().unreachable_reply
