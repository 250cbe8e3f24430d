"""Fair under load: a well-behaved client's describe and first TTS audio while another floods.

Issue 14 measured a good client's first TTS audio going from 0.45 s to 8 s during a fuzz storm.
This runs the hub's real TTS program in-process (its own event loop in a thread, as the tests
do) and measures, for a well-behaved client, the `describe` round trip and the first audio of
a short reply: first quiet, then while abusive clients flood the endpoint (floods of ping and
describe, oversized and broken frames, queued synthesize requests, runs without audio). Prints
JSON with the medians and the ratio of loaded to quiet figures of the same run.

    .venv/bin/python benchmarks/fairness.py [--rounds 10] [--abusers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wyoming.client import AsyncClient
from wyoming.info import Describe
from wyoming.tts import Synthesize

TEXTS = ["Turned on the kitchen lights.", "The garden lights are off.",
         "It is twenty past seven.", "Dinner is ready."]


async def _until(client: AsyncClient, wanted: str) -> None:
    while (event := await client.read_event()) is not None and event.type != wanted:
        pass


async def measure(uri: str, rounds: int) -> dict[str, float]:
    describe, first_audio = [], []
    async with AsyncClient.from_uri(uri) as client:
        for index in range(rounds):
            started = time.monotonic()
            await client.write_event(Describe().event())
            await _until(client, "info")
            describe.append((time.monotonic() - started) * 1000.0)
            # A text not yet in the cache: the round measures synthesis, not a cache hit.
            text = f"{TEXTS[index % len(TEXTS)]} Number {random.randrange(10**6)}."
            started = time.monotonic()
            await client.write_event(Synthesize(text=text).event())
            await _until(client, "audio-chunk")
            first_audio.append((time.monotonic() - started) * 1000.0)
            await _until(client, "audio-stop")
    return {"describe_ms": statistics.median(describe),
            "describe_max_ms": max(describe),
            "first_audio_ms": statistics.median(first_audio)}


async def abuse(uri: str, stop: asyncio.Event, seed: int) -> int:
    """One abusive client, reconnecting whenever the hub closes it; frames sent."""
    rng = random.Random(seed)
    host, port = uri.removeprefix("tcp://").split(":")
    sent = 0
    frames = [b'{"type": "ping"}\n' * 200, b'{"type": "describe"}\n' * 50,
              b'{"type": "synthesize", "data": {"text": "Flood."}}\n' * 40,
              b'{"type": "' + b"x" * 2_000_000 + b'"}\n', b"\xff\xfe not json\n",
              b'{"type": "run-pipeline", "data": {"start_stage": "asr", "end_stage": "tts"}}\n',
              b'{"type": "audio-chunk", "payload_length": 8000000}\n' + bytes(4096)]
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        try:
            for _ in range(rng.randint(1, 20)):
                writer.write(rng.choice(frames))
                sent += 1
                await asyncio.wait_for(writer.drain(), 2)
                if rng.random() < 0.3:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(1 << 16), 0.01)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()
        await asyncio.sleep(0)
    return sent


async def main_async(args: argparse.Namespace) -> dict:
    from hub.config import default_data_dir
    from hub.tts.config import TtsConfig
    from hub.tts.engine import Synthesizer
    from hub.tts.program import TtsServerProgram
    from tests.plugins.hub import ThreadedHub

    synth = Synthesizer(TtsConfig(), default_data_dir())
    synth.load()
    hub = ThreadedHub([TtsServerProgram(synth)])
    try:
        await measure(hub.uri, 2)  # warm-up
        quiet = await measure(hub.uri, args.rounds)
        stop = asyncio.Event()
        abusers = [asyncio.create_task(abuse(hub.uri, stop, seed))
                   for seed in range(args.abusers)]
        await asyncio.sleep(1.0)
        loaded = await measure(hub.uri, args.rounds)
        stop.set()
        frames = sum(await asyncio.gather(*abusers))
    finally:
        hub.close()
        synth.close()
    return {
        "benchmark": "fairness",
        "rounds": args.rounds, "abusive_clients": args.abusers, "abusive_frames": frames,
        "quiet": quiet, "under_load": loaded,
        "ratio": {key: round(loaded[key] / quiet[key], 2) if quiet[key] else None
                  for key in quiet},
        "targets": {"describe_ms": "< 50", "first_audio_ms": "< 2 x quiet"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--abusers", type=int, default=8)
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
