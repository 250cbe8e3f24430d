"""docs/architecture.md walks a command through the files by name: every path it names exists,
so the walk stays true while files move."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_path_the_architecture_doc_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:hub|satellite|voxhub|rehearsal|tests|benchmarks|scripts)"
                           r"/[\w./]*)`", text))
    assert len(named) > 30
    assert sorted(path for path in named if not (ROOT / path).exists()) == []
