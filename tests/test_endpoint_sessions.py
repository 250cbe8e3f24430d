"""Each client gets its own session of each program, handed back with its events and closed
when the client goes; audio goes to the program that owns the client's audio stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Info

from hub.endpoint import Connection, Program, Session
from tests.plugins.hub import ThreadedHub
from voxhub.protocol import AUDIO_TYPES

#: A test program's answer: its name, and what its session for this client has counted.
COUNTED = "counted"


@dataclass(eq=False, slots=True)
class _Counting(Session):
    events: int = 0
    closed: bool = False

    async def close(self) -> None:
        self.closed = True


class _Counter(Program[_Counting]):
    """Counts a client's events in its session; `take-audio` makes the audio that follows its
    own, until `audio-stop`."""

    def __init__(self, name: str, event_types: set[str]) -> None:
        self.name = name
        self.event_types = frozenset(event_types)
        self.sessions: list[_Counting] = []

    def describe(self, info: Info) -> None:
        pass

    def open_session(self, conn: Connection) -> _Counting:
        session = _Counting(conn)
        self.sessions.append(session)
        return session

    async def handle(self, event: Event, session: _Counting) -> None:
        session.events += 1
        if event.type == "take-audio":
            session.conn.audio_owner = self
        elif AudioStop.is_type(event.type) and session.conn.audio_owner is self:
            session.conn.audio_owner = None
        await session.conn.send(Event(COUNTED, {"program": self.name,
                                                "events": session.events}))


async def _answer(client: AsyncClient) -> dict[str, object]:
    event = await asyncio.wait_for(client.read_event(), 10)
    assert event is not None and event.type == COUNTED
    return event.data


async def _until(check: Callable[[], bool], hub: ThreadedHub) -> bool:
    async def probe() -> bool:
        return check()

    for _ in range(200):
        if hub.call(probe()):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_each_client_has_its_own_session_of_each_program_until_it_goes() -> None:
    plain, owner = _Counter("plain", {"ask", *AUDIO_TYPES}), _Counter("owner", {"tell"})
    hub = ThreadedHub([plain, owner])
    try:
        async with AsyncClient.from_uri(hub.uri) as first, \
                AsyncClient.from_uri(hub.uri) as second:
            for _ in range(3):
                await first.write_event(Event("ask"))
            await second.write_event(Event("ask"))
            assert [(await _answer(first))["events"] for _ in range(3)] == [1, 2, 3]
            assert await _answer(second) == {"program": "plain", "events": 1}
            await second.write_event(Event("tell"))
            assert await _answer(second) == {"program": "owner", "events": 1}
            assert len(plain.sessions) == len(owner.sessions) == 2
            assert not any(s.closed for s in plain.sessions + owner.sessions)
        assert await _until(lambda: all(s.closed for s in plain.sessions + owner.sessions), hub)
        assert await _until(lambda: not hub.endpoint.connections, hub)
    finally:
        hub.close()


async def test_audio_goes_to_the_program_that_took_the_stream_then_back() -> None:
    plain = _Counter("plain", set(AUDIO_TYPES))
    owner = _Counter("owner", {"take-audio", *AUDIO_TYPES})
    hub = ThreadedHub([plain, owner])
    chunk = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(320)).event()
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            await client.write_event(chunk)
            assert (await _answer(client))["program"] == "plain"  # declared it first
            await client.write_event(Event("take-audio"))
            assert (await _answer(client))["program"] == "owner"
            await client.write_event(chunk)
            assert await _answer(client) == {"program": "owner", "events": 2}
            await client.write_event(AudioStop().event())
            assert await _answer(client) == {"program": "owner", "events": 3}
            await client.write_event(chunk)  # the stream is over: audio is the declarer's again
            assert await _answer(client) == {"program": "plain", "events": 2}
    finally:
        hub.close()
