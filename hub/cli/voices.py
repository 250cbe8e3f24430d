"""`voxhub voices`: the voices in the data directory, with language and description."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="model data directory")
    parser.add_argument("--language", help="only voices of this language (en, en_GB, fr…)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Lists the voices that can speak here, then the installed ones that cannot and why: the
    hub advertises only the first kind, and a user looking for a Japanese voice should learn
    what to install rather than wonder where it went."""
    from hub import data
    from hub.config import default_data_dir
    from hub.tts.g2p import unavailable_reason
    from hub.tts.voices import VoiceLibrary
    from voxhub import language

    library = VoiceLibrary([data.voices_dir(args.data_dir or default_data_dir())])
    if not library.names:
        print("no voices installed: run `voxhub prepare`")
        return 1
    infos = library.infos()
    if args.language:
        try:
            infos = [v for v in infos if language.matches(args.language, v.language)]
        except ValueError as err:
            print(f"--language: {err}")
            return 2
    rows = [(v, unavailable_reason(v.g2p_language)) for v in infos]
    if args.json:
        print(json.dumps([{"name": v.name, "language": v.language,
                           "description": v.description, "available": why is None,
                           **({"hidden_because": why} if why else {})} for v, why in rows],
                         indent=2))
        return 0
    for v, why in rows:
        if why is None:
            print(f"{v.name:14} {v.language:6} {v.description}")
    hidden = [(v, why) for v, why in rows if why is not None]
    if hidden:
        print(f"\nNot offered ({len(hidden)} voices cannot speak on this install):")
        for v, why in hidden:
            print(f"{v.name:14} {v.language:6} {why}")
    return 0
