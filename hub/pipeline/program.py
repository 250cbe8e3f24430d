"""The hub's pipeline program: satellites send `run-pipeline` and their audio here.

One `PipelineSession` per running satellite run, kept in the connection's `_Satellite`
session. A new `run-pipeline` on the same connection replaces the running one (the user said the
wake word again, or barged in); a satellite that disconnects cancels its run when the endpoint
closes its session.
Replacing never waits in the reading loop (which must keep answering `ping`): the old run and any
announcement are cancelled, and the new run waits for them to end before it sends anything.
At most `pipeline.max_runs` runs go on at once across all satellites.
Announcements (`synthesize` from a satellite) are answered by the TTS program, which streams audio
the same way, so that one program owns each event type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Info
from wyoming.pipeline import RunPipeline

from hub.actions.actor import Actor
from hub.endpoint import Connection, Program, Refused, Session, settle
from hub.pipeline.config import PipelineConfig
from hub.pipeline.endpointing import Endpointer
from hub.pipeline.request import RunRequest
from hub.pipeline.session import PipelineSession
from hub.pipeline.vad_pool import DetectorPool, VoiceDetector
from voxhub.protocol import AUDIO_TYPES, ErrorCode, WyomingType

if TYPE_CHECKING:
    from hub.answers.speech import Answers
    from hub.tts.engine import Synthesizer
    from hub.understanding import Understander

_LOGGER = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class _Satellite(Session):
    """What the pipeline holds for one satellite's connection: its current run."""

    run: PipelineSession | None = None
    #: The run's task (waits for the run it replaced, then runs it).
    task: asyncio.Task | None = None

    def cancel(self) -> asyncio.Task | None:
        """Cancel the run without waiting for it; the cancelled task."""
        task, self.task, self.run = self.task, None, None
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    async def close(self) -> None:
        task = self.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await settle(task)


class PipelineProgram(Program[_Satellite]):
    event_types = frozenset({WyomingType.RUN_PIPELINE, *AUDIO_TYPES})

    def __init__(self, config: PipelineConfig, understander: Understander,
                 synthesizer: Synthesizer, actor: Actor | None = None,
                 answers: Answers | None = None) -> None:
        self.config = config
        #: Answers what the home grammar rejects (`hub/answers/`), or None.
        self.answers = answers
        self.understander = understander
        self.synthesizer = synthesizer
        self.actor = actor
        self._vad_executor: ThreadPoolExecutor | None = None
        self.detectors: DetectorPool | None = None
        #: Runs in progress across all satellites (freed when a satellite vanishes).
        self.active_runs = 0
        #: Sessions started and not yet ended, for pipeline.max_runs.
        self._sessions: set[PipelineSession] = set()

    async def start(self) -> None:
        self._vad_executor = ThreadPoolExecutor(self.config.vad_threads,
                                                thread_name_prefix="vad")
        # Load Silero here so that a broken install fails at start-up, not at the first run.
        self.detectors = DetectorPool()
        self.detectors.give_back(self.detectors.take())

    async def stop(self) -> None:
        if self._vad_executor is not None:
            self._vad_executor.shutdown(wait=False, cancel_futures=True)
            self._vad_executor = None

    def describe(self, info: Info) -> None:
        """Nothing to add: wyoming's `info` has no pipeline entry, and calling the hub a
        `satellite` would make Home Assistant create a satellite device for it. Satellites know the
        hub runs pipelines because they were configured (or discovered) as voxhub satellites."""

    def open_session(self, conn: Connection) -> _Satellite:
        return _Satellite(conn)

    async def handle(self, event: Event, satellite: _Satellite) -> None:
        if RunPipeline.is_type(event.type):
            await self._start_run(event, satellite)
            return
        session = satellite.run
        if session is None:
            if AudioStart.is_type(event.type):
                await satellite.conn.send_error(
                    "audio without run-pipeline: send run-pipeline first", ErrorCode.NO_RUN)
            return
        if AudioChunk.is_type(event.type):
            session.feed(event)
        elif AudioStop.is_type(event.type):
            session.audio_stopped()

    async def _start_run(self, event: Event, satellite: _Satellite) -> None:
        conn = satellite.conn
        request = RunRequest.from_event(event, self.config)  # ValueError → error event
        previous = [task for task in (satellite.cancel(), conn.cancel_ordered())
                    if task is not None]  # an announcement still streaming stops (barge-in)
        if len(self._sessions) >= self.config.max_runs:
            raise Refused(f"the hub runs at most {self.config.max_runs} pipelines at once",
                          ErrorCode.TOO_MANY_RUNS)
        if self._vad_executor is None or self.detectors is None:
            await self.start()
        assert self._vad_executor is not None and self.detectors is not None
        detector = self.detectors.take()
        session = PipelineSession(request, conn, self.understander, self.synthesizer,
                                  self._vad_executor, self.config.reply_chunk_ms,
                                  endpointer=Endpointer(request.config, detector),
                                  actor=self.actor, answers=self.answers)
        self._sessions.add(session)
        satellite.run = session
        conn.audio_owner = self
        _LOGGER.info("%r: run for satellite '%s' (area %s, %s → %s)", conn, request.satellite,
                     request.area, request.start_stage.value, request.end_stage.value)
        satellite.task = conn.run_concurrent(self._run(session, conn, previous, detector))

    async def _run(self, session: PipelineSession, conn: Connection,
                   previous: list[asyncio.Task], detector: VoiceDetector) -> None:
        self.active_runs += 1
        try:
            for task in previous:  # the replaced run's last events go out before ours
                await settle(task)
            await session.run()
        except ConnectionError:
            _LOGGER.info("%r: satellite went away during its run", conn)
        finally:
            self.active_runs -= 1
            self._sessions.discard(session)
            pool = self.detectors
            if pool is not None:
                session.release_detector(lambda: pool.give_back(detector))
