"""Discovery over real mDNS: the hub advertises `_wyoming._tcp.local.`, satellites find it.

Every test uses its own service name, starting with "0-" so that it sorts before any hub another
test may be advertising on this machine at the same time.
"""

from __future__ import annotations

import socket
import uuid

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub.discovery import SERVICE_TYPE, DiscoveryError, advertise, default_addresses
from satellite.discovery import browse_hubs, find_hub


def _name() -> str:
    return f"0-voxhub-test-{uuid.uuid4().hex[:8]}"


def _ours(hubs, name):
    return [hub for hub in hubs if hub.name == f"{name}.{SERVICE_TYPE}"]


async def test_satellite_finds_the_advertised_hub():
    name = _name()
    advertiser = await advertise(name, 10701)
    try:
        uri = await find_hub(timeout=5)
        # Any of the hub's advertised addresses (a machine with Docker also has docker0).
        assert uri in {f"tcp://{address}:10701" for address in default_addresses()}
    finally:
        await advertiser.close()


async def test_readvertising_replaces_instead_of_duplicating():
    name = _name()
    first = await advertise(name, 10702)
    second = await advertise(name, 10703)  # e.g. the endpoint restarted on another port
    try:
        assert first.closed, "the earlier advertisement of the same name must be withdrawn"
        hubs = _ours(await browse_hubs(timeout=2), name)
        assert [hub.port for hub in hubs] == [10703]
        assert hubs[0].host in default_addresses()
        assert second.service_name == f"{name}.{SERVICE_TYPE}", "the name never changes"
    finally:
        await second.close()


async def test_restarted_hub_keeps_name_and_address():
    name = _name()
    before = await advertise(name, 10704)
    seen_before = _ours(await browse_hubs(timeout=2), name)
    await before.close()
    after = await advertise(name, 10704)
    try:
        seen_after = _ours(await browse_hubs(timeout=2), name)
        assert seen_before == seen_after and len(seen_after) == 1
    finally:
        await after.close()


async def test_withdrawn_hub_is_not_found():
    name = _name()
    advertiser = await advertise(name, 10705)
    await advertiser.close()
    assert _ours(await browse_hubs(timeout=1.5), name) == []


async def test_other_wyoming_services_are_not_taken_for_a_hub():
    """A Piper or Whisper server advertises the same type without our TXT record."""
    name = _name()
    aiozc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    piper = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", port=10706,
                             addresses=[socket.inet_aton("127.0.0.1")], server=f"{name}.local.")
    await aiozc.async_register_service(piper)
    try:
        assert _ours(await browse_hubs(timeout=2), name) == []
    finally:
        await aiozc.async_unregister_service(piper)
        await aiozc.async_close()


async def test_name_taken_by_another_host_is_an_error_not_a_rename():
    name = _name()
    aiozc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    other = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}", port=10707,
                             addresses=[socket.inet_aton("192.0.2.77")],
                             server="elsewhere.local.", properties={"app": "voxhub", "role": "hub"})
    await aiozc.async_register_service(other)
    try:
        with pytest.raises(DiscoveryError, match="zeroconf_name"):
            await advertise(name, 10708)
    finally:
        await aiozc.async_unregister_service(other)
        await aiozc.async_close()


async def test_invalid_port_is_refused():
    with pytest.raises(DiscoveryError):
        await advertise(_name(), 0)
