"""The TTS program over Wyoming, through the real `wyoming` client, as Home Assistant uses it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from hub.tts.program import TtsServerProgram
from tests.plugins.hub import ThreadedHub, rms, transcribe


@pytest.fixture(scope="module")
def tts_hub(synthesizer):
    hub = ThreadedHub([TtsServerProgram(synthesizer, chunk_samples=1200)],
                      max_event_bytes=64 * 1024)
    yield hub
    hub.close()


async def _read_audio(client: AsyncClient, until: str = "audio-stop",
                      timeout: float = 60) -> tuple[list[Event], bytes]:
    events, pcm = [], bytearray()
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        assert event is not None, "server closed the connection"
        events.append(event)
        if AudioChunk.is_type(event.type):
            pcm += AudioChunk.from_event(event).audio
        if event.type == until or Error.is_type(event.type):
            return events, bytes(pcm)


async def _describe(uri: str) -> Info:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Describe().event())
        return Info.from_event(await client.read_event())


async def test_describe_lists_the_default_voices_language_with_its_voices_first(
        tts_hub, synthesizer) -> None:
    (tts,) = (await _describe(tts_hub.uri)).tts
    assert tts.supports_synthesize_streaming and tts.name == "voxhub Kokoro"
    assert tts.voices[0].name == synthesizer.config.voice == "af_heart"
    american = [v.name for v in synthesizer.voices.infos() if v.language == "en_US"]
    assert [v.name for v in tts.voices] == ["af_heart"] + [n for n in american if n != "af_heart"]
    # Home Assistant gathers the languages in a set and takes any one as its default: every
    # one advertised is a spelling of the default voice's language, so its default is ours.
    languages = {tag for v in tts.voices for tag in v.languages}
    assert languages == {"en_US", "en-US", "en-us", "en"}
    heart = tts.voices[0]
    assert heart.description and heart.attribution.name.startswith("hexgrad")


async def test_voices_whose_g2p_cannot_be_imported_are_never_offered(
        tts_hub, synthesizer, monkeypatch) -> None:
    monkeypatch.setattr(synthesizer.config, "offered_languages", ["en", "fr", "ja", "zh"])
    (tts,) = (await _describe(tts_hub.uri)).tts
    offered = {v.name for v in tts.voices}
    hidden = {v.name for v, _ in synthesizer.hidden_voices()}
    assert any(v.name.startswith("bf_") for v in tts.voices)  # 'en' offers British English
    assert any(v.name.startswith("ff_") for v in tts.voices)
    assert not offered & hidden
    for voice, reason in synthesizer.hidden_voices():
        assert voice.name[0] in "jz" and "cannot be imported" in reason
        with pytest.raises(ImportError):  # hidden because its G2P really is missing
            __import__(f"misaki.{voice.g2p_language}")


@pytest.mark.parametrize("language", ["en", "en-US", "en_US", "en-us", "EN_us"])
async def test_every_spelling_of_the_default_language_speaks_with_the_default_voice(
        tts_hub, language) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="The door is locked.",
                                            voice=SynthesizeVoice(name="af_heart")).event())
        _, by_name = await _read_audio(client)
        await client.write_event(Synthesize(text="The door is locked.",
                                            voice=SynthesizeVoice(language=language)).event())
        _, by_language = await _read_audio(client)
    assert rms(by_language) > 0.01 and by_language == by_name


@pytest.mark.parametrize(("language", "prefix"), [("en-GB", "b"), ("en_gb", "b"), ("fr", "f"),
                                                  ("pt-BR", "p")])
async def test_another_language_is_spoken_by_one_of_its_voices(tts_hub, synthesizer, language,
                                                               prefix) -> None:
    text = "Bonjour, hello."
    candidates = {v.name: synthesizer.synthesize(text, voice=v.name)
                  for v in synthesizer.voice_infos() if v.name.startswith(prefix)}
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text=text,
                                            voice=SynthesizeVoice(language=language)).event())
        _, pcm = await _read_audio(client)
    assert pcm in candidates.values()


@pytest.mark.parametrize(("language", "code"), [("ja", "language-unavailable"),
                                                ("xx-YY", "language-unavailable"),
                                                ("not a language", "bad-request")])
async def test_a_language_no_voice_here_speaks_fails_at_once_and_ends_the_connection(
        tts_hub, language, code) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="Hi", voice=SynthesizeVoice(
            language=language)).event())
        error = Error.from_event(await asyncio.wait_for(client.read_event(), 10))
        assert error.code == code
        assert await asyncio.wait_for(client.read_event(), 10) is None


async def test_synthesize_answers_with_one_24khz_audio_stream(tts_hub, whisper_tiny) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="Turned on the kitchen lights.").event())
        events, pcm = await _read_audio(client)
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (24000, 2, 1)
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    assert all(len(c.audio) <= 1200 * 2 for c in chunks) and len(chunks) > 5
    assert AudioStop.is_type(events[-1].type)
    assert transcribe(whisper_tiny, pcm, 24000) == "turned on the kitchen lights"


def _assert_stamped(events: list[Event]) -> None:
    """Each chunk carries its place in the stream (ms), audio-stop the stream's length."""
    sent = 0
    for event in events:
        if AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            assert chunk.timestamp == sent * 1000 // chunk.rate
            sent += len(chunk.audio) // (chunk.width * chunk.channels)
    (stop,) = [AudioStop.from_event(e) for e in events if AudioStop.is_type(e.type)]
    assert sent > 0 and stop.timestamp == sent * 1000 // 24000


async def test_audio_is_stamped_with_its_place_in_the_stream_as_a_satellites_reply_is(
        tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="The porch light is on.").event())
        events, _ = await _read_audio(client)
    _assert_stamped(events)
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(SynthesizeStart().event())
        for piece in ["The porch ", "light is on. ", "Good night."]:
            await client.write_event(SynthesizeChunk(text=piece).event())
        await client.write_event(SynthesizeStop().event())
        events, _ = await _read_audio(client, until="synthesize-stopped")
    _assert_stamped(events)  # one stream across the pieces: stamps go on counting


async def test_streamed_text_is_answered_sentence_by_sentence(tts_hub, whisper_tiny) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="am_michael")).event())
        for piece in ["The garage ", "door is closed. ", "Good ", "night."]:
            await client.write_event(SynthesizeChunk(text=piece).event())
        # Home Assistant also sends the whole text for servers without streaming: ignored.
        await client.write_event(Synthesize(text="The garage door is closed. Good night.").event())
        await client.write_event(SynthesizeStop().event())
        events, pcm = await _read_audio(client, until="synthesize-stopped")
    types = [e.type for e in events]
    assert types[0] == "audio-start" and types.count("audio-start") == 1
    assert types.count("audio-stop") == 1 and types[-2:] == ["audio-stop", "synthesize-stopped"]
    assert SynthesizeStopped.is_type(events[-1].type)
    heard = transcribe(whisper_tiny, pcm, 24000)
    assert "garage door is closed" in heard and "night" in heard


async def test_several_clients_are_served_at_once(tts_hub) -> None:
    async def one(text: str) -> bytes:
        async with AsyncClient.from_uri(tts_hub.uri) as client:
            await client.write_event(Synthesize(text=text).event())
            return (await _read_audio(client))[1]

    results = await asyncio.gather(*(one(f"Timer number {i} is done.") for i in range(3)))
    assert all(rms(pcm) > 0.01 for pcm in results)


async def test_describe_is_answered_while_synthesizing(tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(
            text="This is a rather long announcement about the state of every room. " * 4
        ).event())
        await client.write_event(Describe().event())
        types = []
        while not types or types[-1] != "audio-stop":
            types.append((await asyncio.wait_for(client.read_event(), 60)).type)
    assert types.index("info") < types.index("audio-stop")


async def test_a_client_that_disconnects_mid_stream_cancels_its_work(tts_hub) -> None:
    client = AsyncClient.from_uri(tts_hub.uri)
    await client.connect()
    await client.write_event(Synthesize(text="A very long story about the house. " * 30).event())
    assert (await client.read_event()).type == "audio-start"
    await client.disconnect()
    deadline = time.monotonic() + 10
    while tts_hub.endpoint.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not tts_hub.endpoint.connections
    async with AsyncClient.from_uri(tts_hub.uri) as other:  # still serving
        await other.write_event(Synthesize(text="Still here.").event())
        assert rms((await _read_audio(other))[1]) > 0.01


async def ha_tts_audio(uri: str, voice: str | None, text: str = "Hi") -> bytes | None:
    """What Home Assistant's Wyoming TTS (2025.4) does: read until audio-stop, ignoring every
    other event; None when the connection ends first (it then reports "No TTS")."""
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice)
                                            if voice else None).event())
        pcm = bytearray()
        while True:
            event = await client.read_event()
            if event is None:
                return None
            if AudioStop.is_type(event.type):
                return bytes(pcm)
            if AudioChunk.is_type(event.type):
                pcm += AudioChunk.from_event(event).audio


async def test_unknown_voice_gets_an_error_naming_close_voices_then_the_connection_ends(
        tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        bad_voice = SynthesizeVoice(name="af_hart")
        await client.write_event(Synthesize(text="Hi", voice=bad_voice).event())
        error = Error.from_event(await asyncio.wait_for(client.read_event(), 10))
        assert "af_heart" in error.text and error.code == "unknown-voice"
        assert await asyncio.wait_for(client.read_event(), 10) is None
    async with AsyncClient.from_uri(tts_hub.uri) as client:  # the hub goes on serving
        await client.write_event(Synthesize(text="Hi there.").event())
        assert rms((await _read_audio(client))[1]) > 0.01


async def test_home_assistant_asking_for_an_unknown_voice_stops_waiting_at_once(
        tts_hub) -> None:
    started = time.monotonic()
    assert await asyncio.wait_for(ha_tts_audio(tts_hub.uri, "no_such_voice"), 10) is None
    assert time.monotonic() - started < 5
    pcm = await asyncio.wait_for(ha_tts_audio(tts_hub.uri, "am_michael"), 60)
    assert pcm is not None and rms(pcm) > 0.01  # a voice other than the default


async def test_a_failure_during_synthesis_ends_the_audio_stream_with_an_error(
        tts_hub, synthesizer, monkeypatch) -> None:
    def broken(segment, request):
        raise RuntimeError("the model went away")

    monkeypatch.setattr(synthesizer, "_render", broken)
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="A sentence never spoken before.").event())
        events, _ = await _read_audio(client, until="audio-stop", timeout=10)
        if events[-1].type == "error":
            more, _ = await _read_audio(client, until="audio-stop", timeout=10)
            events += more
        assert [e.type for e in events] == ["audio-start", "error", "audio-stop"]
        assert Error.from_event(events[1]).code == "internal"

        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="Another one never spoken. ").event())
        await client.write_event(SynthesizeStop().event())
        types = []
        while not types or types[-1] != "synthesize-stopped":
            types.append((await asyncio.wait_for(client.read_event(), 10)).type)
    assert types == ["audio-start", "error", "audio-stop", "synthesize-stopped"]


async def test_empty_text_gives_an_empty_audio_stream(tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="   ").event())
        events, pcm = await _read_audio(client)
    assert [e.type for e in events] == ["audio-start", "audio-stop"] and pcm == b""


async def test_text_over_the_limit_is_refused(tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(text="word " * 2001).event())
        error = Error.from_event(await client.read_event())
    assert error.code == "text-too-long" and "10000" in error.text


async def test_ssml_is_never_read_aloud_and_breaks_are_silence(tts_hub, whisper_tiny) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Synthesize(
            text='<speak>Lights on.<break time="1500ms"/>Lights off.</speak>',
            text_format="ssml").event())
        _, pcm = await _read_audio(client)
    heard = transcribe(whisper_tiny, pcm, 24000)
    assert "speak" not in heard and "break" not in heard and "lights" in heard
    samples = [abs(int.from_bytes(pcm[i:i + 2], "little", signed=True))
               for i in range(0, len(pcm), 2)]
    longest, run = 0, 0
    for s in samples:
        run = run + 1 if s < 100 else 0
        longest = max(longest, run)
    assert longest / 24000 >= 1.4


@pytest.mark.parametrize("garbage", [
    b"this is not json\n",
    b'{"type": "synthesize", "data_length": 99999999}\n',
    b'\xff\xfe{"type": "synthesize"}\n',
    b'["a", "list"]\n',
    b'{"type": "synthesize", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",  # too deep
])
async def test_malformed_events_end_only_that_connection(tts_hub, garbage: bytes) -> None:
    host, port = tts_hub.uri.removeprefix("tcp://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(garbage)
    await writer.drain()
    rest = await asyncio.wait_for(reader.read(), 10)  # the server closes the connection
    header = json.loads(rest.split(b"\n", 1)[0])
    assert header["type"] == "error"
    writer.close()
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Describe().event())
        assert (await client.read_event()).type == "info"


async def test_event_data_of_the_wrong_shape_keeps_the_connection(tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Event(type="synthesize", data={"voice": "af_heart"}))
        assert (await client.read_event()).type == "error"
        await client.write_event(Describe().event())
        assert (await client.read_event()).type == "info"


@pytest.mark.parametrize(("data", "message"), [
    ({"text": 5}, "'text' must be a string"),
    ({"text": None}, "'text' is required"),
    ({"text": "Hi", "voice": "af_heart"}, "'voice' must be an object"),
    ({"text": "Hi", "voice": {"name": 5}}, "'voice.name' must be a string"),
])
async def test_a_field_of_the_wrong_type_is_named_before_any_audio(tts_hub, data,
                                                                  message) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(Event(type="synthesize", data=data))
        error = Error.from_event(await asyncio.wait_for(client.read_event(), 10))
        assert error.code == "bad-event" and message in error.text
        await client.write_event(Describe().event())
        assert (await asyncio.wait_for(client.read_event(), 10)).type == "info"


async def test_a_second_synthesize_start_ends_the_open_stream_whole(tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(SynthesizeStart().event())
        await client.write_event(SynthesizeChunk(text="Lights on").event())
        await client.write_event(SynthesizeStart().event())  # no synthesize-stop before it
        await client.write_event(SynthesizeChunk(text="Lights off.").event())
        await client.write_event(SynthesizeStop().event())
        first, first_pcm = await _read_audio(client, until="synthesize-stopped")
        error = Error.from_event(await asyncio.wait_for(client.read_event(), 10))
        second, second_pcm = await _read_audio(client, until="synthesize-stopped")
    for events in (first, second):
        types = [e.type for e in events]
        assert types[0] == "audio-start" and types[-2:] == ["audio-stop", "synthesize-stopped"]
        assert types.count("audio-start") == 1
    assert "stream was open" in error.text
    assert rms(first_pcm) > 0.01 and rms(second_pcm) > 0.01  # neither text was lost


async def test_a_streamed_text_that_cannot_be_spoken_still_gets_one_whole_stream(
        tts_hub) -> None:
    async with AsyncClient.from_uri(tts_hub.uri) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="af_hart")).event())
        await client.write_event(SynthesizeChunk(text="One. Two. ").event())
        await client.write_event(SynthesizeStop().event())
        events = []
        while not events or events[-1].type != "synthesize-stopped":
            events.append(await asyncio.wait_for(client.read_event(), 10))
    types = [e.type for e in events]
    assert "error" in types and Error.from_event(events[0]).code == "unknown-voice"
    assert [t for t in types if t != "error"] == ["audio-start", "audio-stop",
                                                  "synthesize-stopped"]
