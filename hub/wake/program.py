"""The Wyoming wake word program: `detect` + audio → `detection` or `not-detected`.

Home Assistant's wake word entity (and so its own satellites and pipelines) opens a connection,
sends `detect` with the wanted model ids (or none: any), `audio-start` and 16 kHz chunks, and
waits for `detection` (name, timestamp in ms of the stream); it usually closes the connection
instead of sending `audio-stop`. A client that does send `audio-stop` gets `not-detected` when
nothing was heard, so no client waits for ever.

Each stream has its own detector (microWakeWord models are stateful streaming interpreters), fed
from a worker task through the program's own small thread pool: inference is a few hundred
microseconds per chunk, too much for the event loop, and a pool of its own means a detection is
never queued behind a recognizer's seconds-long work in the default executor. Audio that arrives
while the detector is busy is handed over as one batch, so tiny chunks cost no more than large
ones. The detector is freed when the stream ends or the client goes.

The detector core is voxhub/wake.py, the one the satellites run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Info, WakeModel
from wyoming.info import WakeProgram as WakeProgramInfo
from wyoming.wake import Detect, Detection, NotDetected

from hub.endpoint import ATTRIBUTION, Connection, Program, Session, program_version
from hub.wake.config import WakeConfig
from hub.wake.stream import WakeStream
from voxhub.configfile import ConfigError
from voxhub.protocol import AUDIO_TYPES, ErrorCode, WyomingType
from voxhub.wake_word_config import WakeWordConfig

_LOGGER = logging.getLogger(__name__)
#: The detector is fed at most this much audio per call, so a detection's timestamp is within
#: 30 ms of where the word ended however large the client's chunks are (microWakeWord infers
#: every 30 ms anyway).
_PIECE_BYTES = 960


@dataclass(frozen=True)
class WakeWord:
    """A model the hub offers, as `info` lists it and `detect` names it."""

    spec: WakeWordConfig
    name: str
    phrase: str
    languages: tuple[str, ...]


def _key(text: str) -> str:
    """'okay_nabu', 'Okay Nabu' and 'okay nabu' name the same word."""
    return "".join(c for c in text.lower() if c.isalnum())


@dataclass(eq=False, slots=True)
class WakeSession(Session):
    """The wake word stream of one client, from `detect` (or `audio-start`) to `audio-stop`."""

    stream: WakeStream | None = None

    def end_stream(self) -> None:
        """A new `detect` or stream replaces the old one, which ends without an answer."""
        old, self.stream = self.stream, None
        if old is not None and old.task is not None:
            old.task.cancel()

    async def close(self) -> None:
        """The client is gone: its stream's worker ends, and with it its detector."""
        task = self.stream.task if self.stream is not None else None
        self.end_stream()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class WakeProgram(Program[WakeSession]):
    event_types = frozenset({WyomingType.DETECT, *AUDIO_TYPES})

    def __init__(self, config: WakeConfig) -> None:
        self.config = config
        self.words: dict[str, WakeWord] = {}
        self.live_detectors = 0
        """Detectors held for streams now (freed when a stream ends or its client goes)."""
        self._executor = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1),
                                            thread_name_prefix="wake")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        words = await loop.run_in_executor(self._executor, _catalogue, self.config.words)
        self.words = {w.name: w for w in words}
        _LOGGER.info("Wake words: %s", ", ".join(self.words))

    async def stop(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def describe(self, info: Info) -> None:
        info.wake.append(WakeProgramInfo(
            name="voxhub microWakeWord", description="voxhub wake words (microWakeWord)",
            attribution=ATTRIBUTION, installed=True, version=program_version(),
            models=[WakeModel(name=w.name, description=w.phrase, phrase=w.phrase,
                              languages=list(w.languages), attribution=ATTRIBUTION,
                              installed=True, version=None)
                    for w in self.words.values()]))

    def open_session(self, conn: Connection) -> WakeSession:
        return WakeSession(conn)

    async def handle(self, event: Event, session: WakeSession) -> None:
        if Detect.is_type(event.type):
            await self._detect(Detect.from_event(event), session)
            return
        stream = session.stream
        if AudioStart.is_type(event.type):
            AudioStart.from_event(event)  # validates the format fields
            if stream is None or stream.heard_audio or stream.stopped:
                # A second stream on the connection: the same words, a fresh detector.
                self._open(session, stream.names if stream else list(self.words),
                           stream.context if stream else None)
            return
        if stream is None:
            return
        if AudioChunk.is_type(event.type):
            if not stream.refused and not stream.stopped:
                chunk = AudioChunk.from_event(event)
                stream.add(chunk.audio, chunk.rate, chunk.width, chunk.channels)
            return
        if AudioStop.is_type(event.type):
            session.stream = None
            session.conn.audio_owner = None
            stream.stop()  # the worker answers once it has seen the rest of the audio

    async def _detect(self, detect: Detect, session: WakeSession) -> None:
        conn = session.conn
        names = detect.names
        if names is not None and (not isinstance(names, list)
                                  or not all(isinstance(n, str) for n in names)):
            raise ValueError("'names' must be a list of wake word names")
        wanted = self._resolve(names or [])
        if wanted is None:
            unknown = [n for n in names or [] if self._find(n) is None]
            session.end_stream()
            session.stream = WakeStream(names=[], context=detect.context, refused=True)
            conn.audio_owner = self  # its audio must not reach the recognizer
            await conn.send_error(
                f"unknown wake word {', '.join(repr(n) for n in unknown)}: this hub detects "
                f"{', '.join(self.words)}", ErrorCode.UNKNOWN_WAKE_WORD)
            return
        self._open(session, wanted or list(self.words), detect.context)

    def _find(self, name: str) -> WakeWord | None:
        key = _key(name)
        return next((w for w in self.words.values()
                     if key in (_key(w.name), _key(w.phrase))), None)

    def _resolve(self, names: list[str]) -> list[str] | None:
        """Model ids for the names `detect` gave, or None when one is unknown."""
        found = [self._find(n) for n in names]
        if any(w is None for w in found):
            return None
        return list(dict.fromkeys(w.name for w in found if w is not None))

    def _open(self, session: WakeSession, names: list[str],
              context: dict[str, Any] | None) -> None:
        session.end_stream()
        stream = session.stream = WakeStream(names=names, context=context)
        session.conn.audio_owner = self
        stream.task = session.conn.run_concurrent(self._run(stream, session.conn))

    async def _run(self, stream: WakeStream, conn: Connection) -> None:
        loop = asyncio.get_running_loop()
        specs = [self.words[name].spec for name in stream.names]
        detector = None
        work: asyncio.Future[Any] | None = None
        try:
            work = loop.run_in_executor(self._executor, _load, specs, self.config.refractory_s)
            detector = await asyncio.shield(work)
            self.live_detectors += 1
            while True:
                stream.ready.clear()
                pcm = stream.take()
                if pcm:
                    work = loop.run_in_executor(self._executor, _process, detector, pcm)
                    for found in await asyncio.shield(work):
                        stream.detected = True
                        _LOGGER.info("%r: wake word %s at %.2f s (p=%.2f)", conn, found.name,
                                     found.audio_s, found.probability)
                        await conn.send(Detection(name=found.name,
                                                  timestamp=round(found.audio_s * 1000),
                                                  context=stream.context).event())
                    continue
                if stream.stopped:
                    break
                await stream.ready.wait()
            if not stream.detected:
                await conn.send(NotDetected(context=stream.context).event())
        except ConnectionError:
            _LOGGER.debug("%r: client went away during wake word detection", conn)
        except Exception as err:  # one failed stream must not end the connection
            _LOGGER.exception("%r: wake word detection failed", conn)
            await conn.send_error(f"wake word detection failed: {err}", ErrorCode.INTERNAL)
        finally:
            self._free_when_idle(detector, work)

    def _free_when_idle(self, detector: Any, work: asyncio.Future[Any] | None) -> None:
        """Close the detector's interpreters, but never under a thread still running it."""

        def free(_: object = None) -> None:
            target = detector
            if target is None and work is not None and work.done() and not work.cancelled() \
                    and work.exception() is None:
                target = work.result()  # loaded after the stream was already gone
            elif target is not None:
                self.live_detectors -= 1
            if target is not None:
                target.close()

        if work is not None and not work.done():
            work.add_done_callback(free)
        else:
            free()


def _catalogue(specs: list[WakeWordConfig]) -> list[WakeWord]:
    """Load each configured model once, for its id, phrase and languages (and to fail early)."""
    from voxhub.wake import load_model

    if not specs:
        raise ConfigError("wake.words: at least one wake word is required")
    words: list[WakeWord] = []
    for index, spec in enumerate(specs):
        try:
            model = load_model(spec.model, spec.threshold)
        except ValueError as err:
            raise ConfigError(f"wake.words[{index}].model: {err}") from err
        try:
            if any(w.name == model.id for w in words):
                raise ConfigError(f"wake.words[{index}]: '{model.id}' is listed twice")
            words.append(WakeWord(spec, model.id, model.wake_word,
                                  tuple(model.trained_languages or ())))
        finally:
            model.close()
    return words


def _load(specs: list[WakeWordConfig], refractory_s: float) -> Any:
    from voxhub.wake import WakeWordDetector

    return WakeWordDetector(specs, refractory_s)


def _process(detector: Any, pcm: bytes) -> list[Any]:
    """Runs in the wake pool: the batch in 30 ms pieces, for accurate timestamps."""
    found = []
    for offset in range(0, len(pcm), _PIECE_BYTES):
        found.extend(detector.process(pcm[offset:offset + _PIECE_BYTES]))
    return found
