"""The answers stage against a real HTTP server that streams as Ollama, vLLM and llama.cpp do:
what is spoken, the limits, and an apology instead of silence whatever the server does."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from hub.answers.base import Question
from hub.answers.config import AnswersConfig
from hub.answers.openai_chat import OpenAIChatAnswerer
from hub.answers.prompt import system_prompt
from hub.answers.sentences import SentenceSplitter
from hub.answers.speech import Answers
from rehearsal.ports import free_port
from tests.plugins.chat_server import ChatServer, tokens_of


def answers_for(server: ChatServer, **limits: object) -> Answers:
    config = AnswersConfig(by="openai", url=server.url, model="llama3.2:3b", **limits)
    return Answers(config, OpenAIChatAnswerer(
        server.url, "llama3.2:3b", prompt=config.system_prompt, max_tokens=config.max_tokens,
        read_timeout_s=config.first_sentence_timeout_s))


def sentences_of(text: str, piece: int) -> list[str]:
    splitter = SentenceSplitter()
    found = [s for i in range(0, len(text), piece) for s in splitter.feed(text[i:i + piece])]
    return found + splitter.flush()


@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_sentences_end_at_their_marks_but_not_at_numbers_abbreviations_or_initials(
        piece: int) -> None:
    text = ("It is 3.5 km away, i.e. close. Dr. Smith and J. R. R. Tolkien agree! Is it far? "
            "No. It costs $2.50 today")
    assert sentences_of(text, piece) == [
        "It is 3.5 km away, i.e. close.", "Dr. Smith and J. R. R. Tolkien agree!", "Is it far?",
        "No.", "It costs $2.50 today"]


def test_markdown_a_chat_model_emits_is_not_read_aloud() -> None:
    assert sentences_of("**Yes**, see `the [manual](http://x.y/z)`.\n\n# Done", 4) == [
        "Yes, see the manual.", "Done"]


def test_the_system_prompt_knows_the_language_the_time_and_the_area() -> None:
    prompt = system_prompt(AnswersConfig().system_prompt, Question("hi", "es-ES", area="Cocina"),
                           datetime(2025, 3, 7, 18, 5))
    assert "Spanish" in prompt and "18:05" in prompt and "Cocina" in prompt
    assert "Friday 7 March 2025" in prompt


def test_a_system_prompt_with_an_unknown_field_stops_start_up() -> None:
    with pytest.raises(ValueError, match=r"\{weather\}|allowed fields"):
        AnswersConfig(system_prompt="It is {weather} today.")


@pytest.mark.parametrize("flavour", ["ollama", "vllm", "llamacpp"])
async def test_a_streamed_answer_is_spoken_whole_from_each_servers_event_format(
        chat_server: ChatServer, flavour: str) -> None:
    chat_server.reset(flavour=flavour, token_s=0.005)
    answers = answers_for(chat_server)
    try:
        outcome = await answers.complete(Question("how far away is the moon", "en",
                                                  area="Kitchen"))
    finally:
        await answers.close()
    assert outcome.answered_by == "openai" and outcome.error is None
    assert outcome.text == " ".join(sentences_of(chat_server.answer, 1000))
    body = chat_server.streams[0].body
    assert body["stream"] is True and body["max_tokens"] == AnswersConfig().max_tokens
    assert body["messages"][-1] == {"role": "user", "content": "how far away is the moon"}
    assert "Kitchen" in body["messages"][0]["content"]


async def test_the_first_sentence_is_ready_long_before_the_answer_is_complete(
        chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.05)
    answers = answers_for(chat_server)
    try:
        async with answers.speak(Question("how far away is the moon", "en")) as spoken:
            stream = spoken.sentences()
            first = await anext(stream)
            first_at = time.monotonic()
            rest = [s async for s in stream]
    finally:
        await answers.close()
    finished = chat_server.streams[0].finished
    assert finished is not None and first_at < finished - 0.5
    assert [first, *rest] == sentences_of(chat_server.answer, 1000)


async def test_an_http_error_is_an_apology_and_says_why(chat_server: ChatServer) -> None:
    chat_server.reset(mode="error")
    answers = answers_for(chat_server)
    try:
        outcome = await answers.complete(Question("tell me a joke", "en"))
    finally:
        await answers.close()
    assert outcome.text == AnswersConfig().unreachable_reply
    assert outcome.answered_by is None and outcome.answer == ""
    assert "500" in (outcome.error or "") and "crashed" in (outcome.error or "")


async def test_a_server_that_hangs_gets_an_apology_in_time_and_its_request_closed(
        chat_server: ChatServer) -> None:
    chat_server.reset(mode="hang")
    answers = answers_for(chat_server, first_sentence_timeout_s=1.0)
    started = time.monotonic()
    try:
        outcome = await answers.complete(Question("tell me a joke", "en"))
    finally:
        await answers.close()
    assert time.monotonic() - started < 10.0  # the server hangs for ever; the limit is 1 s
    assert outcome.text == AnswersConfig().unreachable_reply and outcome.answered_by is None
    assert chat_server.wait_for(lambda: chat_server.streams[0].disconnected, 30)


async def test_a_server_that_hangs_mid_answer_is_cut_after_its_whole_sentences(
        chat_server: ChatServer) -> None:
    first = sentences_of(chat_server.answer, 1000)[0]
    chat_server.reset(mode="hang_after", hang_after=len(tokens_of(first)) + 2, token_s=0.01)
    answers = answers_for(chat_server, first_sentence_timeout_s=1.0)
    try:
        outcome = await answers.complete(Question("how far away is the moon", "en"))
    finally:
        await answers.close()
    assert outcome.answer == first  # never half a sentence
    assert outcome.text == f"{first} {AnswersConfig().interrupted_reply}"
    assert outcome.answered_by == "openai" and "further text" in (outcome.error or "")


async def test_a_malformed_event_line_ends_the_answer_with_an_apology(
        chat_server: ChatServer) -> None:
    first = sentences_of(chat_server.answer, 1000)[0]
    chat_server.reset(mode="malformed", malformed_after=len(tokens_of(first)) + 2,
                      token_s=0.005)
    answers = answers_for(chat_server)
    try:
        outcome = await answers.complete(Question("how far away is the moon", "en"))
    finally:
        await answers.close()
    assert outcome.text == f"{first} {AnswersConfig().interrupted_reply}"
    assert "malformed" in (outcome.error or "")


async def test_an_answer_stops_at_the_last_whole_sentence_within_max_chars(
        chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.02, answer=chat_server.answer + " It drifts away slowly.")
    sentences = sentences_of(chat_server.answer, 1000)
    limit = len(sentences[0]) + 1 + len(sentences[1]) + 5
    answers = answers_for(chat_server, max_chars=limit)
    try:
        outcome = await answers.complete(Question("how far away is the moon", "en"))
    finally:
        await answers.close()
    assert outcome.text == f"{sentences[0]} {sentences[1]}" and outcome.cut == "max_chars"
    # The rest was not generated for nothing: the request was closed.
    assert chat_server.wait_for(lambda: chat_server.streams[0].disconnected, 30)


async def test_an_answer_stops_at_its_time_limit_with_what_was_said(
        chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.15)
    answers = answers_for(chat_server, timeout_s=2.5)
    started = time.monotonic()
    try:
        outcome = await answers.complete(Question("how far away is the moon", "en"))
    finally:
        await answers.close()
    assert time.monotonic() - started < 3.5 and outcome.cut == "timeout"
    assert outcome.answered_by == "openai" and outcome.error is None
    assert chat_server.answer.startswith(outcome.text.split(".")[0])


async def test_a_server_that_is_down_gets_an_apology_at_once() -> None:
    down = ChatServer(url=f"http://127.0.0.1:{free_port()}/v1")
    answers = answers_for(down)
    started = time.monotonic()
    try:
        outcome = await answers.complete(Question("tell me a joke", "en"))
    finally:
        await answers.close()
    assert time.monotonic() - started < 10.0  # refused: no retrying for ever
    assert outcome.text == AnswersConfig().unreachable_reply
    assert "cannot reach" in (outcome.error or "")


async def test_a_follow_up_in_the_same_conversation_carries_the_previous_turn(
        chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.001)
    answers = answers_for(chat_server)
    try:
        first = await answers.complete(Question("how far away is the moon", "en"))
        assert first.conversation_id
        await answers.complete(Question("and the sun?", "en",
                                        conversation_id=first.conversation_id))
    finally:
        await answers.close()
    messages = chat_server.streams[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "how far away is the moon"
    assert messages[2]["content"] == chat_server.answer


async def test_barge_in_closes_the_stream_and_the_server_sees_it(
        chat_server: ChatServer) -> None:
    chat_server.reset(token_s=0.1)
    answers = answers_for(chat_server)

    async def listen() -> None:
        async with answers.speak(Question("how far away is the moon", "en")) as spoken:
            async for _ in spoken.sentences():
                await asyncio.sleep(60)  # speaking, until the listener barges in

    task = asyncio.create_task(listen())
    try:
        assert await asyncio.to_thread(chat_server.wait_for,
                                       lambda: chat_server.streams, 5)
        await asyncio.sleep(2.0)
        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(chat_server.wait_for,
                                       lambda: chat_server.streams[0].disconnected, 30)
        stream = chat_server.streams[0]
        assert stream.disconnected_at is not None and stream.disconnected_at >= cancelled
        assert stream.finished is None and stream.tokens_sent < len(tokens_of(chat_server.answer))
    finally:
        await answers.close()
