"""What every answerer is: a question in, its answer's text out as it arrives.

The interface is an async iterator so that a streaming server's tokens reach Kokoro while the
rest is being generated, and so that closing the iterator (barge-in, a limit) stops the
generation: each answerer closes its request when its iterator is closed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class AnswerError(Exception):
    """The answerer could not answer (down, an HTTP error, a malformed reply); the message says
    why in words for the log and the MQTT result."""


@dataclass
class Followup:
    """What the answerer says about the conversation, filled in while it answers."""

    conversation_id: str | None = None
    #: The answerer asks for more (Home Assistant's `continue_conversation`).
    continue_conversation: bool = False


@dataclass
class Question:
    """One utterance that is not a command for this home."""

    text: str
    language: str
    #: The satellite's area (its name), for the system prompt; None when unknown.
    area: str | None = None
    satellite: str | None = None
    conversation_id: str | None = None
    #: The utterance's audio (16 kHz mono float32), for an answerer that listens (Voxtral).
    audio: np.ndarray | None = None
    followup: Followup = field(default_factory=Followup)


class Answerer(Protocol):
    #: `answered_by` in the result: openai, home_assistant or recognizer.
    name: str
    #: False when it needs the audio (the recognizer): Home Assistant's text requests skip it.
    takes_text: bool

    def answer(self, question: Question) -> AsyncGenerator[str, None]:
        """The answer's text in pieces as they arrive; raises AnswerError when it cannot."""
        ...

    async def close(self) -> None:
        """Release connections at shutdown."""
        ...
