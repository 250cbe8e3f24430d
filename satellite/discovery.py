"""Finding the hub by zeroconf when no hub URI is configured.

The same hub shows up several times while browsing: once per network interface, again when it
re-announces, again after a restart. Those are one hub, keyed by its service name; only services
whose TXT record marks them as a voxhub hub count (Piper, Whisper and openWakeWord advertise the
same `_wyoming._tcp` type). When several hubs answer, the choice is deterministic (lowest service
name among those found) so that a satellite does not flip between hubs on every reconnect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
_RESOLVE_MS = 1500


@dataclass(frozen=True)
class HubService:
    """One hub found on the network."""

    name: str
    host: str
    port: int
    version: str = ""

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def _is_hub(properties: dict[bytes, bytes | None]) -> bool:
    return properties.get(b"app") == b"voxhub" and properties.get(b"role") == b"hub"


def _pick_address(addresses: list[str]) -> str | None:
    """IPv4 before IPv6, and never a link-local IPv6 that needs a scope to be usable."""
    def rank(addr: str) -> tuple[int, str]:
        ip = ipaddress.ip_address(addr)
        return (0 if ip.version == 4 else (2 if ip.is_link_local else 1), addr)

    usable = sorted(addresses, key=rank)
    return usable[0] if usable else None


async def browse_hubs(timeout: float, settle: float | None = None) -> list[HubService]:
    """Every voxhub hub answering within `timeout` seconds, one entry per hub, sorted by name.

    With `settle`, browsing stops `settle` seconds after the first hub answered: enough for the
    other hubs of the network to answer too, without waiting out the whole timeout.
    """
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    loop = asyncio.get_running_loop()
    names: asyncio.Queue[str] = asyncio.Queue()

    def on_change(zeroconf, service_type: str, name: str, state_change) -> None:
        # Called from zeroconf's own thread or loop: hand the name over thread-safely.
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            loop.call_soon_threadsafe(names.put_nowait, name)

    found: dict[str, HubService] = {}
    aiozc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    browser = AsyncServiceBrowser(aiozc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    deadline = loop.time() + timeout
    try:
        while (remaining := deadline - loop.time()) > 0:
            try:
                name = await asyncio.wait_for(names.get(), remaining)
            except TimeoutError:
                break
            if name in found:
                continue  # the same hub again: another interface, a re-announcement
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            wait_ms = max(100, min(_RESOLVE_MS, int((deadline - loop.time()) * 1000)))
            if not await info.async_request(aiozc.zeroconf, wait_ms):
                continue
            if not _is_hub(info.properties) or not info.port:
                _LOGGER.debug("zeroconf: %s is not a voxhub hub", name)
                continue
            host = _pick_address(info.parsed_addresses())
            if host is None:
                continue
            version = (info.properties.get(b"version") or b"").decode("utf-8", "replace")
            found[name] = HubService(name=name, host=host, port=info.port, version=version)
            _LOGGER.debug("zeroconf: found hub %s at %s", name, found[name].uri)
            if settle is not None:
                deadline = min(deadline, loop.time() + settle)
    finally:
        await browser.async_cancel()
        await aiozc.async_close()
    return sorted(found.values(), key=lambda hub: hub.name)


async def find_hub(timeout: float = 5.0) -> str | None:
    """The `tcp://host:port` of a voxhub hub on the network, or None if none answered in time."""
    hubs = await browse_hubs(timeout, settle=0.5)
    if not hubs:
        _LOGGER.info("zeroconf: no voxhub hub answered within %.1f s", timeout)
        return None
    _LOGGER.info("zeroconf: using hub %s at %s", hubs[0].name, hubs[0].uri)
    return hubs[0].uri
