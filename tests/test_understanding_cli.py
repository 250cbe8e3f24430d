"""`voxhub understand`: a recording in, the published result object out (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def voxhub(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxhub.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=300)


def test_understand_prints_hassturnon_for_the_kitchen_lights(spoken_wav: Any) -> None:
    wav = spoken_wav("turn on the kitchen lights")
    done = voxhub("understand", str(wav), "--home", str(ROOT / "config" / "home.yaml"),
                  "--json")
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert set(result) >= {"text", "language", "intent", "targets", "reply", "confidence",
                           "timings_ms"}
    assert result["intent"]["name"] == "HassTurnOn"
    assert result["targets"] == ["light.kitchen_lights"]
    assert result["reply"] == "Turned on the light"
    assert result["language"] == "en"
    assert result["timings_ms"]["total"] > 0


def test_understand_uses_the_area_and_reads_stdin(spoken_wav: Any) -> None:
    wav = spoken_wav("turn off the lights")
    done = voxhub("understand", "-", "--area", "bedroom", "--json", stdin=wav.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["intent"]["name"] == "HassTurnOff"
    assert sorted(result["targets"]) == ["light.bedroom", "light.bedside_lamp"]


def test_understand_errors_are_clear(tmp_path: Path) -> None:
    missing = voxhub("understand", str(tmp_path / "nope.wav"))
    assert missing.returncode == 2 and b"no such file" in missing.stderr
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    junk = voxhub("understand", str(tmp_path / "junk.wav"))
    assert junk.returncode == 2 and b"not a PCM WAV file" in junk.stderr
    (tmp_path / "home.yaml").write_text("areas: [{id: Kitchen}]\n")
    bad_home = voxhub("understand", "--text", "hi", "--home", str(tmp_path / "home.yaml"))
    assert bad_home.returncode == 2
    assert b"home.yaml: areas[0].name: required" in bad_home.stderr


def test_understand_text_mode_skips_the_recognizer() -> None:
    # (Closing: opening a garage door is only ever done on a sure hearing.)
    done = voxhub("understand", "--text", "close the garbage door", "--json")
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["targets"] == ["cover.garage_door"]
    assert 0.7 <= result["confidence"] < 1.0
