"""`voxhub understand FILE.wav`: one recording through the hub's understanding, offline.

Prints the same result object a satellite publishes over MQTT, so a user can check what the hub
would do with a recording before wiring anything up.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", help="WAV file (any rate, width or channel count); '-' reads "
                        "stdin. With --text, the command text instead.")
    parser.add_argument("--text", action="store_true", help="treat the argument as text and "
                        "skip speech recognition")
    parser.add_argument("--home", help="home model YAML (default: intents.home from the config, "
                        "else the example home)")
    parser.add_argument("--area", help="area the command was spoken in (id or name)")
    parser.add_argument("--language", help="spoken language (default: asr.language)")
    parser.add_argument("--config", help="hub.yaml")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hub.config import load_hub_config
    from hub.intents.home import HomeError, StaticHomeSource, load_home
    from hub.understanding import Understander
    from voxhub.audio import read_wav, to_mono16k
    from voxhub.configfile import ConfigError

    try:
        config = load_hub_config(args.config)
        source = StaticHomeSource(load_home(args.home)) if args.home else None
        if source is None and config.intents.home is not None:
            source = StaticHomeSource(load_home(config.intents.home))
    except (ConfigError, HomeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    understander = Understander(config, source)
    try:
        if args.text:
            understander.load(recognizer=False)
            understander.wait_ready()
            result = understander.understand_text_sync(args.audio, args.area, args.language)
        else:
            try:
                if args.audio == "-":
                    import tempfile

                    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                        tmp.write(sys.stdin.buffer.read())
                        tmp.flush()
                        pcm, rate, width, channels = read_wav(tmp.name)
                else:
                    if not Path(args.audio).exists():
                        print(f"error: {args.audio}: no such file", file=sys.stderr)
                        return 2
                    pcm, rate, width, channels = read_wav(args.audio)
            except ValueError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
            understander.load()
            understander.wait_ready()
            audio = to_mono16k(pcm, rate, width, channels)
            result = understander.understand_audio_sync(audio, args.area, args.language)
    except (ValueError, RuntimeError, OSError) as err:
        logging.getLogger(__name__).debug("understand failed", exc_info=True)
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        intent = result.intent.name if result.intent else "(not recognized)"
        print(f"heard:   {result.text}")
        print(f"intent:  {intent} {result.intent.slots if result.intent else ''}")
        print(f"targets: {', '.join(result.targets) or '-'}")
        print(f"reply:   {result.reply}")
        print(f"confidence {result.confidence:.2f}, {result.timings_ms.get('total', 0):.0f} ms")
    return 0
