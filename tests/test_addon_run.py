"""The add-on's run script, executed for real with the small `bashio` stand-in.

The stand-in (scripts/addon/standin/bashio.sh, the one the container test's base image holds)
reads a sample `options.json` with jq and asks a stand-in Supervisor HTTP API for services and
discovery with the add-on's token, the way bashio does. `voxhub` on the PATH is a stand-in
recording its argv and answering Wyoming `describe` on the port it was told, so the script's
discovery step (the real `voxhub-wait-ready` helper, then `bashio::discovery`) runs as it would
in the add-on.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from hub.cli.hub import FLAGS, config_from_args, configure
from rehearsal.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addons" / "voxhub"

#: The stand-in bashio that the add-on's container test bakes into its base image: the same
#: functions run here, against a stand-in Supervisor API.
BASHIO_STANDIN = ROOT / "scripts" / "addon" / "standin" / "bashio.sh"


class _Supervisor(http.server.ThreadingHTTPServer):
    """The Supervisor's HTTP API as bashio calls it: `GET /services/NAME` (the service's
    credentials, or an error when none is installed) and `POST /discovery`, appended to a file.
    Every request must carry the add-on's token."""

    def __init__(self, services: dict, discovery: Path) -> None:
        self.services = services
        self.discovery = discovery
        super().__init__(("127.0.0.1", 0), _SupervisorHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SupervisorHandler(http.server.BaseHTTPRequestHandler):
    server: _Supervisor

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == "Bearer supervisor-token":
            return True
        self._answer(401, {"result": "error", "message": "unauthorized"})
        return False

    def do_GET(self) -> None:
        name = self.path.removeprefix("/services/")
        if not self._authorized():
            return
        if name in self.server.services:
            self._answer(200, {"result": "ok", "data": self.server.services[name]})
        else:
            self._answer(400, {"result": "error", "message": f"Service not enabled: {name}"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self._authorized():
            return
        if self.path != "/discovery":
            self._answer(404, {"result": "error", "message": self.path})
            return
        with self.server.discovery.open("a") as file:
            file.write(json.dumps(json.loads(body)) + "\n")
        self._answer(200, {"result": "ok", "data": {"uuid": "0123456789abcdef"}})

    def log_message(self, *args: object) -> None:
        pass


VOXHUB_STANDIN = """#!{python}
import asyncio, json, os, sys
from urllib.parse import urlparse
from wyoming.info import Attribution, Describe, Info, TtsProgram
from wyoming.server import AsyncEventHandler, AsyncServer

with open(os.environ["VOXHUB_ARGV_FILE"], "w") as f:
    json.dump(sys.argv[1:], f)

class Handler(AsyncEventHandler):
    async def handle_event(self, event):
        if Describe.is_type(event.type):
            attribution = Attribution(name="voxhub", url="")
            await self.write_event(Info(tts=[TtsProgram(name="voxhub-tts", description="",
                attribution=attribution, installed=True, version="0", voices=[])]).event())
        return True

async def main():
    uri = sys.argv[sys.argv.index("--uri") + 1].replace("0.0.0.0", "127.0.0.1")
    server = AsyncServer.from_uri(uri)
    await asyncio.wait_for(server.run(Handler), 60)

asyncio.run(main())
"""


def _defaults() -> dict:
    return yaml.safe_load((ADDON / "config.yaml").read_text())["options"]


def _run_addon(tmp_path: Path, options: dict, services: dict | None = None
               ) -> tuple[list[str], list[dict], str, int]:
    """Run run.sh until it announced itself; return argv, discovery messages, log, port."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "options.json").write_text(json.dumps(options))
    stub = tmp_path / "bin" / "voxhub"
    stub.write_text(VOXHUB_STANDIN.replace("{python}", sys.executable))
    stub.chmod(0o755)
    port = free_port()
    discovery = tmp_path / "discovery.jsonl"
    supervisor = _Supervisor(services or {}, discovery)
    threading.Thread(target=supervisor.serve_forever, daemon=True).start()
    shipped = tmp_path / "shipped"
    (shipped / "kokoro" / "voices").mkdir(parents=True)
    (shipped / "kokoro" / "kokoro-v1.0.int8.onnx").write_bytes(b"portable model")
    (shipped / "kokoro" / "kokoro-v1.0.int8.sha256").write_text("checksum\n")
    (shipped / "whisper" / "base").mkdir(parents=True)
    env = {
        "PATH": os.pathsep.join([str(tmp_path / "bin"), str(ADDON / "rootfs" / "usr" / "bin"),
                                 str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "BASH_ENV": str(BASHIO_STANDIN),
        "__BASHIO_ADDON_CONFIG": str(tmp_path / "options.json"),
        "SUPERVISOR_API": supervisor.url,
        "VOXHUB_ARGV_FILE": str(tmp_path / "argv.json"),
        "VOXHUB_PORT": str(port),
        "VOXHUB_SHIPPED_DATA": str(shipped),
        "VOXHUB_ADDON_DATA": str(_data_dir(tmp_path)),
        "SUPERVISOR_TOKEN": "supervisor-token",
        "VOXHUB_SECRETS": str(_secrets_file(tmp_path)),
    }
    log = tmp_path / "log.txt"
    with log.open("w") as log_file:
        proc = subprocess.Popen(["bash", str(ADDON / "run.sh")], env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (  # sent, and its answer read
                    discovery.exists() and "discovery" in log.read_text().lower()):
                assert proc.poll() is None, log.read_text()
                time.sleep(0.05)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(10)
            supervisor.shutdown()
            supervisor.server_close()
    assert discovery.exists(), f"no discovery was sent:\n{log.read_text()}"
    messages = [json.loads(line) for line in discovery.read_text().splitlines()]
    return json.loads((tmp_path / "argv.json").read_text()), messages, log.read_text(), port


def _jq(value: object) -> str:
    """A number as jq prints it (jq 1.6 drops a whole float's ".0"; 1.7 keeps it)."""
    out = subprocess.run(["jq", "-r", "."], input=json.dumps(value), capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def _data_dir(tmp_path: Path) -> Path:
    """The add-on's data directory: /data/voxhub in the add-on."""
    return tmp_path / "data" / "voxhub"


def _secrets_file(tmp_path: Path) -> Path:
    """The --config file holding the hub's secrets: /run/voxhub/secrets.json in the add-on."""
    return tmp_path / "run" / "secrets.json"


def _secrets(tmp_path: Path) -> dict:
    path = _secrets_file(tmp_path)
    assert path.stat().st_mode & 0o077 == 0, "only the add-on's user may read its secrets"
    return json.loads(path.read_text())


def _expected(port: int, tmp_path: Path) -> list[str]:
    return [
        "hub",
        "--uri", f"tcp://0.0.0.0:{port}",
        "--data-dir", str(_data_dir(tmp_path)),
        "--speed", _jq(1.0),
        "--language", "en",
        "--asr-backend", "whisper",
        "--silence-s", "0.7",
        "--set", "pipeline.min_speech_s=0.3",
        "--set", f"pipeline.max_speech_s={_jq(15.0)}",
        "--threads", "2",
        "--log-level", "info",
        "--home-assistant-url", "http://supervisor/core/websocket",
    ]


def test_default_options_start_this_exact_command_and_announce_it(tmp_path):
    argv, discovery, log, port = _run_addon(tmp_path, _defaults())
    assert argv == [*_expected(port, tmp_path), "--set", "mqtt.embedded=false",
                    "--config", str(_secrets_file(tmp_path))]
    assert _secrets(tmp_path) == {}
    assert discovery == [{"service": "wyoming",
                          "config": {"uri": f"tcp://{socket.gethostname()}:{port}"}}]
    assert "No MQTT broker" in log and "Sent discovery information" in log


def test_mosquitto_credentials_come_from_the_supervisor(tmp_path):
    services = {"mqtt": {"host": "core-mosquitto", "port": 1883, "ssl": False,
                         "username": "addons", "password": "p@ss:w/rd", "protocol": "3.1.1"}}
    options = {**_defaults(), "voice": "af_heart:0.7,af_bella:0.3", "speed": 1.2,
               "openai_url": "http://gpu-box:8000/v1", "openai_model": "voxtral-mini",
               "openai_api_key": "sk-secret", "asr_backend": "openai"}
    argv, _, log, port = _run_addon(tmp_path, options, services)
    expected = _expected(port, tmp_path)
    expected[expected.index("--speed") + 1] = "1.2"
    expected[expected.index("whisper")] = "openai"
    assert argv == [*expected, "--voice", "af_heart:0.7,af_bella:0.3",
                    "--set", "asr.openai.url=http://gpu-box:8000/v1",
                    "--set", "asr.openai.model=voxtral-mini",
                    "--config", str(_secrets_file(tmp_path))]
    assert _secrets(tmp_path) == {
        "asr": {"openai": {"api_key": "sk-secret"}},
        "mqtt": {"url": "mqtt://addons:p%40ss%3Aw%2Frd@core-mosquitto:1883"}}
    assert not any("p%40ss" in arg or "sk-secret" in arg for arg in argv), \
        "no secret on the command line"
    assert "p%40ss" not in log and "sk-secret" not in log, "secrets stay out of the log"
    assert "core-mosquitto:1883" in log


def test_an_explicit_mqtt_url_wins_over_the_service(tmp_path):
    services = {"mqtt": {"host": "core-mosquitto", "port": 8883, "ssl": True,
                         "username": "u", "password": "p"}}
    options = {**_defaults(), "mqtt_url": "mqtts://me:secret@broker.lan:8883"}
    argv, _, _, _ = _run_addon(tmp_path, options, services)
    assert argv[-2:] == ["--config", str(_secrets_file(tmp_path))]
    assert _secrets(tmp_path) == {"mqtt": {"url": "mqtts://me:secret@broker.lan:8883"}}


def test_mosquitto_over_tls_uses_mqtts(tmp_path):
    services = {"mqtt": {"host": "core-mosquitto", "port": 8883, "ssl": True,
                         "username": "u", "password": "p"}}
    argv, _, _, _ = _run_addon(tmp_path, _defaults(), services)
    assert argv[-2:] == ["--config", str(_secrets_file(tmp_path))]
    assert _secrets(tmp_path) == {"mqtt": {"url": "mqtts://u:p@core-mosquitto:8883"}}


def test_the_command_is_one_voxhub_hub_accepts(tmp_path, monkeypatch):
    """What run.sh starts must parse with `voxhub hub`'s own flags into the options' values."""
    import argparse

    monkeypatch.setenv("SUPERVISOR_TOKEN", "supervisor-token")
    port = free_port()
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"mqtt": {"url": "mqtt://u:p@core-mosquitto:1883"}}))
    argv = [*_expected(port, tmp_path), "--config", str(secrets)]
    parser = argparse.ArgumentParser(prog="voxhub hub")
    configure(parser)
    args = parser.parse_args(argv[1:])
    assert {"uri", "voice", "home_assistant_url"} <= set(FLAGS)
    config = config_from_args(args)
    assert (config.server.uri, config.tts.voice, config.tts.speed) == (
        f"tcp://0.0.0.0:{port}", "af_heart", 1.0)
    assert (config.asr.backend, config.asr.model, config.intents.language) == (
        "whisper", "tiny.en", "en")
    assert (config.pipeline.silence_s, config.pipeline.min_speech_s,
            config.pipeline.max_speech_s) == (0.7, 0.3, 15.0)
    assert config.mqtt.url == "mqtt://u:p@core-mosquitto:1883"
    assert config.home_assistant.websocket_url() == "ws://supervisor/core/websocket"
    assert config.home_assistant.resolve_token() == "supervisor-token"
    without_broker = config_from_args(parser.parse_args(
        [*_expected(port, tmp_path)[1:], "--set", "mqtt.embedded=false"]))
    assert without_broker.mqtt.url is None and without_broker.mqtt.embedded is False


def test_the_language_option_alone_makes_a_spanish_hub(tmp_path, monkeypatch):
    """`language: es` and nothing else: the recognizer model, the intents and the voice follow
    it; a voice or model the user sets is passed on and wins."""
    import argparse

    monkeypatch.setenv("SUPERVISOR_TOKEN", "supervisor-token")
    (tmp_path / "es").mkdir()
    (tmp_path / "own").mkdir()
    argv, _, _, port = _run_addon(tmp_path / "es", {**_defaults(), "language": "es"})
    expected = _expected(port, tmp_path / "es")
    expected[expected.index("--language") + 1] = "es"
    assert argv[:len(expected)] == expected
    assert "--voice" not in argv and "--asr-model" not in argv
    parser = argparse.ArgumentParser(prog="voxhub hub")
    configure(parser)
    config = config_from_args(parser.parse_args(argv[1:-2]))
    assert (config.language, config.asr.model, config.asr.language, config.intents.language,
            config.tts.voice) == ("es", "base", "es", "es", "ef_dora")

    chosen, _, _, _ = _run_addon(tmp_path / "own", {**_defaults(), "language": "es",
                                                     "voice": "em_alex", "asr_model": "base"})
    assert chosen[len(expected):len(expected) + 4] == ["--voice", "em_alex",
                                                      "--asr-model", "base"]
    assert config_from_args(parser.parse_args(chosen[1:-2])).tts.voice == "em_alex"


def test_the_shipped_models_are_linked_into_the_data_folder_where_rewrites_are_made(tmp_path):
    """The image's portable data stays read-only in the image; the hub's data directory is in
    /data, so that the CPU rewrite it makes beside the model survives restarts and updates."""
    data = _data_dir(tmp_path)
    (data / "kokoro").mkdir(parents=True)
    rewritten = data / "kokoro" / "kokoro-v1.0.int8.snake1.onnx"
    rewritten.write_bytes(b"made at the first start")
    _run_addon(tmp_path, _defaults())
    shipped = tmp_path / "shipped"
    links = {p.name: p.readlink() for p in [*(data / "kokoro").iterdir(), data / "whisper"]
             if p.is_symlink()}
    assert links == {"kokoro-v1.0.int8.onnx": shipped / "kokoro" / "kokoro-v1.0.int8.onnx",
                     "kokoro-v1.0.int8.sha256": shipped / "kokoro" / "kokoro-v1.0.int8.sha256",
                     "voices": shipped / "kokoro" / "voices", "whisper": shipped / "whisper"}
    assert rewritten.read_bytes() == b"made at the first start", "a restart keeps the rewrite"


@pytest.mark.parametrize("script", ["run.sh", "rootfs/usr/bin/voxhub-wait-ready"])
def test_scripts_are_executable(script):
    assert os.access(ADDON / script, os.X_OK)
