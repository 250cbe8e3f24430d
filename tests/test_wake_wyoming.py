"""The hub as a Wyoming wake word service, through the real `wyoming` client, as Home Assistant
uses it: `detect` (optional names), `audio-start`, chunks of any size, and `detection` as soon as
the word is heard, or `not-detected` at `audio-stop`. Speech is made by espeak-ng at test time
(the voices that trigger okay_nabu are listed in tests/test_satellite_wake.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pymicro_wakeword
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.wake import Detect, Detection, NotDetected

from hub.wake.config import WakeConfig
from hub.wake.program import WakeProgram, WakeSession
from rehearsal.speech import espeak, silence
from tests.plugins.hub import ThreadedHub
from tests.waiting import wait_until
from voxhub.audio import resample
from voxhub.wake import BUILTIN
from voxhub.wake_word_config import BUILTIN_MODELS, WakeWordConfig

ANSWERS = {"detection", "not-detected", "error"}
LEAD_S = 0.5


@pytest.fixture(scope="module")
def wake_hub():
    """The wake program on an endpoint whose event budget never slows a client: 1-byte chunks
    of a second of audio are tens of thousands of events, which the default budget
    (`server.max_events_per_s`) reads at its rate like any flood; here the reassembly is
    under test."""
    from hub.endpoint import Limits

    hub = ThreadedHub([WakeProgram(WakeConfig())],
                      limits=Limits(max_events_per_s=1e6, event_burst=1_000_000))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    return {"okay nabu": espeak("okay nabu"), "alexa": espeak("alexa"),
            "command": espeak("turn on the kitchen lights"),
            "weather": espeak("what is the weather like today")}


def padded(speech: dict[str, np.ndarray], key: str) -> np.ndarray:
    return np.concatenate([silence(LEAD_S), speech[key], silence(1.0)])


def encode(audio: np.ndarray, rate: int, width: int, channels: int) -> bytes:
    """16 kHz float audio as interleaved little-endian PCM of any format."""
    samples = np.clip(resample(audio, 16000, rate), -1.0, 1.0)
    samples = np.repeat(samples, channels)
    if width == 1:
        return (samples * 127 + 128).astype(np.uint8).tobytes()
    if width == 2:
        return (samples * 32767).astype("<i2").tobytes()
    ints = (samples * (2 ** (8 * width - 1) - 1)).astype("<i4")
    if width == 4:
        return ints.tobytes()
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


async def stream(uri: str, audio: np.ndarray, *, names: list[str] | None = None,
                 chunk_bytes: int = 1024, rate: int = 16000, width: int = 2,
                 channels: int = 1, timeout: float = 60.0) -> Event:
    """Like Home Assistant's wake word entity: stream until an answer comes, then `audio-stop`
    if the audio ran out first."""
    pcm = encode(audio, rate, width, channels)
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Detect(names=names).event())
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())

        async def answer() -> Event:
            while True:
                event = await client.read_event()
                assert event is not None, "the hub closed the connection without answering"
                if event.type in ANSWERS:
                    return event

        answered = asyncio.create_task(answer())
        frame = width * channels
        for offset in range(0, len(pcm), chunk_bytes):
            if answered.done():
                break
            timestamp = (offset // frame) * 1000 // rate
            await client.write_event(AudioChunk(rate=rate, width=width, channels=channels,
                                                audio=pcm[offset:offset + chunk_bytes],
                                                timestamp=timestamp).event())
        if not answered.done():
            await client.write_event(AudioStop().event())
        return await asyncio.wait_for(answered, timeout)


def assert_detected(event: Event, name: str, speech_s: float) -> None:
    assert Detection.is_type(event.type), event
    detection = Detection.from_event(event)
    assert detection.name == name
    # Timestamp (ms of the stream): after the word began, within a second of its end.
    assert LEAD_S * 1000 < detection.timestamp < (LEAD_S + speech_s + 1.0) * 1000


async def test_info_lists_each_model_with_its_phrase_and_languages(wake_hub) -> None:
    async with AsyncClient.from_uri(wake_hub.uri) as client:
        await client.write_event(Describe().event())
        info = Info.from_event(await client.read_event())
    (wake,) = info.wake
    assert wake.installed and wake.name
    models_dir = Path(pymicro_wakeword.__file__).parent / "models"
    assert [m.name for m in wake.models] == list(BUILTIN_MODELS) == list(BUILTIN)
    for model in wake.models:
        spec = json.loads((models_dir / f"{model.name}.json").read_text())
        assert model.phrase == model.description == spec["wake_word"]
        assert model.languages == spec["trained_languages"] and model.installed


@pytest.mark.parametrize("chunk_bytes", [1, 1023, 8191])
async def test_okay_nabu_is_detected_by_name_in_chunks_of_any_size(wake_hub, speech,
                                                                   chunk_bytes) -> None:
    event = await stream(wake_hub.uri, padded(speech, "okay nabu"), names=["okay_nabu"],
                         chunk_bytes=chunk_bytes)
    assert_detected(event, "okay_nabu", len(speech["okay nabu"]) / 16000)


async def test_detection_comes_as_soon_as_the_word_is_heard_not_at_the_end(wake_hub,
                                                                          speech) -> None:
    """Ten seconds of silence follow the word; the answer must not wait for them."""
    audio = np.concatenate([padded(speech, "okay nabu"), silence(10.0)])
    pcm_s = len(audio) / 16000
    async with AsyncClient.from_uri(wake_hub.uri) as client:
        await client.write_event(Detect(names=None).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        pcm, sent_s = encode(audio, 16000, 2, 1), 0.0
        reader = asyncio.create_task(client.read_event())
        for offset in range(0, len(pcm), 320):  # 10 ms chunks in real time, as HA sends
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=pcm[offset:offset + 320]).event())
            sent_s += 0.01
            if reader.done():
                break
            await asyncio.sleep(0.01)
        event = await asyncio.wait_for(reader, 10)
    assert Detection.from_event(event).name == "okay_nabu"
    assert sent_s < LEAD_S + len(speech["okay nabu"]) / 16000 + 1.0 < pcm_s - 5


@pytest.mark.parametrize(("rate", "width", "channels"), [(44100, 3, 2), (22050, 4, 1),
                                                         (48000, 2, 2), (8000, 1, 1)])
async def test_any_sample_rate_width_and_channels_are_converted(wake_hub, speech, rate, width,
                                                                channels) -> None:
    event = await stream(wake_hub.uri, padded(speech, "okay nabu"), chunk_bytes=1023,
                         rate=rate, width=width, channels=channels)
    assert_detected(event, "okay_nabu", len(speech["okay nabu"]) / 16000)


@pytest.mark.parametrize("key", ["command", "weather"])
async def test_speech_without_the_wake_word_is_not_detected_at_audio_stop(wake_hub, speech,
                                                                          key) -> None:
    event = await stream(wake_hub.uri, padded(speech, key), chunk_bytes=8191)
    assert NotDetected.is_type(event.type), event


async def test_detect_without_names_listens_for_every_word(wake_hub, speech) -> None:
    event = await stream(wake_hub.uri, padded(speech, "alexa"))
    assert_detected(event, "alexa", len(speech["alexa"]) / 16000)


async def test_detect_with_names_listens_only_for_those(wake_hub, speech) -> None:
    event = await stream(wake_hub.uri, padded(speech, "okay nabu"), names=["alexa"])
    assert NotDetected.is_type(event.type), event


async def test_a_phrase_names_its_model_as_well(wake_hub, speech) -> None:
    event = await stream(wake_hub.uri, padded(speech, "okay nabu"), names=["Okay Nabu"])
    assert_detected(event, "okay_nabu", len(speech["okay nabu"]) / 16000)


async def test_an_unknown_model_name_is_a_clear_error(wake_hub, speech) -> None:
    event = await stream(wake_hub.uri, padded(speech, "okay nabu"),
                         names=["okay_nabu", "hey_computer"])
    assert Error.is_type(event.type), event
    error = Error.from_event(event)
    assert error.code == "unknown-wake-word"
    assert "'hey_computer'" in error.text and "okay_nabu" not in error.text.split(":")[0]
    assert all(name in error.text for name in BUILTIN_MODELS)


async def test_names_of_the_wrong_type_are_a_clear_error(wake_hub) -> None:
    async with AsyncClient.from_uri(wake_hub.uri) as client:
        await client.write_event(Event(type="detect", data={"names": "okay_nabu"}))
        event = await asyncio.wait_for(client.read_event(), 10)
    assert Error.is_type(event.type) and "'names'" in Error.from_event(event).text


async def test_several_connections_at_once_each_keep_their_own_detector(wake_hub,
                                                                        speech) -> None:
    """Interleaved streams: a detector shared between them would see neither word whole."""
    clips = ["okay nabu", "command", "alexa", "okay nabu"]
    events = await asyncio.gather(*(stream(wake_hub.uri, padded(speech, key), chunk_bytes=640)
                                    for key in clips))
    answers = [Detection.from_event(e).name if Detection.is_type(e.type) else e.type
               for e in events]
    assert answers == ["okay_nabu", "not-detected", "alexa", "okay_nabu"]


async def test_a_client_that_goes_away_mid_stream_frees_its_detector(wake_hub, speech) -> None:
    program: WakeProgram = wake_hub.endpoint.programs[0]
    pcm = encode(padded(speech, "command"), 16000, 2, 1)

    def live() -> int:
        async def read() -> int:
            return program.live_detectors
        return wake_hub.call(read())

    async with AsyncClient.from_uri(wake_hub.uri) as client:
        await client.write_event(Detect(names=None).event())
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                            audio=pcm[:16000]).event())
        await wait_until(lambda: live() == 1, what="the stream's detector is live")
    await wait_until(lambda: live() == 0, what="the detector is freed")
    assert not any(isinstance(session, WakeSession) and session.stream is not None
                   for conn in wake_hub.endpoint.connections
                   for session in conn.sessions.values())


async def test_a_threshold_per_word_and_a_model_file_are_honoured(speech, tmp_path) -> None:
    models_dir = Path(pymicro_wakeword.__file__).parent / "models"
    hub = ThreadedHub([WakeProgram(WakeConfig(words=[
        WakeWordConfig(str(models_dir / "okay_nabu.json"), threshold=0.999),
        WakeWordConfig("alexa", threshold=0.5)]))])
    try:
        strict = await stream(hub.uri, padded(speech, "okay nabu"))
        loose = await stream(hub.uri, padded(speech, "alexa"))
    finally:
        hub.close()
    assert NotDetected.is_type(strict.type), strict
    assert Detection.from_event(loose).name == "alexa"


def test_an_unknown_configured_model_stops_the_hub_with_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"wake\.words\[1\]\.model: .*neither a built-in"):
        ThreadedHub([WakeProgram(WakeConfig(words=[WakeWordConfig("alexa"),
                                                   WakeWordConfig("hey_computer")]))])


async def test_wake_and_speech_recognition_share_one_endpoint(understander, spoken,
                                                            speech) -> None:
    """Audio after `detect` goes to the wake program, audio after `transcribe` to the
    recognizer, on one endpoint and even one connection, as Home Assistant's pipelines use it."""
    from hub.asr.program import AsrProgram

    hub = ThreadedHub([AsrProgram(understander), WakeProgram(WakeConfig())])
    try:
        event = await stream(hub.uri, padded(speech, "okay nabu"), chunk_bytes=1023)
        assert Detection.from_event(event).name == "okay_nabu"
        command = np.concatenate([silence(0.3), spoken("turn on the kitchen lights"), silence(0.5)])
        pcm = encode(command, 16000, 2, 1)
        async with AsyncClient.from_uri(hub.uri) as client:
            for request in (Detect(names=["okay_nabu"]), Transcribe(language="en")):
                await client.write_event(request.event())
                await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
                size = 4096  # even: odd chunks to the recognizer are issue 11's other half
                for offset in range(0, len(pcm), size):
                    await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                        audio=pcm[offset:offset + size]).event())
                await client.write_event(AudioStop().event())
                answer = await asyncio.wait_for(client.read_event(), 60)
                if isinstance(request, Detect):
                    assert NotDetected.is_type(answer.type), answer
                else:
                    assert "kitchen" in Transcript.from_event(answer).text.lower()
    finally:
        hub.close()


async def test_the_hub_serves_wake_words_by_default_and_alone_when_configured_so(
        speech) -> None:
    from hub.composition import Hub
    from hub.config import HubConfig
    from voxhub.configfile import override

    assert "wake" in HubConfig().server.programs
    config = override(HubConfig(), "server.programs", ["wake"], "test")
    config = override(config, "mqtt.embedded", False, "test")
    hub = Hub(config)
    await hub.start("tcp://127.0.0.1:0")
    try:
        async with AsyncClient.from_uri(hub.endpoint.address) as client:
            await client.write_event(Describe().event())
            info = Info.from_event(await client.read_event())
        assert [len(info.tts), len(info.asr), len(info.wake)] == [0, 0, 1]
        event = await stream(hub.endpoint.address, padded(speech, "okay nabu"))
        assert Detection.from_event(event).name == "okay_nabu"
    finally:
        await hub.stop()
