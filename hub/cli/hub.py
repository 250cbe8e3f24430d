"""`voxhub hub`: the hub's settings from its YAML file, flags and `--set`, then the hub itself
(hub/composition.py) until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxhub.configfile import override, set_item

if TYPE_CHECKING:
    from hub.config import HubConfig

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
    "language": ("language", "the home's language (en, es, fr…): recognizer model, intents, "
                 "replies and voice"),
    "asr_backend": ("asr.backend", "whisper, voxtral or openai"),
    "asr_model": ("asr.model", "recognizer model"),
    "mqtt_url": ("mqtt.url", "MQTT broker URL (empty: embedded broker)"),
    "silence_s": ("pipeline.silence_s", "silence that ends a command, seconds"),
    "home_assistant_url": ("home_assistant.url", "Home Assistant websocket URL"),
    "home_assistant_token_file": ("home_assistant.token_file",
                                  "file holding Home Assistant's long-lived access token"),
}

#: Where each secret goes instead of the command line, which every user of the machine reads
#: (`ps`, /proc/PID/cmdline): a file, the environment, or the --config file.
SECRET_ELSEWHERE = {
    "token": "use {section}.token_file (or set {key} in the --config file)",
    "api_key": "set {key} in the --config file (or $OPENAI_API_KEY for asr.openai.api_key)",
    "password": "set {key} in the --config file",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="hub YAML file (see config/hub.yaml)")
    for name, (key, help_text) in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=f"{help_text} [{key}]")
    # The old flag that took the token itself: a clear error rather than being read as an
    # abbreviation of --home-assistant-token-file (the token taken for a file name).
    parser.add_argument("--home-assistant-token", action=_SecretFlag, help=argparse.SUPPRESS)
    parser.add_argument("--zeroconf", action="store_true", default=None,
                        help="advertise _wyoming._tcp.local. [server.zeroconf]")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any setting, e.g. --set tts.cache_mb=128")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log debug messages")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective configuration and exit")


class _SecretFlag(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        parser.error(f"{option_string} is gone: a token on the command line is visible to every "
                     "user of this machine (ps); use --home-assistant-token-file FILE")


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
        key, value = set_item(item)
        config = _override(config, key, value, f"--set {key}")
    return config


def _override(config: Any, key: str, value: Any, source: str) -> Any:
    value = None if value == "" else value
    _refuse_secret(key, value, source)
    return override(config, key, value, source)


def _refuse_secret(key: str, value: Any, source: str) -> None:
    """A secret given on the command line is refused, with where it goes instead."""
    from voxhub.secret_flags import refuse_secret

    refuse_secret(key, value, source, SECRET_ELSEWHERE)


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
    from hub.composition import serve

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


def secrets_of(config: HubConfig) -> list[str | None]:
    """Every secret the configuration holds, for the log filter (files are read here)."""
    from urllib.parse import urlparse

    found: list[str | None] = [config.server.token, config.home_assistant.token]
    with contextlib.suppress(Exception):
        found.append(config.server.resolve_token())
    if config.home_assistant.enabled:
        with contextlib.suppress(Exception):
            found.append(config.home_assistant.resolve_token())
    with contextlib.suppress(Exception):
        found.append(config.answers.api_key())  # the chat server's key (answers.api_key_file)
    if config.mqtt.url:
        with contextlib.suppress(ValueError):
            found.append(urlparse(config.mqtt.url).password)
    return found


