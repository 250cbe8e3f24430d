"""Streaming a spoken reply to a satellite while it is being synthesised.

The synthesizer yields one clause at a time (PCM16 mono 24 kHz); each clause is converted to the
format the satellite's speaker asked for and sent in small chunks at once, so the first words play
while the rest is still being rendered. `conn.send` waits for the socket to drain, which gives
back-pressure when a satellite's network is slow instead of piling audio up in memory.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.tts import Synthesize

from hub.endpoint import Connection
from hub.pipeline.request import AudioFormat
from voxhub.audio import pcm_to_float, resample

TTS_RATE = 24000


def encode(samples: np.ndarray, fmt: AudioFormat) -> bytes:
    """Mono float32 at fmt.rate → interleaved PCM of fmt.width bytes and fmt.channels."""
    clipped = np.clip(samples, -1.0, 1.0)
    if fmt.width == 1:
        ints = (clipped * 127.0 + 128.0).astype(np.uint8)
    elif fmt.width == 2:
        ints = (clipped * 32767.0).astype("<i2")
    else:
        ints = (clipped.astype(np.float64) * 2147483647.0).astype("<i4")
    if fmt.channels > 1:
        ints = np.repeat(ints, fmt.channels)
    return ints.tobytes()


async def stream_reply(conn: Connection, synthesizer: Any, text: str, fmt: AudioFormat,
                       chunk_ms: int, voice: str | None = None) -> dict[str, float]:
    """Send `synthesize` (informational), then the audio stream; return timings in ms."""
    started = time.monotonic()
    request = synthesizer.request(text, voice=voice)  # bad input fails before any audio
    await conn.send(Synthesize(text=text).event())
    await conn.send(AudioStart(rate=fmt.rate, width=fmt.width, channels=fmt.channels).event())
    chunk_frames = max(1, fmt.rate * chunk_ms // 1000)
    chunk_bytes = chunk_frames * fmt.width * fmt.channels
    timings: dict[str, float] = {}
    sent_frames = 0
    rate = int(getattr(synthesizer, "sample_rate", TTS_RATE))
    async for piece in synthesizer.stream(request):
        if not piece:
            continue
        samples = resample(pcm_to_float(piece, 2, 1), rate, fmt.rate)
        pcm = encode(samples, fmt)
        for offset in range(0, len(pcm), chunk_bytes):
            part = pcm[offset:offset + chunk_bytes]
            await conn.send(AudioChunk(rate=fmt.rate, width=fmt.width, channels=fmt.channels,
                                       audio=part,
                                       timestamp=sent_frames * 1000 // fmt.rate).event())
            if "first_audio" not in timings:
                timings["first_audio"] = (time.monotonic() - started) * 1000.0
            sent_frames += len(part) // (fmt.width * fmt.channels)
    await conn.send(AudioStop(timestamp=sent_frames * 1000 // fmt.rate).event())
    timings["total"] = (time.monotonic() - started) * 1000.0
    timings["audio"] = sent_frames * 1000.0 / fmt.rate
    return timings
