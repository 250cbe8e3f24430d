"""The hub's composition root: load the models, then serve every program on one Wyoming
endpoint (`Hub`, startable in-process by tests, the demo and the benchmarks; `serve` for
`voxhub hub`).

Also starts what a home needs around it: the embedded MQTT broker when no broker is configured,
the publisher of the results the hub serves itself (hub/mqtt/results.py), and the zeroconf
advertisement Home Assistant discovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.mqtt.results import NoResults, ResultSink

if TYPE_CHECKING:
    from hub.actions.actor import Actor
    from hub.answers.speech import Answers
    from hub.config import HubConfig
    from hub.endpoint import Endpoint, Program
    from hub.intents.home import HomeSource
    from hub.tts.engine import Synthesizer
    from hub.understanding import Understander

_LOGGER = logging.getLogger(__name__)

def endpoint_for(config: HubConfig, programs: list[Program]) -> Endpoint:
    """The Wyoming endpoint with the server settings' limits, token policy and TLS."""
    from hub.auth import Authenticator
    from hub.endpoint import Endpoint, Limits

    server = config.server
    limits = Limits(max_event_bytes=server.max_event_bytes,
                    write_timeout_s=server.write_timeout_s,
                    max_connections=server.max_connections,
                    max_queued_requests=server.max_queued_requests,
                    max_buffered_bytes=server.max_buffered_bytes,
                    max_events_per_s=server.max_events_per_s,
                    event_burst=server.event_burst,
                    max_connections_per_s=server.max_connections_per_s,
                    connection_burst=server.connection_burst)
    auth = Authenticator(server.resolve_token(), server.require_auth,
                         server.allow_unsafe_unauthenticated)
    return Endpoint(programs, limits=limits, auth=auth, tls=server.tls_context())


def broker_host(config: HubConfig, uri: str) -> str:
    """Where the embedded broker binds: mqtt.embedded_host, else the endpoint's host."""
    from urllib.parse import urlparse

    if config.mqtt.embedded_host:
        return config.mqtt.embedded_host
    parsed = urlparse(uri)
    if parsed.scheme in ("tcp", "tcps"):
        return parsed.hostname or "127.0.0.1"
    return "127.0.0.1"


class Hub:
    """Everything `voxhub hub` runs, startable in-process (tests, demo, benchmarks)."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.endpoint: Endpoint | None = None
        self.synthesizer: Synthesizer | None = None
        self.understander: Understander | None = None
        self.actor: Actor | None = None
        self.answers: Answers | None = None
        self.results: ResultSink = NoResults()
        self._extras: list[Any] = []

    async def start(self, uri: str | None = None) -> None:
        uri = uri or self.config.server.uri
        self.results = self._results(uri)
        programs = await self._programs()
        self.endpoint = endpoint = endpoint_for(self.config, programs)
        await endpoint.start(uri)
        if self.config.mqtt.url is None and self.config.mqtt.embedded:
            from hub.mqtt.broker import start_embedded_broker

            self._extras.append(await start_embedded_broker(
                broker_host(self.config, uri), self.config.mqtt.embedded_port,
                self.config.data_path))
        self.results.start()
        self._extras.append(self.results)
        if self.config.server.zeroconf and endpoint.port:
            from hub.discovery import advertise

            self._extras.append(await advertise(self.config.server.zeroconf_name,
                                                endpoint.port))

    def _results(self, uri: str) -> ResultSink:
        """Where the results of requests the hub serves itself are published (hub/mqtt)."""
        from hub.mqtt.results import create_results

        embedded = self.config.mqtt.url is None and self.config.mqtt.embedded
        # One outbox per endpoint: hubs side by side on one data folder keep their own.
        slug = re.sub(r"[^A-Za-z0-9]+", "_", uri).strip("_")
        return create_results(self.config, broker_host(self.config, uri) if embedded else None,
                              Path(self.config.data_path) / "mqtt-outbox" / slug)

    async def _programs(self) -> list[Program]:
        from hub.tts.engine import Synthesizer
        from hub.tts.program import TtsServerProgram

        loop = asyncio.get_running_loop()
        wanted = set(self.config.server.programs)
        self.synthesizer = synthesizer = Synthesizer(self.config.tts, self.config.data_path)
        programs: list[Program] = []
        loads = []
        if wanted & {"tts", "pipeline"}:
            loads.append(loop.run_in_executor(None, synthesizer.load))
        if "tts" in wanted:
            programs.append(TtsServerProgram(synthesizer, self.config.tts.chunk_samples))
        if not wanted & {"asr", "intent", "handle", "pipeline"}:
            await asyncio.gather(*loads)
            return programs + self._wake_programs(wanted)
        try:
            from hub.asr.program import AsrProgram
            from hub.intents.program import HandleProgram, IntentProgram
            from hub.pipeline.program import PipelineProgram
            from hub.understanding import Understander
        except ModuleNotFoundError as err:
            from voxhub.configfile import ConfigError

            raise ConfigError(
                f"server.programs: {', '.join(sorted(wanted))} need the package '{err.name}': "
                "install the hub extra (pip install 'voxhub[hub]'), or serve TTS only with "
                "server.programs: [tts]") from err
        from hub.actions.actor import create_actor

        self.actor = actor = create_actor(self.config)
        self._extras.append(actor)
        self.understander = understander = Understander(self.config, await self._home_source())
        loads.append(loop.run_in_executor(None, understander.load))
        from hub.answers.factory import create_answers

        self.answers = answers = create_answers(self.config, understander)
        if answers is not None:
            _LOGGER.info("answers beyond the home's grammar: %s", answers.name)
            self._extras.append(answers)
        if "asr" in wanted:
            programs.append(AsrProgram(understander, self.results))
        if "intent" in wanted:
            programs.append(IntentProgram(understander, answers, self.results))
        if "handle" in wanted:
            programs.append(HandleProgram(understander, actor, answers, self.results))
        if "pipeline" in wanted:
            programs.append(PipelineProgram(self.config.pipeline, understander, synthesizer,
                                            actor, answers))
        await asyncio.gather(*loads)
        return programs + self._wake_programs(wanted)

    def _wake_programs(self, wanted: set[str]) -> list[Program]:
        """The wake program comes last: the endpoint gives audio that no `detect`, `transcribe`
        or `run-pipeline` claimed to the first program taking audio, the recognizer."""
        if "wake" not in wanted:
            return []
        from hub.wake.program import WakeProgram

        return [WakeProgram(self.config.wake)]

    async def _home_source(self) -> HomeSource | None:
        """Home Assistant's own registries when configured, else the YAML home (Understander)."""
        ha = self.config.home_assistant
        if not ha.enabled:
            return None
        from hub.intents.home_assistant import HomeAssistantHomeSource

        source = HomeAssistantHomeSource.from_config(ha)
        self._extras.append(source)
        await source.start(wait_s=10)  # never blocks longer, even when Home Assistant is down
        return source

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()
        for extra in reversed(self._extras):
            closer = getattr(extra, "stop", None) or getattr(extra, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if self.synthesizer is not None:
            self.synthesizer.close()


async def serve(config: HubConfig) -> None:
    hub = Hub(config)
    await hub.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    assert hub.endpoint is not None
    server_task = asyncio.create_task(hub.endpoint.serve_forever())
    print(f"voxhub hub ready on {hub.endpoint.address}", flush=True)
    await stop.wait()
    server_task.cancel()
    await hub.stop()
