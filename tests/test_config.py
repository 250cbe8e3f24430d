"""Configuration: YAML into dataclasses, with errors that name the file, the key and the choices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.config import HubConfig, load_hub_config
from voxhub.config_doc import config_class, example_yaml
from voxhub.configfile import ConfigError, load_file, override

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_hub_config(_write(tmp_path, "")) == HubConfig()


def test_values_are_loaded_into_the_sections(tmp_path: Path) -> None:
    config = load_hub_config(_write(tmp_path, "tts:\n  voice: bf_emma\n  speed: 1.2\n"
                                              "server:\n  uri: tcp://127.0.0.1:10300\n"))
    assert config.tts.voice == "bf_emma" and config.tts.speed == 1.2
    assert config.server.uri == "tcp://127.0.0.1:10300"


@pytest.mark.parametrize(("text", "message"), [
    ("tts:\n  voise: af_heart\n", r"hub.yaml: tts.voise: unknown setting \(did you mean 'voice'"),
    ("tts:\n  backend: tensorflow\n", r"hub.yaml: tts.backend: 'tensorflow' is not allowed; "
                                      r"allowed: onnx, torch"),
    ("tts:\n  speed: 5\n", r"hub.yaml: tts.speed: 5.0 is out of range; allowed: 0.5 to 2.0"),
    ("tts:\n  threads: many\n", r"hub.yaml: tts.threads: expected an integer, got 'many'"),
    ("tts: fast\n", r"hub.yaml: tts.: expected a mapping|hub.yaml: tts: expected a mapping"),
    ("- a\n- list\n", r"hub.yaml: the top level must be a mapping"),
    ("tts: [unclosed\n", r"hub.yaml: not valid YAML"),
])
def test_a_bad_value_names_file_key_and_what_is_allowed(tmp_path: Path, text: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_hub_config(_write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.yaml: cannot read"):
        load_file(HubConfig, tmp_path / "nothere.yaml")


def test_command_line_values_override_and_are_validated() -> None:
    config = override(HubConfig(), "tts.speed", "1.5", "--speed")
    assert config.tts.speed == 1.5
    with pytest.raises(ConfigError, match=r"--speed: tts\.speed: 9\.0 is out of range"):
        override(HubConfig(), "tts.speed", "9", "--speed")


@pytest.mark.parametrize("which", ["hub", "satellite"])
def test_the_example_files_document_every_option_at_its_default(which: str) -> None:
    """config/<which>.yaml is what `voxhub config-doc <which> --yaml` prints: regenerate it when
    an option changes."""
    cls = config_class(which)
    example = (ROOT / "config" / f"{which}.yaml").read_text(encoding="utf-8")
    assert example_yaml(cls) in example
    assert load_file(cls, ROOT / "config" / f"{which}.yaml") == cls()


def test_the_cli_reports_a_config_error_without_a_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path, "tts:\n  voice: [1, 2]\n")
    result = subprocess.run([sys.executable, "-m", "voxhub.cli", "hub", "--config", str(bad),
                             "--print-config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "hub.yaml: tts.voice: expected text" in result.stderr
    assert "Traceback" not in result.stderr
