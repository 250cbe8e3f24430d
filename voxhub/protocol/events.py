"""voxhub's events, one small `Eventable` dataclass each (as wyoming's own are written).

Both sides build and read them here, so the JSON a satellite sends is the JSON the hub parses:
`event()` writes it, `from_event()` reads it back or raises ValueError naming the field that is
missing, of the wrong type, or unknown inside one of voxhub's objects. `run-pipeline` is
wyoming's, with voxhub's fields added to its data (wyoming's readers ignore them).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, fields
from typing import Any

from wyoming.asr import Transcribe
from wyoming.event import Event, Eventable
from wyoming.pipeline import PipelineStage, RunPipeline

from voxhub.protocol.codes import ErrorCode
from voxhub.protocol.fields import (
    AUDIO_BOUNDS,
    ENDPOINTING_FIELDS,
    FIELDS,
    REPLY_WIDTHS,
    check_shape,
    json_number,
)
from voxhub.protocol.names import EventType, WyomingType
from voxhub.result import UnderstandingResult

_PROOF_PREFIX = b"voxhub-hub-proof:"
_CODES = frozenset(code.value for code in ErrorCode)


def _data(event: Event, event_type: str) -> dict[str, Any]:
    if event.type != event_type:
        raise ValueError(f"not a '{event_type}' event: '{event.type}'")
    data = event.data or {}
    if not isinstance(data, dict):
        raise ValueError(f"'{event_type}' data must be an object")
    return data


def hub_proof(token: str, nonce: str) -> str:
    """What a hub knowing `token` answers to `nonce` in `auth-ok`: HMAC-SHA256(token,
    "voxhub-hub-proof:" + nonce), so that a satellite knows it reached its own hub."""
    return hmac.new(token.encode("utf-8"), _PROOF_PREFIX + nonce.encode("utf-8"),
                    hashlib.sha256).hexdigest()


@dataclass
class Auth(Eventable):
    """Satellite → hub: the token (never logged) and a fresh nonce for the hub's proof."""

    token: str
    nonce: str = ""

    @staticmethod
    def is_type(event_type: str) -> bool:
        return event_type == EventType.AUTH

    def event(self) -> Event:
        return Event(EventType.AUTH, {"token": self.token, "nonce": self.nonce})

    @staticmethod
    def from_event(event: Event) -> Auth:
        data = _data(event, EventType.AUTH)
        check_shape(data, {"token!": str, "nonce": str})
        return Auth(token=data["token"], nonce=data.get("nonce") or "")


@dataclass
class AuthOk(Eventable):
    """Hub → satellite: authenticated; `proof` is None from a hub without a token."""

    proof: str | None = None

    @staticmethod
    def is_type(event_type: str) -> bool:
        return event_type == EventType.AUTH_OK

    def event(self) -> Event:
        return Event(EventType.AUTH_OK, {} if self.proof is None else {"proof": self.proof})

    @staticmethod
    def from_event(event: Event) -> AuthOk:
        data = _data(event, EventType.AUTH_OK)
        check_shape(data, {"proof": str})
        return AuthOk(proof=data.get("proof"))


@dataclass(frozen=True)
class SatelliteInfo:
    """`run-pipeline`'s `satellite`: who runs it, and where (the area commands apply to)."""

    name: str = "satellite"
    area: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "area": self.area}


@dataclass(frozen=True)
class SndFormat:
    """`run-pipeline`'s `snd_format`: the audio the satellite's speaker wants the reply in.

    The hub's one description of a PCM stream (samples per second, bytes per sample,
    channels): every reply stream is encoded to one, the TTS program's included."""

    rate: int = 24000
    width: int = 2
    channels: int = 1

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels

    def to_dict(self) -> dict[str, int]:
        return {"rate": self.rate, "width": self.width, "channels": self.channels}

    @classmethod
    def from_data(cls, data: Any, default: SndFormat) -> SndFormat:
        """Parse and bound-check; a missing key takes `default`'s value."""
        if data is None:
            return default
        if not isinstance(data, dict):
            raise ValueError("snd_format must be an object with rate, width and channels")
        fmt = cls(*(json_number(f"snd_format.{key}", data.get(key, getattr(default, key)), int)
                    for key in ("rate", "width", "channels")))
        for name in ("rate", "channels"):  # the bounds of the audio the hub takes in
            low, high = AUDIO_BOUNDS[name]
            if not low <= getattr(fmt, name) <= high:
                raise ValueError(f"snd_format {name} {getattr(fmt, name)} outside {low}..{high}")
        if fmt.width not in REPLY_WIDTHS:
            raise ValueError(f"snd_format width {fmt.width} not one of "
                             f"{', '.join(map(str, REPLY_WIDTHS))}")
        return fmt


@dataclass
class SatelliteRunPipeline(Eventable):
    """wyoming's `run-pipeline` as voxhub's satellites send it, with voxhub's fields.

    `conversation_id` continues a conversation (a follow-up); `endpointing` overrides some of
    the hub's endpointing settings for this run (`ENDPOINTING_FIELDS`; the hub checks the
    values against its own ranges)."""

    start_stage: PipelineStage
    end_stage: PipelineStage
    wake_word_name: str | None = None
    announce_text: str | None = None
    satellite: SatelliteInfo | None = None
    snd_format: SndFormat | None = None
    language: str | None = None
    voice: str | None = None
    conversation_id: str | None = None
    endpointing: dict[str, float | bool] = field(default_factory=dict)

    @staticmethod
    def is_type(event_type: str) -> bool:
        return RunPipeline.is_type(event_type)

    def event(self) -> Event:
        event = RunPipeline(start_stage=self.start_stage, end_stage=self.end_stage,
                            wake_word_name=self.wake_word_name,
                            announce_text=self.announce_text).event()
        data = event.data
        if self.satellite is not None:
            data["satellite"] = self.satellite.to_dict()
        if self.snd_format is not None:
            data["snd_format"] = self.snd_format.to_dict()
        for key in ("language", "voice", "conversation_id"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.endpointing:
            data["endpointing"] = dict(self.endpointing)
        return event

    @staticmethod
    def from_event(event: Event) -> SatelliteRunPipeline:
        data = _data(event, WyomingType.RUN_PIPELINE)
        check_shape(data, {"start_stage!": str, "end_stage!": str})
        run = RunPipeline.from_event(event)  # the stages: ValueError for an unknown one
        satellite = data.get("satellite") or {}
        if not isinstance(satellite, dict):
            raise ValueError("'satellite' must be an object with name and area")
        area = satellite.get("area")
        endpointing = data.get("endpointing") or {}
        if not isinstance(endpointing, dict):
            raise ValueError("'endpointing' must be an object")
        for key in endpointing:
            if key not in ENDPOINTING_FIELDS:
                raise ValueError(f"endpointing.{key} cannot be set per run "
                                 f"(allowed: {', '.join(ENDPOINTING_FIELDS)})")
        snd_format = SndFormat.from_data(data.get("snd_format"), SndFormat())
        check_shape(data, FIELDS[WyomingType.RUN_PIPELINE])  # the other fields
        voice = data.get("voice")
        conversation_id = data.get("conversation_id")
        if conversation_id is not None and not isinstance(conversation_id, str):
            raise ValueError("conversation_id must be a string")
        return SatelliteRunPipeline(
            start_stage=run.start_stage, end_stage=run.end_stage,
            wake_word_name=run.wake_word_name, announce_text=run.announce_text,
            # wyoming-satellite names itself in `name`
            satellite=SatelliteInfo(str(satellite.get("name") or data.get("name") or
                                        "satellite"), str(area) if area else None),
            snd_format=snd_format,
            language=str(data["language"]) if data.get("language") else None,
            voice=voice.get("name") if isinstance(voice, dict) else voice,
            conversation_id=conversation_id or None,
            endpointing=dict(endpointing))


@dataclass
class TranslatingTranscribe(Transcribe):
    """wyoming's `transcribe` with voxhub's `translate`: the language (a tag) to translate the
    speech into, in the recognizer's own pass (`voxhub understand --translate`)."""

    translate: str | None = None

    def event(self) -> Event:
        event = super().event()
        if self.translate is not None:
            event.data["translate"] = self.translate
        return event

    @staticmethod
    def from_event(event: Event) -> TranslatingTranscribe:
        data = _data(event, WyomingType.TRANSCRIBE)
        check_shape(data, FIELDS[WyomingType.TRANSCRIBE])
        base = Transcribe.from_event(event)
        return TranslatingTranscribe(**{f.name: getattr(base, f.name) for f in fields(base)},
                                     translate=data.get("translate") or None)


@dataclass
class IntentResultEvent(Eventable):
    """Hub → satellite: what the command was understood as, what was done and said; the data
    is `UnderstandingResult.to_dict()` (the same JSON as MQTT's `intent` and `--json`)."""

    result: UnderstandingResult

    @staticmethod
    def is_type(event_type: str) -> bool:
        return event_type == EventType.INTENT_RESULT

    def event(self) -> Event:
        return Event(EventType.INTENT_RESULT, self.result.to_dict())

    @staticmethod
    def from_event(event: Event) -> IntentResultEvent:
        data = _data(event, EventType.INTENT_RESULT)
        check_shape(data, {"text": str, "language": str, "intent": dict, "targets": list,
                           "reply": str, "timings_ms": dict, "action": dict,
                           "answered_by": str, "conversation_id": str,
                           "continue_conversation": bool})
        try:
            return IntentResultEvent(UnderstandingResult.from_dict(data))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed '{EventType.INTENT_RESULT}': {err!r}") from err


@dataclass(frozen=True)
class RunError:
    """Why a run failed (`run-end`'s `error`; the hub also sends it as an `error` event)."""

    code: ErrorCode | str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "text": self.text}


@dataclass
class RunEnd(Eventable):
    """Hub → satellite: the last event of a run, with its error (None: it went well) and
    the time each stage took."""

    satellite: str
    error: RunError | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def is_type(event_type: str) -> bool:
        return event_type == EventType.RUN_END

    def event(self) -> Event:
        return Event(EventType.RUN_END, {
            "error": None if self.error is None else self.error.to_dict(),
            "timings_ms": self.timings_ms, "satellite": self.satellite})

    @staticmethod
    def from_event(event: Event) -> RunEnd:
        data = _data(event, EventType.RUN_END)
        check_shape(data, {"error": dict, "timings_ms": dict, "satellite": str})
        error = data.get("error")
        run_error = None
        if error is not None:
            check_shape(error, {"code!": str, "text!": str}, "error.")
            code = error["code"]
            # a newer hub's code is kept as its string
            run_error = RunError(ErrorCode(code) if code in _CODES else code, error["text"])
        timings = data.get("timings_ms") or {}
        return RunEnd(satellite=data.get("satellite") or "",
                      error=run_error,
                      timings_ms={str(k): json_number(f"timings_ms.{k}", v, float)
                                  for k, v in timings.items()})


def run_error_of(event: Event) -> tuple[str, str | None] | None:
    """(text, code) of any hub's `run-end` error, None for a run that went well.

    Lenient where `RunEnd.from_event` is strict: a satellite must still tell its user why a
    run failed when the hub is another version or another implementation (an error without a
    code, a bare string), so what cannot be read as voxhub's shape is kept as text."""
    try:
        error = RunEnd.from_event(event).error
    except ValueError:
        raw = (event.data or {}).get("error")
        if isinstance(raw, dict):
            code = raw.get("code")
            return str(raw.get("text", raw)), None if code is None else str(code)
        return (str(raw), None) if raw else None
    return None if error is None else (error.text, str(error.code))


#: voxhub's own events by type.
EVENTS: dict[str, type[Eventable]] = {
    EventType.AUTH: Auth, EventType.AUTH_OK: AuthOk, EventType.INTENT_RESULT: IntentResultEvent,
    EventType.RUN_END: RunEnd,
}
__all__ = [
    "EVENTS", "Auth", "AuthOk", "IntentResultEvent", "RunEnd", "RunError", "SatelliteInfo",
    "SatelliteRunPipeline", "SndFormat", "TranslatingTranscribe", "hub_proof",
           "run_error_of"]
