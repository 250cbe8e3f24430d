"""One audio stream of synthesised speech to one client, for every program that speaks.

The TTS program (Home Assistant's `synthesize`) and the satellite pipeline's reply both send
speech the same way: `audio-start`, the synthesizer's clauses as they are rendered, cut into
chunks of a fixed length and stamped with their position in the stream, then `audio-stop`
stamped with the stream's length. One implementation, so that a client sees the same stream
whichever program spoke. The synthesizer renders PCM16 mono at its own rate; a client that
asked for another format (a satellite's `snd_format`) gets each clause converted; the
synthesizer's own format passes through untouched. `conn.send` waits for the socket to drain,
which gives back-pressure when a client's network is slow instead of piling audio up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop

from voxhub.audio import pcm_to_float, resample
from voxhub.protocol import SndFormat

if TYPE_CHECKING:
    from hub.endpoint import Connection
    from hub.tts.engine import Request, Synthesizer


def encode(samples: np.ndarray, fmt: SndFormat) -> bytes:
    """Mono float32 at fmt.rate → interleaved PCM of fmt.width bytes and fmt.channels."""
    clipped = np.clip(samples, -1.0, 1.0)
    ints: np.ndarray
    if fmt.width == 1:
        ints = (clipped * 127.0 + 128.0).astype(np.uint8)
    elif fmt.width == 2:
        ints = (clipped * 32767.0).astype("<i2")
    else:
        ints = (clipped.astype(np.float64) * 2147483647.0).astype("<i4")
    if fmt.channels > 1:
        ints = np.repeat(ints, fmt.channels)
    return ints.tobytes()


class SpeechStream:
    """One audio stream: opened once, any number of requests spoken into it, closed once.

    `first_audio_ms` (from `started`, by default the stream's creation) and `audio_ms` are the
    timings the pipeline reports; `frames` is the stream's position, which stamps each chunk.
    """

    def __init__(self, conn: Connection, synthesizer: Synthesizer, fmt: SndFormat,
                 chunk_frames: int, started: float | None = None) -> None:
        self.conn = conn
        self.synth = synthesizer
        self.fmt = fmt
        self.chunk_bytes = max(1, chunk_frames) * fmt.frame_bytes
        self.started = time.monotonic() if started is None else started
        self.source = SndFormat(synthesizer.sample_rate, 2, 1)
        self.opened = False
        self.closed = False
        self.frames = 0
        self.first_audio_ms: float | None = None

    @property
    def audio_ms(self) -> float:
        return self.frames * 1000.0 / self.fmt.rate

    def _stamp(self) -> int:
        return self.frames * 1000 // self.fmt.rate

    async def open(self) -> None:
        """Send `audio-start` (once)."""
        if not self.opened:
            self.opened = True
            await self.conn.send(AudioStart(rate=self.fmt.rate, width=self.fmt.width,
                                            channels=self.fmt.channels).event())

    async def speak(self, request: Request, client: str | None = None) -> None:
        """Render `request` and send it, clause by clause, as it is rendered."""
        await self.open()
        async for pcm in self.synth.stream(request, client):
            await self.send_pcm(pcm)

    async def send_pcm(self, pcm: bytes) -> None:
        """Send PCM16 mono at the synthesizer's rate, converted to the stream's format."""
        if not pcm:
            return
        if self.fmt != self.source:
            pcm = encode(resample(pcm_to_float(pcm, 2, 1), self.source.rate, self.fmt.rate),
                         self.fmt)
        fmt = self.fmt
        for offset in range(0, len(pcm), self.chunk_bytes):
            part = pcm[offset:offset + self.chunk_bytes]
            await self.conn.send(AudioChunk(rate=fmt.rate, width=fmt.width,
                                            channels=fmt.channels, audio=part,
                                            timestamp=self._stamp()).event())
            if self.first_audio_ms is None:
                self.first_audio_ms = (time.monotonic() - self.started) * 1000.0
            self.frames += len(part) // fmt.frame_bytes

    async def close(self) -> None:
        """Send `audio-stop` (once, and only for a stream that was opened)."""
        if self.opened and not self.closed:
            self.closed = True
            await self.conn.send(AudioStop(timestamp=self._stamp()).event())

    def timings(self) -> dict[str, float]:
        """`first_audio` (when any audio went out), `total` so far and `audio`, in ms."""
        timings = {"total": (time.monotonic() - self.started) * 1000.0, "audio": self.audio_ms}
        if self.first_audio_ms is not None:
            timings["first_audio"] = self.first_audio_ms
        return timings
