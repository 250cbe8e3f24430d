"""The satellite's states, which state may follow which, and who is told of a change.

Why a table: the states are what the user sees and hears (MQTT `state`, Home Assistant's state
sensor, the chimes), so a change that should not happen (thinking straight from idle, say) is a
bug worth a log line, not something to be worked out afterwards. A change outside the table is
still made — the state reports what the satellite is doing, and refusing it would leave MQTT
showing a stale one — but it is logged as an error naming both states, and counted, so that a
test can ask for none.

Observers (`on_state(old, new)`) are how the MQTT publisher, the tests and the demo follow the
satellite; an observer that fails is logged and does not stop the others or the satellite.

Beside the state the user sees, the satellite's dealings with its hub are named too, instead of
flags read together afterwards: `HubLink` (unknown, up, down: a lost hub is announced once per
outage), and `Exchange`: what the hub still owes (`Awaiting`), which of its events are dropped
(`Ignoring`), when it last spoke.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum, StrEnum

from satellite.hub_events import REPLY_TAIL
from voxhub.protocol import EventType

_LOGGER = logging.getLogger(__name__)


class State(StrEnum):
    """The values are published on MQTT `state`, shown by Home Assistant's state sensor and
    matched by automations: keep them."""

    IDLE = "idle"  # listening for the wake word only
    LISTENING = "listening"  # streaming the command to the hub
    FOLLOW_UP = "follow-up"  # listening again without the wake word, after a question
    THINKING = "thinking"  # the command has ended, the hub is working on it
    SPEAKING = "speaking"  # playing the reply
    ERROR = "error"  # the hub is unreachable (or a command was lost)


#: Which state may follow which (a state may always be set again: that is no change).
TRANSITIONS: dict[State, frozenset[State]] = {
    State.IDLE: frozenset({State.LISTENING, State.SPEAKING, State.ERROR}),
    # speaking while listening: a hub that sends its reply before the command's end
    State.LISTENING: frozenset({State.THINKING, State.SPEAKING, State.FOLLOW_UP, State.IDLE,
                                State.ERROR}),
    State.FOLLOW_UP: frozenset({State.LISTENING, State.THINKING, State.SPEAKING, State.IDLE,
                                State.ERROR}),
    # thinking or speaking → listening: a wake word interrupting the run (barge-in)
    State.THINKING: frozenset({State.SPEAKING, State.LISTENING, State.FOLLOW_UP, State.IDLE,
                               State.ERROR}),
    State.SPEAKING: frozenset({State.THINKING, State.LISTENING, State.FOLLOW_UP, State.IDLE,
                               State.ERROR}),
    # error → listening: a wake word while the hub restarts (the command is kept for it)
    State.ERROR: frozenset({State.IDLE, State.LISTENING, State.SPEAKING}),
}

StateObserver = Callable[[State, State], None]


class StateMachine:
    """The current state, its history, the transition check and the observers."""

    def __init__(self, initial: State = State.IDLE) -> None:
        self.state = initial
        self.history: list[State] = [initial]
        #: (old, new) of every change outside TRANSITIONS, in order.
        self.illegal: list[tuple[State, State]] = []
        self._observers: list[StateObserver] = []

    def on_state(self, observer: StateObserver) -> None:
        """Call `observer(old, new)` after every change (and once with old == new for a state
        set again, so that a publisher can repeat it)."""
        self._observers.append(observer)

    def set(self, new: State) -> bool:
        """Change to `new` (True), or confirm the current state (False)."""
        old = self.state
        if new is old:
            self._notify(old, new)
            return False
        if new not in TRANSITIONS[old]:
            self.illegal.append((old, new))
            _LOGGER.error("state: %s → %s is not a transition the satellite should make "
                          "(made anyway: the state says what the satellite does)", old, new)
        _LOGGER.info("state: %s", new)
        self.state = new
        self.history.append(new)
        self._notify(old, new)
        return True

    def _notify(self, old: State, new: State) -> None:
        for observer in list(self._observers):
            try:
                observer(old, new)
            except Exception:  # an observer's bug must not take the satellite down
                _LOGGER.exception("state observer %r failed on %s → %s", observer, old, new)


class HubLink(Enum):
    """What the satellite knows of its hub: nothing yet, reachable, or lost (announced once)."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


class Awaiting(Enum):
    """What the hub still owes the satellite: nothing, a run's events up to its run-end, or an
    announcement's audio."""

    NOTHING = "nothing"
    RUN = "run"
    ANNOUNCEMENT = "announcement"


class Ignoring(Enum):
    """Hub events the satellite has stopped caring about: none, the tail of a reply it
    interrupted (barge-in: up to the first event of the new run), or everything up to the
    current run's run-end (stop)."""

    NOTHING = "nothing"
    REPLY_TAIL = "reply-tail"
    RUN = "run"


class Exchange:
    """Where the satellite stands with its hub, beside the state the user sees: what the hub
    still owes, which of its events to drop, and when it last said anything (the watchdog
    gives up on a hub silent mid-run)."""

    def __init__(self) -> None:
        self.awaiting = Awaiting.NOTHING
        self.ignoring = Ignoring.NOTHING
        self.error_reported = False  # an error event of this run was published already
        self.last_event = 0.0

    @property
    def in_run(self) -> bool:
        return self.awaiting is Awaiting.RUN

    @property
    def owed(self) -> bool:
        return self.awaiting is not Awaiting.NOTHING

    @property
    def announcing(self) -> bool:
        return self.awaiting is Awaiting.ANNOUNCEMENT

    def begin(self, awaiting: Awaiting) -> None:
        self.awaiting = awaiting
        if awaiting is Awaiting.RUN:
            self.error_reported = False
        self.last_event = time.monotonic()

    def begin_run(self) -> None:
        self.begin(Awaiting.RUN)

    def begin_announcement(self) -> None:
        self.begin(Awaiting.ANNOUNCEMENT)

    def done(self) -> None:
        """The hub owes nothing more (the run or announcement ended, or was given up)."""
        self.awaiting = Awaiting.NOTHING

    def interrupt(self) -> None:
        """Barge-in: the hub cancels the old run on the new run-pipeline; its tail is dropped."""
        if self.awaiting is Awaiting.RUN and self.ignoring is Ignoring.NOTHING:
            self.ignoring = Ignoring.REPLY_TAIL
        self.awaiting = Awaiting.NOTHING

    def abandon(self, run_was_sent: bool) -> None:
        """Stop: the rest of the run is ignored up to its run-end (if the hub has one)."""
        if self.awaiting is Awaiting.RUN and run_was_sent:
            self.ignoring = Ignoring.RUN
        self.awaiting = Awaiting.NOTHING

    def forget(self) -> None:
        """The hub went away: nothing is owed, nothing will come to be ignored."""
        self.awaiting = Awaiting.NOTHING
        self.ignoring = Ignoring.NOTHING

    def resume(self) -> None:
        """A new hub will take the command again: its events all count."""
        self.ignoring = Ignoring.NOTHING

    def heard(self, event_type: str) -> bool | None:
        """An event came: True to act on it, False to drop it, None to drop it as the end of
        an abandoned run (the satellite may settle now)."""
        self.last_event = time.monotonic()
        if self.ignoring is Ignoring.RUN:
            if event_type == EventType.RUN_END:
                self.ignoring = Ignoring.NOTHING
                return None
            return False
        if self.ignoring is Ignoring.REPLY_TAIL:
            if event_type in REPLY_TAIL:
                return False
            self.ignoring = Ignoring.NOTHING
        return True

    def overdue(self, timeout_s: float) -> bool:
        return self.owed and time.monotonic() - self.last_event > timeout_s
