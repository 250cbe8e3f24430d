"""One wake word stream of one client: its audio converted to what the detector takes, waiting.

Home Assistant sends 16 kHz 16-bit mono in chunks of any byte length (the HTTP body of a
browser or a satellite is cut wherever it was cut); other clients send their microphone's
format. Audio is turned into 16 kHz mono PCM16 by the same `PcmReassembler` every program that
takes audio uses: the bytes of a frame cut in two wait for the next chunk, so no sample is ever
shifted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from voxhub.audio import PcmReassembler, float_to_pcm16


@dataclass
class WakeStream:
    """What one `detect` asked for and the audio the detector has not yet seen."""

    names: list[str]
    """Model ids to detect (all the hub offers when `detect` named none)."""
    context: dict[str, Any] | None = None
    """`detect`'s context, returned with the answer."""
    refused: bool = False
    """`detect` named a word the hub does not have: the error is sent, the audio is dropped."""
    pending: bytearray = field(default_factory=bytearray)
    converter: PcmReassembler = field(default_factory=PcmReassembler)
    heard_audio: bool = False
    stopped: bool = False
    detected: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when audio or the end of the stream is waiting for the detector."""
    task: asyncio.Task[None] | None = None
    """The worker feeding the detector and answering the client."""

    def add(self, audio: bytes, rate: int, width: int, channels: int) -> None:
        self.heard_audio = True
        self.pending += float_to_pcm16(self.converter.to_mono16k(audio, rate, width, channels))
        self.ready.set()

    def stop(self) -> None:
        self.pending += float_to_pcm16(self.converter.flush_mono16k())
        self.stopped = True
        self.ready.set()

    def take(self) -> bytes:
        """The waiting audio, handed to the detector as one batch."""
        pcm = bytes(self.pending)
        self.pending.clear()
        return pcm
