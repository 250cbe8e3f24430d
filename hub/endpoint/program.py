"""What a capability of the hub is to the endpoint: a `Program` and its per-connection `Session`.

wyoming's own servers make one handler object per connection; the hub serves several programs
on one connection, so each program opens one session per connection (`open_session`, when the
endpoint starts serving the client) and gets it back with every event it answers. A session is
the program's own typed state for that client (an utterance being recorded, a TTS stream, a
pipeline run, a wake word stream), and its `close` frees that state when the client goes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

from wyoming.event import Event
from wyoming.info import Attribution, Info

from hub.endpoint.connection import Connection
from voxhub import __version__

ATTRIBUTION = Attribution(name="voxhub", url="https://github.com/voxhub/voxhub")


@dataclass(eq=False, slots=True)
class Session:
    """One program's state for one client; this base holds only the client (for programs
    that keep nothing between events)."""

    conn: Connection

    async def close(self) -> None:
        """The client is gone: free what this session holds (cancel its work, its models)."""


SessionT = TypeVar("SessionT", bound=Session)


class Program(ABC, Generic[SessionT]):
    """A capability of the hub, answering the Wyoming event types it declares."""

    #: Event types this program answers.
    event_types: frozenset[str] = frozenset()

    async def start(self) -> None:
        """Load models; called once before the endpoint accepts clients."""

    async def stop(self) -> None:
        """Free resources at shutdown."""

    @abstractmethod
    def describe(self, info: Info) -> None:
        """Add this program's entries (tts, asr, intent, handle, satellite…) to `info`."""

    @abstractmethod
    def open_session(self, conn: Connection) -> SessionT:
        """This program's state for a client the endpoint starts serving (cheap: every client
        gets one from every program, whether or not it ever sends this program an event)."""

    @abstractmethod
    async def handle(self, event: Event, session: SessionT) -> None:
        """Answer one event of `session`'s client. Must return quickly: slow work goes on
        `session.conn.run_ordered`."""


def program_version() -> str:
    return __version__
