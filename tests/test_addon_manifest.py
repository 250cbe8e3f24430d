"""The add-on repository checked against the Supervisor's rules for add-ons.

The rules mirror what the Supervisor validates when it reads a repository (required keys, the
architecture names it knows, option schema element types, port keys), so a mistake shows up here
instead of as an add-on silently missing from the store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / "addons"
ADDON = ADDONS / "voxhub"

ARCHS = {"aarch64", "amd64", "armhf", "armv7", "i386"}
STARTUP = {"initialize", "system", "services", "application", "once"}
REQUIRED = {"name", "version", "slug", "description", "arch"}
SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
PORT_KEY = re.compile(r"^\d+(?:/(?:tcp|udp))?$")
# The Supervisor's schema element grammar (supervisor/addons/options.py).
SCHEMA_ELEMENT = re.compile(
    r"^(?:"
    r"bool|email|url|port"
    r"|device(?:\((?:subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?[\d.]+)?,(?P<f_max>-?[\d.]+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<list>.+)\)"
    r")(?P<optional>\?)?$")


def _yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} must be a mapping"
    return data


@pytest.fixture(scope="module")
def config() -> dict:
    return _yaml(ADDON / "config.yaml")


def _check_value(key: str, element: str, value: object) -> None:
    """An option's default must satisfy its own schema element."""
    match = SCHEMA_ELEMENT.match(element)
    assert match, f"{key}: '{element}' is not a schema element the Supervisor knows"
    kind = re.match(r"[a-z]+", element).group(0)
    if kind == "list":
        allowed = match.group("list").split("|")
        assert value in allowed, f"{key}: default {value!r} not one of {allowed}"
    elif kind == "float":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), key
        lo, hi = match.group("f_min"), match.group("f_max")
        assert (lo is None or value >= float(lo)) and (hi is None or value <= float(hi)), key
    elif kind == "int":
        assert isinstance(value, int) and not isinstance(value, bool), key
        lo, hi = match.group("i_min"), match.group("i_max")
        assert (lo is None or value >= int(lo)) and (hi is None or value <= int(hi)), key
    elif kind == "bool":
        assert isinstance(value, bool), key
    elif kind in ("str", "password", "url", "email"):
        assert isinstance(value, str) and value, key


def test_repository_file():
    repository = _yaml(ADDONS / "repository.yaml")
    assert {"name", "url", "maintainer"} <= set(repository)
    assert repository["url"].startswith("https://")


def test_required_keys_and_well_formed_values(config):
    assert set(config) >= REQUIRED, f"missing: {REQUIRED - set(config)}"
    assert SLUG.match(config["slug"])
    assert isinstance(config["version"], str), "a version must be a string (quote it)"
    assert config.get("startup", "application") in STARTUP
    assert config.get("boot", "auto") in {"auto", "manual"}
    assert set(config["arch"]) <= ARCHS and {"amd64", "aarch64"} <= set(config["arch"])


def test_version_matches_the_package(config):
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{config["version"]}"' in pyproject
    assert _yaml(ADDON / "build.yaml")["args"]["VOXHUB_VERSION"] == config["version"]


def test_wyoming_discovery_mqtt_and_home_assistant_access(config):
    assert config["discovery"] == ["wyoming"]
    assert config["services"] == ["mqtt:want"]
    assert config["homeassistant_api"] is True, "the websocket proxy needs homeassistant_api"
    assert config["init"] is False, "s6-overlay of the base image must be PID 1"


def test_ports_are_well_formed(config):
    assert config["ports"], "the Wyoming port must be published for satellites"
    for key, host_port in config["ports"].items():
        assert PORT_KEY.match(str(key)), key
        assert host_port is None or (isinstance(host_port, int) and 0 < host_port < 65536)
        assert 0 < int(str(key).split("/")[0]) < 65536
        assert key in config.get("ports_description", {}), f"{key} needs a description"
    assert "10200/tcp" in config["ports"]


def test_every_option_has_a_valid_schema_entry(config):
    options, schema = config["options"], config["schema"]
    assert set(options) <= set(schema), f"options without schema: {set(options) - set(schema)}"
    for key, element in schema.items():
        assert isinstance(element, str), f"{key}: nested schemas are not used here"
        assert SCHEMA_ELEMENT.match(element), f"{key}: invalid schema element '{element}'"
        if key in options:
            _check_value(key, element, options[key])
        else:
            assert element.endswith("?"), f"{key} has no default, so it must be optional"


def test_every_option_is_documented_and_translated(config):
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    translations = _yaml(ADDON / "translations" / "en.yaml")["configuration"]
    for key in config["schema"]:
        assert re.search(rf"^#+ Option: `{re.escape(key)}`", docs, re.M), f"DOCS.md: {key}"
        assert translations.get(key, {}).get("name"), f"translations/en.yaml: {key}"
        assert translations[key].get("description"), f"translations/en.yaml: {key}"
    assert set(translations) == set(config["schema"]), "no translation for a removed option"


def test_every_option_reaches_the_run_script(config):
    run = (ADDON / "run.sh").read_text(encoding="utf-8")
    for key in config["schema"]:
        direct = f"bashio::config '{key}'" in run or f"bashio::config.has_value '{key}'" in run
        prefixed = key.startswith("openai_") and 'bashio::config "openai_${key}"' in run
        assert direct or prefixed, f"run.sh ignores option {key}"


def test_build_file_covers_every_architecture(config):
    build = _yaml(ADDON / "build.yaml")
    assert set(build["build_from"]) == set(config["arch"])
    for arch, image in build["build_from"].items():
        assert image.startswith(f"ghcr.io/home-assistant/{arch}-base"), image


def test_dockerfile_builds_from_the_supervisor_base_and_prepares_models_offline():
    lines = [line.strip() for line in (ADDON / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[:2] == ["ARG BUILD_FROM", "FROM $BUILD_FROM"]
    text = "\n".join(lines)
    assert "ARG VOXHUB_VERSION" in text and "voxhub[hub]==${VOXHUB_VERSION}" in text
    assert "voxhub prepare" in text, "model data must be in the image: the add-on starts offline"
    assert 'CMD ["/run.sh"]' in text


def test_changelog_has_this_version(config):
    changelog = (ADDON / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(config['version'])}\b", changelog, re.M)
