"""The Wyoming speech-to-text program: `transcribe` + audio → `transcript`.

Home Assistant uses it as an STT entity. Audio arrives in whatever format the client has and in
chunks of any byte length (Home Assistant's `/api/stt` passes HTTP body pieces on as they come);
`PcmReassembler` converts it to 16 kHz mono, carrying a frame cut in two over to the next chunk
(each chunk carries its own format). The buffer is bounded by `asr.max_audio_s`, beyond which
audio is dropped with one warning, so a client that never stops streaming cannot exhaust memory.
A backend that streams partial transcripts sends `transcript-start`, `transcript-chunk`s, the
final `transcript` and `transcript-stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event
from wyoming.info import AsrModel, Info
from wyoming.info import AsrProgram as AsrProgramInfo

from hub.asr.base import SAMPLE_RATE
from hub.endpoint import ATTRIBUTION, Connection, Endpoint, Program, program_version
from hub.understanding import Understander
from voxhub import language as lang
from voxhub.audio import PcmReassembler

_LOGGER = logging.getLogger(__name__)
_STATE = "asr"
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

    def add(self, audio: np.ndarray) -> None:
        if len(audio) == 0:  # a chunk shorter than a frame: its bytes wait in `pcm`
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


class AsrProgram(Program):
    event_types = frozenset({"transcribe", "audio-start", "audio-chunk", "audio-stop"})

    def __init__(self, understander: Understander) -> None:
        self.understander = understander

    def describe(self, info: Info) -> None:
        recognizer = self.understander.recognizer
        name = recognizer.name if recognizer else "asr"
        model = self.understander.config.asr.model
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

    async def handle(self, event: Event, conn: Connection) -> None:
        if Transcribe.is_type(event.type):
            transcribe = Transcribe.from_event(event)
            limit = int(self.understander.config.asr.max_audio_s * SAMPLE_RATE)
            # Whisper and the other recognizers take the bare language: en-US, en_us → en.
            language = lang.base(transcribe.language) if transcribe.language else None
            conn.state[_STATE] = _Utterance(language, limit)
            Endpoint.set_audio_owner(conn, self)
            return
        utterance: _Utterance | None = conn.state.get(_STATE)
        if event.type == "audio-start":
            AudioStart.from_event(event)  # validates the format fields
            if utterance is None:  # audio without transcribe: Home Assistant always sends it,
                utterance = _Utterance(None, int(  # other clients may not
                    self.understander.config.asr.max_audio_s * SAMPLE_RATE))
                conn.state[_STATE] = utterance
            return
        if event.type == "audio-chunk":
            if utterance is None:
                return
            chunk = AudioChunk.from_event(event)
            utterance.add(utterance.pcm.to_mono16k(chunk.audio, chunk.rate, chunk.width,
                                                   chunk.channels))
            return
        if event.type == "audio-stop":
            if utterance is None:  # otherwise the client would wait for a transcript forever
                raise ValueError("audio-stop without transcribe or audio-start")
            utterance.add(utterance.pcm.flush_mono16k())
            conn.state.pop(_STATE, None)
            Endpoint.set_audio_owner(conn, None)
            conn.run_ordered(lambda: self._answer(utterance, conn))

    async def _answer(self, utterance: _Utterance, conn: Connection) -> None:
        audio = utterance.audio()
        recognizer = self.understander.recognizer
        if recognizer is not None and recognizer.supports_streaming:
            await self._answer_streaming(audio, utterance.language, conn)
            return
        result = await self.understander.transcribe(audio, utterance.language)
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(None, self.understander.recovered_text, result)
        await conn.send(Transcript(text=text, language=result.language).event())

    async def _answer_streaming(self, audio: np.ndarray, language: str | None,
                                conn: Connection) -> None:
        """Partial transcripts from the backend's iterator, which runs in an executor thread."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        recognizer = self.understander.recognizer
        assert recognizer is not None
        request = self.understander._request(audio, language)

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
        await conn.send(Transcript(text=text.strip(), language=language).event())
        await conn.send(TranscriptStop().event())

    async def closed(self, conn: Connection) -> None:
        conn.state.pop(_STATE, None)
