"""`voxhub say`: speak text to a WAV file or the speaker, in-process or through a running hub."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import subprocess
import sys
import time
from pathlib import Path

from voxhub.audio import write_wav

PLAYER = "aplay -q -r 24000 -c 1 -f S16_LE -t raw"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="*", help="text to speak (default: --file or stdin)")
    parser.add_argument("-f", "--file", type=Path, help="read the text from a file")
    parser.add_argument("-o", "--output", type=Path, help="write a WAV file instead of playing")
    parser.add_argument("--voice", help="voice or blend (af_heart:0.7,af_bella:0.3)")
    parser.add_argument("--speed", type=float, help="speaking rate 0.5–2.0")
    parser.add_argument("--ssml", action="store_true", help="the text is SSML")
    parser.add_argument("--batch", type=Path, metavar="DIR",
                        help="write one WAV per input line into DIR")
    parser.add_argument("--phonemes", action="store_true",
                        help="print the phonemes that would be spoken, and nothing else")
    parser.add_argument("--uri", help="synthesize through a running hub (tcp://HOST:PORT)")
    parser.add_argument("--config", type=Path, help="hub YAML file (voice, lexicon, model)")
    parser.add_argument("--data-dir", type=Path, help="model data directory")
    parser.add_argument("--player", default=PLAYER, help="command that plays raw 24 kHz audio")


def _read_text(args: argparse.Namespace) -> str:
    if args.text:
        return " ".join(args.text)
    if args.file:
        return args.file.read_text(encoding="utf-8")
    return sys.stdin.read()


def run(args: argparse.Namespace) -> int:
    text = _read_text(args)
    if args.uri:
        if args.phonemes:
            print("voxhub say: --phonemes works in-process only (drop --uri)", file=sys.stderr)
            return 2
        items = _items(text, args)
        for out, line in items:
            pcm = asyncio.run(_remote(args.uri, line, args.voice, args.speed, args.ssml))
            _emit(pcm, out, args)
        return 0
    from hub.config import load_hub_config
    from hub.tts.engine import Synthesizer

    config = load_hub_config(args.config)
    synth = Synthesizer(config.tts, args.data_dir or config.data_path)
    try:
        if args.phonemes:
            for piece in synth.phonemes(text, args.voice, args.ssml):
                print(piece)
            return 0
        synth.load()
        for out, line in _items(text, args):
            started = time.perf_counter()
            pcm = synth.synthesize(line, args.voice, args.speed, args.ssml)
            elapsed = time.perf_counter() - started
            _emit(pcm, out, args)
            if out is not None:
                print(f"{out}: {len(pcm) / 48000:.2f} s of audio in {elapsed:.2f} s",
                      file=sys.stderr)
    except ValueError as err:
        print(f"voxhub say: {err}", file=sys.stderr)
        return 1
    finally:
        synth.close()
    return 0


def _items(text: str, args: argparse.Namespace) -> list[tuple[Path | None, str]]:
    if not args.batch:
        return [(args.output, text)]
    args.batch.mkdir(parents=True, exist_ok=True)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [(args.batch / f"{i:04d}.wav", line) for i, line in enumerate(lines, 1)]


def _emit(pcm: bytes, out: Path | None, args: argparse.Namespace) -> None:
    if out is not None:
        write_wav(out, pcm, 24000)
    else:
        subprocess.run(shlex.split(args.player), input=pcm, check=True)


async def _remote(uri: str, text: str, voice: str | None, speed: float | None,
                  ssml: bool) -> bytes:
    """Synthesize through a hub with the real wyoming client."""
    from wyoming.audio import AudioChunk, AudioStop
    from wyoming.client import AsyncClient
    from wyoming.error import Error
    from wyoming.tts import Synthesize, SynthesizeVoice

    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Synthesize(
            text=text, voice=SynthesizeVoice(name=voice) if voice else None,
            text_format="ssml" if ssml else None).event())
        pcm = bytearray()
        while True:
            event = await client.read_event()
            if event is None:
                raise ConnectionError(f"{uri} closed the connection")
            if Error.is_type(event.type):
                raise ValueError(Error.from_event(event).text)
            if AudioChunk.is_type(event.type):
                pcm += AudioChunk.from_event(event).audio
            elif AudioStop.is_type(event.type):
                return bytes(pcm)
