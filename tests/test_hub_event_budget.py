"""A flooding client is read at its event budget; real clients never meet it; nothing is refused."""

from __future__ import annotations

import asyncio
import logging

import pytest
from wyoming.client import AsyncClient
from wyoming.ping import Ping

from hub.budget import BYTES_PER_EVENT, EventBudget
from hub.config import ServerConfig
from hub.endpoint import Limits
from tests.plugins.hub import ThreadedHub


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _defaults() -> tuple[float, int]:
    server = ServerConfig()
    return server.max_events_per_s, server.event_burst


def test_a_satellite_streaming_audio_in_real_time_never_meets_the_default_budget() -> None:
    rate, burst = _defaults()
    clock = _Clock()
    budget = EventBudget(rate, burst, clock)
    chunk = 160 * 2 + 100  # 10 ms of 16 kHz audio with its header: the smallest chunks
    for _ in range(60 * 100):  # a minute of audio, 100 chunks a second
        assert budget.spend(budget.cost(chunk)) == 0.0
        clock.now += 0.01
    assert budget.pauses == 0


def test_a_commands_whole_audio_sent_at_once_fits_the_default_burst() -> None:
    # A satellite replaying 15 s of command audio (64 ms chunks) to a hub that came back.
    rate, burst = _defaults()
    budget = EventBudget(rate, burst, _Clock())
    pauses = [budget.spend(budget.cost(2048 + 100)) for _ in range(round(15 / 0.064) + 2)]
    assert set(pauses) == {0.0}


def test_a_flood_is_read_at_the_rate_once_the_burst_is_spent() -> None:
    clock = _Clock()
    budget = EventBudget(rate=100.0, burst=10, clock=clock)
    assert [budget.spend() for _ in range(10)] == [0.0] * 10
    pause = budget.spend()
    assert pause == 1 / 100  # one event over: one event's worth of refill
    clock.now += pause
    assert budget.spend() == 1 / 100  # paid by the pause, not forgiven: the rate holds
    assert budget.pauses == 2


def test_megabytes_of_payload_cost_more_than_a_ping() -> None:
    assert EventBudget.cost(0) == 1.0
    assert EventBudget.cost(8 * 1024 * 1024) == 1.0 + 8 * 1024 * 1024 / BYTES_PER_EVENT


async def test_a_flooding_client_is_slowed_not_refused_and_another_is_answered_meanwhile(
        caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hub.endpoint")
    hub = ThreadedHub([], limits=Limits(max_events_per_s=20.0, event_burst=10))
    flood = 40
    try:
        host, port = hub.uri.removeprefix("tcp://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b'{"type": "ping"}\n' * flood)
        await writer.drain()
        async with AsyncClient.from_uri(hub.uri) as good:
            await good.write_event(Ping(text="good").event())
            async with asyncio.timeout(20):
                answer = await good.read_event()
        assert answer is not None and answer.type == "pong"
        # The good client was answered while the flooder's pings were still being read at
        # its rate (30 over the burst at 20 a second): its answers are not all out yet.
        answered = (await reader.read(1 << 16)).count(b'"pong"')
        assert answered < flood
        async with asyncio.timeout(30):  # and none of them is refused: every ping answered
            while answered < flood:
                received = await reader.read(1 << 16)
                assert received, "the hub closed the flooding connection"
                answered += received.count(b'"pong"')
        assert answered == flood
        writer.close()
    finally:
        hub.close()
    warnings = [r.getMessage() for r in caplog.records if "server.max_events_per_s" in
                r.getMessage()]
    assert len(warnings) == 1, warnings  # said once per connection, not once per pause


def test_the_event_budget_is_refused_out_of_its_bounds() -> None:
    for rate, burst in ((0.0, 10), (10.0, 0)):
        with pytest.raises(ValueError, match="positive rate"):
            EventBudget(rate, burst)
