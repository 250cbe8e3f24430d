"""`voxhub satellite`: run a satellite (wake word → hub → speaker, MQTT beside it).

Flags override the YAML config (`--config config/satellite.yaml`), so one config file serves
every room and a flag changes one thing for one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="satellite YAML config")
    parser.add_argument("--hub", metavar="URI", help="hub endpoint, e.g. tcp://hub.local:10200 "
                        "(default: zeroconf)")
    parser.add_argument("--name", help="satellite name (default: host name)")
    parser.add_argument("--area", help="area (room) of the satellite")
    parser.add_argument("--mic-file", type=Path, metavar="WAV",
                        help="listen to a WAV file instead of the microphone")
    parser.add_argument("--mic-command", metavar="CMD", help="microphone command (raw 16 kHz "
                        "16-bit mono on stdout)")
    parser.add_argument("--mic-stdin", action="store_true", help="read raw PCM from stdin")
    parser.add_argument("--fast", action="store_true", help="feed --mic-file as fast as "
                        "possible instead of in real time")
    parser.add_argument("--snd-file", type=Path, metavar="OUT.wav",
                        help="write everything played to a WAV file instead of the speaker")
    parser.add_argument("--snd-command", metavar="CMD", help="playback command")
    parser.add_argument("--mqtt", metavar="URL", help="MQTT broker, mqtt[s]://[user@]host:port "
                        "(the password in mqtt.password_file or $VOXHUB_MQTT_PASSWORD, never "
                        "on the command line)")
    parser.add_argument("--no-sounds", action="store_true", help="no awake/done/error chimes")
    parser.add_argument("--remove-discovery", action="store_true",
                        help="remove this satellite's Home Assistant device and exit")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any setting (config/satellite.yaml lists them), e.g. "
                        "--set conversation.no_speech_timeout_s=8")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective configuration and exit")


#: Where each secret goes instead of the command line (`voxhub.secret_flags`).
SECRET_ELSEWHERE = {
    "token": "use {section}.token_file or $VOXHUB_HUB_TOKEN (or set {key} in the --config file)",
    "password": "use {section}.password_file or $VOXHUB_MQTT_PASSWORD",
}
#: Where a broker URL's password goes instead.
URL_PASSWORD_ELSEWHERE = ("give the URL without it (mqtt://user@host:port) and the password "
                          "in mqtt.password_file or $VOXHUB_MQTT_PASSWORD")


def build_config(args: argparse.Namespace):
    from satellite.config import load_satellite_config
    from voxhub.configfile import override, set_item
    from voxhub.secret_flags import refuse_secret

    config = load_satellite_config(args.config)
    flags: list[tuple[str, object]] = [
        ("hub.uri", args.hub), ("name", args.name), ("area", args.area), ("mqtt.url", args.mqtt),
        ("mic.command", args.mic_command), ("snd.command", args.snd_command),
    ]
    if args.mic_file:
        flags += [("mic.source", "file"), ("mic.file", str(args.mic_file))]
    if args.mic_command:
        flags.append(("mic.source", "command"))
    if args.mic_stdin:
        flags.append(("mic.source", "stdin"))
    if args.fast:
        flags.append(("mic.realtime", False))
    if args.snd_file:
        flags += [("snd.sink", "file"), ("snd.file", str(args.snd_file))]
    if args.snd_command:
        flags.append(("snd.sink", "command"))
    if args.no_sounds:
        flags.append(("sounds.enabled", False))
    for key, value in flags:
        if value is not None:
            refuse_secret(key, value, f"--{key}", SECRET_ELSEWHERE, URL_PASSWORD_ELSEWHERE)
            config = override(config, key, value, source=f"--{key}")
    for item in args.set:
        key, value = set_item(item)
        refuse_secret(key, value, f"--set {key}", SECRET_ELSEWHERE, URL_PASSWORD_ELSEWHERE)
        config = override(config, key, value, source=f"--set {key}")
    return config


def masked(mapping: dict) -> dict:
    """The printed config without its secrets (the token, the broker password, also inside
    the broker URL): a config print gets pasted into bug reports."""
    from urllib.parse import urlsplit, urlunsplit

    hub, mqtt = mapping.get("hub", {}), mapping.get("mqtt", {})
    if hub.get("token"):
        hub["token"] = "***"
    if mqtt.get("password"):
        mqtt["password"] = "***"
    url = mqtt.get("url")
    if url and "@" in url:
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            mqtt["url"] = urlunsplit(parts._replace(netloc=netloc))
    return mapping


def run(args: argparse.Namespace) -> int:
    import yaml

    from satellite.daemon import Satellite
    from voxhub.configfile import to_mapping

    config = build_config(args)
    logging.getLogger().setLevel(logging.DEBUG if getattr(args, "debug", False)
                                 else config.log_level.upper())
    if args.print_config:
        print(yaml.safe_dump(masked(to_mapping(config)), sort_keys=False))
        return 0
    if args.remove_discovery:
        if not config.mqtt.url:
            print("voxhub satellite: --remove-discovery needs an MQTT broker (--mqtt or mqtt.url)")
            return 2
        from satellite.mqtt import SatelliteMqtt

        link = SatelliteMqtt(config.mqtt, config.satellite_name, config.slug, config.area,
                             config.state_path / "outbox" / config.slug)
        asyncio.run(link.remove_discovery())
        print(f"removed Home Assistant discovery of satellite '{config.satellite_name}'")
        return 0

    async def main() -> int:
        # systemd and Docker stop with SIGTERM: end like Ctrl-C, through the satellite's own
        # close (availability "offline" at once, the microphone and player stopped), rather
        # than dying and leaving Home Assistant to wait for the broker's last will.
        satellite = Satellite(config)
        task = asyncio.current_task()
        assert task is not None  # main() runs as asyncio.run's task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await satellite.run()
        except asyncio.CancelledError:
            logging.getLogger(__name__).info("stopped by signal")
            return 0

    return asyncio.run(main())
