"""The hub's opt-in authentication: the `auth` handshake and what an unauthenticated client may do.

Off by default: Home Assistant's Wyoming integration cannot send a token, and a hub on a trusted
LAN serves it as every Wyoming server does. With `server.token` (or `server.token_file`) set, a
client presents the token in a first event `auth` {"token": "...", "nonce": "..."}; the hub
answers `auth-ok` {"proof": HMAC-SHA256(token, "voxhub-hub-proof:" + nonce)} (so a satellite
that found the hub over zeroconf knows it is its hub), or `error` code `unauthorized` and closes
the connection. The events, codes and proof are voxhub's protocol (`voxhub/protocol/`): one
definition for both sides, documented in docs/satellite.md.

What authentication protects, in two steps:
- `server.require_auth`: an unauthenticated client gets only describe, ping and auth;
- otherwise, with a token set, unauthenticated clients (Home Assistant) get everything except
  unsafe actions (locks, garage doors and gates, alarm panels) and questions about their state,
  unless `server.allow_unsafe_unauthenticated` says so. That check is made where intents are
  decided (hub/intents/program.py, hub/pipeline/session.py) with `refuses_unsafe`.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
from typing import TYPE_CHECKING

from voxhub.protocol import Auth, ErrorCode, EventType, WyomingType, hub_proof

if TYPE_CHECKING:
    from hub.endpoint import Connection
    from hub.intents.home import Entity, Home
    from hub.understanding import Understander
    from voxhub.result import UnderstandingResult

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "AUTH",
    "AUTH_OK",
    "AUTH_REQUIRED",
    "OPEN_EVENTS",
    "REFUSED_REPLY",
    "UNAUTHORIZED",
    "UNSAFE_REFUSED",
    "Authenticator",
    "is_sensitive",
    "refuses_unsafe",
]

AUTH, AUTH_OK = EventType.AUTH, EventType.AUTH_OK
#: The `error` code of a refused token.
UNAUTHORIZED = ErrorCode.UNAUTHORIZED
#: The `error` code of an event refused before authentication (server.require_auth).
AUTH_REQUIRED = ErrorCode.AUTH_REQUIRED
#: The code in a result refused because it would act on (or tell about) an unsafe entity.
UNSAFE_REFUSED = ErrorCode.UNSAFE_UNAUTHENTICATED
REFUSED_REPLY = "Sorry, I can only do that for an authenticated satellite."
#: What any client may send before it authenticated.
OPEN_EVENTS = frozenset({WyomingType.DESCRIBE, WyomingType.PING, EventType.AUTH})
#: Domains whose control lets someone in, or whose state tells that the house is open.
SENSITIVE_DOMAINS = frozenset({"lock", "alarm_control_panel"})
#: Cover device classes that are entries to the house.
ENTRY_COVERS = frozenset({"garage", "garage_door", "gate", "door"})


class Authenticator:
    """Checks `auth` events against the configured token (the token is never formatted)."""

    def __init__(self, token: str | None, require: bool = False,
                 allow_unsafe: bool = False) -> None:
        self._token = token or None
        self.require = bool(require and self._token)
        self.allow_unsafe = allow_unsafe

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def check(self, auth: Auth | None) -> str | None:
        """The `auth-ok` proof for a right token, None for a wrong or missing one (`auth`
        None: the event did not parse)."""
        if self._token is None or auth is None:
            return None
        if not hmac.compare_digest(auth.token.encode("utf-8", "replace"),
                                   self._token.encode("utf-8")):
            return None
        return hub_proof(self._token, auth.nonce)

    def allows(self, event_type: str, authenticated: bool) -> bool:
        """Whether an event may be handled for a client (require_auth)."""
        return authenticated or not self.require or event_type in OPEN_EVENTS

    def refuses_unsafe(self, authenticated: bool) -> bool:
        """Whether unsafe actions and their state must be refused to this client."""
        return self.enabled and not authenticated and not self.allow_unsafe


def is_sensitive(entity: Entity | None) -> bool:
    """A lock, an alarm panel, or a cover that is a door, gate or garage door."""
    if entity is None:
        return False
    if entity.domain in SENSITIVE_DOMAINS:
        return True
    return entity.domain == "cover" and entity.device_class in ENTRY_COVERS


def refuses_unsafe(conn: Connection, result: UnderstandingResult, home: Home | None) -> bool:
    """Whether `result` (an UnderstandingResult) must be refused to the client on `conn`.

    Unsafe means acting on, or asking about, a sensitive entity (`is_sensitive`): "is the back
    door locked" tells a stranger as much as unlocking it lets them in. `home` resolves the
    result's target ids to entities (the engine's home model)."""
    if not conn.auth.refuses_unsafe(conn.authenticated):
        return False
    if result.intent is None:
        return False
    for target in result.targets:
        entity = home.entity(target) if home is not None else None
        if is_sensitive(entity) or str(target).split(".", 1)[0] in SENSITIVE_DOMAINS:
            return True
    return False


def guard(conn: Connection, result: UnderstandingResult,
          understander: Understander) -> UnderstandingResult:
    """`result`, or when it must be refused to this client (`refuses_unsafe`), a result without
    intent or targets whose reply says why: nothing is carried out, and no state is told."""
    try:
        home = understander.home
    except RuntimeError:  # not loaded: nothing can be resolved, so nothing is told either
        home = None
    if not refuses_unsafe(conn, result, home):
        return result
    assert result.intent is not None  # refuses_unsafe refuses only intents
    _LOGGER.warning("%r: refused %s on %s to a client that did not authenticate", conn,
                    result.intent.name, ", ".join(result.targets))
    return dataclasses.replace(result, intent=None, targets=[], reply=REFUSED_REPLY)
