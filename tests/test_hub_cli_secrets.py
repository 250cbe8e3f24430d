"""No secret on the hub's command line: every user of the machine reads it in `ps`.

Tokens come from files (`--home-assistant-token-file`, `server.token_file`), the environment or
the --config file; the hub refuses them as flags or `--set`, and says where they go instead.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hub.cli.hub import config_from_args, configure
from voxhub.configfile import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _config(*argv: str):
    parser = argparse.ArgumentParser(prog="voxhub hub")
    configure(parser)
    return config_from_args(parser.parse_args(list(argv)))


@pytest.mark.parametrize(("argv", "instead"), [
    (["--set", "home_assistant.token=eyJhbGciOi"], "home_assistant.token_file"),
    (["--set", "server.token=shared-secret"], "server.token_file"),
    (["--set", "asr.openai.api_key=sk-local"], "--config file"),
    (["--mqtt-url", "mqtt://hub:hunter2@broker.lan:1883"], "mqtt.url in the --config file"),
    (["--set", "mqtt.url=mqtts://hub:hunter2@broker.lan:8883"], "--config file"),
])
def test_a_secret_given_on_the_command_line_is_refused_with_where_it_goes(argv, instead) -> None:
    with pytest.raises(ConfigError) as refused:
        _config(*argv)
    message = str(refused.value)
    assert "command line" in message and instead in message
    secret = argv[1].partition("=")[2] or argv[1]
    assert "hunter2" not in message and secret not in message, "the error repeats no secret"


def test_there_is_no_flag_that_takes_the_home_assistant_token_itself(capsys) -> None:
    with pytest.raises(SystemExit):
        _config("--home-assistant-token", "eyJhbGciOi")
    err = capsys.readouterr().err
    assert "--home-assistant-token-file" in err and "eyJhbGciOi" not in err


def test_the_home_assistant_token_is_read_from_the_file_the_flag_names(tmp_path) -> None:
    token = tmp_path / "ha-token"
    token.write_text("eyJhbGciOi.long-lived\n")
    config = _config("--home-assistant-url", "http://homeassistant.local:8123",
                     "--home-assistant-token-file", str(token))
    assert config.home_assistant.token is None
    assert config.home_assistant.resolve_token() == "eyJhbGciOi.long-lived"


def test_a_broker_url_without_a_password_is_still_a_flag() -> None:
    assert _config("--mqtt-url", "mqtt://broker.lan:1883").mqtt.url == "mqtt://broker.lan:1883"


def test_secrets_in_the_config_file_are_taken_and_print_config_masks_them(tmp_path) -> None:
    """The real `voxhub hub` command, as a service starts it: secrets in a file, none in argv."""
    token = tmp_path / "ha-token"
    token.write_text("eyJhbGciOi.long-lived\n")
    config = tmp_path / "hub.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"token": "shared-secret"},
        "mqtt": {"url": "mqtt://hub:hunter2@broker.lan:1883"}}))
    argv = [sys.executable, "-m", "voxhub.cli", "hub", "--config", str(config),
            "--home-assistant-url", "http://homeassistant.local:8123",
            "--home-assistant-token-file", str(token), "--print-config"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)
    assert printed["home_assistant"]["token_file"] == str(token)
    assert printed["server"]["token"] == "***"
    url = printed["mqtt"]["url"]
    assert url.startswith("mqtt://hub:") and url.endswith("@broker.lan:1883")
    for secret in ("shared-secret", "hunter2", "long-lived"):
        assert secret not in done.stdout and not any(secret in arg for arg in argv)
