"""The Wyoming TTS program: `synthesize` and streaming `synthesize-start/chunk/stop`.

With streaming input (Home Assistant streams an LLM's reply as it is written), audio for each
sentence starts as soon as the sentence is complete, inside one audio stream, and the stream ends
with `synthesize-stopped`. The compatibility `synthesize` that clients send inside a stream is
ignored, as Home Assistant expects.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Attribution, Info, TtsProgram, TtsVoice
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)

from hub.endpoint import ATTRIBUTION, Connection, Program, program_version
from hub.tts.engine import Synthesizer
from hub.tts.voices import ATTRIBUTION_NAME, ATTRIBUTION_URL

_LOGGER = logging.getLogger(__name__)
_STATE = "tts"
_SENTENCE_DONE = re.compile(r"^(.*[.!?…:;])[\"')\]]*\s+(.*)$", re.DOTALL)
WIDTH = 2
CHANNELS = 1
#: Streamed text without a sentence end is spoken once it is this long.
LONGEST_SENTENCE = 1000


@dataclass
class _Stream:
    voice: str | None
    buffer: str = ""
    #: Set by the ordered work once its audio-start is sent, so that a piece that fails (an
    #: unknown voice) still leaves one well-formed audio stream.
    audio_open: bool = False


class TtsServerProgram(Program):
    event_types = frozenset({"synthesize", "synthesize-start", "synthesize-chunk",
                             "synthesize-stop"})

    def __init__(self, synthesizer: Synthesizer, chunk_samples: int = 2400) -> None:
        self.synth = synthesizer
        self.chunk_bytes = chunk_samples * WIDTH * CHANNELS

    def describe(self, info: Info) -> None:
        voice_attr = Attribution(name=ATTRIBUTION_NAME, url=ATTRIBUTION_URL)
        voices = [TtsVoice(name=v.name, description=v.description, attribution=voice_attr,
                           installed=True, version="1.0", languages=[v.language])
                  for v in self.synth.voice_infos()]
        info.tts.append(TtsProgram(
            name="voxhub-kokoro", description="Kokoro-82M text to speech (voxhub)",
            attribution=ATTRIBUTION, installed=True, version=program_version(), voices=voices,
            supports_synthesize_streaming=True))

    async def handle(self, event: Event, conn: Connection) -> None:
        stream: _Stream | None = conn.state.get(_STATE)
        if Synthesize.is_type(event.type):
            if stream is not None:
                return  # compatibility event inside a stream: the chunks carry the text
            request = Synthesize.from_event(event)
            voice = self._voice_of(request.voice)
            ssml = str(request.text_format or "").lower().endswith("ssml")
            conn.run_ordered(lambda: self._speak(conn, request.text, voice, ssml))
        elif SynthesizeStart.is_type(event.type):
            start = SynthesizeStart.from_event(event)
            voice = self._voice_of(start.voice)
            if stream is not None:
                # The client lost track of its stream: end it whole (its text spoken, its audio
                # stream closed) so that the two streams' audio cannot interleave, then say so.
                self._end_stream(conn, stream)
                conn.run_ordered(lambda: conn.send_error(
                    "synthesize-start while a stream was open: that stream was ended first",
                    "bad-event"))
            conn.state[_STATE] = _Stream(voice=voice)
        elif SynthesizeChunk.is_type(event.type):
            if stream is None:
                raise ValueError("synthesize-chunk without synthesize-start")
            stream.buffer += SynthesizeChunk.from_event(event).text
            match = _SENTENCE_DONE.match(stream.buffer)
            if match:
                stream.buffer = match.group(2)
                self._queue_piece(conn, stream, match.group(1), last=False)
            elif len(stream.buffer) > LONGEST_SENTENCE:
                # Text that never ends a sentence must not grow without bound (nor be rescanned
                # at every chunk): speak it up to its last word, as the engine would cut it.
                text, space, rest = stream.buffer.rpartition(" ")
                text, stream.buffer = (text, rest) if space else (stream.buffer, "")
                self._queue_piece(conn, stream, text, last=False)
        elif SynthesizeStop.is_type(event.type):
            if stream is None:
                raise ValueError("synthesize-stop without synthesize-start")
            conn.state.pop(_STATE, None)
            self._end_stream(conn, stream)

    def _end_stream(self, conn: Connection, stream: _Stream) -> None:
        """Speak what is left of a stream's text, then close its audio with `synthesize-stopped`."""
        self._queue_piece(conn, stream, stream.buffer, last=True)

        async def stopped() -> None:
            await conn.send(SynthesizeStopped().event())

        conn.run_ordered(stopped)

    def _queue_piece(self, conn: Connection, stream: _Stream, text: str, last: bool) -> None:
        conn.run_ordered(lambda: self._speak(conn, text, stream.voice, False, stream, last))

    def _voice_of(self, voice) -> str | None:  # wyoming SynthesizeVoice | None
        if voice is None:
            return None
        if voice.name:
            return voice.name
        if voice.language:
            wanted = voice.language.replace("-", "_").lower()
            for info in self.synth.voice_infos():
                if info.language.lower() == wanted or info.language.lower().startswith(wanted):
                    return info.name
            raise ValueError(f"no voice for language '{voice.language}'")
        return None

    async def _speak(self, conn: Connection, text: str, voice: str | None, ssml: bool,
                     stream: _Stream | None = None, last: bool = True) -> None:
        """Stream one text as audio; errors go to the client as a Wyoming `error`.

        A `synthesize` that cannot be spoken gets only the error. The pieces of a streamed
        text share one audio stream, which opens with the first piece and closes with the last
        even when a piece fails, so the client always sees audio-start … audio-stop."""
        rate = self.synth.sample_rate
        try:
            request = self.synth.request(text, voice, None, ssml)
        except ValueError as err:
            await conn.send_error(str(err), _error_code(err))
            if stream is None:
                return
            request = None
        if stream is None or not stream.audio_open:
            await conn.send(AudioStart(rate=rate, width=WIDTH, channels=CHANNELS).event())
            if stream is not None:
                stream.audio_open = True
        try:
            if request is not None and text.strip():
                async for pcm in self.synth.stream(request):
                    for i in range(0, len(pcm), self.chunk_bytes):
                        await conn.send(AudioChunk(rate=rate, width=WIDTH, channels=CHANNELS,
                                                   audio=pcm[i:i + self.chunk_bytes]).event())
        except ValueError as err:
            await conn.send_error(str(err), _error_code(err))
        if last:
            await conn.send(AudioStop().event())


def _error_code(err: Exception) -> str:
    name = type(err).__name__
    return {"UnknownVoiceError": "unknown-voice", "TextTooLongError": "text-too-long",
            "LanguageUnavailableError": "language-unavailable"}.get(name, "bad-request")
