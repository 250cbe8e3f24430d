"""Every `error` code voxhub sends, in one enum (docs/satellite.md and the README list them).

The hub sends them in wyoming `error` events and in `run-end`'s `error`; the satellite adds its
own on its MQTT `error` topic. Automations and tests match on these strings, so a member's value
never changes; a `StrEnum` member is its string on the wire.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # --- the hub closes the connection after these ---------------------------------------------
    #: Not a Wyoming event (bad JSON, a header too long, lengths over the limit).
    PROTOCOL = "protocol"
    #: server.max_connections.
    TOO_MANY_CONNECTIONS = "too-many-connections"
    #: server.max_queued_requests.
    TOO_MANY_REQUESTS = "too-many-requests"
    #: server.max_buffered_bytes.
    BUFFER_FULL = "buffer-full"
    #: pipeline.max_runs.
    TOO_MANY_RUNS = "too-many-runs"
    #: server.require_auth, and the client did not authenticate.
    AUTH_REQUIRED = "auth-required"
    #: `auth` with a wrong or missing token.
    UNAUTHORIZED = "unauthorized"

    # --- one request refused; the connection stays ---------------------------------------------
    #: An event whose data has the wrong shape (the text names the field).
    BAD_EVENT = "bad-event"
    #: A request the hub understood but cannot do (an unknown voice, a bad run).
    BAD_REQUEST = "bad-request"
    #: Audio without `run-pipeline`.
    NO_RUN = "no-run"
    #: A run in which nobody spoke.
    NO_SPEECH = "no-speech"
    #: A run whose satellite sent no audio for pipeline.audio_timeout_s.
    NO_AUDIO = "no-audio"
    TEXT_TOO_LONG = "text-too-long"
    UNKNOWN_VOICE = "unknown-voice"
    LANGUAGE_UNAVAILABLE = "language-unavailable"
    UNKNOWN_WAKE_WORD = "unknown-wake-word"
    #: A `transcribe` whose `translate` target the recognizer cannot produce.
    TRANSLATE_UNSUPPORTED = "translate-unsupported"
    #: An intent on an unsafe entity from a client that did not authenticate (hub/auth.py).
    UNSAFE_UNAUTHENTICATED = "unsafe-unauthenticated"
    #: A bug or a failed backend; the text says what.
    INTERNAL = "internal"

    # --- the satellite's own, on its MQTT `error` topic ----------------------------------------
    #: A command no hub answered (not carried out).
    COMMAND_LOST = "command-lost"
    #: The wake word was heard but no hub could be reached.
    HUB_UNAVAILABLE = "hub-unavailable"
    #: The hub went silent mid-run (conversation.reply_timeout_s).
    TIMEOUT = "timeout"
