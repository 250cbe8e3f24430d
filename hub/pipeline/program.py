"""The hub's pipeline program: satellites send `run-pipeline` and their audio here.

One `PipelineSession` per running satellite run, kept in the connection's state. A new
`run-pipeline` on the same connection replaces the running one (the user said the wake word again,
or barged in); a satellite that disconnects cancels its run through the endpoint's `closed` hook.
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
from typing import Any

from wyoming.event import Event
from wyoming.info import Info

from hub.actions.actor import Actor
from hub.endpoint import Connection, Endpoint, Program, Refused, settle
from hub.pipeline.endpointing import Endpointer
from hub.pipeline.request import RunRequest
from hub.pipeline.session import PipelineSession
from hub.pipeline.vad_pool import DetectorPool
from hub.pipeline_config import PipelineConfig

_LOGGER = logging.getLogger(__name__)

_SESSION = "pipeline_session"
_TASK = "pipeline_task"


class PipelineProgram(Program):
    event_types = frozenset({"run-pipeline", "audio-start", "audio-chunk", "audio-stop"})

    def __init__(self, config: PipelineConfig, understander: Any, synthesizer: Any,
                 actor: Actor | None = None) -> None:
        self.config = config
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

    async def handle(self, event: Event, conn: Connection) -> None:
        if event.type == "run-pipeline":
            await self._start_run(event, conn)
            return
        session: PipelineSession | None = conn.state.get(_SESSION)
        if session is None:
            if event.type == "audio-start":
                await conn.send_error("audio without run-pipeline: send run-pipeline first",
                                      "no-run")
            return
        if event.type == "audio-chunk":
            session.feed(event)
        elif event.type == "audio-stop":
            session.audio_stopped()

    async def _start_run(self, event: Event, conn: Connection) -> None:
        request = RunRequest.from_event(event, self.config)  # ValueError → error event
        previous = [task for task in (self._cancel(conn), conn.cancel_ordered())
                    if task is not None]  # an announcement still streaming stops (barge-in)
        if len(self._sessions) >= self.config.max_runs:
            raise Refused(f"the hub runs at most {self.config.max_runs} pipelines at once",
                          "too-many-runs")
        if self._vad_executor is None or self.detectors is None:
            await self.start()
        assert self._vad_executor is not None and self.detectors is not None
        detector = self.detectors.take()
        session = PipelineSession(request, conn, self.understander, self.synthesizer,
                                  self._vad_executor, self.config.reply_chunk_ms,
                                  endpointer=Endpointer(request.config, detector),
                                  actor=self.actor)
        self._sessions.add(session)
        conn.state[_SESSION] = session
        Endpoint.set_audio_owner(conn, self)
        _LOGGER.info("%r: run for satellite '%s' (area %s, %s → %s)", conn, request.satellite,
                     request.area, request.start_stage.value, request.end_stage.value)
        conn.state[_TASK] = conn.run_concurrent(self._run(session, conn, previous, detector))

    async def _run(self, session: PipelineSession, conn: Connection,
                   previous: list[asyncio.Task], detector: object) -> None:
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

    def _cancel(self, conn: Connection) -> asyncio.Task | None:
        """Cancel the connection's run without waiting for it; the cancelled task."""
        task: asyncio.Task | None = conn.state.pop(_TASK, None)
        conn.state.pop(_SESSION, None)
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    async def closed(self, conn: Connection) -> None:
        task = self._cancel(conn)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await settle(task)
