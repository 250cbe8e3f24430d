"""The event types on voxhub's wire: voxhub's own, and the wyoming ones the hub routes by name.

Routing tables (a program's `event_types`, the endpoint's audio owner) need the names as strings;
wyoming keeps its own private, so they are written once here, and tests/test_protocol.py checks
each against wyoming's `is_type`. Being `StrEnum`s, the members are the strings themselves: an
`Event` built with one writes the same JSON, and `event.type in {...}` needs no conversion.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Events that exist only between voxhub's hub and its satellites."""

    #: Satellite → hub, first on a connection when a token is set: {"token", "nonce"}.
    AUTH = "auth"
    #: Hub → satellite: the token was right; {"proof"} shows the hub knows it too.
    AUTH_OK = "auth-ok"
    #: Hub → satellite, once per run: the full `UnderstandingResult` (voxhub/result.py).
    INTENT_RESULT = "intent-result"
    #: Hub → satellite, last event of every run: {"error", "timings_ms", "satellite"}.
    RUN_END = "run-end"


class WyomingType(StrEnum):
    """wyoming's event types that voxhub answers, routes or sends."""

    DESCRIBE = "describe"
    INFO = "info"
    PING = "ping"
    PONG = "pong"
    ERROR = "error"
    AUDIO_START = "audio-start"
    AUDIO_CHUNK = "audio-chunk"
    AUDIO_STOP = "audio-stop"
    TRANSCRIBE = "transcribe"
    TRANSCRIPT = "transcript"
    SYNTHESIZE = "synthesize"
    SYNTHESIZE_START = "synthesize-start"
    SYNTHESIZE_CHUNK = "synthesize-chunk"
    SYNTHESIZE_STOP = "synthesize-stop"
    SYNTHESIZE_STOPPED = "synthesize-stopped"
    RECOGNIZE = "recognize"
    INTENT = "intent"
    NOT_RECOGNIZED = "not-recognized"
    HANDLED = "handled"
    NOT_HANDLED = "not-handled"
    DETECT = "detect"
    DETECTION = "detection"
    NOT_DETECTED = "not-detected"
    VOICE_STARTED = "voice-started"
    VOICE_STOPPED = "voice-stopped"
    RUN_PIPELINE = "run-pipeline"


#: The events of one audio stream: they go to the program that started the stream.
AUDIO_TYPES = frozenset({WyomingType.AUDIO_START, WyomingType.AUDIO_CHUNK,
                         WyomingType.AUDIO_STOP})
