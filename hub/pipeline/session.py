"""One satellite run: listen until the command is over, understand it, speak the reply.

The connection's reading loop hands audio chunks to `feed` (cheap: convert and queue). `run` is
the run's own task: a listener feeds the audio through the endpointer in a small thread pool and,
at each short pause, starts a partial transcription; whichever comes first — a partial transcript
that already is a complete home command (early answer), the full silence, the speech limit, or the
end of the satellite's audio — ends listening. Then the transcript goes out, the intent is carried
out (`hub/actions/`), the result with what happened goes out, the reply is streamed while it is
synthesised, and `run-end` closes the run. What the home grammar rejects goes to the answerer
instead, when one is configured (`hub/pipeline/answer.py`): its answer is streamed sentence by
sentence while it is generated, and the result says `answered_by`. Cancelling the task (the
satellite vanished, barged in, or started a new run) cancels everything the run started, an
answer's generation included.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

import numpy as np
from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.pipeline import PipelineStage
from wyoming.vad import VoiceStarted, VoiceStopped

from hub.actions.actor import Actor, MqttActor
from hub.auth import guard
from hub.endpoint import Connection, settle
from hub.intents.conversation import Turn
from hub.pipeline.answer import speak_answer, wants_answer
from hub.pipeline.endpointing import SAMPLE_RATE, Endpointer, EndpointEvent, EndpointKind
from hub.pipeline.reply import stream_reply
from hub.pipeline.request import RunRequest
from voxhub.audio import PcmReassembler
from voxhub.protocol import ErrorCode, IntentResultEvent, RunEnd, RunError

if TYPE_CHECKING:
    from hub.answers.speech import Answers
    from hub.tts.engine import Synthesizer
    from hub.understanding import Understander

_LOGGER = logging.getLogger(__name__)

#: Audio kept after the last voiced frame, so that trailing consonants reach the recognizer.
_TAIL_S = 0.2


class NoSpeech(Exception):
    """The run ended without any speech."""


class NoAudio(Exception):
    """The satellite sent no audio for pipeline.audio_timeout_s (or far too slowly)."""


class PipelineSession:
    def __init__(self, request: RunRequest, conn: Connection, understander: Understander,
                 synthesizer: Synthesizer, vad_executor: Executor, reply_chunk_ms: int = 100,
                 endpointer: Endpointer | None = None, actor: Actor | None = None,
                 answers: Answers | None = None) -> None:
        self.request = request
        #: Answers what the home grammar rejects (`hub/answers/`); None: "Sorry…".
        self.answers = answers
        self.conn = conn
        self.understander = understander
        #: Carries out the intent before the reply is spoken, so the reply says what happened.
        self.actor: Actor = actor or MqttActor()
        self.synthesizer = synthesizer
        self.reply_chunk_ms = reply_chunk_ms
        self._vad_executor = vad_executor
        self._endpointer = endpointer or Endpointer(request.config)
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        #: The satellite's chunks may end inside a frame: its bytes wait for the next chunk.
        self._pcm = PcmReassembler()
        self._audio: list[np.ndarray] = []
        self._audio_s = 0.0
        #: (audio seconds received, wall time) per chunk: when did a given sample arrive?
        self._arrivals: list[tuple[float, float]] = []
        self._max_audio_s = request.config.max_speech_s + request.config.no_speech_s + 2.0
        self._listening = True
        self._ended = asyncio.Event()
        self._end: EndpointEvent | None = None
        self._end_wall = 0.0
        self._early: tuple[str, dict[str, float]] | None = None
        self._partials: dict[int, asyncio.Task] = {}
        self._stopped_sent = False
        #: Why listening failed (no audio, a VAD error), raised by the run.
        self._failure: BaseException | None = None
        #: The VAD work in a thread: its detector is only free again once it is done.
        self._vad_busy: concurrent.futures.Future | None = None
        self.timings: dict[str, float] = {}
        #: This satellite's place in its conversation: a yes answers only its own question.
        self.turn = Turn(f"satellite:{request.satellite}", request.conversation_id)

    # --- audio from the reading loop -------------------------------------------------------

    def feed(self, event: Event) -> None:
        """One audio-chunk; called on the event loop, so only cheap work happens here."""
        if not self._listening:
            return
        data = event.data or {}
        samples = self._pcm.to_mono16k(event.payload or b"", int(data["rate"]),
                                       int(data["width"]), int(data["channels"]))
        if self._audio_s >= self._max_audio_s or len(samples) == 0:
            return
        self._audio.append(samples)
        self._audio_s += len(samples) / SAMPLE_RATE
        self._arrivals.append((self._audio_s, time.monotonic()))
        self._queue.put_nowait(samples)

    def audio_stopped(self) -> None:
        if self._listening:
            self._queue.put_nowait(None)

    # --- the run -----------------------------------------------------------------------------

    async def run(self) -> None:
        request = self.request
        error: RunError | None = None
        try:
            if request.start_stage == PipelineStage.TTS:
                await self._speak(request.announce_text or "")
            else:
                await self._run_from_audio()
        except NoSpeech as err:
            error = RunError(ErrorCode.NO_SPEECH, str(err))
        except NoAudio as err:
            error = RunError(ErrorCode.NO_AUDIO, str(err))
        except ValueError as err:  # unknown voice, text too long: the client's request
            error = RunError(ErrorCode.BAD_REQUEST, str(err))
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as err:
            _LOGGER.exception("%s: run failed", request.satellite)
            error = RunError(ErrorCode.INTERNAL, f"internal error: {err}")
        finally:
            self._listening = False
            self._audio, self._arrivals = [], []
            self._queue = asyncio.Queue()
            partials, self._partials = list(self._partials.values()), {}
            for task in partials:
                task.cancel()
            for task in partials:
                await settle(task)
        if error is not None:
            await self.conn.send_error(error.text, error.code)
        await self.conn.send(RunEnd(request.satellite, error, self.timings).event())

    async def _run_from_audio(self) -> None:
        request = self.request
        listener = asyncio.create_task(self._listen(), name=f"{request.satellite}-listen")
        try:
            await self._ended.wait()
        finally:
            listener.cancel()
            await settle(listener)
        self._listening = False
        if self._failure is not None:
            raise self._failure
        end = self._end
        assert end is not None
        pending = self._partials.get(end.pause_id) if end.pause_id else None
        if not self._early and pending is not None and not pending.done():
            # The partial transcription covers exactly this audio: its answer is still the
            # quickest way to know whether the command is complete.
            await self.conn.send(VoiceStopped(timestamp=int(end.at_s * 1000)).event())
            self._stopped_sent = True
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        if end.kind == EndpointKind.NO_SPEECH or not self._endpointer.started:
            await self.conn.send(VoiceStopped(timestamp=int(self._audio_s * 1000)).event())
            raise NoSpeech("no speech heard")
        if not self._stopped_sent:
            await self.conn.send(VoiceStopped(timestamp=int(end.at_s * 1000)).event())
        last_voiced = self._arrival(end.at_s)
        self.timings["speech"] = (end.at_s - (self._endpointer.speech_start_s or 0.0)) * 1000.0
        self.timings["endpoint"] = (self._end_wall - last_voiced) * 1000.0
        self.timings["early_answer"] = 1.0 if self._early else 0.0

        started = time.monotonic()
        if request.end_stage == PipelineStage.ASR:
            text = self._early[0] if self._early else await self._transcribe_all(end)
            await self.conn.send(Transcript(text=text, language=request.language).event())
            self.timings["understand"] = (time.monotonic() - started) * 1000.0
            return
        audio = None
        if self._early:
            text, asr_timings = self._early
            await self.conn.send(Transcript(text=text, language=request.language).event())
            result = await self.understander.understand_text(text, area=request.area,
                                                             language=request.language,
                                                             turn=self.turn)
            result.timings_ms = {**asr_timings, **result.timings_ms}
        else:
            audio = self._audio_until(end.at_s + _TAIL_S)
            result = await self.understander.understand_audio(audio, area=request.area,
                                                              language=request.language,
                                                              turn=self.turn)
            await self.conn.send(Transcript(text=result.text, language=result.language).event())
        self.timings["understand"] = (time.monotonic() - started) * 1000.0
        answer = self.answers is not None and wants_answer(result)
        result = guard(self.conn, result, self.understander)
        acted = time.monotonic()
        result = await self.actor.carry_out(result, self.understander.intent_engine(),
                                            request.area)
        self.timings["act"] = (time.monotonic() - acted) * 1000.0
        tts = None
        if answer:
            tts = await speak_answer(self, result, audio)
        else:
            await self.conn.send(IntentResultEvent(result).event())
        if request.end_stage == PipelineStage.TTS and result.reply and not answer:
            tts = await self._speak(result.reply)
        if tts is not None:
            self.timings["last_voiced_to_first_audio"] = (
                (started - last_voiced) * 1000.0 + self.timings["understand"] + self.timings["act"]
                + tts.get("first_audio", tts["total"]))

    async def _speak(self, text: str) -> dict[str, float]:
        tts = await stream_reply(self.conn, self.synthesizer, text, self.request.snd_format,
                                 self.reply_chunk_ms, voice=self.request.voice)
        self.timings["tts_first_audio"] = tts.get("first_audio", tts["total"])
        self.timings["tts_total"] = tts["total"]
        return tts

    # --- listening -----------------------------------------------------------------------------

    def release_detector(self, give_back: Callable[[], None]) -> None:
        """Hand the endpointer's detector back once no VAD thread uses it any more."""
        busy = self._vad_busy
        if busy is None or busy.done():
            give_back()
        else:
            busy.add_done_callback(lambda _: give_back())

    async def _listen(self) -> None:
        try:
            await self._listen_until_end()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the run reports it; listening must not hang the run
            if not isinstance(err, NoAudio):
                _LOGGER.exception("%s: listening failed", self.request.satellite)
            self._failure = err
            self._ended.set()

    async def _listen_until_end(self) -> None:
        config = self.request.config
        # Audio time decides the endpoint; wall time only bounds a client that stalls.
        deadline = time.monotonic() + self._max_audio_s + config.audio_timeout_s
        while True:
            wait_s = min(config.audio_timeout_s, deadline - time.monotonic())
            try:
                async with asyncio.timeout(max(0.0, wait_s)):
                    samples = await self._queue.get()
            except TimeoutError:
                raise NoAudio(f"no audio for {config.audio_timeout_s:g} s" if
                              time.monotonic() < deadline else
                              "audio arrives far slower than real time") from None
            if samples is None:  # the satellite stopped streaming before the endpoint
                end = self._endpointer.done or EndpointEvent(
                    EndpointKind.VOICE_STOPPED if self._endpointer.started
                    else EndpointKind.NO_SPEECH, self._endpointer.last_voiced_s)
                self._finish(end)
                return
            batch = [samples]
            while not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    self._queue.put_nowait(None)
                    break
                batch.append(more)
            self._vad_busy = self._vad_executor.submit(self._endpointer.process,
                                                       np.concatenate(batch))
            del batch, samples
            events = await asyncio.wrap_future(self._vad_busy)
            for event in events:
                await self._on_endpoint(event)
                if self._ended.is_set():
                    return

    async def _on_endpoint(self, event: EndpointEvent) -> None:
        kind = event.kind
        if kind == EndpointKind.VOICE_STARTED:
            await self.conn.send(VoiceStarted(timestamp=int(event.at_s * 1000)).event())
        elif kind == EndpointKind.PAUSE:
            for task in self._partials.values():
                task.cancel()
            audio = self._audio_until(event.at_s + _TAIL_S)
            self._partials = {event.pause_id: asyncio.create_task(
                self._partial(audio, event.pause_id), name=f"{self.request.satellite}-partial")}
        elif kind == EndpointKind.RESUMED:
            for task in self._partials.values():
                task.cancel()
            self._partials = {}
        elif event.final:
            self._finish(event)

    async def _partial(self, audio: np.ndarray, pause_id: int) -> None:
        """Early answer: is what was said before this pause already a whole command?"""
        started = time.monotonic()
        try:
            transcription = await self.understander.transcribe(audio,
                                                               language=self.request.language)
        except asyncio.CancelledError:
            raise
        except Exception:  # the full-silence path still answers
            _LOGGER.exception("%s: partial transcription failed", self.request.satellite)
            return
        asr_ms = (time.monotonic() - started) * 1000.0
        text = transcription.text.strip()
        if not text or pause_id not in self._partials:
            return
        if self._ended.is_set() and (self._end is None or self._end.pause_id != pause_id):
            return
        complete = await self.understander.is_complete_command(text, area=self.request.area)
        if not complete:
            _LOGGER.debug("%s: partial '%s' is not a complete command", self.request.satellite,
                          text)
            return
        _LOGGER.debug("%s: early answer on '%s'", self.request.satellite, text)
        self._early = (text, {**transcription.timings_ms, "asr": asr_ms})
        self.timings["partial_asr"] = asr_ms
        self._finish(EndpointEvent(EndpointKind.VOICE_STOPPED, self._endpointer.last_voiced_s,
                                   pause_id))

    def _finish(self, event: EndpointEvent) -> None:
        if self._ended.is_set():
            return
        self._end = event
        self._end_wall = time.monotonic()
        self._ended.set()

    async def _transcribe_all(self, end: EndpointEvent) -> str:
        audio = self._audio_until(end.at_s + _TAIL_S)
        transcription = await self.understander.transcribe(audio, language=self.request.language)
        return transcription.text

    def _audio_until(self, seconds: float) -> np.ndarray:
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
        return audio[:int(seconds * SAMPLE_RATE)]

    def _arrival(self, audio_s: float) -> float:
        """Wall time at which the sample at `audio_s` reached the hub."""
        if not self._arrivals:
            return time.monotonic()
        index = bisect.bisect_left(self._arrivals, (audio_s, 0.0))
        return self._arrivals[min(index, len(self._arrivals) - 1)][1]
