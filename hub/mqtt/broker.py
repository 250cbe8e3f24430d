"""The embedded MQTT broker (amqtt) that `voxhub hub` runs when no broker is configured.

Why: the demo and a first install must work without anyone setting up Mosquitto. A real
installation points `hub.mqtt.url` at the house's broker (usually Home Assistant's Mosquitto
add-on) and this module is never used.

Anyone who can publish on the broker drives the satellites' command topics, so the hub's broker
is not anonymous: it binds where the Wyoming endpoint binds (`mqtt.embedded_host` otherwise), and
accepts one user whose password it generates once and keeps in the data directory
(`embedded-broker/credentials`, `user:password`, readable by the hub's user only; the broker
itself reads only the argon2 hash in `embedded-broker/passwd`). Satellites are given
`mqtt://voxhub:PASSWORD@hub:1883` (their mqtt.url, or a file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import ItemsView, Iterator
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


class EmbeddedBroker:
    """A running amqtt broker; `stop()` closes its listener and every client session."""

    def __init__(self, broker: Any, host: str, port: int,
                 credentials: tuple[str, str] | None = None) -> None:
        self._broker = broker
        self.host = host
        self.port = port
        self.credentials = credentials

    @property
    def url(self) -> str:
        """The URL a client on this machine uses, with the credentials when there are some."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        user = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"mqtt://{user}{host}:{self.port}"

    async def stop(self) -> None:
        try:
            await self._broker.shutdown()
        except Exception as err:  # shutting down must never take the hub down with it
            _LOGGER.warning("embedded broker did not shut down cleanly: %s", err)


class _SubscriptionMap(dict[str, Any]):
    """amqtt's topic filter -> subscribers map, iterated over a snapshot.

    amqtt 0.12.1 walks this map across awaits: when a client connects (the retained messages
    for existing subscriptions) and when it broadcasts. Another client subscribing meanwhile
    raises "dictionary changed size during iteration", which ends the connecting client's
    session after its CONNACK: its subscribes and publishes then wait for acknowledgements
    that never come (a satellite stuck "connecting" for aiomqtt's 10 s timeout, again and
    again while other clients are busy). A snapshot is what those loops mean."""

    def __iter__(self) -> Iterator[str]:
        return iter(list(dict.keys(self)))

    def items(self) -> ItemsView[str, Any]:  # type: ignore[override]
        return dict(self).items()


USER = "voxhub"


def broker_credentials(data_dir: Path) -> tuple[str, str]:
    """The embedded broker's user and password, generated on first use and kept (0600) in
    `data_dir/embedded-broker/`, so that configured satellites keep working across restarts."""
    folder = Path(data_dir) / "embedded-broker"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "credentials"
    if not path.exists():
        password = secrets.token_urlsafe(24)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: read theirs
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(f"{USER}:{password}\n")
    user, _, password = path.read_text(encoding="utf-8").strip().partition(":")
    if not user or not password:
        raise ValueError(f"{path}: expected one line user:password")
    return user, password


def _password_file(data_dir: Path, user: str, password: str) -> Path:
    from pwdlib.hashers.argon2 import Argon2Hasher

    path = Path(data_dir) / "embedded-broker" / "passwd"
    hasher = Argon2Hasher()
    if path.exists():
        name, _, digest = path.read_text(encoding="utf-8").strip().partition(":")
        if name == user and digest and hasher.verify(password, digest):
            return path
    fd = os.open(path.with_suffix(".new"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(f"{user}:{hasher.hash(password)}\n")
    os.replace(path.with_suffix(".new"), path)
    return path


def broker_config(host: str, port: int, password_file: Path | None = None) -> dict[str, Any]:
    """One TCP listener, in memory; with a password file, its users only (no anonymous)."""
    auth: dict[str, Any] = (
        {"amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(password_file)}}
        if password_file is not None else
        {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}})
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}",
                                  "max_connections": 200}},
        "plugins": auth,
    }


async def start_embedded_broker(host: str, port: int,
                                data_dir: Path | None = None) -> EmbeddedBroker:
    """Start amqtt on host:port and return once it accepts connections.

    With `data_dir` (the hub always gives it) the broker requires the generated credentials;
    without, it is anonymous (tests of the MQTT flow alone)."""
    from amqtt.broker import Broker  # imported here: only the hub's embedded mode needs it

    # amqtt logs every packet at INFO; keep the hub's log readable.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    credentials = broker_credentials(data_dir) if data_dir is not None else None
    password_file = None
    if data_dir is not None and credentials is not None:
        password_file = await asyncio.get_running_loop().run_in_executor(
            None, _password_file, data_dir, *credentials)
    broker = Broker(broker_config(host, port, password_file), loop=asyncio.get_running_loop())
    broker._subscriptions = _SubscriptionMap(broker._subscriptions)
    await broker.start()
    _LOGGER.info("embedded MQTT broker listening on %s:%s (%s)", host, port,
                 f"user '{credentials[0]}', password in {data_dir}/embedded-broker/credentials"
                 if credentials else "anonymous")
    return EmbeddedBroker(broker, host, port, credentials)
