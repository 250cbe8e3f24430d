"""voxhub's protocol module: each event goes over the wire and comes back the same, bad data is
refused naming the field, and the names and codes are the ones wyoming and the docs use."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, read_event, write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized, Recognize
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)
from wyoming.vad import VoiceStarted, VoiceStopped
from wyoming.wake import Detect, Detection, NotDetected

from voxhub.protocol import (
    EVENTS,
    Auth,
    AuthOk,
    ErrorCode,
    EventType,
    IntentResultEvent,
    RunEnd,
    RunError,
    SatelliteInfo,
    SatelliteRunPipeline,
    SndFormat,
    WyomingType,
    check_fields,
    hub_proof,
    run_error_of,
)
from voxhub.result import ActionOutcome, ActionStatus, IntentResult, UnderstandingResult

ROOT = Path(__file__).resolve().parent.parent
WYOMING_CLASSES = {
    WyomingType.DESCRIBE: Describe, WyomingType.INFO: Info, WyomingType.PING: Ping,
    WyomingType.PONG: Pong, WyomingType.ERROR: Error, WyomingType.AUDIO_START: AudioStart,
    WyomingType.AUDIO_CHUNK: AudioChunk, WyomingType.AUDIO_STOP: AudioStop,
    WyomingType.TRANSCRIBE: Transcribe, WyomingType.TRANSCRIPT: Transcript,
    WyomingType.SYNTHESIZE: Synthesize, WyomingType.SYNTHESIZE_START: SynthesizeStart,
    WyomingType.SYNTHESIZE_CHUNK: SynthesizeChunk, WyomingType.SYNTHESIZE_STOP: SynthesizeStop,
    WyomingType.SYNTHESIZE_STOPPED: SynthesizeStopped, WyomingType.RECOGNIZE: Recognize,
    WyomingType.INTENT: Intent, WyomingType.NOT_RECOGNIZED: NotRecognized,
    WyomingType.HANDLED: Handled, WyomingType.NOT_HANDLED: NotHandled,
    WyomingType.DETECT: Detect, WyomingType.DETECTION: Detection,
    WyomingType.NOT_DETECTED: NotDetected, WyomingType.VOICE_STARTED: VoiceStarted,
    WyomingType.VOICE_STOPPED: VoiceStopped, WyomingType.RUN_PIPELINE: RunPipeline,
}


def over_the_wire(event: Event) -> Event:
    """The event as the other side reads it: written and read by wyoming's own framing."""
    buffer = io.BytesIO()
    write_event(event, buffer)
    buffer.seek(0)
    read = read_event(buffer)
    assert read is not None
    return read


def a_result() -> UnderstandingResult:
    return UnderstandingResult(
        text="turn on the kitchen light", language="en",
        intent=IntentResult("HassTurnOn", {"name": "kitchen light"}),
        targets=["light.kitchen"], reply="Turned on the kitchen light.", confidence=0.93,
        timings_ms={"asr": 120.5}, action=ActionOutcome("mqtt", ActionStatus.PUBLISHED),
        conversation_id="c-1", continue_conversation=False)


def test_every_wyoming_type_named_here_is_the_one_wyoming_uses():
    assert set(WYOMING_CLASSES) == set(WyomingType)
    for name, cls in WYOMING_CLASSES.items():
        assert cls.is_type(name), name


def test_voxhub_types_are_not_wyoming_types():
    assert not {str(t) for t in EventType} & {str(t) for t in WyomingType}
    assert set(EVENTS) == set(EventType)
    for name, cls in EVENTS.items():
        assert cls.is_type(name) and not cls.is_type(f"{name}-x")


@pytest.mark.parametrize("event", [
    Auth("s3cret", "0123abcd"), AuthOk("f" * 64), AuthOk(None),
    IntentResultEvent(a_result()),
    IntentResultEvent(UnderstandingResult(text="what is the meaning of life", language="en",
                                          answered_by="openai", continue_conversation=True)),
    RunEnd("kitchen-pi", None, {"understand": 80.0}),
    RunEnd("kitchen-pi", RunError(ErrorCode.NO_SPEECH, "no speech heard"), {}),
    SatelliteRunPipeline(PipelineStage.ASR, PipelineStage.TTS, wake_word_name="okay_nabu",
                         satellite=SatelliteInfo("kitchen-pi", "Kitchen"),
                         snd_format=SndFormat(22050, 2, 1), conversation_id="c-1",
                         endpointing={"no_speech_s": 6.0}),
    SatelliteRunPipeline(PipelineStage.TTS, PipelineStage.TTS, announce_text="Dinner!",
                         satellite=SatelliteInfo("hall"), snd_format=SndFormat(),
                         language="en", voice="af_heart"),
], ids=lambda e: type(e).__name__)
def test_each_event_comes_back_from_the_wire_as_it_was_sent(event):
    read = over_the_wire(event.event())
    assert type(event).is_type(read.type)
    assert type(event).from_event(read) == event


def test_a_satellite_run_is_wyomings_run_pipeline_with_voxhubs_fields_added():
    run = SatelliteRunPipeline(PipelineStage.ASR, PipelineStage.TTS, wake_word_name="okay_nabu",
                               satellite=SatelliteInfo("kitchen-pi", "Kitchen"),
                               snd_format=SndFormat(16000, 2, 1))
    plain = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS,
                        wake_word_name="okay_nabu").event()
    event = run.event()
    assert event.type == plain.type
    assert {k: v for k, v in event.data.items() if k in plain.data} == plain.data
    assert event.data["satellite"] == {"name": "kitchen-pi", "area": "Kitchen"}
    assert event.data["snd_format"] == {"rate": 16000, "width": 2, "channels": 1}
    assert "conversation_id" not in event.data and "endpointing" not in event.data
    assert RunPipeline.from_event(over_the_wire(event)) == RunPipeline.from_event(plain)
    check_fields(event)  # what the satellite sends is what the hub's endpoint accepts


def test_a_stock_wyoming_run_pipeline_reads_with_defaults():
    plain = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
    plain.data["name"] = "wyoming-satellite"
    run = SatelliteRunPipeline.from_event(plain)
    assert run.satellite == SatelliteInfo("wyoming-satellite", None)
    assert run.snd_format == SndFormat()
    assert (run.conversation_id, run.endpointing, run.voice) == (None, {}, None)


def test_a_voice_given_as_an_object_is_read_by_its_name():
    event = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
    event.data["voice"] = {"name": "bf_emma"}
    assert SatelliteRunPipeline.from_event(event).voice == "bf_emma"


def _run(**data) -> Event:
    event = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
    event.data.update(data)
    return event


@pytest.mark.parametrize(("event", "message"), [
    (_run(satellite="kitchen"), "'satellite' must be an object"),
    (_run(snd_format={"rate": "fast"}), "snd_format.rate must be an integer"),
    (_run(snd_format={"rate": 100}), "snd_format rate 100 outside"),
    (_run(snd_format={"width": 3}), "snd_format width 3 not one of 1, 2, 4"),
    (_run(endpointing={"speed": 2}), "endpointing.speed cannot be set per run (allowed: "),
    (_run(endpointing=[1]), "'endpointing' must be an object"),
    (_run(conversation_id=7), "conversation_id must be a string"),
    (_run(language=["en"]), "'language' must be a string"),
    (Event(WyomingType.RUN_PIPELINE, {"start_stage": "asr", "end_stage": "sing"}), "sing"),
    (Event(WyomingType.RUN_PIPELINE, {"end_stage": "tts"}), "'start_stage' is required"),
    (Event(EventType.RUN_END, {}), "not a 'run-pipeline' event"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_bad_run_pipeline_is_refused_naming_the_field(event, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SatelliteRunPipeline.from_event(event)


@pytest.mark.parametrize(("cls", "event", "message"), [
    (RunEnd, Event(EventType.RUN_END, {"error": "it broke"}), "'error' must be an object"),
    (RunEnd, Event(EventType.RUN_END, {"error": {"text": "x"}}), "'error.code' is required"),
    (RunEnd, Event(EventType.RUN_END, {"timings_ms": {"asr": "slow"}}),
     "timings_ms.asr must be a number"),
    (IntentResultEvent, Event(EventType.INTENT_RESULT, {"intent": ["HassTurnOn"]}),
     "'intent' must be an object"),
    (IntentResultEvent, Event(EventType.INTENT_RESULT, {"intent": {"slots": {}}}),
     "malformed 'intent-result'"),
    (IntentResultEvent, Event(EventType.INTENT_RESULT, {"continue_conversation": "yes"}),
     "'continue_conversation' must be true or false"),
    (Auth, Event(EventType.AUTH, {"nonce": "n"}), "'token' is required"),
    (AuthOk, Event(EventType.AUTH_OK, {"proof": 12}), "'proof' must be a string"),
    (AuthOk, Event(EventType.AUTH, {}), "not a 'auth-ok' event"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_malformed_voxhub_event_is_refused_naming_the_field(cls, event, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cls.from_event(event)


def test_a_run_end_with_a_code_this_side_does_not_know_keeps_it():
    read = RunEnd.from_event(Event(EventType.RUN_END, {
        "error": {"code": "from-a-newer-hub", "text": "?"}, "satellite": "s"}))
    assert read.error == RunError("from-a-newer-hub", "?")
    known = RunEnd.from_event(RunEnd("s", RunError(ErrorCode.NO_AUDIO, "t")).event())
    assert known.error is not None and known.error.code is ErrorCode.NO_AUDIO


def test_the_hub_proof_depends_on_the_token_and_the_nonce():
    proof = hub_proof("token", "nonce-1")
    assert re.fullmatch("[0-9a-f]{64}", proof)
    assert proof == hub_proof("token", "nonce-1")
    assert proof != hub_proof("token", "nonce-2") != hub_proof("other", "nonce-1")


def test_every_documented_error_code_is_in_the_enum():
    docs = "\n".join(p.read_text(encoding="utf-8") for p in
                     [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    codes = set(re.findall(r'"code": "([a-z-]+)"', docs))
    codes |= set(re.findall(r"code `([a-z-]+)`", docs))
    limits = docs[docs.index("The hub's limits answer with `error` and a code"):]
    names = set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", limits[:limits.index("## ")]))
    codes |= names - {str(t) for t in EventType}  # the paragraph names `run-end` too
    assert codes >= {"unauthorized", "auth-required", "command-lost", "too-many-runs"}
    assert codes <= {code.value for code in ErrorCode}


@pytest.mark.parametrize(("error", "read"), [
    (None, None),
    ({"code": "no-speech", "text": "Nobody spoke"}, ("Nobody spoke", "no-speech")),
    ({"code": "from-a-newer-hub", "text": "?"}, ("?", "from-a-newer-hub")),
    ({"text": "no code"}, ("no code", None)),  # another hub's shape: still published
    ("bare text", ("bare text", None)),
])
def test_a_run_ends_error_is_read_whatever_its_shape(error, read):
    assert run_error_of(Event(EventType.RUN_END, {"error": error, "timings_ms": {}})) == read
