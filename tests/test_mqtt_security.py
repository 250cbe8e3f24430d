"""TLS (mqtts:// with a CA file) and username/password against a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from pathlib import Path

import aiomqtt

from satellite.config import SatMqttConfig
from satellite.mqtt import SatelliteMqtt
from tests.plugins.mqtt import Mosquitto


def make_certificates(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for localhost / 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    run = lambda *args: subprocess.run(["openssl", *args], cwd=folder, check=True,  # noqa: E731
                                       capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "1", "-subj", "/CN=voxhub test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext")
    return {name: folder / f"{name}.{ext}" for name, ext in
            (("ca", "crt"), ("server", "crt"), ("key", "key"))} | \
        {"key": folder / "server.key"}


async def test_tls_with_a_ca_file_and_a_password(tmp_path, caplog):
    certs = make_certificates(tmp_path / "certs")
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "satellite", "s3cret"], check=True)
    broker = Mosquitto(tmp_path / "broker", password_file=passwords,
                       extra=f"cafile {certs['ca']}\ncertfile {certs['server']}\n"
                             f"keyfile {certs['key']}\n")
    broker.start()
    link = SatelliteMqtt(SatMqttConfig(url=f"mqtts://satellite:s3cret@localhost:{broker.port}",
                                       ca_file=certs["ca"]), "Cellar", "cellar", None,
                         tmp_path / "outbox")
    wrong = SatelliteMqtt(SatMqttConfig(url=f"mqtts://localhost:{broker.port}",
                                        ca_file=certs["ca"], username="satellite",
                                        password="wrong"), "Shed", "shed", None,
                          tmp_path / "outbox-wrong")
    tasks = [asyncio.create_task(link.run()), asyncio.create_task(wrong.run())]
    tls = aiomqtt.TLSParameters(ca_certs=str(certs["ca"]), cert_reqs=ssl.CERT_REQUIRED)
    try:
        async with aiomqtt.Client("localhost", broker.port, username="satellite",
                                  password="s3cret", tls_params=tls) as listener:
            await listener.subscribe("voxhub/cellar/transcript", qos=1)
            await asyncio.wait_for(link.connected.wait(), 10)
            link.publish("transcript", "is the freezer closed")
            wrong.publish("transcript", "never delivered")
            async with asyncio.timeout(10):
                async for message in listener.messages:
                    assert message.payload == b"is the freezer closed"
                    break
        assert not wrong.connected.is_set()
        assert len(wrong.outbox) == 1  # kept for when the credentials are fixed
        # The owner learns why, once (not once per attempt, and not only at debug level).
        refused = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"
                   and f"MQTT broker localhost:{broker.port} unavailable" in r.getMessage()]
        assert len(refused) == 1 and "authori" in refused[0].lower()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        broker.stop()
