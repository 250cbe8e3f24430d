"""`voxhub hub` as a child process, and the one way a rehearsal decides that a hub is ready.

Ready means: the hub answers a Wyoming `describe` (its endpoint listens only once its models are
loaded) and, when it was asked for its embedded MQTT broker, the broker accepts connections.
The demo, the benchmarks and the tests all wait this way, never by reading the hub's log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlparse

from wyoming.event import read_event, write_event
from wyoming.info import Describe, Info

from rehearsal.ports import free_port, wait_port


def describes(uri: str, timeout: float = 5.0) -> bool:
    """Whether the Wyoming endpoint at tcp://host:port answers `describe` with `info` within
    `timeout` (a blocking exchange over the real wyoming framing, usable from any thread)."""
    address = urlparse(uri)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 10200),
                                      timeout) as sock, sock.makefile("rwb") as pair:
            stream = cast(BinaryIO, pair)  # what wyoming's blocking reader and writer take
            write_event(Describe().event(), stream)
            stream.flush()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                event = read_event(stream)
                if event is None:
                    return False
                if Info.is_type(event.type):
                    return True
    except (OSError, ValueError):
        return False
    return False


def wait_ready(uri: str, proc: subprocess.Popen | None = None, timeout: float = 600.0,
               log_path: Path | None = None) -> None:
    """Until the hub at `uri` answers `describe`. RuntimeError when `proc` exits first or after
    `timeout` seconds (naming `log_path`, where its output went)."""
    where = f"; see {log_path}" if log_path else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"hub exited with {proc.returncode} during start-up{where}")
        if describes(uri, timeout=min(5.0, max(0.1, deadline - time.monotonic()))):
            return
        time.sleep(0.2)
    raise RuntimeError(f"hub not ready after {timeout} s{where}")


class HubProcess:
    """`voxhub hub` as a child process on a free port, its output in a log file.

    Blocking start/stop (plain `subprocess`), so one object can outlive event loops: a test
    session starts it once and tests on their own loops restart it (in an executor).
    """

    def __init__(self, log_path: Path, port: int | None = None, mqtt_port: int | None = None,
                 extra_args: list[str] | None = None, language: str | None = None) -> None:
        self.log_path = log_path
        #: The hub's `language`, with that language's example home (None: the hub's default).
        self.language = language
        self.port = port or free_port()
        self.mqtt_port = mqtt_port
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen | None = None
        self.uri = f"tcp://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        from hub.intents.home import example_home_path

        args = [sys.executable, "-m", "voxhub.cli", "hub", "--uri", self.uri,
                "--home", str(example_home_path(self.language or "en"))]
        if self.language:
            args += ["--language", self.language]
        if self.mqtt_port:
            args += ["--set", f"mqtt.embedded_port={self.mqtt_port}"]
        return args + self.extra_args

    def start(self, timeout: float = 600.0) -> None:
        """Start and wait until the hub is ready (models loaded, embedded broker up)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        started = time.monotonic()
        try:
            wait_ready(self.uri, self.proc, timeout, self.log_path)
            if self.mqtt_port:
                wait_port(self.mqtt_port, max(10.0, timeout - (time.monotonic() - started)))
        except RuntimeError:
            self.stop()
            raise

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
