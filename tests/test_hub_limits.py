"""What one client can hold on the hub: connections, runs, queued work, audio, memory."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import struct

import psutil
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncClient
from wyoming.event import Event, async_read_event
from wyoming.info import Describe
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.tts import Synthesize

from hub.endpoint import Limits
from hub.pipeline.config import PipelineConfig
from hub.pipeline.program import PipelineProgram
from hub.tts.program import TtsServerProgram
from tests.plugins.hub import ThreadedHub


async def _read_until(client: AsyncClient, wanted: str, timeout: float = 20.0) -> list[Event]:
    seen: list[Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await client.read_event()
            if event is None:
                return seen
            seen.append(event)
            if event.type == wanted:
                return seen


def _run(stage: PipelineStage = PipelineStage.ASR) -> Event:
    return RunPipeline(start_stage=stage, end_stage=PipelineStage.TTS).event()


def _raw(header: str) -> bytes:
    return header.encode("utf-8", "surrogatepass") + b"\n"


async def test_a_client_beyond_max_connections_is_told_why_and_closed() -> None:
    hub = ThreadedHub([], limits=Limits(max_connections=2))
    try:
        async with AsyncClient.from_uri(hub.uri) as first, \
                AsyncClient.from_uri(hub.uri) as second:
            for client in (first, second):
                await client.write_event(Describe().event())
                assert (await _read_until(client, "info"))[-1].type == "info"
            async with AsyncClient.from_uri(hub.uri) as third:
                events = await _read_until(third, "never")
                assert [e.type for e in events] == ["error"]
                assert events[0].data["code"] == "too-many-connections"
        # The two that were served still are, and a place is free again once one left.
        async with AsyncClient.from_uri(hub.uri) as again:
            await again.write_event(Describe().event())
            assert (await _read_until(again, "info"))[-1].type == "info"
    finally:
        hub.close()


async def test_a_client_queueing_more_requests_than_allowed_is_told_and_closed(
        synthesizer) -> None:
    hub = ThreadedHub([TtsServerProgram(synthesizer)], limits=Limits(max_queued_requests=4))
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            for index in range(30):
                await client.write_event(Synthesize(text=f"Request number {index}.").event())
            events = await _read_until(client, "never", 60)
            errors = [e for e in events if e.type == "error"]
            assert errors and errors[-1].data["code"] == "too-many-requests"
        async with AsyncClient.from_uri(hub.uri) as other:  # the hub serves the next client
            await other.write_event(Synthesize(text="Hello.").event())
            assert (await _read_until(other, "audio-stop", 60))[-1].type == "audio-stop"
    finally:
        hub.close()


async def test_a_run_beyond_pipeline_max_runs_is_refused_with_a_code(pipeline_understander,
                                                                     synthesizer) -> None:
    config = PipelineConfig(max_runs=2)
    hub = ThreadedHub([PipelineProgram(config, pipeline_understander, synthesizer)])
    try:
        clients = [AsyncClient.from_uri(hub.uri) for _ in range(3)]
        for client in clients:
            await client.connect()
        for client in clients[:2]:
            await client.write_event(_run())
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        await asyncio.sleep(0.3)
        await clients[2].write_event(_run())
        events = await _read_until(clients[2], "never")
        assert [e.type for e in events] == ["error"]
        assert events[0].data["code"] == "too-many-runs"
        for client in clients:
            await client.disconnect()
    finally:
        hub.close()


async def test_a_run_that_receives_no_audio_ends_with_an_error(pipeline_understander,
                                                               synthesizer) -> None:
    config = PipelineConfig(audio_timeout_s=0.5)
    program = PipelineProgram(config, pipeline_understander, synthesizer)
    hub = ThreadedHub([program])
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            await client.write_event(_run())
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            events = await _read_until(client, "run-end", 5)
            errors = [e.data["code"] for e in events if e.type == "error"]
            assert errors == ["no-audio"]
            assert events[-1].data["error"]["code"] == "no-audio"
        assert hub.call(_idle(program)) == 0
    finally:
        hub.close()


async def _idle(program: PipelineProgram) -> int:
    await asyncio.sleep(0.2)
    return program.active_runs


async def test_a_run_whose_audio_is_all_in_a_bad_format_gets_one_error(pipeline_understander,
                                                                       synthesizer) -> None:
    hub = ThreadedHub([PipelineProgram(PipelineConfig(audio_timeout_s=1.0),
                                       pipeline_understander, synthesizer)])
    try:
        async with AsyncClient.from_uri(hub.uri) as client:
            await client.write_event(_run())
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            for _ in range(20):  # 1 Hz audio: refused by its format
                await client.write_event(AudioChunk(rate=1, width=2, channels=1,
                                                    audio=bytes(640)).event())
            events = await _read_until(client, "run-end", 10)
            bad = [e for e in events if e.type == "error" and e.data["code"] == "bad-event"]
            assert len(bad) == 1, [e.data for e in events if e.type == "error"]
    finally:
        hub.close()


async def test_a_lone_surrogate_in_text_fails_before_any_audio(synthesizer) -> None:
    hub = ThreadedHub([TtsServerProgram(synthesizer)])
    host, port = hub.uri.removeprefix("tcp://").split(":")
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(_raw('{"type": "synthesize", "data": {"text": "Hello \\ud800 there."}}'))
        writer.write(_raw('{"type": "ping", "data": {"text": "after"}}'))
        await writer.drain()
        types = []
        async with asyncio.timeout(20):
            while "pong" not in types:
                types.append((await async_read_event(reader)).type)
        assert types == ["error", "pong"]
        writer.close()
    finally:
        hub.close()


async def test_clients_reset_mid_run_leave_no_task_and_no_traceback(
        pipeline_understander, synthesizer, caplog) -> None:
    program = PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer)
    hub = ThreadedHub([TtsServerProgram(synthesizer), program])
    caplog.set_level(logging.DEBUG)
    host, port = hub.uri.removeprefix("tcp://").split(":")
    try:
        before = hub.call(_tasks())
        for index in range(40):
            sock = socket.create_connection((host, int(port)))
            if index % 2:
                sock.sendall(_raw(json.dumps({"type": "synthesize",
                                              "data": {"text": "A long reply. " * 20}})))
            else:
                sock.sendall(_raw(json.dumps(_run().to_dict())))
                sock.sendall(_raw(json.dumps({"type": "audio-start", "data": {
                    "rate": 16000, "width": 2, "channels": 1}})))
            sock.sendall(b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, '
                         b'"channels": 1}, "payload_length": 64000}\n' + bytes(1000))
            await asyncio.sleep(0.05)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # reset mid-write
        await asyncio.sleep(1.0)
        assert hub.call(_tasks()) <= before
        assert not hub.endpoint.connections and program.active_runs == 0
        text = caplog.text
        for bad in ("Traceback", "was destroyed but it is pending", "never retrieved"):
            assert bad not in text
    finally:
        hub.close()


async def _tasks() -> int:
    await asyncio.sleep(0.5)
    return len(asyncio.all_tasks())


def _abuse_kinds(index: int) -> list[bytes]:
    """The attacks of issue 14: runs without audio, large queued events, floods, resets."""
    kind = index % 4
    if kind == 0:
        return [_raw(json.dumps(_run().to_dict()))]
    if kind == 1:
        payload = bytes(1024 * 1024)
        return [_raw(json.dumps({"type": "synthesize", "data": {"text": "Big."},
                                 "payload_length": len(payload)})) + payload] * 8
    if kind == 2:
        chunk = bytes(64000)
        header = _raw(json.dumps({"type": "audio-chunk", "data": {
            "rate": 16000, "width": 2, "channels": 1}, "payload_length": len(chunk)}))
        return [_raw(json.dumps(_run().to_dict()))] + [header + chunk] * 10
    return [b'{"type": "audio-chunk", "payload_length": 9000000}\n' + bytes(5000)]


async def _abuse(host: str, port: int, index: int) -> None:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return
    try:
        for frame in _abuse_kinds(index):
            writer.write(frame)
        await asyncio.wait_for(writer.drain(), 5)
        await asyncio.sleep(0.05)
    except (OSError, TimeoutError):
        pass
    finally:
        sock = writer.get_extra_info("socket")
        if index % 2 and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()


async def test_a_thousand_abusive_connections_leave_the_hub_within_50_mb_of_its_rss(
        pipeline_understander, synthesizer) -> None:
    program = PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer)
    hub = ThreadedHub([TtsServerProgram(synthesizer), program])
    host, port = hub.uri.removeprefix("tcp://").split(":")
    me = psutil.Process()

    async def wave(start: int, count: int) -> None:
        for first in range(start, start + count, 25):
            await asyncio.gather(*(_abuse(host, int(port), i) for i in range(first, first + 25)))

    async def settled() -> int:
        for _ in range(100):
            if not hub.endpoint.connections and program.active_runs == 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # the endpoint's malloc_trim runs a second after the last
        gc.collect()
        return me.memory_info().rss

    try:
        await wave(0, 100)  # warm-up: pools, caches and lazy imports reach their steady size
        before = await settled()
        async with asyncio.timeout(240):
            await wave(100, 1000)
        after = await settled()
        print(f"RSS before {before / 2**20:.1f} MB, after 1000 abusive connections "
              f"{after / 2**20:.1f} MB")
        assert after - before < 50 * 2**20, (before, after)
        async with AsyncClient.from_uri(hub.uri) as client:  # and the hub still serves
            await client.write_event(Describe().event())
            assert (await _read_until(client, "info"))[-1].type == "info"
    finally:
        hub.close()
