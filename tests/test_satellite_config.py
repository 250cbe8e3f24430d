"""Satellite settings: the shipped example loads, mistakes are named, flags override, and the
satellite never imports the hub's heavy libraries."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from satellite.cli import build_config, configure
from satellite.config import load_satellite_config
from satellite.mqtt import parse_broker_url
from voxhub.configfile import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(list(argv))


def test_the_example_config_loads_and_names_the_satellite_after_its_host():
    config = load_satellite_config(ROOT / "config" / "satellite.yaml")
    assert config.wake.words[0].model == "okay_nabu"
    assert config.mic.command.startswith("arecord")
    assert config.satellite_name == socket.gethostname()


def test_a_mistake_names_the_file_the_key_and_what_is_allowed(tmp_path):
    path = tmp_path / "sat.yaml"
    path.write_text("wake:\n  words:\n    - model: okay_nabu\n      treshold: 0.5\n")
    with pytest.raises(ConfigError, match=r"sat.yaml: wake.words\[0\].treshold.*threshold"):
        load_satellite_config(path)
    path.write_text("snd:\n  volume: 140\n")
    with pytest.raises(ConfigError, match=r"snd.volume: 140 is out of range"):
        load_satellite_config(path)


def test_a_hub_uri_the_satellite_cannot_use_stops_start_up_naming_the_key(tmp_path):
    path = tmp_path / "sat.yaml"
    path.write_text("hub:\n  uri: tcp://hub.local\n")  # no port
    with pytest.raises(ConfigError, match=r"sat.yaml: hub: uri: 'tcp://hub.local' is not a hub "
                                          r"endpoint; expected tcp://HOST:PORT"):
        load_satellite_config(path)
    with pytest.raises(ConfigError, match=r"--hub.uri: .*'hub.local:10200' is not a hub endpoint"):
        build_config(parse("--hub", "hub.local:10200"))


def test_flags_override_the_file():
    config = build_config(parse("--config", str(ROOT / "config" / "satellite.yaml"),
                                "--hub", "tcp://hub:10200", "--name", "Bedroom", "--area", "Bed",
                                "--mic-file", "in.wav", "--snd-file", "out.wav",
                                "--mqtt", "mqtts://u@broker"))
    assert (config.hub.uri, config.name, config.area) == ("tcp://hub:10200", "Bedroom", "Bed")
    assert (config.mic.source, str(config.mic.file)) == ("file", "in.wav")
    assert (config.snd.sink, str(config.snd.file)) == ("file", "out.wav")
    assert config.slug == "bedroom"
    broker = parse_broker_url(config.mqtt.url)
    assert (broker.host, broker.port, broker.tls, broker.username, broker.password) == \
        ("broker", 8883, True, "u", None)


def test_set_reaches_any_setting_as_the_hubs_does_and_names_a_wrong_key():
    config = build_config(parse("--set", "conversation.no_speech_timeout_s=8",
                                "--set", "wake.words=[{model: hey_jarvis}]",
                                "--set", "mqtt.topic_prefix=house"))
    assert config.conversation.no_speech_timeout_s == 8.0
    assert [w.model for w in config.wake.words] == ["hey_jarvis"]
    assert config.mqtt.topic_prefix == "house"
    with pytest.raises(ConfigError, match=r"--set conversation.no_speech_timeout: .*unknown "
                       r"setting \(did you mean 'no_speech_timeout_s'\?\)"):
        build_config(parse("--set", "conversation.no_speech_timeout=8"))
    with pytest.raises(ConfigError, match=r"--set muted: expected KEY=VALUE"):
        build_config(parse("--set", "muted"))
    with pytest.raises(ConfigError) as refused:  # a secret is not taken from --set either
        build_config(parse("--set", "mqtt.password=hunter2"))
    assert "hunter2" not in str(refused.value)


def test_a_broker_password_on_the_command_line_is_refused_with_where_it_goes(monkeypatch):
    monkeypatch.delenv("VOXHUB_MQTT_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as refused:
        build_config(parse("--mqtt", "mqtt://u:hunter2@broker.lan:1883"))
    message = str(refused.value)
    assert message.startswith("--mqtt.url: the URL holds a password")
    assert "mqtt.password_file or $VOXHUB_MQTT_PASSWORD" in message
    assert "hunter2" not in message


def test_the_broker_password_comes_from_its_file_then_the_environment(tmp_path, monkeypatch):
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret\n")
    path = tmp_path / "sat.yaml"
    path.write_text(f"mqtt:\n  url: mqtt://voxhub@broker.lan\n  password_file: {secret}\n")
    monkeypatch.setenv("VOXHUB_MQTT_PASSWORD", "from-the-environment")
    config = load_satellite_config(path)
    broker = parse_broker_url(config.mqtt.url, config.mqtt)
    assert (broker.username, broker.password) == ("voxhub", "s3cret")
    assert "s3cret" not in repr(config)  # read when connecting, not kept in the settings
    path.write_text("mqtt:\n  url: mqtt://voxhub@broker.lan\n")
    config = load_satellite_config(path)
    assert parse_broker_url(config.mqtt.url, config.mqtt).password == "from-the-environment"


def test_a_password_file_that_cannot_be_read_stops_start_up_naming_the_setting(tmp_path):
    path = tmp_path / "sat.yaml"
    path.write_text(f"mqtt:\n  password_file: {tmp_path / 'missing'}\n")
    with pytest.raises(ConfigError, match=r"mqtt.password_file: cannot read .*missing"):
        load_satellite_config(path)


def test_the_satellite_stays_light():
    code = ("import sys, satellite.cli, satellite.daemon, satellite.mqtt, satellite.wake, "
            "satellite.vad, satellite.hub_client\n"
            "heavy = {'torch', 'transformers', 'onnxruntime', 'spacy', 'faster_whisper', "
            "'kokoro', 'ctranslate2', 'hub'}\n"
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]"
