"""The audio-LLM recognizer (Voxtral, or an OpenAI-audio server) answering from the audio.

The model hears the question itself, tone and names included, so no transcript stands between
the speaker and the answer. The answer streams: the recognizer's blocking `answer_stream`
runs in an executor thread and hands each piece over an asyncio queue as it is decoded, so
Kokoro speaks the first sentence while the rest is generated. Closing or cancelling this
iterator (barge-in, a limit) sets the stop event the model checks at every decoding step, and
the thread is waited for a bounded time (an overrun is logged, never waited on forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from hub.answers.base import AnswerError, Question

if TYPE_CHECKING:
    from hub.understanding import Understander

_LOGGER = logging.getLogger(__name__)

#: How long closing the answer waits for the generating thread to end after the stop.
STOP_JOIN_S = 3.0

_END = object()


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class RecognizerAnswerer:
    name = "recognizer"
    takes_text = False

    def __init__(self, understander: Understander | None) -> None:
        self.understander = understander

    async def answer(self, question: Question) -> AsyncGenerator[str, None]:
        if self.understander is None:
            raise AnswerError("no recognizer to answer with")
        recognizer = self.understander.recognizer
        if recognizer is None or not recognizer.supports_answers:
            raise AnswerError("the recognizer cannot answer questions (asr.backend)")
        if question.audio is None:
            raise AnswerError("the recognizer answers from audio; this question is text")
        request = self.understander.request_for(question.audio, question.language)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def hand_over(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                stream = recognizer.answer_stream(request, stop)
                with contextlib.closing(stream):
                    for piece in stream:
                        hand_over(piece)
                        if stop.is_set():
                            break
            except Exception as err:  # a model or server error, said in words by the consumer
                hand_over(_Failed(err))
            finally:
                hand_over(_END)

        worker = loop.run_in_executor(None, produce)
        said = False
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failed):
                    err = item.error
                    raise AnswerError(f"the recognizer failed to answer: {type(err).__name__}: "
                                      f"{err}") from err
                if isinstance(item, str) and item.strip():
                    said = True
                    yield item
            if not said:
                raise AnswerError("the recognizer had no answer")
        finally:  # done, failed, closed (GeneratorExit) or cancelled: the generation stops
            stop.set()
            done, _ = await asyncio.wait({worker}, timeout=STOP_JOIN_S)
            if not done:
                _LOGGER.warning("the recognizer's answer thread did not end within %.1f s of "
                                "the stop", STOP_JOIN_S)

    async def close(self) -> None:
        """Nothing of its own: the recognizer belongs to the understander."""
