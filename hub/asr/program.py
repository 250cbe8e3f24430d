"""The Wyoming speech-to-text program: `transcribe` + audio → `transcript`.

Home Assistant uses it as an STT entity. Audio arrives in whatever format the client has and in
chunks of any byte length (Home Assistant's `/api/stt` passes HTTP body pieces on as they come);
`PcmReassembler` converts it to 16 kHz mono, carrying a frame cut in two over to the next chunk
(each chunk carries its own format). The buffer is bounded by `asr.max_audio_s`, beyond which
audio is dropped with one warning, so a client that never stops streaming cannot exhaust memory.
A backend that streams partial transcripts sends `transcript-start`, `transcript-chunk`s, the
final `transcript` and `transcript-stop`. Each transcription is remembered under the text handed
out (`hub/asr/recent.py`), so that the conversation agent's request for that text is decided
with all of the recognizer's hypotheses, as the hub's own pipeline decides.

A voxhub extension: `transcribe` may carry `translate` (a language tag), and the `transcript` is
then the speech translated into that language in the recognizer's one pass (Voxtral: any of its
languages; Whisper: English only), neither recovered nor streamed. A recognizer that cannot
translate into it answers that `transcribe` with an `error` (code `translate-unsupported`; a
`translate` that is no language tag: `bad-event`), in order with the connection's other
answers, and the audio that follows it is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import AsrModel, Info
from wyoming.info import AsrProgram as AsrProgramInfo

from hub.asr.base import SAMPLE_RATE, TranslationUnsupported
from hub.endpoint import ATTRIBUTION, Connection, Program, Session, program_version
from hub.mqtt.results import NoResults, ResultSink
from hub.understanding import Understander
from voxhub import language as lang
from voxhub.audio import PcmReassembler
from voxhub.protocol import AUDIO_TYPES, ErrorCode, TranslatingTranscribe, WyomingType

_LOGGER = logging.getLogger(__name__)
#: The name Home Assistant gives the STT entity, and the title of the integration it creates
#: for the hub (it titles an endpoint after its first speech-to-text program).
PROGRAM_NAME = "voxhub"


@dataclass
class _Utterance:
    language: str | None
    limit: int
    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    pcm: PcmReassembler = field(default_factory=PcmReassembler)
    cut: bool = False
    #: The `transcribe`'s `translate`, checked: the transcript is a translation into it.
    translate_to: str | None = None
    #: Its translation was refused (the error is sent): its audio is ignored.
    refused: bool = False

    def add(self, audio: np.ndarray) -> None:
        if len(audio) == 0 or self.refused:  # a chunk shorter than a frame waits in `pcm`
            return
        room = self.limit - self.samples
        if room <= 0:
            if not self.cut:
                self.cut = True
                _LOGGER.warning("Audio longer than asr.max_audio_s: the rest is ignored")
            return
        audio = audio[:room]
        self.chunks.append(audio)
        self.samples += len(audio)

    def audio(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.chunks)


@dataclass(eq=False, slots=True)
class _AsrSession(Session):
    #: The utterance being recorded, from `transcribe` (or `audio-start`) to `audio-stop`.
    utterance: _Utterance | None = None


class AsrProgram(Program[_AsrSession]):
    event_types = frozenset({WyomingType.TRANSCRIBE, *AUDIO_TYPES})

    def __init__(self, understander: Understander, results: ResultSink | None = None) -> None:
        self.understander = understander
        self.results: ResultSink = results or NoResults()

    def describe(self, info: Info) -> None:
        recognizer = self.understander.recognizer
        name = recognizer.name if recognizer else "asr"
        model = self.understander.config.asr.model or "tiny.en"  # None: the embedded default
        streaming = bool(recognizer and recognizer.supports_streaming)
        info.asr.append(AsrProgramInfo(
            name=PROGRAM_NAME, description=f"voxhub speech recognition ({name.title()} {model})",
            attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[AsrModel(name=model, description=f"{name.title()} {model}",
                             attribution=ATTRIBUTION, installed=True, version=None,
                             languages=self.languages())],
            supports_transcript_streaming=streaming))

    def languages(self) -> list[str]:
        """The recognizer's languages, the configured one first, each with the regions Home
        Assistant passes on (`en-US`): its `/api/stt` refuses a language not listed verbatim."""
        codes = list(self.understander.languages)
        configured = self.understander.config.asr.language
        if configured and lang.base(configured) in codes:
            codes.remove(lang.base(configured))
            codes.insert(0, lang.base(configured))
        return lang.advertised(lang.with_common_regions(codes), with_bare=False)

    def open_session(self, conn: Connection) -> _AsrSession:
        return _AsrSession(conn)

    async def handle(self, event: Event, session: _AsrSession) -> None:
        conn = session.conn
        if Transcribe.is_type(event.type):
            transcribe = TranslatingTranscribe.from_event(event)
            limit = int(self.understander.config.asr.max_audio_s * SAMPLE_RATE)
            # Whisper and the other recognizers take the bare language: en-US, en_us → en.
            language = lang.base(transcribe.language) if transcribe.language else None
            opened = _Utterance(language, limit)
            target = transcribe.translate
            if target:
                try:
                    opened.translate_to = self._translation(str(target))
                except ValueError as err:  # no language tag, or one it cannot translate into
                    opened.refused = True
                    code = (err.code if isinstance(err, TranslationUnsupported)
                            else ErrorCode.BAD_EVENT)
                    conn.run_ordered(partial(conn.send_error, f"translate: {err}", code))
            session.utterance = opened
            conn.audio_owner = self
            return
        utterance = session.utterance
        if AudioStart.is_type(event.type):
            AudioStart.from_event(event)  # validates the format fields
            if utterance is None:  # audio without transcribe: Home Assistant always sends it,
                utterance = _Utterance(None, int(  # other clients may not
                    self.understander.config.asr.max_audio_s * SAMPLE_RATE))
                session.utterance = utterance
            return
        if AudioChunk.is_type(event.type):
            if utterance is None:
                return
            chunk = AudioChunk.from_event(event)
            utterance.add(utterance.pcm.to_mono16k(chunk.audio, chunk.rate, chunk.width,
                                                   chunk.channels))
            return
        if AudioStop.is_type(event.type):
            if utterance is None:  # otherwise the client would wait for a transcript forever
                raise ValueError("audio-stop without transcribe or audio-start")
            utterance.add(utterance.pcm.flush_mono16k())
            session.utterance = None
            conn.audio_owner = None
            if not utterance.refused:  # else its error is its answer
                conn.run_ordered(lambda: self._answer(utterance, conn))

    def _translation(self, target: str) -> str:
        """The checked target language of a `translate` field (ValueError: no language tag)."""
        lang.normalize(target)
        recognizer = self.understander.recognizer
        if recognizer is None:
            raise TranslationUnsupported("no recognizer is loaded to translate speech")
        return recognizer.check_translation(target)

    async def _answer(self, utterance: _Utterance, conn: Connection) -> None:
        audio = utterance.audio()
        recognizer = self.understander.recognizer
        if recognizer is not None and utterance.translate_to:
            request = self.understander.request_for(audio, utterance.language)
            request.translate_to = utterance.translate_to
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, recognizer.transcribe, request)
            await self._transcript(conn, result.text, result.language)
            return
        if recognizer is not None and recognizer.supports_streaming:
            await self._answer_streaming(audio, utterance.language, conn)
            return
        result = await self.understander.transcribe_command(audio, utterance.language)
        text = await self.understander.recovered_text(result)
        # The conversation agent gets only this text; when it is the hub's, all hypotheses.
        self.understander.recent.remember(result, result.text, text)
        await self._transcript(conn, text, result.language)

    async def _transcript(self, conn: Connection, text: str, language: str | None) -> None:
        """The answer to `transcribe`, also published for automations (hub/mqtt/results.py)."""
        await conn.send(Transcript(text=text, language=language).event())
        self.results.transcript(text, language, "transcribe")

    async def _answer_streaming(self, audio: np.ndarray, language: str | None,
                                conn: Connection) -> None:
        """Partial transcripts from the backend's iterator, which runs in an executor thread."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        recognizer = self.understander.recognizer
        assert recognizer is not None
        request = self.understander.request_for(audio, language)

        def produce() -> None:
            try:
                for partial in recognizer.transcribe_stream(request):
                    loop.call_soon_threadsafe(queue.put_nowait, partial)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, produce)
        language = request.language or "en"
        await conn.send(TranscriptStart(language=language).event())
        text = ""
        try:
            while (partial := await queue.get()) is not None:
                delta = partial[len(text):] if partial.startswith(text) else " " + partial
                text = partial
                if delta.strip():
                    await conn.send(TranscriptChunk(text=delta).event())
        finally:
            with contextlib.suppress(Exception):
                await worker
        await self._transcript(conn, text.strip(), language)
        await conn.send(TranscriptStop().event())
