"""`voxhub hub`: load the models, then serve every program on one Wyoming endpoint.

Also starts what a home needs around it: the embedded MQTT broker when no broker is configured,
and the zeroconf advertisement Home Assistant discovers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from voxhub.configfile import override

_LOGGER = logging.getLogger(__name__)

#: CLI flag → dotted config key. Flags override the YAML file; `--set KEY=VALUE` reaches the rest.
FLAGS: dict[str, tuple[str, str]] = {
    "uri": ("server.uri", "where to listen, e.g. tcp://0.0.0.0:10200"),
    "data_dir": ("data_dir", "model data directory"),
    "log_level": ("log_level", "debug, info, warning or error"),
    "voice": ("tts.voice", "default voice or blend (af_heart:0.7,af_bella:0.3)"),
    "speed": ("tts.speed", "default speaking rate, 0.5–2.0"),
    "tts_backend": ("tts.backend", "onnx or torch"),
    "tts_model": ("tts.model", "Kokoro model file or model-hub id"),
    "device": ("tts.device", "cpu or cuda (TTS)"),
    "threads": ("tts.threads", "CPU threads per inference"),
    "lexicon": ("tts.lexicon", "YAML lexicon of household names → phonemes"),
    "home": ("intents.home", "home model YAML"),
    "language": ("intents.language", "language of intents and replies"),
    "asr_backend": ("asr.backend", "whisper, voxtral or openai"),
    "asr_model": ("asr.model", "recognizer model"),
    "mqtt_url": ("mqtt.url", "MQTT broker URL (empty: embedded broker)"),
    "silence_s": ("pipeline.silence_s", "silence that ends a command, seconds"),
    "home_assistant_url": ("home_assistant.url", "Home Assistant websocket URL"),
    "home_assistant_token": ("home_assistant.token", "Home Assistant long-lived access token"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="hub YAML file (see config/hub.yaml)")
    for name, (key, help_text) in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=f"{help_text} [{key}]")
    parser.add_argument("--zeroconf", action="store_true", default=None,
                        help="advertise _wyoming._tcp.local. [server.zeroconf]")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any setting, e.g. --set tts.cache_mb=128")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log debug messages")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective configuration and exit")


def config_from_args(args: argparse.Namespace) -> Any:
    """The YAML file, then flags, then --set, each validated with errors naming the key."""
    from hub.config import load_hub_config

    config = load_hub_config(args.config)
    for name, (key, _) in FLAGS.items():
        value = getattr(args, name, None)
        if value is not None:
            config = _override(config, key, value, f"--{name.replace('_', '-')}")
    if getattr(args, "zeroconf", None):
        config = override(config, "server.zeroconf", True, "--zeroconf")
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            from voxhub.configfile import ConfigError

            raise ConfigError(f"--set {item}: expected KEY=VALUE")
        config = _override(config, key.strip(), _yaml_value(value), f"--set {key.strip()}")
    return config


def _yaml_value(text: str) -> Any:
    """`--set` values are YAML, so lists and numbers can be given: --set server.programs=[tts]."""
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text


def _override(config: Any, key: str, value: Any, source: str) -> Any:
    value = None if value == "" else value
    return override(config, key, value, source)


def run(args: argparse.Namespace) -> int:
    import yaml

    from voxhub.configfile import to_mapping

    config = config_from_args(args)
    if args.print_config:
        print(yaml.safe_dump(masked(to_mapping(config)), sort_keys=False))
        return 0
    level = "debug" if getattr(args, "debug", False) else config.log_level
    logging.getLogger().setLevel(level.upper())
    from hub import memory, redact

    redact.install(secrets_of(config))
    memory.limit_arenas()  # before the inference and VAD threads start
    asyncio.run(serve(config))
    return 0


def masked(mapping: dict[str, Any]) -> dict[str, Any]:
    """The effective configuration with its secrets replaced by '***' (--print-config)."""
    from hub.redact import MASK, SecretFilter

    for section, key in (("server", "token"), ("home_assistant", "token")):
        if (mapping.get(section) or {}).get(key):
            mapping[section][key] = MASK
    mqtt = mapping.get("mqtt") or {}
    if mqtt.get("url"):
        mqtt["url"] = SecretFilter().redact(mqtt["url"])
    return mapping


def secrets_of(config: Any) -> list[str | None]:
    """Every secret the configuration holds, for the log filter (files are read here)."""
    from urllib.parse import urlparse

    found: list[str | None] = [config.server.token, config.home_assistant.token]
    with contextlib.suppress(Exception):
        found.append(config.server.resolve_token())
    if config.home_assistant.enabled:
        with contextlib.suppress(Exception):
            found.append(config.home_assistant.resolve_token())
    if config.mqtt.url:
        with contextlib.suppress(ValueError):
            found.append(urlparse(config.mqtt.url).password)
    return found


def endpoint_for(config: Any, programs: list[Any]) -> Any:
    """The Wyoming endpoint with the server settings' limits, token policy and TLS."""
    from hub.auth import Authenticator
    from hub.endpoint import Endpoint, Limits

    server = config.server
    limits = Limits(max_event_bytes=server.max_event_bytes,
                    write_timeout_s=server.write_timeout_s,
                    max_connections=server.max_connections,
                    max_queued_requests=server.max_queued_requests,
                    max_buffered_bytes=server.max_buffered_bytes)
    auth = Authenticator(server.resolve_token(), server.require_auth,
                         server.allow_unsafe_unauthenticated)
    return Endpoint(programs, limits=limits, auth=auth, tls=server.tls_context())


def broker_host(config: Any, uri: str) -> str:
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

    def __init__(self, config: Any) -> None:
        self.config = config
        self.endpoint = None
        self.synthesizer = None
        self.understander = None
        self.actor = None
        self._extras: list[Any] = []

    async def start(self, uri: str | None = None) -> None:
        uri = uri or self.config.server.uri
        programs = await self._programs()
        self.endpoint = endpoint_for(self.config, programs)
        await self.endpoint.start(uri)
        if self.config.mqtt.url is None and self.config.mqtt.embedded:
            from hub.broker import start_embedded_broker

            self._extras.append(await start_embedded_broker(
                broker_host(self.config, uri), self.config.mqtt.embedded_port,
                self.config.data_path))
        if self.config.server.zeroconf and self.endpoint.port:
            from hub.discovery import advertise

            self._extras.append(await advertise(self.config.server.zeroconf_name,
                                                self.endpoint.port))

    async def _programs(self) -> list[Any]:
        from hub.tts.engine import Synthesizer
        from hub.tts.program import TtsServerProgram

        loop = asyncio.get_running_loop()
        wanted = set(self.config.server.programs)
        self.synthesizer = Synthesizer(self.config.tts, self.config.data_path)
        programs: list[Any] = []
        loads = []
        if wanted & {"tts", "pipeline"}:
            loads.append(loop.run_in_executor(None, self.synthesizer.load))
        if "tts" in wanted:
            programs.append(TtsServerProgram(self.synthesizer, self.config.tts.chunk_samples))
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

        self.actor = create_actor(self.config)
        self._extras.append(self.actor)
        self.understander = Understander(self.config, await self._home_source())
        loads.append(loop.run_in_executor(None, self.understander.load))
        if "asr" in wanted:
            programs.append(AsrProgram(self.understander))
        if "intent" in wanted:
            programs.append(IntentProgram(self.understander))
        if "handle" in wanted:
            programs.append(HandleProgram(self.understander, self.actor))
        if "pipeline" in wanted:
            programs.append(PipelineProgram(self.config.pipeline, self.understander,
                                            self.synthesizer, self.actor))
        await asyncio.gather(*loads)
        return programs + self._wake_programs(wanted)

    def _wake_programs(self, wanted: set[str]) -> list[Any]:
        """The wake program comes last: the endpoint gives audio that no `detect`, `transcribe`
        or `run-pipeline` claimed to the first program taking audio, the recognizer."""
        if "wake" not in wanted:
            return []
        from hub.wake.program import WakeProgram

        return [WakeProgram(self.config.wake)]

    async def _home_source(self) -> Any:
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


async def serve(config: Any) -> None:
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
