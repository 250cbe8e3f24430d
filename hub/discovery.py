"""Advertising the hub as `_wyoming._tcp.local.` so Home Assistant and satellites find it by itself.

Home Assistant's Wyoming integration offers a discovered endpoint once and remembers it by the
zeroconf service name and the address it resolved to. A service that comes back under another name
("voxhub (2)") or on a shuffled address is offered again, which users see as a duplicate device.
So the advertisement is deliberately boring: the service name is exactly the configured name (no
automatic renaming on conflict: a conflict is an error the user must see), the host record is
derived from that name, and the addresses are sorted with the default-route address first. The
process keeps one advertisement per name: advertising a name again (a restarted endpoint, a new
port) replaces the old record instead of adding a second one.

The TXT record says `app=voxhub` and `role=hub`, which is how satellites tell our hub apart from
other Wyoming services (Piper, Whisper, openWakeWord) on the same network.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import weakref

from voxhub import __version__

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
#: TXT properties that mark a voxhub hub among other Wyoming services.
HUB_PROPERTIES = {"app": "voxhub", "role": "hub"}
_MDNS_GROUP = "224.0.0.251"

_active: dict[str, Advertiser] = {}
# One lock per event loop (tests and embedding run several loops over a process's life).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


class DiscoveryError(RuntimeError):
    """The advertisement could not be made (e.g. another host already uses the name)."""


class Advertiser:
    """One registered `_wyoming._tcp` service; `close()` sends the goodbye packets."""

    def __init__(self, name: str, port: int, addresses: list[str], zeroconf, info) -> None:
        self.name = name
        self.port = port
        self.addresses = addresses
        self._zeroconf = zeroconf
        self._info = info
        self.closed = False

    @property
    def service_name(self) -> str:
        return self._info.name

    def __repr__(self) -> str:
        return f"<Advertiser {self.service_name} {self.addresses} port {self.port}>"

    async def close(self) -> None:
        """Withdraw the service so browsers drop it at once instead of waiting for the TTL."""
        if self.closed:
            return
        self.closed = True
        if _active.get(self.name.lower()) is self:
            del _active[self.name.lower()]
        try:
            await self._zeroconf.async_unregister_service(self._info)
        finally:
            await self._zeroconf.async_close()
        _LOGGER.info("zeroconf: withdrew %s", self.service_name)


def host_label(name: str) -> str:
    """A DNS label from a service name: the host record must be stable and valid."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return label[:63] or "voxhub"


def default_addresses() -> list[str]:
    """This machine's IPv4 addresses, the one routing to the mDNS group first.

    The first address is the one Home Assistant stores for the endpoint; keeping it the same on
    every start is what stops it from treating a restarted hub as a new one.
    """
    primary: str | None = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((_MDNS_GROUP, 5353))
            primary = probe.getsockname()[0]
        except OSError:
            primary = None
    others: set[str] = set()
    try:
        import ifaddr

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                    others.add(ip.ip)
    except ImportError:  # ifaddr comes with zeroconf; without it the primary address suffices
        pass
    ordered = [primary] if primary and primary != "0.0.0.0" else []
    ordered += sorted(others - set(ordered))
    return ordered or ["127.0.0.1"]


async def advertise(name: str, port: int, host: str | None = None) -> Advertiser:
    """Advertise `name` on `port`, replacing this process's earlier advertisement of `name`.

    `host` pins the advertised address (useful when the hub listens on one interface only);
    otherwise every IPv4 address of the machine is listed, the primary one first.
    """
    from zeroconf import IPVersion, NonUniqueNameException
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    if not 0 < port < 65536:
        raise DiscoveryError(f"cannot advertise port {port}")
    lock = _locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        previous = _active.pop(name.lower(), None)
        if previous is not None:
            await previous.close()
        addresses = [host] if host else default_addresses()
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            port=port,
            parsed_addresses=addresses,
            server=f"{host_label(name)}.local.",
            properties={**HUB_PROPERTIES, "version": __version__},
        )
        zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        try:
            await zeroconf.async_register_service(info, allow_name_change=False)
        except NonUniqueNameException as err:
            await zeroconf.async_close()
            raise DiscoveryError(
                f"another host already advertises '{name}' as {SERVICE_TYPE}; give this hub "
                f"another name (server.zeroconf_name)") from err
        except BaseException:
            await zeroconf.async_close()
            raise
        advertiser = Advertiser(name, port, addresses, zeroconf, info)
        _active[name.lower()] = advertiser
    _LOGGER.info("zeroconf: advertising %s at %s port %d", info.name, ", ".join(addresses), port)
    return advertiser
