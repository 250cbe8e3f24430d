"""Which program answers an event, and the events the endpoint answers itself.

`describe`, `ping` and `auth` are answered at once, before any program sees them (a client
waiting for its `pong` must not wait behind a recognizer). Every other event goes to the program
that declares its type, with that program's session for the client; audio goes to the program
that started the client's current audio stream (`Connection.audio_owner`: the one that got
`transcribe`, `run-pipeline` or `detect`), so that one connection's audio never reaches two
programs. The fields programs rely on are checked first (`check_fields`), and an event of the
wrong shape is answered with an `error` while the connection stays open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong

from hub.auth import Authenticator
from hub.endpoint.connection import Connection, Refused
from hub.endpoint.info import info_event
from hub.endpoint.program import Program
from voxhub.protocol import AUDIO_TYPES, Auth, AuthOk, ErrorCode, check_fields

_LOGGER = logging.getLogger(__name__)


class Router:
    """Routes one endpoint's events to its programs."""

    def __init__(self, programs: Sequence[Program[Any]], auth: Authenticator) -> None:
        self.programs = list(programs)
        self.auth = auth
        self._routes: dict[str, Program[Any]] = {}
        for program in self.programs:
            for event_type in program.event_types:
                if event_type in self._routes and event_type not in AUDIO_TYPES:
                    raise ValueError(f"two programs answer '{event_type}'")
                self._routes.setdefault(event_type, program)

    def open_sessions(self, conn: Connection) -> None:
        """Every program's session for a client the endpoint starts serving."""
        conn.sessions = {program: program.open_session(conn) for program in self.programs}

    def program_for(self, event_type: str, conn: Connection) -> Program[Any] | None:
        if event_type in AUDIO_TYPES:
            return conn.audio_owner or self._routes.get(event_type)
        return self._routes.get(event_type)

    async def dispatch(self, event: Event, conn: Connection) -> None:
        """Answer or route one event; Refused closes the connection."""
        if Describe.is_type(event.type):
            await conn.send(info_event(self.programs, conn))
            return
        if Ping.is_type(event.type):
            await conn.send(Pong(text=_text_or_none((event.data or {}).get("text"))).event())
            return
        if Auth.is_type(event.type):
            await self._authenticate(event, conn)
            return
        if not self.auth.allows(event.type, conn.authenticated):
            raise Refused(f"'{event.type}' needs authentication: send 'auth' with the hub's "
                          "token first", ErrorCode.AUTH_REQUIRED)
        program = self.program_for(event.type, conn)
        if program is None:
            _LOGGER.debug("%r: ignoring event type '%s'", conn, event.type)
            return
        if event.type in AUDIO_TYPES and _skip_bad_audio(event, conn):
            return
        session = conn.sessions[program]
        conn.event_bytes = len(event.payload or b"") + len(json.dumps(event.data or {}))
        try:
            check_fields(event)
            await program.handle(event, session)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # Event data of the wrong shape: tell the client and keep the connection.
            _LOGGER.info("%r: bad '%s' event: %r", conn, event.type, err)
            if AudioStart.is_type(event.type) or AudioChunk.is_type(event.type):
                conn.bad_audio = True  # one error per stream, not one per chunk
            await conn.send_error(f"bad '{event.type}' event: {err}", ErrorCode.BAD_EVENT)
        finally:
            conn.event_bytes = 0

    async def _authenticate(self, event: Event, conn: Connection) -> None:
        if not self.auth.enabled:
            # A hub without a token accepts every client; saying so keeps satellites that are
            # configured with a token working against it.
            conn.authenticated = True
            await conn.send(AuthOk().event())
            return
        try:
            auth: Auth | None = Auth.from_event(event)
        except ValueError:  # no token, or not a string: a wrong token
            auth = None
        proof = self.auth.check(auth)
        if proof is None:
            _LOGGER.warning("%r: refused: wrong or missing token in 'auth'", conn)
            raise Refused("wrong token", ErrorCode.UNAUTHORIZED)
        conn.authenticated = True
        _LOGGER.debug("%r authenticated", conn)
        await conn.send(AuthOk(proof).event())


def _skip_bad_audio(event: Event, conn: Connection) -> bool:
    """After one refused chunk the rest of that audio stream is ignored (its format is refused
    the same way), until the next audio-start or audio-stop."""
    if AudioChunk.is_type(event.type):
        return conn.bad_audio
    conn.bad_audio = False
    return False


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
