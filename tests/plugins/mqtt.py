"""MQTT fixtures: Debian's real Mosquitto on a free port, the hub's embedded amqtt broker, and a
recorder that subscribes like an automation would."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from rehearsal.ports import free_port, wait_port


class Mosquitto:
    """A mosquitto process with a generated config; restartable on the same port.

    Persistence is on (as in Home Assistant's add-on), so sessions of persistent subscribers and
    their queued QoS 1 messages survive a restart, which is what "the broker restarted" means
    for the automations listening.
    """

    def __init__(self, folder: Path, extra: str = "", password_file: Path | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        auth = (f"allow_anonymous false\npassword_file {password_file}\n" if password_file
                else "allow_anonymous true\n")
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            # user: run as us (as root, mosquitto would switch to a user that cannot read the
            # test's files)
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\n{auth}persistence true\n"
            f"persistence_location {folder}/\nautosave_interval 1\n"
            f"log_dest file {folder}/mosquitto.log\n{extra}")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except RuntimeError:
            self.proc.kill()
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"mosquitto did not start: {err}") from None

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence database and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One Mosquitto for the session (tests use distinct satellite names, so they don't mix)."""
    if shutil.which("mosquitto") is None:
        raise RuntimeError("mosquitto is not installed: `make test` installs the Debian package")
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of this test alone, for tests that stop and restart the broker."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


class EmbeddedBrokerThread:
    """The hub's embedded amqtt broker, on its own event loop in a thread: tests run on their own
    loops, and a broker must keep serving between them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._broker = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        from hub.mqtt.broker import start_embedded_broker

        self._thread.start()
        self._broker = asyncio.run_coroutine_threadsafe(
            start_embedded_broker("127.0.0.1", self.port), self.loop).result(30)
        wait_port(self.port)

    def stop(self) -> None:
        if self._broker is not None:
            asyncio.run_coroutine_threadsafe(self._broker.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBrokerThread]:
    broker = EmbeddedBrokerThread()
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class MqttRecorder:
    """Subscribes (persistently, QoS 1, like an automation) and keeps every message in order."""

    port: int
    topics: list[str]
    client_id: str
    messages: list[Received] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, identifier=self.client_id,
                                          clean_session=False) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        payload = message.payload if isinstance(message.payload, bytes) \
                            else str(message.payload or "").encode()
                        self.messages.append(Received(str(message.topic), payload,
                                                      bool(message.retain)))
                        self._new.set()
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.2)

    async def __aenter__(self) -> MqttRecorder:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def on(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]

    async def wait_for(self, predicate, timeout: float = 20.0) -> None:
        """Until predicate(self) holds (fails the test with what arrived otherwise)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(m.topic, m.payload[:80]) for m in self.messages]
                raise AssertionError(f"MQTT condition not met in {timeout} s; received: {seen}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), min(remaining, 0.5))
