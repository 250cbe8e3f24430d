"""The add-on image, built by `make addon-image`, started as the Supervisor starts it.

Run by `make test-addon` (not collected by the plain suite: it needs Docker and the image). The
container gets what the Supervisor gives an add-on: /data with an `options.json` of the defaults,
$SUPERVISOR_TOKEN, and `http://supervisor` (tests/addon/supervisor.py, in a second container on
the same network: `/services/mqtt` without Mosquitto, `/discovery`, and the `/core/websocket`
proxy answering 502 as while Home Assistant Core is down). `docker run --init` stands in for the
base image's s6-overlay. The checks talk Wyoming to the published port with the real client,
the way Home Assistant does; every wait is bounded, and the containers are removed at the end.

Timings (first start with the CPU rewrite, second start reusing it) are written to
build/addon/measurements.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized, Recognize
from wyoming.tts import Synthesize

from voxhub.audio import pcm_to_float

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addons" / "voxhub"
IMAGE = os.environ.get("VOXHUB_ADDON_IMAGE", "voxhub-addon:local")
MEASUREMENTS = ROOT / "build" / "addon" / "measurements.json"
TOKEN = "supervisor-token-" + uuid.uuid4().hex[:8]
START_TIMEOUT_S = 900  # a cold first start: models, the CPU rewrite, the intent index
REWRITTEN = "kokoro-v1.0.int8.*.onnx"

pytestmark = pytest.mark.timeout(2400)


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Start:
    """One start of the add-on container: its log, port and how long until `describe`."""

    name: str
    port: int
    seconds: float
    info: Info
    log: str = ""
    rewrites: dict[str, tuple[int, int]] = field(default_factory=dict)


def _rewrites(data: Path) -> dict[str, tuple[int, int]]:
    """The CPU-specific Kokoro files in the add-on's /data, with their inode and mtime."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (data / "voxhub" / "kokoro").glob(REWRITTEN) if not p.is_symlink()}


async def _describe(uri: str) -> Info | None:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Describe().event())
        while (event := await asyncio.wait_for(client.read_event(), 10)) is not None:
            if Info.is_type(event.type):
                return Info.from_event(event)
    return None


async def _ask(uri: str, events: list[Event], until: set[str], timeout: float = 60
               ) -> list[Event]:
    """Send `events`, collect the answer up to an event of a type in `until`."""
    async with asyncio.timeout(timeout), AsyncClient.from_uri(uri) as client:
        for event in events:
            await client.write_event(event)
        answer = []
        while (event := await client.read_event()) is not None:
            answer.append(event)
            if event.type in until:
                return answer
    raise AssertionError(f"the connection closed before {until}: {[e.type for e in answer]}")


def _container_log(name: str) -> str:
    done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


#: Every container started here, removed at the end whatever happened.
CONTAINERS: list[str] = []


def _start(network: str, data: Path, label: str) -> Start:
    """Start the add-on with `data` as /data and wait until it answers `describe`."""
    name = f"voxhub-addon-test-{label}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    CONTAINERS.append(name)
    docker("run", "-d", "--init", "--name", name, "--hostname", name, "--network", network,
           "-p", "127.0.0.1::10200", "-e", f"SUPERVISOR_TOKEN={TOKEN}",
           "-v", f"{data}:/data", "--health-interval", "5s", IMAGE)
    port = int(docker("port", name, "10200/tcp").splitlines()[0].rsplit(":", 1)[1])
    uri = f"tcp://127.0.0.1:{port}"
    deadline = started + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = docker("inspect", "-f", "{{.State.Status}}", name)
        assert state == "running", f"the add-on stopped ({state}):\n{_container_log(name)}"
        try:
            info = asyncio.run(asyncio.wait_for(_describe(uri), 15))
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            info = None
        if info is not None and info.tts and info.asr:
            return Start(name, port, time.monotonic() - started, info,
                         rewrites=_rewrites(data))
        time.sleep(1)
    raise AssertionError(f"no describe answer within {START_TIMEOUT_S} s:\n"
                         f"{_container_log(name)}")


def _stop(name: str) -> str:
    """Stop a container as the Supervisor does (SIGTERM, then SIGKILL), return its log."""
    docker("stop", "-t", "30", name, timeout=60, check=False)
    log = _container_log(name)
    docker("rm", "-f", name, timeout=60, check=False)
    return log


@pytest.fixture(scope="module")
def addon(tmp_path_factory) -> Iterator[dict]:
    """The image started twice on the same /data, with a stand-in Supervisor beside it."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True,
                      timeout=60).returncode != 0:
        pytest.fail(f"no image {IMAGE}: build it with `make addon-image` (make test-addon does)")
    work = tmp_path_factory.mktemp("addon")
    data, supervisor_log = work / "data", work / "supervisor"
    data.mkdir()
    supervisor_log.mkdir()
    options = yaml.safe_load((ADDON / "config.yaml").read_text())["options"]
    (data / "options.json").write_text(json.dumps(options))
    network = f"voxhub-addon-test-{uuid.uuid4().hex[:6]}"
    docker("network", "create", network)
    supervisor = f"{network}-supervisor"
    CONTAINERS.append(supervisor)
    starts: dict[str, Start] = {}
    try:
        docker("run", "-d", "--name", supervisor, "--network", network,
               "--network-alias", "supervisor", "-v", f"{supervisor_log}:/log",
               "-v", f"{Path(__file__).parent / 'supervisor.py'}:/supervisor.py:ro", IMAGE,
               "python3", "/supervisor.py", "--token", TOKEN, "--log", "/log/requests.jsonl")
        first = starts["first"] = _start(network, data, "first")
        yield {"first": first, "data": data, "network": network, "starts": starts,
               "supervisor_log": supervisor_log / "requests.jsonl"}
    finally:
        for name in CONTAINERS:
            docker("rm", "-f", name, timeout=60, check=False)
        docker("network", "rm", network, timeout=60, check=False)
        if starts:
            MEASUREMENTS.parent.mkdir(parents=True, exist_ok=True)
            MEASUREMENTS.write_text(json.dumps(
                {f"{label}_start_to_describe_s": round(start.seconds, 1)
                 for label, start in starts.items()} | {"image": IMAGE}, indent=2) + "\n")


def _requests(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_describe_answers_with_speech_recognition_synthesis_and_intents(addon):
    info = addon["first"].info
    assert [p.name for p in info.asr] and [p.name for p in info.intent]
    voices = {v.name for p in info.tts for v in p.voices}
    assert "af_heart" in voices, sorted(voices)[:10]


def test_it_speaks_and_understands_what_it_said(addon):
    uri = f"tcp://127.0.0.1:{addon['first'].port}"
    spoken = asyncio.run(_ask(uri, [Synthesize(text="What time is it?").event()],
                              {AudioStop().event().type}))
    start = AudioStart.from_event(next(e for e in spoken if AudioStart.is_type(e.type)))
    pcm = b"".join(AudioChunk.from_event(e).audio for e in spoken if AudioChunk.is_type(e.type))
    samples = pcm_to_float(pcm, start.width, start.channels)
    assert len(samples) / start.rate > 0.5, "a reply shorter than half a second"
    assert float(np.sqrt(np.mean(samples ** 2))) > 0.01, "the reply is silence"

    chunks = [AudioChunk(rate=start.rate, width=start.width, channels=start.channels,
                         audio=pcm[i:i + 8192]).event() for i in range(0, len(pcm), 8192)]
    heard = asyncio.run(_ask(uri, [Transcribe(language="en").event(), start.event(), *chunks,
                                   AudioStop().event()], {Transcript(text="").event().type}))
    transcript = Transcript.from_event(heard[-1]).text.lower()
    assert "time" in transcript, transcript


def test_a_command_is_understood_without_home_assistant(addon):
    """Home Assistant is down (the proxy answers 502): a command needing no entity still works."""
    uri = f"tcp://127.0.0.1:{addon['first'].port}"
    answer = asyncio.run(_ask(uri, [Recognize(text="what time is it").event()],
                              {Intent(name="").event().type, NotRecognized().event().type}))
    assert Intent.is_type(answer[-1].type), answer[-1]
    assert Intent.from_event(answer[-1]).name == "HassGetCurrentTime"


def test_discovery_is_posted_to_the_supervisor_once_ready(addon):
    requests = _requests(addon["supervisor_log"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(r["path"] == "/discovery" for r in requests):
        time.sleep(0.5)
        requests = _requests(addon["supervisor_log"])
    first = addon["first"]
    discovery = [r for r in requests if r["path"] == "/discovery"]
    assert discovery == [{"method": "POST", "path": "/discovery", "authorized": True,
                          "body": {"service": "wyoming",
                                   "config": {"uri": f"tcp://{first.name}:10200"}}}]
    assert {"method": "GET", "path": "/services/mqtt", "authorized": True, "body": None} \
        in requests, "the Mosquitto credentials were not asked for"
    assert any(r["path"] == "/core/websocket" for r in requests), "Home Assistant not tried"


def test_the_healthcheck_sends_describe_and_reports_healthy(addon):
    name = addon["first"].name
    deadline = time.monotonic() + 90
    while (status := docker("inspect", "-f", "{{.State.Health.Status}}", name)) != "healthy":
        assert time.monotonic() < deadline, f"health {status}: " + docker(
            "inspect", "-f", "{{json .State.Health.Log}}", name)
        time.sleep(2)


def test_the_cpu_rewrite_is_made_in_data_at_first_start_not_in_the_image(addon):
    assert addon["first"].rewrites, f"no {REWRITTEN} in /data/voxhub/kokoro"
    shipped = docker("run", "--rm", IMAGE, "ls", "/usr/share/voxhub/kokoro")
    assert sorted(shipped.split()) == ["kokoro-v1.0.int8.onnx", "kokoro-v1.0.int8.sha256",
                                       "voices"], "the image must carry only portable data"


def test_a_second_start_reuses_the_cpu_rewrite(addon):
    first = addon["first"]
    first.log = _stop(first.name)
    assert "Rewrote" in first.log, "the first start did not log its CPU rewrite"
    second = addon["starts"]["second"] = _start(addon["network"], addon["data"], "second")
    second.log = _stop(second.name)
    assert second.rewrites == first.rewrites, "the rewrite was made again"
    assert "Rewrote" not in second.log
    assert second.info.tts and second.info.asr
