"""What a wheel of the project carries: a hub installed from it (the add-on) has its example home.

The wheel is built from this checkout with pip, unpacked, and imported in a separate interpreter
whose working directory is outside the source tree, so that only the wheel's files can answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    return next(out.glob("voxhub-*.whl"))


def test_config_home_yaml_is_the_packaged_example_home():
    """One file: the copy users read in config/ is a link to the package's."""
    link = ROOT / "config" / "home.yaml"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "hub" / "intents" / "example_home.yaml").resolve()


def test_the_wheel_carries_the_example_home(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("hub/intents/example_home.yaml")
    assert packaged == (ROOT / "config" / "home.yaml").read_bytes()


def test_a_hub_installed_from_the_wheel_finds_and_loads_its_example_home(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = ("import json; from hub.intents.home import example_home_path, load_home; "
             "path = example_home_path(); home = load_home(path); "
             "print(json.dumps({'path': str(path), 'areas': len(home.areas)}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["path"]).is_relative_to(site), found["path"]
    assert found["areas"] > 0
