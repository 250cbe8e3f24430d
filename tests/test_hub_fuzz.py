"""A seeded Wyoming fuzzer: mutations of real event sequences against the hub's real programs.

Each case takes a real conversation (a satellite run, an announcement, a streamed synthesis, a
recognize, a transcribe), mutates its frames (lying lengths, truncated frames, huge header
lines, non-UTF-8, wrong types, interleaved programs), sends it on a fresh connection and
checks that the hub is still there: a well-behaved client gets `describe` and `ping` answered,
and no traceback was logged. The seed and count make a failure reproducible.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random

from wyoming.client import AsyncClient
from wyoming.info import Describe
from wyoming.ping import Ping

from hub.asr.program import AsrProgram
from hub.intents.program import HandleProgram, IntentProgram
from hub.pipeline.config import PipelineConfig
from hub.pipeline.program import PipelineProgram
from hub.tts.program import TtsServerProgram
from tests.plugins.hub import ThreadedHub

SEED = int(os.environ.get("VOXHUB_FUZZ_SEED", "1414"))
CASES = int(os.environ.get("VOXHUB_FUZZ_CASES", "300"))


def _frame(event_type: str, data: dict | None = None, payload: bytes = b"") -> bytes:
    header: dict = {"type": event_type, "version": "1.5.0"}
    body = json.dumps(data).encode() if data else b""
    if body:
        header["data_length"] = len(body)
    if payload:
        header["payload_length"] = len(payload)
    return json.dumps(header).encode() + b"\n" + body + payload


AUDIO = {"rate": 16000, "width": 2, "channels": 1}
SEQUENCES = [
    [_frame("run-pipeline", {"start_stage": "asr", "end_stage": "tts",
                             "satellite": {"name": "fuzz", "area": "Kitchen"}}),
     _frame("audio-start", AUDIO), *[_frame("audio-chunk", AUDIO, bytes(2048))] * 5,
     _frame("audio-stop")],
    [_frame("synthesize", {"text": "Turned on the kitchen lights."})],
    [_frame("synthesize-start", {}), _frame("synthesize-chunk", {"text": "Hello there. "}),
     _frame("synthesize-chunk", {"text": "How are"}), _frame("synthesize-stop")],
    [_frame("recognize", {"text": "turn on the kitchen lights"})],
    [_frame("transcript", {"text": "what time is it"})],
    [_frame("transcribe", {"language": "en"}), _frame("audio-start", AUDIO),
     _frame("audio-chunk", AUDIO, bytes(3200)), _frame("audio-stop")],
    [_frame("run-pipeline", {"start_stage": "tts", "end_stage": "tts",
                             "announce_text": "Dinner is ready."})],
]


def _mutate(rng: random.Random, frames: list[bytes]) -> bytes:
    frames = list(frames)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(frames))
        frame = frames[index]
        kind = rng.randrange(9)
        if kind == 0:  # a lying length
            head, _, rest = frame.partition(b"\n")
            with contextlib.suppress(ValueError, TypeError, RecursionError):  # broken before
                header = json.loads(head)
                key = rng.choice(["data_length", "payload_length"])
                header[key] = rng.choice([0, 1, len(rest) + rng.randint(1, 5000), -3, "x",
                                          10**12, 2**31])
                frame = json.dumps(header).encode() + b"\n" + rest
        elif kind == 1:  # truncated
            frame = frame[:rng.randrange(1, max(2, len(frame)))]
        elif kind == 2:  # a huge header line
            frame = b'{"type": "' + b"a" * rng.choice([10**5, 10**6, 9 * 10**6]) + b'"}\n'
        elif kind == 3:  # not UTF-8
            position = rng.randrange(len(frame))
            frame = frame[:position] + bytes([rng.choice([0xff, 0xc3, 0x80, 0xfe])]) \
                + frame[position:]
        elif kind == 4:  # random bytes flipped
            data = bytearray(frame)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            frame = bytes(data)
        elif kind == 5:  # another program's events in the middle
            other = rng.choice(SEQUENCES)
            frames.insert(index, rng.choice(other))
        elif kind == 6:  # wrong types in the data
            head, _, rest = frame.partition(b"\n")
            with contextlib.suppress(ValueError, AttributeError, TypeError, RecursionError):
                header = json.loads(head)
                header["data"] = {rng.choice(["text", "rate", "start_stage", "voice",
                                              "snd_format", "satellite"]):
                                  rng.choice([None, 1e308, -1, [], {}, "\ud800", True,
                                              "x" * 5000])}
                head = json.dumps(header).encode()
            frame = head + b"\n" + rest
        elif kind == 7:  # duplicated many times
            frames[index:index + 1] = [frame] * rng.randint(2, 40)
            continue
        else:  # nested deeply
            frame = b'{"type": "x", "data": ' + b"[" * 100000 + b"}\n"
        frames[index] = frame
    return b"".join(frames)


async def _send(uri: str, blob: bytes, rng: random.Random) -> None:
    host, port = uri.removeprefix("tcp://").split(":")
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return
    try:
        writer.write(blob)
        await asyncio.wait_for(writer.drain(), 5)
        if rng.random() < 0.5:  # read a little of the answer, or none of it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(65536), 0.05)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


async def test_the_hub_survives_a_seeded_fuzz_of_real_event_sequences(
        pipeline_understander, synthesizer, caplog) -> None:
    caplog.set_level(logging.INFO)
    programs = [TtsServerProgram(synthesizer), AsrProgram(pipeline_understander),
                IntentProgram(pipeline_understander), HandleProgram(pipeline_understander),
                PipelineProgram(PipelineConfig(audio_timeout_s=1.0), pipeline_understander,
                                synthesizer)]
    hub = ThreadedHub(programs)
    rng = random.Random(SEED)
    try:
        async with AsyncClient.from_uri(hub.uri) as good:
            for case in range(CASES):
                blobs = [_mutate(rng, rng.choice(SEQUENCES)) for _ in range(4)]
                async with asyncio.timeout(30):
                    await asyncio.gather(*(_send(hub.uri, blob, rng) for blob in blobs))
                if case % 25 == 0:
                    await good.write_event(Ping(text=str(case)).event())
                    await good.write_event(Describe().event())
                    types = []
                    async with asyncio.timeout(10):
                        while "info" not in types:
                            types.append((await good.read_event()).type)
                    assert types == ["pong", "info"], f"seed {SEED} case {case}: {types}"
        assert "Traceback" not in caplog.text, f"seed {SEED}"
        assert "unexpected error" not in caplog.text, f"seed {SEED}"
        assert "request failed" not in caplog.text, f"seed {SEED}"
    finally:
        hub.close()
