"""The hub–satellite protocol: every event type, field and error code voxhub puts on the wire.

voxhub speaks Wyoming, and adds a little of its own: the `auth` handshake, `run-pipeline`'s
`satellite`, `snd_format`, `conversation_id` and `endpointing` fields, the `intent-result` and
`run-end` of a satellite's run, and the error codes clients match on. They live here, imported by
the hub and the satellite alike, so that neither side writes an event type or a field as a
literal: `names.py` (event types), `codes.py` (error codes), `events.py` (one `Eventable`
dataclass per voxhub event, as wyoming writes its own), `fields.py` (the shapes of the data the
hub reads). Light on purpose: the satellite imports it, so nothing here imports more than
wyoming and voxhub/result.py.
"""

from voxhub.protocol.codes import ErrorCode
from voxhub.protocol.events import (
    EVENTS,
    Auth,
    AuthOk,
    IntentResultEvent,
    RunEnd,
    RunError,
    SatelliteInfo,
    SatelliteRunPipeline,
    SndFormat,
    TranslatingTranscribe,
    hub_proof,
    run_error_of,
)
from voxhub.protocol.fields import (
    AUDIO_BOUNDS,
    ENDPOINTING_FIELDS,
    FIELDS,
    check_fields,
    check_shape,
    json_number,
)
from voxhub.protocol.names import AUDIO_TYPES, EventType, WyomingType

__all__ = [
    "AUDIO_BOUNDS",
    "AUDIO_TYPES",
    "ENDPOINTING_FIELDS",
    "EVENTS",
    "FIELDS",
    "Auth",
    "AuthOk",
    "ErrorCode",
    "EventType",
    "IntentResultEvent",
    "RunEnd",
    "RunError",
    "SatelliteInfo",
    "SatelliteRunPipeline",
    "SndFormat",
    "TranslatingTranscribe",
    "WyomingType",
    "check_fields",
    "check_shape",
    "hub_proof",
    "json_number",
    "run_error_of",
]
