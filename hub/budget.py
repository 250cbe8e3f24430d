"""How fast one connection, and one host, may make the hub work: token buckets of events and
of connections.

Every event a client sends costs the hub's reading loop its parsing and dispatch before any
program looks at it, and the loop is shared by every client: a client that floods pings,
`describe`s or broken frames takes that time from a well-behaved client's reply. Refusing the
flooder would cost as much as serving it (an `error` written per event), so the hub instead stops
reading its socket until the bucket has refilled (`EventBudget.spend` says how long). TCP's flow
control then holds the flooder's further frames in its own send buffer: they cost the hub
nothing, and a flooder waiting on a full socket stops spending CPU too.

Real clients stay far below the rate (a satellite sends 16 audio chunks a second, 100 with 10 ms
chunks; Home Assistant a few events per request), and the burst covers a command's whole audio
sent at once (a satellite replaying a command after the hub restarted, a WAV file transcribed
as fast as it can be read).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

#: Every this many bytes of an event cost one more event: reading megabytes costs the loop more
#: than a ping does, and real-time audio (32 kB/s at 16 kHz) costs 4 events a second.
BYTES_PER_EVENT = 8 * 1024


class EventBudget:
    """Tokens refill at `rate` a second up to `burst`; each event spends its cost."""

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("an event budget needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()
        #: Times the connection was paused (its client over budget), for the log and tests.
        self.pauses = 0

    @staticmethod
    def cost(size: int) -> float:
        """What one event of `size` bytes (data and payload) spends."""
        return 1.0 + size / BYTES_PER_EVENT

    def spend(self, cost: float = 1.0) -> float:
        """Spend `cost`; returns how many seconds to stop reading before the next event (0:
        within budget). The debt is paid by the pause, so a client that goes on flooding is
        read at `rate` events a second, whatever it sends."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= cost
        if self._tokens >= 0:
            return 0.0
        self.pauses += 1
        return -self._tokens / self.rate


@dataclass
class _Host:
    tokens: float
    at: float
    refused: int = 0
    warned_at: float | None = None


class ConnectionRate:
    """How fast one host may open connections: a token bucket of connections per address.

    The event budget is a connection's: a client that closes and reconnects gets a fresh burst
    each time, and every connection costs the hub's loop its accept, its `Connection`, its
    `info`, its refusal and its teardown before a single event is read. A host over this rate
    is refused before anything it sent is read (`Endpoint`), so a reconnecting flooder costs
    `rate` connections a second, however fast it reconnects. A refused attempt spends nothing:
    the host's connections are admitted again at `rate` while it goes on trying.

    Real clients stay far below it: Home Assistant opens a connection per request (TTS, STT,
    a wake word stream), a satellite keeps one open and reconnects with a back-off."""

    #: Hosts remembered at most (the least recently seen are forgotten first).
    MAX_HOSTS = 4096
    #: A host still over the rate is logged at most this often.
    WARN_EVERY_S = 10.0

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a connection rate needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._hosts: dict[str, _Host] = {}

    def admit(self, host: str) -> bool:
        """Whether `host` may open one more connection now (spending one when it may)."""
        now = self.clock()
        state = self._hosts.pop(host, None)  # re-inserted last: the dict is oldest first
        if state is None:
            state = _Host(float(self.burst), now)
        state.tokens = min(self.burst, state.tokens + (now - state.at) * self.rate)
        state.at = now
        self._hosts[host] = state
        if len(self._hosts) > self.MAX_HOSTS:
            del self._hosts[next(iter(self._hosts))]
        if state.tokens >= 1.0:
            state.tokens -= 1.0
            return True
        state.refused += 1
        return False

    def refusals_to_log(self, host: str) -> int:
        """The host's refusals since it was last logged, when it is due to be logged again
        (0 otherwise): a flooder costs one log line per `WARN_EVERY_S`, not one a refusal."""
        state = self._hosts.get(host)
        now = self.clock()
        if state is None or not state.refused or (
                state.warned_at is not None and now - state.warned_at < self.WARN_EVERY_S):
            return 0
        refused, state.refused, state.warned_at = state.refused, 0, now
        return refused

    def hosts(self) -> int:
        """Hosts remembered (bounded by `MAX_HOSTS`)."""
        return len(self._hosts)


__all__ = ["BYTES_PER_EVENT", "ConnectionRate", "EventBudget"]
