"""`voxhub`: one command with a subcommand per job.

Each subcommand is a module exposing `configure(parser)` and `run(args) -> int`: the hub's in
`hub/cli/` (named after the subcommand), the satellite's in `satellite/cli.py`, the demo's and
config-doc's in `voxhub/`. Those modules import nothing heavy at module level, so `voxhub --help` is
instant and the satellite never pulls in the hub's models.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from voxhub import __version__
from voxhub.configfile import ConfigError

#: name → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "hub": ("hub.cli.hub", "run the hub's Wyoming endpoint (TTS, understanding, pipeline)"),
    "say": ("hub.cli.say", "speak text with Kokoro to a WAV file or the speaker"),
    "voices": ("hub.cli.voices", "list the installed voices"),
    "prepare": ("hub.cli.prepare", "prepare the model data directory (offline, from packages)"),
    "understand": ("hub.cli.understand", "audio file → transcript, intent and reply"),
    "satellite": ("satellite.cli", "run a satellite: wake word, hub, speaker, MQTT"),
    "demo": ("voxhub.demo", "the whole loop on this machine, with timings"),
    "config-doc": ("voxhub.config_doc", "print every configuration option with its meaning"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voxhub", description="Local voice assistant hub and "
                                     "satellites for Home Assistant, over Wyoming and MQTT.")
    parser.add_argument("--version", action="version", version=f"voxhub {__version__}")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # A satellite-only install has no hub extras: hide what cannot run.
            logging.getLogger(__name__).debug("command %s unavailable: %s", name, err)
            continue
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except ConfigError as err:
        print(f"voxhub: configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
