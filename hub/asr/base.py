"""The recognizer interface: audio in; text, language, confidence and timings out.

Every backend (whisper, voxtral, openai) implements `Recognizer`. Calls are blocking and run in an
executor by the caller (an answer streams: `answer_stream` yields its text while the model is
still generating and stops when told, so a barge-in ends the generation); audio is always
16 kHz mono float32 in [-1, 1] by the time it gets here (`voxhub.audio` converts whatever the
client sent).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxhub import language as lang
from voxhub.protocol import ErrorCode

SAMPLE_RATE = 16000


class TranslationUnsupported(ValueError):
    """The recognizer cannot translate speech into the language asked for; the message says
    what it can do instead. Wyoming clients get it as an `error` with this code."""

    code = ErrorCode.TRANSLATE_UNSUPPORTED


@dataclass
class ToolCall:
    """An intent chosen by an audio-LLM in one pass (validated against the home before use)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transcription:
    text: str
    language: str
    confidence: float = 0.0
    #: n-best alternatives, best first (the first equals `text`); used to recover slips.
    hypotheses: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: One-pass understanding (voxtral): the tool call and the model's reply text.
    tool_call: ToolCall | None = None
    reply: str | None = None


@dataclass
class RecognizeRequest:
    audio: np.ndarray  # float32, 16 kHz, mono
    language: str | None = None
    #: Words to bias toward (the home's names and areas, frequent command words).
    prompt: str | None = None
    #: Tools (Home Assistant intents as JSON schemas) for one-pass understanding, when supported.
    tools: list[dict[str, Any]] | None = None
    #: Target language of one-pass speech translation: `text` is then the translation (a
    #: Wyoming `transcribe`'s `translate` field, `voxhub understand --translate`). Check it
    #: with `Recognizer.check_translation` first.
    translate_to: str | None = None


class Recognizer(ABC):
    name: str = "recognizer"
    languages: list[str] = ["en"]
    supports_streaming: bool = False
    supports_tools: bool = False
    #: True when `answer_stream(request, stop)` gives a free-form spoken answer to the request
    #: (used when no intent matched, instead of "Sorry"); see VoxtralRecognizer.answer_stream.
    supports_answers: bool = False
    #: Languages that speech can be translated into in the same pass (`translate_to`).
    translation_targets: list[str] = []

    def check_translation(self, target: str) -> str:
        """The bare target language (`es-ES` → `es`) when this recognizer translates speech into
        it (after `load()`); otherwise TranslationUnsupported says what it can do."""
        code = lang.base(target)
        if code in self.translation_targets:
            return code
        if not self.translation_targets:
            raise TranslationUnsupported(f"asr.backend {self.name} does not translate speech "
                                         "(voxtral and openai do)")
        raise TranslationUnsupported(f"asr.backend {self.name} does not translate speech into "
                                     f"'{target}'; it translates into "
                                     f"{', '.join(self.translation_targets)}")

    def load(self) -> None:
        """Load the model (blocking); called once at start-up in an executor."""

    @abstractmethod
    def transcribe(self, request: RecognizeRequest) -> Transcription:
        """Recognize one utterance (blocking)."""

    def transcribe_stream(self, request: RecognizeRequest) -> Iterator[str]:
        """Partial transcripts as they become available; the default yields the final text."""
        yield self.transcribe(request).text

    def answer_stream(self, request: RecognizeRequest,
                      stop: threading.Event) -> Generator[str, None, None]:
        """A short spoken answer to a free-form question in the audio, in pieces as they are
        generated (blocking between pieces); nothing for silence. Setting `stop` (or closing the
        iterator) ends the generation within one step. Only where `supports_answers`."""
        raise NotImplementedError(f"asr.backend {self.name} does not answer questions")

    def answer(self, request: RecognizeRequest) -> str:
        """The whole answer at once ("" for silence): the stream joined, so the two never drift."""
        return " ".join("".join(self.answer_stream(request, threading.Event())).split())
