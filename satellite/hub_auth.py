"""The satellite's half of the hub's opt-in authentication: present the token, check the hub.

Why the hub proves itself too: a satellite that finds its hub over zeroconf takes whatever
answers on the LAN, and a rogue "hub" would hear every command and could speak anything. When a
token is set, the satellite sends a fresh nonce with it, and the hub's `auth-ok` carries
HMAC-SHA256(token, "voxhub-hub-proof:" + nonce): only a hub that knows the token can compute it,
and a recorded answer is worthless for the next connection's nonce. (Over tcp:// the token itself
travels in clear, as Home Assistant's does over http://; tcps:// encrypts it.)

The token is passed around as a plain string and never formatted into a message: no log line or
exception text in this module or its callers contains it.
"""

from __future__ import annotations

import hmac
import secrets

from wyoming.event import Event

from voxhub.protocol import Auth, ErrorCode, EventType, WyomingType, hub_proof

#: The events of the handshake (the hub's endpoint answers `auth` with one of the last two),
#: named in voxhub/protocol with the proof: one definition for the hub and the satellite.
AUTH, AUTH_OK, ERROR = EventType.AUTH, EventType.AUTH_OK, WyomingType.ERROR
#: The `error` code of a refused token.
UNAUTHORIZED = ErrorCode.UNAUTHORIZED
__all__ = ["AUTH", "AUTH_OK", "ERROR", "UNAUTHORIZED", "auth_event", "hub_proof", "new_nonce",
           "proof_ok"]


def new_nonce() -> str:
    return secrets.token_hex(16)


def auth_event(token: str, nonce: str) -> Event:
    return Auth(token, nonce).event()


def proof_ok(token: str, nonce: str, proof: object) -> bool:
    return isinstance(proof, str) and hmac.compare_digest(hub_proof(token, nonce), proof)
