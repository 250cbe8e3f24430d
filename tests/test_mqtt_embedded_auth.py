"""The hub's embedded broker is not anonymous: generated credentials, kept for the user only."""

from __future__ import annotations

import asyncio
import stat

import aiomqtt
import pytest

from hub.composition import broker_host
from hub.config import HubConfig
from hub.mqtt.broker import broker_credentials, start_embedded_broker
from rehearsal.ports import free_port


async def test_the_embedded_broker_requires_the_credentials_it_generated(tmp_path) -> None:
    port = free_port()
    broker = await start_embedded_broker("127.0.0.1", port, tmp_path)
    try:
        credentials = tmp_path / "embedded-broker" / "credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
        user, password = broker_credentials(tmp_path)
        assert password not in (tmp_path / "embedded-broker" / "passwd").read_text()
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", port, identifier="anonymous"):
                pass
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", port, username=user, password="guess"):
                pass
        async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as c:
            await c.publish("voxhub/test", b"ok")
        assert broker.url == f"mqtt://{user}:{password}@127.0.0.1:{port}"
    finally:
        await broker.stop()
        await asyncio.sleep(0)
    assert broker_credentials(tmp_path) == (user, password)  # the same after a restart


def test_the_embedded_broker_binds_where_the_endpoint_binds() -> None:
    config = HubConfig()
    assert broker_host(config, "tcp://127.0.0.1:10200") == "127.0.0.1"
    assert broker_host(config, "tcp://192.168.1.5:10200") == "192.168.1.5"
    assert broker_host(config, "unix:///run/voxhub.sock") == "127.0.0.1"
    config.mqtt.embedded_host = "10.0.0.2"
    assert broker_host(config, "tcp://0.0.0.0:10200") == "10.0.0.2"
