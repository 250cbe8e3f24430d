"""An answer as spoken sentences, within its limits, never silence.

`Answers.speak(question)` reads the answerer's stream in a task of its own, so generation goes on
while Kokoro speaks the sentences already complete, and the limits measure the answerer, not the
speaker. The rules:

- the first sentence must be complete within `first_sentence_timeout_s`, and once the answer
  has started no gap between pieces may be longer; otherwise the apology is spoken (after the
  part that arrived, if any); half a sentence is never spoken after a failure;
- the answer ends at `timeout_s` or at the last whole sentence within `max_chars` (a first
  sentence longer than that is cut at a word); the answerer's stream is closed then, which
  closes its HTTP request, as it is when the listener barges in (the run task is cancelled);
- `outcome` says what was spoken, whether it was an answer, and why it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from hub.answers.base import Answerer, AnswerError, Question
from hub.answers.config import AnswersConfig
from hub.answers.sentences import SentenceSplitter
from voxhub.result import UnderstandingResult

_LOGGER = logging.getLogger(__name__)


@dataclass
class AnswerOutcome:
    #: Everything spoken: the answer's sentences, and the apology if there was one.
    text: str = ""
    #: The part of it that came from the answerer ("" when only the apology was spoken).
    answer: str = ""
    #: The answerer's name when any of its answer was spoken, else None.
    answered_by: str | None = None
    error: str | None = None
    #: Why the answer was cut short: "max_chars" or "timeout"; None when it ended itself.
    cut: str | None = None
    conversation_id: str | None = None
    continue_conversation: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)


def wants_answer(result: UnderstandingResult) -> bool:
    """What goes to the answerer: a result the home grammar rejected (no intent), that is not
    a "Did you mean …?" waiting for a yes, and that has words. Judge it before `hub.auth.guard`,
    which turns a refused command into a result without intent that must not be answered."""
    return result.intent is None and not result.continue_conversation and bool(
        result.text.strip())


class Answers:
    """The configured answerer with the limits and apologies of `answers` in hub.yaml."""

    def __init__(self, config: AnswersConfig, answerer: Answerer) -> None:
        self.config = config
        self.answerer = answerer

    @property
    def name(self) -> str:
        return self.answerer.name

    @property
    def takes_text(self) -> bool:
        return self.answerer.takes_text

    def speak(self, question: Question) -> SpokenAnswer:
        """Use as `async with answers.speak(q) as spoken: async for s in spoken.sentences()`."""
        return SpokenAnswer(self, question)

    async def complete(self, question: Question) -> AnswerOutcome:
        """The whole answer as text (Home Assistant speaks it), within the same limits."""
        async with self.speak(question) as spoken:
            async for _ in spoken.sentences():
                pass
        return spoken.outcome

    async def answer_text(self, result: UnderstandingResult, area: str | None,
                          conversation_id: str | None) -> AnswerOutcome:
        """The whole answer to a rejected text request (Home Assistant's `transcript`)."""
        return await self.complete(Question(result.text, result.language, area=area,
                                            conversation_id=conversation_id))

    async def close(self) -> None:
        await self.answerer.close()


class SpokenAnswer:
    def __init__(self, answers: Answers, question: Question) -> None:
        self.config = answers.config
        self.answerer = answers.answerer
        self.question = question
        self.outcome = AnswerOutcome()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._started = 0.0
        self._spoken: list[str] = []

    async def __aenter__(self) -> SpokenAnswer:
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._produce(), name="answer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish()

    async def sentences(self) -> AsyncIterator[str]:
        """The sentences to speak, the apology included when the answerer failed."""
        while True:
            item = await self._queue.get()
            if item is None:
                if not self._spoken:  # ended without a word: an empty answer is no answer
                    self.outcome.error = self.outcome.error or "the answerer said nothing"
                    yield self._apologise(self.config.unreachable_reply)
                return
            if isinstance(item, AnswerError):
                self.outcome.error = str(item)
                _LOGGER.warning("%s could not answer '%s': %s", self.answerer.name,
                                self.question.text, item)
                yield self._apologise(self.config.interrupted_reply if self._spoken
                                      else self.config.unreachable_reply)
                return
            if not self._spoken:
                self.outcome.timings_ms["first_sentence"] = self._ms()
            self._spoken.append(item)
            yield item

    def _apologise(self, text: str) -> str:
        self.outcome.text = " ".join([*self._spoken, text])
        return text

    def _finish(self) -> None:
        outcome = self.outcome
        outcome.answer = " ".join(self._spoken)
        if outcome.error is None:  # else `_apologise` said what was spoken
            outcome.text = outcome.answer
        outcome.answered_by = self.answerer.name if self._spoken else None
        followup = self.question.followup
        outcome.conversation_id = followup.conversation_id or self.question.conversation_id
        outcome.continue_conversation = bool(self._spoken) and (
            followup.continue_conversation or outcome.answer.rstrip().endswith("?"))
        outcome.timings_ms["total"] = self._ms()

    def _ms(self) -> float:
        return round((time.monotonic() - self._started) * 1000.0, 1)

    async def _produce(self) -> None:
        try:
            await self._read()
        except AnswerError as err:
            await self._queue.put(err)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug in an answerer must still end in an apology
            _LOGGER.exception("%s failed", self.answerer.name)
            await self._queue.put(AnswerError(f"{type(err).__name__}: {err}"))
            return
        await self._queue.put(None)

    async def _read(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        end = loop.time() + config.timeout_s
        first_by = loop.time() + config.first_sentence_timeout_s
        splitter = SentenceSplitter()
        chars, sentences = 0, 0
        stream = self.answerer.answer(self.question)
        async with contextlib.aclosing(stream):
            while True:
                wait_until = first_by if sentences == 0 else min(
                    end, loop.time() + config.first_sentence_timeout_s)
                try:
                    async with asyncio.timeout_at(min(wait_until, end)):
                        piece = await anext(stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    if sentences and loop.time() >= end - 0.01:
                        self.outcome.cut = "timeout"
                        return
                    raise AnswerError(f"{self.answerer.name} gave no "
                                      f"{'further text' if sentences else 'first sentence'} "
                                      f"within {config.first_sentence_timeout_s:g} s") from None
                for sentence in splitter.feed(piece):
                    if not await self._offer(sentence, chars):
                        return
                    chars += len(sentence) + 1
                    sentences += 1
        for sentence in splitter.flush():
            if not await self._offer(sentence, chars):
                return

    async def _offer(self, sentence: str, chars: int) -> bool:
        """Queue a sentence within max_chars; False when the answer must stop here."""
        limit = self.config.max_chars
        if chars + len(sentence) <= limit:
            await self._queue.put(sentence)
            return True
        self.outcome.cut = "max_chars"
        if chars == 0:  # one long sentence: its words up to the limit
            await self._queue.put(sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + ".")
        return False
