"""The satellite under faults: a hub that goes away mid-command, a hub that closes right after
the handshake, a microphone that runs but sends nothing, a full disk under the outbox and a
kill -9 while it writes, and the hub's opt-in authentication (token, proof, TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wyoming.event import Event, async_read_event, async_write_event

from rehearsal.ports import free_port
from rehearsal.speech import silence
from satellite import hub_auth
from satellite.config import HubLinkConfig
from satellite.daemon import Satellite
from satellite.hub_client import HubClient
from tests.plugins.satellite import HubStandIn, satellite_config, save
from tests.test_mqtt_security import make_certificates
from tests.waiting import wait_until
from voxhub.audio import float_to_pcm16
from voxhub.outbox import Outbox

ROOT = Path(__file__).resolve().parent.parent


async def finish(task: asyncio.Task, timeout: float = 60.0) -> int:
    return await asyncio.wait_for(task, timeout)


def command_mic(tmp_path: Path, sat_speech) -> Path:
    return save(tmp_path / "mic.wav", silence(1.5), sat_speech["wake"], silence(0.8),
                sat_speech["command"], silence(2.5))


async def hub_and_its_successor(tmp_path: Path, sat_speech, reply_s: float = 1.0
                                ) -> tuple[HubStandIn, HubStandIn, Satellite, asyncio.Task]:
    """A running satellite speaking a command to a stand-in hub, and the stand-in that will
    take the same port when the first one is gone (a restarted hub)."""
    port = free_port()
    hub = HubStandIn(port=port, reply_s=reply_s)
    await hub.start()
    satellite = Satellite(satellite_config(tmp_path, hub.uri, command_mic(tmp_path, sat_speech),
                                           realtime=True))
    return hub, HubStandIn(port=port), satellite, asyncio.create_task(satellite.run())


# ---------------------------------------------------------------- a hub lost mid-command


async def test_a_command_whose_hub_went_away_is_replayed_once_the_hub_is_back(
        tmp_path, sat_speech):
    first, second, satellite, task = await hub_and_its_successor(tmp_path, sat_speech)
    try:
        await wait_until(lambda: satellite.state == "listening", what="listening")
        await asyncio.sleep(0.3)  # part of the command has reached the first hub
        await first.stop()  # the hub dies mid-command…
        await asyncio.sleep(1.0)
        await second.start()  # …and is back a second later
        assert await finish(task) == 0
    finally:
        await second.stop()
    assert len(first.runs) == 1 and not first.runs[0].completed
    assert satellite.replays == 1
    assert len(second.runs) == 1 and second.runs[0].completed  # once, not twice
    # The replay carries the whole command, sample for sample, pre-roll first.
    command = float_to_pcm16(sat_speech["command"])
    assert bytes(second.runs[0].audio).find(command) > 0
    assert second.runs[0].data["satellite"] == {"name": "kitchen-sat", "area": "Kitchen"}
    assert "error" not in satellite.state_history  # the user never heard the error chime


async def test_a_command_spoken_while_the_hub_restarts_is_carried_out_when_it_is_back(
        tmp_path, sat_speech):
    first, second, satellite, task = await hub_and_its_successor(tmp_path, sat_speech)
    try:
        await wait_until(lambda: satellite.hub.connected, what="connected")
        await first.stop()  # the hub restarts just before the wake word
        await wait_until(lambda: satellite.state == "thinking", what="command heard")
        await second.start()
        assert await finish(task) == 0
    finally:
        await second.stop()
    assert first.runs == [] and satellite.replays == 1
    assert len(second.runs) == 1 and second.runs[0].completed
    assert bytes(second.runs[0].audio).find(float_to_pcm16(sat_speech["command"])) > 0


async def test_a_command_goes_to_the_fallback_hub_when_the_first_one_dies(tmp_path, sat_speech):
    primary, fallback = HubStandIn(), HubStandIn()
    await primary.start()
    await fallback.start()
    config = satellite_config(tmp_path, primary.uri, command_mic(tmp_path, sat_speech),
                              realtime=True, hub__fallback_uri=[fallback.uri])
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    try:
        await wait_until(lambda: satellite.state == "listening", what="listening")
        assert satellite.hub.uri == primary.uri
        await asyncio.sleep(0.3)
        await primary.stop()
        assert await finish(task) == 0
    finally:
        await fallback.stop()
    assert satellite.hub.uri == fallback.uri
    assert len(fallback.runs) == 1 and fallback.runs[0].completed
    assert bytes(fallback.runs[0].audio).find(float_to_pcm16(sat_speech["command"])) > 0


async def test_a_command_no_hub_takes_in_time_is_reported_lost(tmp_path, sat_speech, caplog,
                                                                 mosquitto):
    from tests.plugins.mqtt import MqttRecorder

    hub = HubStandIn()
    await hub.start()
    name = "lost-sat"
    config = satellite_config(tmp_path, hub.uri, command_mic(tmp_path, sat_speech),
                              realtime=True, name=name, mqtt_url=mosquitto.url,
                              hub__replay_window_s=1.0)
    satellite = Satellite(config)
    async with MqttRecorder(mosquitto.port, [f"voxhub/{name}/error"], "lost-rec") as recorder:
        task = asyncio.create_task(satellite.run())
        await wait_until(lambda: satellite.state == "listening", what="listening")
        await hub.stop()  # and it never comes back
        assert await finish(task) == 0
        await recorder.wait_for(lambda r: any(b"command-lost" in p
                                              for p in r.on(f"voxhub/{name}/error")))
    assert satellite.replays == 0
    assert "error" in satellite.state_history
    lost = [r for r in caplog.records if "was not carried out" in r.getMessage()]
    assert len(lost) == 1


async def test_a_command_the_hub_had_answered_is_not_sent_again(tmp_path, sat_speech):
    # a long reply: the hub dies while it plays
    first, second, satellite, task = await hub_and_its_successor(tmp_path, sat_speech,
                                                                 reply_s=6.0)
    try:
        await wait_until(lambda: satellite.state == "speaking", what="speaking")
        await first.stop()
        await second.start()
        await wait_until(lambda: satellite.hub.connections == 2, what="reconnected")
        assert await finish(task) == 0
    finally:
        await second.stop()
    assert satellite.replays == 0
    assert second.runs == []


# ---------------------------------------------------------------- reconnection back-off


async def test_a_hub_that_answers_ping_and_closes_at_once_gets_a_growing_back_off():
    opened: list[float] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(time.monotonic())
        event = await async_read_event(reader)
        if event is not None and event.type == "ping":
            await async_write_event(Event("pong"), writer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    uri = f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    statuses: list[bool] = []

    async def on_status(connected: bool, reason: str) -> None:
        statuses.append(connected)

    async def on_event(event: Event) -> None:
        return None

    client = HubClient(HubLinkConfig(uri=uri, reconnect_min_s=0.1, reconnect_max_s=0.8),
                       on_event, on_status)
    task = asyncio.create_task(client.run())
    await asyncio.sleep(4.0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    server.close()
    gaps = [b - a for a, b in itertools.pairwise(opened)]
    # 0.1, 0.2, 0.4, 0.8, 0.8, …: a handful of attempts, not one every 0.1 s.
    assert 3 <= len(opened) <= 8, gaps
    assert gaps[-1] >= 0.7 and gaps == sorted(gaps, key=lambda g: round(g, 1)), gaps
    assert True in statuses  # each did count as a connection (it answered the ping)


# ---------------------------------------------------------------- the microphone


async def test_a_microphone_command_that_sends_nothing_is_restarted_and_said_once(
        tmp_path, caplog, hub_standin):
    starts = tmp_path / "starts"
    mic = f"sh -c 'echo started >> {starts}; exec sleep 60'"
    config = satellite_config(tmp_path, hub_standin.uri, None, mic__source="command",
                              mic__command=mic, mic__stall_timeout_s=0.5)
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    try:
        await wait_until(lambda: starts.exists() and len(starts.read_text().split()) >= 3,
                         timeout=15, what="three starts of the microphone command")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    times = [r.created for r in caplog.records if "sent no audio" in r.getMessage()]
    assert len(times) == 1  # said once, though restarted again and again
    assert satellite.mic_restarts >= 2


# ---------------------------------------------------------------- the outbox


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 64 KiB tmpfs: a disk that fills up."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_keeps_results_in_memory_and_writes_them_later(tiny_disk, caplog):
    outbox = Outbox(tiny_disk / "outbox")
    outbox.put("t", "before")
    filler = tiny_disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as handle:
        while True:
            handle.write(bytes(4096))
            handle.flush()
    for text in ("full 1", "full 2"):
        outbox.put("t", text)
    assert outbox.in_memory == 2 and len(outbox) == 3
    assert not list((tiny_disk / "outbox").glob("*.tmp"))  # no partial file left behind
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot write" in errors[0].getMessage()
    # Delivery does not wait for the disk: oldest first, from disk then memory.
    first = outbox.peek()
    assert first is not None and first.payload == b"before"
    outbox.remove(first.seq)
    filler.unlink()
    outbox.put("t", "after")
    assert outbox.in_memory == 0
    restarted = Outbox(tiny_disk / "outbox")  # all of it is on disk now, in order
    payloads = []
    while (message := restarted.peek()) is not None:
        payloads.append(message.payload.decode())
        restarted.remove(message.seq)
    assert payloads == ["full 1", "full 2", "after"]


_WRITER = """
import sys
from voxhub.outbox import Outbox
outbox, n = Outbox(sys.argv[1], 10**6), int(sys.argv[2])  # never full: order is the point
print("ready", flush=True)
while True:
    outbox.put("voxhub/soak/intent", '{"n": %d, "pad": "%s"}' % (n, "x" * 2000))
    n += 1
"""


def test_kill_9_during_outbox_writes_never_leaves_a_corrupt_or_reordered_outbox(tmp_path,
                                                                                 caplog):
    import json

    folder = tmp_path / "outbox"
    for life in range(4):  # writer `life` numbers its messages from life * 100000
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), str(life * 100000)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        before = len(list(folder.glob("*.msg")))
        deadline = time.monotonic() + 20
        while len(list(folder.glob("*.msg"))) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # a busy machine: let it write a few first
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outbox = Outbox(folder)  # what the restarted satellite finds
        assert not list(folder.glob("*.tmp"))
    numbers = []
    while (message := outbox.peek()) is not None:
        numbers.append(json.loads(message.payload)["n"])
        outbox.remove(message.seq)
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert numbers == sorted(numbers)  # delivery order is the order written
    for life in range(4):  # each writer's messages, up to the kill, all there
        mine = [n for n in numbers if life * 100000 <= n < (life + 1) * 100000]
        assert mine, f"writer {life} wrote nothing before its kill"
        assert mine == list(range(life * 100000, life * 100000 + len(mine)))


# ---------------------------------------------------------------- authentication


class AuthHub:
    """A Wyoming server demanding `auth` first; `proof` says how it answers: "right",
    "wrong", "none"; a token other than `token` is refused with `unauthorized`."""

    def __init__(self, token: str, proof: str = "right", tls=None) -> None:
        self.token = token
        self.proof = proof
        self.tls = tls
        self.first_events: list[str] = []
        self.attempts: list[float] = []
        self._server: asyncio.base_events.Server | None = None

    async def start(self, scheme: str = "tcp", host: str = "127.0.0.1") -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return f"{scheme}://{host}:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts.append(time.monotonic())
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            event = await async_read_event(reader)
            if event is None:
                return
            self.first_events.append(event.type)
            data = event.data or {}
            if event.type != "auth" or data.get("token") != self.token:
                await async_write_event(Event("error", {"code": "unauthorized",
                                                        "text": "token required"}), writer)
                writer.close()
                return
            proof = {"right": hub_auth.hub_proof(self.token, data["nonce"]),
                     "wrong": hub_auth.hub_proof("another", data["nonce"]), "none": None}
            await async_write_event(Event("auth-ok", {"proof": proof[self.proof]}
                                          if proof[self.proof] else {}), writer)
            while (event := await async_read_event(reader)) is not None:
                if event.type == "ping":
                    await async_write_event(Event("pong"), writer)
        writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


async def run_client(config: HubLinkConfig, seconds: float) -> HubClient:
    async def on_status(connected: bool, reason: str) -> None:
        return None

    async def on_event(event: Event) -> None:
        return None

    client = HubClient(config, on_event, on_status)
    task = asyncio.create_task(client.run())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return client


async def test_the_token_from_its_file_is_the_first_event_and_never_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "s3cret-token-4f1b"
    (tmp_path / "token").write_text(secret + "\n")
    hub = AuthHub(secret)
    uri = await hub.start()
    client = await run_client(HubLinkConfig(uri=uri, token_file=tmp_path / "token"), 1.0)
    await hub.stop()
    assert client.connections == 1
    assert hub.first_events == ["auth"]
    assert secret not in caplog.text


async def test_a_refused_token_is_one_clear_error_and_no_reconnect_storm(caplog):
    hub = AuthHub("the-right-one")
    uri = await hub.start()
    client = await run_client(HubLinkConfig(uri=uri, token="a-wrong-one", reconnect_min_s=0.1,
                                            reconnect_max_s=2.0), 3.0)
    await hub.stop()
    assert client.connections == 0 and client.refused
    assert len(hub.attempts) <= 3  # every 2 s at most, not every 0.1 s
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "hub.token" in errors[0]
    assert "a-wrong-one" not in caplog.text


@pytest.mark.parametrize("proof, accepted", [("right", True), ("wrong", False),
                                             ("none", False)])
async def test_a_discovered_hub_is_used_only_when_it_proves_the_token(proof, accepted):
    hub = AuthHub("shared", proof=proof)
    uri = await hub.start()

    async def ignore(*args) -> None:
        return None

    client = HubClient(HubLinkConfig(uri=None, token="shared"), ignore, ignore)
    opened, why = await client._open(uri, discovered=True)
    await hub.stop()
    assert (opened is not None) == accepted, why
    if opened is not None:
        await client._drop(opened)
    else:
        assert "prove" in why


async def test_tcps_connects_to_a_hub_whose_certificate_the_ca_signed(tmp_path):
    import ssl

    certs = make_certificates(tmp_path / "certs")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs["server"], certs["key"])
    hub = AuthHub("tls-token", tls=context)
    uri = await hub.start("tcps", "localhost")
    trusted = await run_client(HubLinkConfig(uri=uri, token="tls-token",
                                             tls_ca=certs["ca"]), 1.5)
    unknown = await run_client(HubLinkConfig(uri=uri, token="tls-token"), 1.0)
    await hub.stop()
    assert trusted.connections == 1
    assert unknown.connections == 0  # a certificate nobody vouched for is not a hub


def test_print_config_masks_the_token_and_the_broker_password(tmp_path):
    config = tmp_path / "satellite.yaml"
    config.write_text("hub:\n  token: hush-hush-42\nmqtt:\n  url: mqtt://sat:pw-77@broker:1883\n")
    out = subprocess.run([sys.executable, "-m", "voxhub.cli", "satellite", "--config",
                          str(config), "--print-config"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "hush-hush-42" not in out and "pw-77" not in out
    assert "token: '***'" in out and "mqtt://sat:***@broker:1883" in out
