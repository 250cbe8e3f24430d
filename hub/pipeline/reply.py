"""Streaming a spoken reply to a satellite while it is being synthesised.

The synthesizer yields one clause at a time; `hub/tts/speech_stream.py` converts each to the
format the satellite's speaker asked for and sends it in small stamped chunks at once, so the
first words play while the rest is still being rendered. What is the pipeline's own: the
`synthesize` that tells the satellite what it is about to hear, and the timings of the run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wyoming.tts import Synthesize

from hub.tts.speech_stream import SpeechStream
from voxhub.protocol import SndFormat

if TYPE_CHECKING:
    from hub.endpoint import Connection
    from hub.tts.engine import Synthesizer


def _stream(conn: Connection, synthesizer: Synthesizer, fmt: SndFormat, chunk_ms: int,
            started: float) -> SpeechStream:
    return SpeechStream(conn, synthesizer, fmt, fmt.rate * chunk_ms // 1000, started)


async def stream_reply(conn: Connection, synthesizer: Synthesizer, text: str, fmt: SndFormat,
                       chunk_ms: int, voice: str | None = None) -> dict[str, float]:
    """Send `synthesize` (informational), then the audio stream; return timings in ms
    (`first_audio` from the call, `total`, `audio`)."""
    started = time.monotonic()
    request = synthesizer.request(text, voice=voice)  # bad input fails before any audio
    await conn.send(Synthesize(text=text).event())
    stream = _stream(conn, synthesizer, fmt, chunk_ms, started)
    await stream.speak(request)
    await stream.close()
    return stream.timings()


async def stream_sentences(conn: Connection, synthesizer: Synthesizer,
                           sentences: AsyncIterator[str], fmt: SndFormat, chunk_ms: int,
                           voice: str | None = None) -> dict[str, float]:
    """One audio stream for text that arrives sentence by sentence (a streamed answer): each
    sentence is synthesised and sent as soon as it comes, so the first is heard while the
    rest is still being generated. `audio-start` goes out with the first sentence; no
    sentence, no stream. Timings in ms (`first_audio` from the call, `total`, `audio`)."""
    stream = _stream(conn, synthesizer, fmt, chunk_ms, time.monotonic())
    async for sentence in sentences:
        await stream.speak(synthesizer.request(sentence, voice=voice))
    await stream.close()
    return stream.timings()
