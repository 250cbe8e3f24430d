"""The recognizer interface: audio in; text, language, confidence and timings out.

Every backend (whisper, voxtral, openai) implements `Recognizer`. Calls are blocking and run in an
executor by the caller; audio is always 16 kHz mono float32 in [-1, 1] by the time it gets here
(`voxhub.audio` converts whatever the client sent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 16000


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
    #: Target language for speech translation, when supported.
    translate_to: str | None = None


class Recognizer(ABC):
    name: str = "recognizer"
    languages: list[str] = ["en"]
    supports_streaming: bool = False
    supports_tools: bool = False
    #: True when `answer(request) -> str` gives a free-form spoken answer to the request (used
    #: when no intent matched, instead of "Sorry"); see VoxtralRecognizer.answer.
    supports_answers: bool = False

    def load(self) -> None:
        """Load the model (blocking); called once at start-up in an executor."""

    @abstractmethod
    def transcribe(self, request: RecognizeRequest) -> Transcription:
        """Recognize one utterance (blocking)."""

    def transcribe_stream(self, request: RecognizeRequest) -> Iterator[str]:
        """Partial transcripts as they become available; the default yields the final text."""
        yield self.transcribe(request).text
