"""`voxhub demo`: synthesize a sample reply and print its timings (TTS-only first version)."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the WAV files")


def run(args: argparse.Namespace) -> int:
    from hub.config import HubConfig
    from hub.tts.engine import Synthesizer
    from voxhub.audio import write_wav

    config = HubConfig()
    synth = Synthesizer(config.tts, config.data_path)
    started = time.perf_counter()
    synth.load()
    print(f"Kokoro loaded in {time.perf_counter() - started:.2f} s")
    text = "Turned on the kitchen lights. The living room is at 21 °C."

    async def speak() -> tuple[float, bytes]:
        t0 = time.perf_counter()
        first, pcm = 0.0, bytearray()
        async for piece in synth.stream(text):
            first = first or time.perf_counter() - t0
            pcm += piece
        return first, bytes(pcm)

    t0 = time.perf_counter()
    first, pcm = asyncio.run(speak())
    total = time.perf_counter() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "reply.wav"
    write_wav(path, pcm, synth.sample_rate)
    seconds = len(pcm) / 2 / synth.sample_rate
    print(f"first audio {first:.3f} s, {seconds:.2f} s of speech in {total:.2f} s "
          f"(RTF {total / seconds:.2f}) → {path}")
    synth.close()
    return 0
