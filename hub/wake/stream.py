"""One wake word stream of one client: its audio converted to what the detector takes, waiting.

Home Assistant sends 16 kHz 16-bit mono in chunks of any byte length (the HTTP body of a
browser or a satellite is cut wherever it was cut); other clients send their microphone's
format. Audio is turned into 16 kHz mono PCM16 whole frames at a time: the bytes of a frame cut
in two wait for the next chunk, so no sample is ever shifted.

Note: voxhub/audio.py is to get a shared converter that carries a partial sample over between
chunks (issue 11); once it exists `PcmTo16k` should give way to it.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from voxhub.audio import float_to_pcm16, to_mono16k

RATE = 16000
_NATIVE = (RATE, 2, 1)


class PcmTo16k:
    """Chunks of any format and byte length → 16 kHz mono PCM16, whole frames at a time.

    Resampled audio is converted in blocks of `rate / gcd(rate, 16000)` frames (3 at 48 kHz,
    441 at 44.1 kHz), for which the output length is exact, so the stream's clock does not
    drift however small the chunks are."""

    def __init__(self) -> None:
        self._format: tuple[int, int, int] | None = None
        self._rest = b""

    def convert(self, audio: bytes, rate: int, width: int, channels: int) -> bytes:
        fmt = (rate, width, channels)
        if fmt != self._format:  # a new format starts afresh: a partial frame of the old is noise
            self._format, self._rest = fmt, b""
        data = self._rest + audio
        unit = width * channels * (1 if rate == RATE else rate // math.gcd(rate, RATE))
        whole = len(data) - len(data) % unit
        self._rest = data[whole:]
        return self._to_native(data[:whole])

    def flush(self) -> bytes:
        """The whole frames still waiting for a full resampling block (end of the stream)."""
        if self._format is None:
            return b""
        _, width, channels = self._format
        frame = width * channels
        data, self._rest = self._rest, b""
        return self._to_native(data[:len(data) - len(data) % frame])

    def _to_native(self, pcm: bytes) -> bytes:
        if not pcm or self._format == _NATIVE:
            return pcm
        assert self._format is not None
        return float_to_pcm16(to_mono16k(pcm, *self._format))


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
    converter: PcmTo16k = field(default_factory=PcmTo16k)
    heard_audio: bool = False
    stopped: bool = False
    detected: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when audio or the end of the stream is waiting for the detector."""
    task: asyncio.Task[None] | None = None
    """The worker feeding the detector and answering the client."""

    def add(self, audio: bytes, rate: int, width: int, channels: int) -> None:
        self.heard_audio = True
        self.pending += self.converter.convert(audio, rate, width, channels)
        self.ready.set()

    def stop(self) -> None:
        self.pending += self.converter.flush()
        self.stopped = True
        self.ready.set()

    def take(self) -> bytes:
        """The waiting audio, handed to the detector as one batch."""
        pcm = bytes(self.pending)
        self.pending.clear()
        return pcm
