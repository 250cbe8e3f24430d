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

import hashlib
import hmac
import secrets

from wyoming.event import Event

#: The events of the handshake (the hub's endpoint answers `auth` with one of the last two).
AUTH, AUTH_OK, ERROR = "auth", "auth-ok", "error"
#: The `error` code of a refused token.
UNAUTHORIZED = "unauthorized"
_PROOF_PREFIX = b"voxhub-hub-proof:"


def new_nonce() -> str:
    return secrets.token_hex(16)


def auth_event(token: str, nonce: str) -> Event:
    return Event(AUTH, {"token": token, "nonce": nonce})


def hub_proof(token: str, nonce: str) -> str:
    """What a hub knowing `token` answers to `nonce` (the hub side computes the same)."""
    return hmac.new(token.encode("utf-8"), _PROOF_PREFIX + nonce.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def proof_ok(token: str, nonce: str, proof: object) -> bool:
    return isinstance(proof, str) and hmac.compare_digest(hub_proof(token, nonce), proof)
