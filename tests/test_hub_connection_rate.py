"""A host that reconnects to flood is refused at its connection rate; other hosts, and real
clients at the default rate, never notice."""

from __future__ import annotations

import asyncio
import logging

from wyoming.client import AsyncClient
from wyoming.event import async_read_event
from wyoming.info import Describe
from wyoming.ping import Ping

from hub.budget import ConnectionRate
from hub.config import ServerConfig
from hub.endpoint import Limits
from tests.plugins.hub import ThreadedHub

#: Another host, as far as the hub can tell (the whole of 127.0.0.0/8 is loopback).
FLOODER = "127.0.0.2"


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_host_is_admitted_for_its_burst_then_at_the_rate() -> None:
    clock = _Clock()
    rate = ConnectionRate(rate=2.0, burst=3, clock=clock)
    assert [rate.admit("10.0.0.9") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one connection's worth of refill
    assert [rate.admit("10.0.0.9") for _ in range(2)] == [True, False]


def test_refused_attempts_spend_nothing_so_a_flooder_still_gets_the_rate() -> None:
    clock = _Clock()
    rate = ConnectionRate(rate=1.0, burst=1, clock=clock)
    admitted = 0
    for _ in range(10):  # ten seconds of a hundred attempts a second
        for _ in range(100):
            admitted += rate.admit("10.0.0.9")
            clock.now += 0.01
    assert admitted == 10


def test_one_host_over_its_rate_leaves_the_others_their_own() -> None:
    rate = ConnectionRate(rate=1.0, burst=2, clock=_Clock())
    assert [rate.admit("10.0.0.9") for _ in range(5)] == [True, True, False, False, False]
    assert [rate.admit("10.0.0.7") for _ in range(2)] == [True, True]


def test_the_hosts_remembered_are_bounded() -> None:
    rate = ConnectionRate(rate=1.0, burst=1, clock=_Clock())
    for index in range(ConnectionRate.MAX_HOSTS + 500):
        rate.admit(f"10.{index >> 16}.{(index >> 8) & 255}.{index & 255}")
    assert rate.hosts() == ConnectionRate.MAX_HOSTS


def test_a_flooders_refusals_are_logged_once_a_period_with_their_count() -> None:
    clock = _Clock()
    rate = ConnectionRate(rate=1e-6, burst=1, clock=clock)  # nothing refills meanwhile
    rate.admit("10.0.0.9")
    logged = []
    for _ in range(100):  # two attempts every 1/8 s, all refused
        rate.admit("10.0.0.9")
        logged.append(rate.refusals_to_log("10.0.0.9"))
        clock.now += 0.125
        rate.admit("10.0.0.9")
    period = int(ConnectionRate.WARN_EVERY_S / 0.125)
    assert [count for count in logged if count] == [1, 2 * period]  # at once, a period later
    assert logged.index(2 * period) == period


async def _describe_from(host: str, port: int) -> str:
    """One connection from `host` asking `describe`: the type of the first event answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(host, 0))
    try:
        writer.write(b'{"type": "describe"}\n')
        await writer.drain()
        async with asyncio.timeout(20):
            event = await async_read_event(reader)
        assert event is not None
        if event.type == "error":
            assert event.data["code"] == "too-many-connections", event.data
            assert FLOODER in event.data["text"]
            async with asyncio.timeout(20):
                assert await async_read_event(reader) is None  # then closed
        return event.type
    finally:
        writer.close()


async def test_a_host_over_its_connection_rate_is_told_and_closed_and_another_is_served(
        caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hub.endpoint")
    # A rate that refills nothing while the test runs: what is refused does not depend on time.
    hub = ThreadedHub([], limits=Limits(max_connections_per_s=0.001, connection_burst=3))
    port = int(hub.uri.rsplit(":", 1)[1])
    try:
        answers = [await _describe_from(FLOODER, port) for _ in range(5)]
        assert answers == ["info", "info", "info", "error", "error"]
        async with AsyncClient.from_uri(hub.uri) as good:  # from 127.0.0.1
            await good.write_event(Ping(text="good").event())
            async with asyncio.timeout(20):
                answer = await good.read_event()
        assert answer is not None and answer.type == "pong"
        assert caplog.text.count("server.max_connections_per_s") == 1
        assert "Traceback" not in caplog.text
    finally:
        hub.close()


async def test_a_hundred_requests_each_on_its_own_connection_pass_the_default_rate() -> None:
    # Home Assistant opens a connection for every TTS, STT or wake word request.
    server = ServerConfig()
    hub = ThreadedHub([], limits=Limits(max_connections_per_s=server.max_connections_per_s,
                                        connection_burst=server.connection_burst))
    try:
        for _ in range(100):
            async with AsyncClient.from_uri(hub.uri) as client:
                await client.write_event(Describe().event())
                async with asyncio.timeout(20):
                    answer = await client.read_event()
                assert answer is not None and answer.type == "info"
    finally:
        hub.close()
