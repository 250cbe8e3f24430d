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
    from hub import data
    from hub.config import default_data_dir
    from hub.tts.voices import VoiceLibrary

    library = VoiceLibrary([data.voices_dir(args.data_dir or default_data_dir())])
    infos = library.infos()
    if args.language:
        wanted = args.language.replace("-", "_").lower()
        infos = [v for v in infos if v.language.lower().startswith(wanted)]
    if not library.names:
        print("no voices installed: run `voxhub prepare`")
        return 1
    if args.json:
        print(json.dumps([{"name": v.name, "language": v.language,
                           "description": v.description} for v in infos], indent=2))
    else:
        for v in infos:
            print(f"{v.name:14} {v.language:6} {v.description}")
    return 0
