"""Conversations the hub keeps open between two runs: a "Did you mean …?" waiting for its answer.

An unsafe action heard uncertainly (unlock, open the garage, every light off) is not carried
out: the engine asks instead (`Decision.confirm`). The question is kept here, under the id of
the conversation it was asked in and for whoever asked (a satellite, or Home Assistant's
conversation), for `CONFIRM_TIMEOUT_S` (20 s); the result gives the id out with
`continue_conversation`, and the satellite's next run (or Home Assistant's next `transcript`
of that conversation) brings it back. The next utterance of that conversation then decides:

- a yes (`hub/intents/yes_no.py`) → the proposed action (`IntentEngine.confirmed`), carried out
  by the actor like any other command;
- a no → "OK, I won't." (Home Assistant's `HassNevermind`): nothing happens;
- anything else → a new command, and the question is dropped.

So a question is never answered by anyone else: a yes from another satellite, from another
conversation, after the timeout or after another command is only the word "yes". The store is
bounded (`MAX_PENDING`, the oldest question goes first) and holds one question per asker.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hub.intents import yes_no
from hub.intents.engine import Decision, IntentEngine
from hub.intents.recognize import IntentMatch
from voxhub.result import UnderstandingResult

#: How long a question waits for its answer, counted from the question: its spoken reply
#: (2–3 s), the satellite's follow-up listening (`conversation.follow_up_s`, 5 s) and a short
#: answer with its endpointing and recognition fit inside it.
CONFIRM_TIMEOUT_S = 20.0
#: Questions kept at once across all satellites.
MAX_PENDING = 256
#: The longest conversation id accepted from a client (Home Assistant's are 26-character ULIDs).
MAX_ID_CHARS = 100
#: Hypotheses of the recognizer read for a no.
ANSWER_HYPOTHESES = 3
#: The intent of a declined question: Home Assistant's own "never mind", answered by the hub.
DECLINED_INTENT = "HassNevermind"


@dataclass(frozen=True)
class Turn:
    """One utterance's place in a conversation: who speaks, and the conversation it continues.

    `owner` names the asker as the hub knows it (`satellite:<name>`, or `home-assistant:<its
    satellite or device>`); `conversation_id` is what the client carried back, None for a first
    utterance."""

    owner: str
    conversation_id: str | None = None


@dataclass
class Pending:
    owner: str
    decision: Decision
    area: str | None
    expires: float


class Conversations:
    """The open questions, by conversation id; safe to use from the executor's threads."""

    def __init__(self, timeout_s: float = CONFIRM_TIMEOUT_S, max_pending: int = MAX_PENDING,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._clock = clock
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._pending)

    def ask(self, turn: Turn, decision: Decision, area: str | None) -> str:
        """Keep `decision`'s question for `turn`'s asker; the conversation id to give out (the
        one the turn continues, else a new one). The asker's earlier question is dropped."""
        if not decision.confirm or decision.pending is None:
            raise ValueError("not a decision that asks for confirmation")
        conversation_id = turn.conversation_id or secrets.token_hex(16)
        with self._lock:
            self._expire()
            for key in [k for k, p in self._pending.items() if p.owner == turn.owner]:
                del self._pending[key]
            self._pending.pop(conversation_id, None)  # (another asker's id: theirs is lost)
            self._pending[conversation_id] = Pending(turn.owner, decision, area,
                                                     self._clock() + self.timeout_s)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
        return conversation_id

    def take(self, turn: Turn) -> Pending | None:
        """The question `turn` answers, removed from the store; None when the turn continues no
        conversation with an open question, or it was asked of someone else (theirs stays)."""
        if not turn.conversation_id:
            return None
        with self._lock:
            self._expire()
            pending = self._pending.get(turn.conversation_id)
            if pending is None or pending.owner != turn.owner:
                return None
            del self._pending[turn.conversation_id]
            return pending

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, p in self._pending.items() if p.expires <= now]:
            del self._pending[key]


def answer(conversations: Conversations, engine: IntentEngine, turn: Turn | None,
           heard: list[str], language: str | None) -> Decision | None:
    """The decision a yes or a no to `turn`'s open question makes: the confirmed action, or a
    "never mind"; None when there is no open question or what was `heard` (the recognizer's
    hypotheses, best first) is no answer. The question is dropped either way, so a later yes
    cannot revive it.

    A yes must be the best hypothesis and no other one a no; a no may be any of the first
    `ANSWER_HYPOTHESES` (a short "No." is easily heard as "Number."), since declining never
    changes anything."""
    if turn is None:
        return None
    pending = conversations.take(turn)
    if pending is None or not heard:
        return None
    language = language or engine.grammar.language
    said = [yes_no.read(text, language) for text in heard[:ANSWER_HYPOTHESES]]
    if said[0] is True and False not in said:
        return engine.confirmed(pending.decision)
    if False not in said:
        return None
    text = heard[said.index(False)]
    match = IntentMatch(DECLINED_INTENT, {}, {}, "default", set(), set(), text)
    return Decision(match, reply=yes_no.declined(language or engine.grammar.language),
                    confidence=1.0, method="declined", matched_text=text)


def asked(result: UnderstandingResult, conversations: Conversations, decision: Decision,
          turn: Turn | None, area: str | None) -> UnderstandingResult:
    """A confirm question's result, marked to continue, with (for a client that can come back)
    the conversation id its answer must carry."""
    result.continue_conversation = True
    if turn is not None:
        result.conversation_id = conversations.ask(turn, decision, area)
    return result


def check_id(value: object) -> str | None:
    """A conversation id as a client sent it, or a ValueError saying what is wrong with it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise ValueError(f"conversation_id must be a string of at most {MAX_ID_CHARS} "
                         "printable characters")
    return value
