"""Spoken test audio made at run time, so that no recording is committed.

Two voices of a user: the hub's own Kokoro over Wyoming (`speak`, in a voice other than the reply
voice, so a satellite never hears its own reply voice as the user), and Debian's espeak-ng
(`espeak`, a very different synthesizer, for tests that should not depend on Kokoro). Audio is
16 kHz mono float32 throughout, trimmed of the synthesizer's own silence so that callers decide
every pause (`silence`). `build_recording` lays "Okay, Nabu … command" out in one WAV for a
satellite that listens to a file.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.tts import Synthesize, SynthesizeVoice

from voxhub.audio import float_to_pcm16, pcm_to_float, resample, to_mono16k, write_wav

RATE = 16000
WAKE_PHRASE = "Okay, Nabu."
#: Silence before the wake word, between wake word and command (the user waits for the chime),
#: and after the command (room for the reply before the next command).
LEAD_S, GAP_S, AFTER_S = 0.5, 0.7, 5.0
#: Above this magnitude a sample counts as voiced (the end of speech the latency clocks start at).
VOICED = 0.02


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def speech_bounds(audio: np.ndarray, threshold: float = VOICED) -> tuple[float, float]:
    """First and last sample above `threshold`, in seconds (the truth endpointing aims at)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return 0.0, 0.0
    return loud[0] / RATE, loud[-1] / RATE


def voiced_end(audio: np.ndarray, threshold: float = VOICED) -> float:
    """Seconds to the end of the last sample above `threshold` (the end of the spoken words)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return float(loud[-1] + 1) / RATE if len(loud) else 0.0


def trimmed(audio: np.ndarray, threshold: float = VOICED) -> np.ndarray:
    """`audio` from its first to its last voiced sample."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0]:loud[-1] + 1] if len(loud) else audio[:0]


def espeak(text: str, voice: str = "en-us", speed: int = 160, trim: bool = True) -> np.ndarray:
    """espeak-ng speech as 16 kHz float samples, trimmed unless `trim` is false (en-us at 160
    wpm triggers okay_nabu)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        audio = to_mono16k(w.readframes(w.getnframes()), w.getframerate(), w.getsampwidth(),
                           w.getnchannels())
    return trimmed(audio) if trim else audio


def espeak_wav(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    """espeak-ng speech into a WAV file as espeak writes it (22.05 kHz, 16-bit, mono, untrimmed),
    for what reads files: `voxhub understand`, a satellite's `mic.file`."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                   check=True, capture_output=True)
    return path


async def speak(uri: str, text: str, voice: str, timeout: float = 120.0) -> np.ndarray:
    """Text → 16 kHz mono float32, rendered by the hub's TTS over Wyoming (`voice` may be a
    blend, "ff_siwis:0.7,if_sara:0.3"); untrimmed, as the hub renders it."""
    client = AsyncClient.from_uri(uri)
    await client.connect()
    try:
        await client.write_event(Synthesize(text=text,
                                            voice=SynthesizeVoice(name=voice)).event())
        rate, pcm = 24000, bytearray()
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout)
            if event is None:
                raise ConnectionError("hub closed the connection while speaking")
            if Error.is_type(event.type):
                raise RuntimeError(f"hub could not speak '{text}': "
                                   f"{Error.from_event(event).text}")
            if AudioStart.is_type(event.type):
                rate = AudioStart.from_event(event).rate
            elif AudioChunk.is_type(event.type):
                pcm.extend(event.payload or b"")
            elif AudioStop.is_type(event.type):
                break
    finally:
        await client.disconnect()
    return resample(pcm_to_float(bytes(pcm), 2, 1), rate, RATE)


async def build_recording(uri: str, path: Path, commands: list[tuple[str, str]],
                          voice: str = "am_michael", wake: bool = True,
                          wake_voice: str | None = None,
                          ) -> tuple[Path, list[tuple[float, str]]]:
    """A WAV of "Okay, Nabu … command" for each (command, label); returns the path and, for
    each command, the time of its last voiced sample in the file with its label. The wake
    word is spoken by `wake_voice` (default `voice`): an English voice says "Okay, Nabu" the
    way the wake word model was trained, before a command in another language."""
    wake_audio = await speak(uri, WAKE_PHRASE, wake_voice or voice) if wake else None
    spoken: dict[str, np.ndarray] = {}
    parts: list[np.ndarray] = []
    ends: list[tuple[float, str]] = []
    position = 0

    def add(samples: np.ndarray) -> None:
        nonlocal position
        parts.append(samples.astype(np.float32, copy=False))
        position += len(samples)

    for text, label in commands:
        if text not in spoken:
            spoken[text] = await speak(uri, text, voice)
        add(silence(LEAD_S))
        if wake_audio is not None:
            add(wake_audio)
            add(silence(GAP_S))
        ends.append((position / RATE + voiced_end(spoken[text]), label))
        add(spoken[text])
        add(silence(AFTER_S))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, float_to_pcm16(np.concatenate(parts)), RATE)
    return path, ends
