"""`make demo` runs `voxhub demo`: the whole loop must show on a machine with nothing else
running (its own hub, embedded broker and satellite)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voxhub.audio import read_wav

pytestmark = pytest.mark.slow


def test_the_demo_shows_the_whole_loop_and_saves_the_reply(tmp_path):
    done = subprocess.run([sys.executable, "-m", "voxhub.cli", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    output = done.stdout
    assert done.returncode == 0, output + done.stderr[-3000:]
    for expected in ("wake word 'okay_nabu' detected", "MQTT voxhub/demo-kitchen/state: listening",
                     "MQTT voxhub/demo-kitchen/transcript:", "MQTT voxhub/demo-kitchen/intent:",
                     "HassTurnOn", "first reply audio at the satellite"):
        assert expected in output, output
    assert output.index("/state: listening") < output.index("/intent:")
    pcm, rate, _, _ = read_wav(tmp_path / "reply.wav")
    assert len(pcm) / 2 / rate > 0.5
    assert (tmp_path / "played.wav").exists()
