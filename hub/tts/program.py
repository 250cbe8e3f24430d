"""The Wyoming TTS program: `synthesize` and streaming `synthesize-start/chunk/stop`.

With streaming input (Home Assistant streams an LLM's reply as it is written), audio for each
sentence starts as soon as the sentence is complete, inside one audio stream, and the stream ends
with `synthesize-stopped`. The compatibility `synthesize` that clients send inside a stream is
ignored, as Home Assistant expects.

What can fail ends the way each client stops waiting. Home Assistant's Wyoming TTS reads until
`audio-stop` or the end of the connection and ignores `error`: a plain `synthesize` that cannot
be spoken at all (an unknown voice, a language no voice speaks) gets its `error`, then the
connection is closed, so Home Assistant reports "No TTS" at once instead of waiting forever (an
`audio-stop` would hand it an empty recording as if all went well). A failure once audio has
started sends the `error` and closes the audio stream with `audio-stop`; a streamed request
always gets one whole audio stream and `synthesize-stopped`.

Only voices that can speak on this install are advertised, each under every spelling of its
language (`en_US`, `en-US`, `en-us`, `en`): Home Assistant compares language strings exactly.
`tts.offered_languages` chooses whose voices are listed; by default only the default voice's
language, because Home Assistant takes any one of the advertised languages as its default.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial

from wyoming.event import Event
from wyoming.info import Attribution, Info, TtsProgram, TtsVoice
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from hub.endpoint import ATTRIBUTION, Connection, Program, Session, program_version
from hub.tts.engine import Synthesizer
from hub.tts.speech_stream import SpeechStream
from hub.tts.voices import ATTRIBUTION_NAME, ATTRIBUTION_URL, VoiceInfo
from voxhub import language as lang
from voxhub.protocol import ErrorCode, SndFormat, WyomingType

_LOGGER = logging.getLogger(__name__)
_SENTENCE_DONE = re.compile(r"^(.*[.!?…:;])[\"')\]]*\s+(.*)$", re.DOTALL)
WIDTH = 2
CHANNELS = 1
#: Streamed text without a sentence end is spoken once it is this long.
LONGEST_SENTENCE = 1000
#: The name Home Assistant gives the TTS entity.
PROGRAM_NAME = "voxhub Kokoro"


class NoVoiceForLanguage(ValueError):
    """`synthesize` asked for a language that none of the voices that can speak here speaks."""


@dataclass
class _Stream:
    voice: str | None
    #: Why the stream's voice cannot be used (said once its audio stream has opened).
    voice_error: ValueError | None = None
    buffer: str = ""
    #: Set by the ordered work once its audio-start is sent, so that a piece that fails (an
    #: unknown voice) still leaves one well-formed audio stream.
    audio: SpeechStream | None = None


@dataclass(eq=False, slots=True)
class _TtsSession(Session):
    #: The streamed request open from `synthesize-start` to `synthesize-stop`.
    stream: _Stream | None = None


class TtsServerProgram(Program[_TtsSession]):
    event_types = frozenset({WyomingType.SYNTHESIZE, WyomingType.SYNTHESIZE_START,
                             WyomingType.SYNTHESIZE_CHUNK, WyomingType.SYNTHESIZE_STOP})

    def __init__(self, synthesizer: Synthesizer, chunk_samples: int = 2400) -> None:
        self.synth = synthesizer
        self.chunk_samples = chunk_samples
        for tag in synthesizer.config.offered_languages:
            try:
                lang.normalize(tag)
            except ValueError as err:
                raise ValueError(f"tts.offered_languages: {err}") from None

    def describe(self, info: Info) -> None:
        voice_attr = Attribution(name=ATTRIBUTION_NAME, url=ATTRIBUTION_URL)
        voices = [TtsVoice(name=v.name, description=v.description, attribution=voice_attr,
                           installed=True, version="1.0", languages=lang.advertised([v.language]))
                  for v in self.offered_voices()]
        info.tts.append(TtsProgram(
            name=PROGRAM_NAME, description="Kokoro-82M text to speech (voxhub)",
            attribution=ATTRIBUTION, installed=True, version=program_version(), voices=voices,
            supports_synthesize_streaming=True))

    def offered_voices(self) -> list[VoiceInfo]:
        """The voices that can speak here, of the languages in `tts.offered_languages` (empty:
        the default voice's), the default voice first."""
        voices = self.synth.voice_infos()
        wanted = list(self.synth.config.offered_languages)
        if not wanted:
            wanted = [self.synth.default_voice_info().language]
        return [v for v in voices if any(lang.matches(w, v.language) for w in wanted)]

    def open_session(self, conn: Connection) -> _TtsSession:
        return _TtsSession(conn)

    async def handle(self, event: Event, session: _TtsSession) -> None:
        conn, stream = session.conn, session.stream
        if Synthesize.is_type(event.type):
            if stream is not None:
                return  # compatibility event inside a stream: the chunks carry the text
            request = Synthesize.from_event(event)
            ssml = str(request.text_format or "").lower().endswith("ssml")
            try:
                voice = self._voice_of(request.voice)
            except ValueError as err:
                conn.run_ordered(partial(self._refuse, conn, err))
                return
            conn.run_ordered(lambda: self._speak(conn, request.text, voice, ssml))
        elif SynthesizeStart.is_type(event.type):
            start = SynthesizeStart.from_event(event)
            voice, voice_error = None, None
            try:
                voice = self._voice_of(start.voice)
            except ValueError as err:
                voice_error = err
            if stream is not None:
                # The client lost track of its stream: end it whole (its text spoken, its audio
                # stream closed) so that the two streams' audio cannot interleave, then say so.
                self._end_stream(conn, stream)
                conn.run_ordered(lambda: conn.send_error(
                    "synthesize-start while a stream was open: that stream was ended first",
                    ErrorCode.BAD_EVENT))
            session.stream = _Stream(voice=voice, voice_error=voice_error)
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
            session.stream = None
            self._end_stream(conn, stream)

    def _end_stream(self, conn: Connection, stream: _Stream) -> None:
        """Speak what is left of a stream's text, then close its audio with `synthesize-stopped`."""
        self._queue_piece(conn, stream, stream.buffer, last=True)

        async def stopped() -> None:
            await conn.send(SynthesizeStopped().event())

        conn.run_ordered(stopped)

    def _queue_piece(self, conn: Connection, stream: _Stream, text: str, last: bool) -> None:
        conn.run_ordered(lambda: self._speak(conn, text, stream.voice, False, stream, last))

    def _voice_of(self, voice: SynthesizeVoice | None) -> str | None:
        """The voice to speak with: a name as given (checked when spoken), or for a language in
        any spelling (en, en-US, en_us) the default voice when it speaks it, else the first
        voice of that region, else of that language."""
        if voice is None:
            return None
        if voice.name:
            return voice.name
        if not voice.language:
            return None
        wanted = lang.normalize(voice.language)
        if lang.matches(wanted, self.synth.default_voice_info().language):
            return None
        infos = self.synth.voice_infos()
        chosen = lang.best(wanted, [v.language for v in infos])
        if chosen is None:
            spoken = sorted({v.language for v in infos})
            raise NoVoiceForLanguage(f"no voice for language '{voice.language}'; the voices "
                                     f"here speak {', '.join(spoken)}")
        return next(v.name for v in infos if v.language == chosen)

    async def _refuse(self, conn: Connection, err: ValueError) -> None:
        """A `synthesize` that cannot be spoken at all: the error, then the connection closed,
        the one ending Home Assistant takes as a failure (it ignores `error`)."""
        await conn.send_error(str(err), _error_code(err))
        conn.hang_up()

    async def _speak(self, conn: Connection, text: str, voice: str | None, ssml: bool,
                     stream: _Stream | None = None, last: bool = True) -> None:
        """Stream one text as audio; errors go to the client as a Wyoming `error`.

        A `synthesize` that cannot be spoken gets only the error. The pieces of a streamed
        text share one audio stream, which opens with the first piece and closes with the last
        even when a piece fails, so the client always sees audio-start … audio-stop."""
        try:
            if stream is not None and stream.voice_error is not None:
                raise stream.voice_error
            request = self.synth.request(text, voice, None, ssml)
        except ValueError as err:
            if stream is None:
                await self._refuse(conn, err)
                return
            if stream.voice_error is None or stream.audio is None:  # said once per stream
                await conn.send_error(str(err), _error_code(err))
            request = None
        audio = stream.audio if stream is not None else None
        if audio is None:
            own = SndFormat(self.synth.sample_rate, WIDTH, CHANNELS)
            audio = SpeechStream(conn, self.synth, own, self.chunk_samples)
            if stream is not None:
                stream.audio = audio
        await audio.open()
        try:
            if request is not None and text.strip():
                await audio.speak(request, f"conn{conn.id}")
        except ConnectionError:
            raise  # the client went away: nobody to tell (the connection's queue ends quietly)
        except Exception as err:  # whatever broke, the client's audio stream still ends
            if not isinstance(err, ValueError):
                _LOGGER.exception("%r: synthesis failed", conn)
            await conn.send_error(str(err) if isinstance(err, ValueError)
                                  else f"internal error: {err}", _error_code(err))
            if stream is None:
                await audio.close()
                return
        if last:
            await audio.close()


def _error_code(err: Exception) -> ErrorCode:
    name = type(err).__name__
    if not isinstance(err, ValueError):
        return ErrorCode.INTERNAL
    return {"UnknownVoiceError": ErrorCode.UNKNOWN_VOICE,
            "TextTooLongError": ErrorCode.TEXT_TOO_LONG,
            "LanguageUnavailableError": ErrorCode.LANGUAGE_UNAVAILABLE,
            "NoVoiceForLanguage": ErrorCode.LANGUAGE_UNAVAILABLE}.get(name, ErrorCode.BAD_REQUEST)
