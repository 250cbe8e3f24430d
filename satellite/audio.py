"""Where the satellite's audio comes from and goes to.

Sources yield raw 16 kHz 16-bit mono PCM blocks (what the wake word model and the hub expect):
a command such as `arecord` (the Pi's microphone), a WAV file (tests, the demo, replaying a
recording) or stdin (piping from another program). Sinks play 16-bit mono PCM: a command such as
`aplay`, or a WAV file that records everything played. A file sink takes as long as a speaker
would, so that "speaking" lasts as long as the reply, and barge-in behaves as on a real device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import sys
import time
import wave
from collections import deque
from collections.abc import AsyncGenerator, Callable
from pathlib import Path

import numpy as np

from satellite.config import SatelliteConfig
from voxhub.audio import float_to_pcm16, pcm_to_float, read_wav, resample, to_mono16k
from voxhub.configfile import ConfigError

_LOGGER = logging.getLogger(__name__)

RATE = 16000
WIDTH = 2
CHANNELS = 1


def block_bytes(chunk_ms: int) -> int:
    return RATE * WIDTH * chunk_ms // 1000


# ----------------------------------------------------------------------------- sources


async def command_source(command: str, chunk_ms: int = 30) -> AsyncGenerator[bytes, None]:
    """Blocks of the command's stdout; ends when the command exits (the caller may restart it).

    Its stderr is read all along: arecord prints a line per overrun, and a pipe nobody reads
    fills after 64 KB and then blocks the recorder, which silences the microphone for good.
    A command that cannot start at all is a configuration error (ConfigError naming the key).
    """
    size = block_bytes(chunk_ms)
    try:
        proc = await asyncio.create_subprocess_exec(*shlex.split(command),
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise ConfigError(f"mic.command {command!r} cannot start: {err}") from err
    assert proc.stdout is not None and proc.stderr is not None
    errors: deque[str] = deque(maxlen=5)
    stderr = asyncio.create_task(_keep_tail(proc.stderr, errors))
    try:
        while True:
            try:
                block = await proc.stdout.readexactly(size)
            except asyncio.IncompleteReadError as err:
                if err.partial:
                    yield err.partial[: len(err.partial) - len(err.partial) % WIDTH]
                break
            yield block
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stderr, 1)
        stderr.cancel()
        if proc.returncode not in (0, -9, None):
            _LOGGER.warning("audio command %r exited with %s: %s", command, proc.returncode,
                            " | ".join(errors)[-300:])


async def _keep_tail(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """Read a stream to its end, keeping its last lines (why a command failed)."""
    while chunk := await stream.read(4096):
        tail.extend(line for line in chunk.decode(errors="replace").splitlines() if line.strip())


def load_wav_16k(path: str | Path) -> bytes:
    """Any PCM WAV as 16 kHz 16-bit mono."""
    pcm, rate, width, channels = read_wav(path)
    if rate == RATE and width == WIDTH and channels == CHANNELS:
        return pcm
    return float_to_pcm16(to_mono16k(pcm, rate, width, channels))


async def file_source(path: str | Path, chunk_ms: int = 30, realtime: bool = True,
                      tail_silence_s: float = 0.0) -> AsyncGenerator[bytes, None]:
    """A WAV file (then optional silence), at the speed of speech or as fast as consumed."""
    pcm = load_wav_16k(path) + bytes(int(tail_silence_s * RATE) * WIDTH)
    size = block_bytes(chunk_ms)
    start = time.monotonic()
    for offset in range(0, len(pcm), size):
        if realtime:
            due = start + offset / (RATE * WIDTH)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # let the rest of the satellite run between blocks
        yield pcm[offset:offset + size]


async def stdin_source(chunk_ms: int = 30) -> AsyncGenerator[bytes, None]:
    """Raw PCM piped into the satellite."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    size = block_bytes(chunk_ms)
    while True:
        try:
            yield await reader.readexactly(size)
        except asyncio.IncompleteReadError as err:
            if err.partial:
                yield err.partial[: len(err.partial) - len(err.partial) % WIDTH]
            return


# ----------------------------------------------------------------------------- sinks


def apply_volume(pcm: bytes, volume: int) -> bytes:
    if volume >= 100:
        return pcm
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32)
    return (samples * (volume / 100.0)).astype("<i2").tobytes()


def convert_for_sink(pcm: bytes, rate: int, width: int, channels: int, target: int) -> bytes:
    """Whatever the hub sent → 16-bit mono at the sink's rate."""
    if rate == target and width == 2 and channels == 1:
        return pcm
    return float_to_pcm16(resample(pcm_to_float(pcm, width, channels), rate, target))


class Sink:
    """One playback at a time: `start`, `write`…, then `finish` (wait until heard) or `abort`."""

    rate: int = 24000
    volume: int = 100

    async def start(self) -> None:
        raise NotImplementedError

    async def write(self, pcm: bytes) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError

    async def abort(self) -> None:
        raise NotImplementedError

    async def play(self, pcm: bytes) -> None:
        """A whole sound (chimes)."""
        await self.start()
        await self.write(pcm)
        await self.finish()


class CommandSink(Sink):
    """Pipes each playback into a fresh process (aplay): abort kills it, cutting the sound."""

    def __init__(self, command: str, rate: int, volume: int = 100) -> None:
        self.command = command
        self.rate = rate
        self.volume = volume
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        await self.abort()
        argv = shlex.split(self.command.replace("{rate}", str(self.rate)))
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        except OSError as err:  # not installed, not executable: this playback stays silent
            _LOGGER.warning("snd.command %r cannot start: %s", self.command, err)

    async def write(self, pcm: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(apply_volume(pcm, self.volume))
            await proc.stdin.drain()  # back-pressure: the player takes audio at its pace
        except (BrokenPipeError, ConnectionResetError):
            _LOGGER.warning("playback command %r stopped taking audio", self.command)
            self._proc = None

    async def finish(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.close()
                await proc.stdin.wait_closed()
        await proc.wait()

    async def abort(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()


class FileSink(Sink):
    """Appends everything played to one WAV file, at the pace of a speaker.

    The header is rewritten after every block (the wave module does that), so the file is a valid
    WAV at any moment, even if the satellite is killed.
    """

    #: how far ahead of "now" audio may be written, like a sound card's buffer
    LEAD_S = 0.2

    def __init__(self, path: str | Path, rate: int, volume: int = 100,
                 realtime: bool = True) -> None:
        self.path = Path(path)
        self.rate = rate
        self.volume = volume
        self.realtime = realtime
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - open for the daemon's life
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self._started = 0.0
        self._samples = 0
        self._active = False

    async def start(self) -> None:
        self._started = time.monotonic()
        self._samples = 0
        self._active = True

    async def write(self, pcm: bytes) -> None:
        if not self._active:
            return
        self._wav.writeframes(apply_volume(pcm, self.volume))
        self._samples += len(pcm) // 2
        if self.realtime:
            ahead = self._started + self._samples / self.rate - time.monotonic() - self.LEAD_S
            if ahead > 0:
                await asyncio.sleep(ahead)

    async def finish(self) -> None:
        if self._active and self.realtime:
            remaining = self._started + self._samples / self.rate - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)
        self._active = False

    async def abort(self) -> None:
        self._active = False

    def close(self) -> None:
        self._wav.close()


class NullSink(Sink):
    """No speaker (a headless test or a listen-only satellite)."""

    def __init__(self, rate: int = 24000) -> None:
        self.rate = rate

    async def start(self) -> None:
        return None

    async def write(self, pcm: bytes) -> None:
        return None

    async def finish(self) -> None:
        return None

    async def abort(self) -> None:
        return None


# ----------------------------------------------------------------------------- from config


def make_sink(config: SatelliteConfig) -> Sink:
    snd = config.snd
    if snd.sink == "file":
        if snd.file is None:
            raise ValueError("snd.file is required with snd.sink: file")
        return FileSink(snd.file, snd.rate, snd.volume)
    if snd.sink == "none":
        return NullSink(snd.rate)
    return CommandSink(snd.command, snd.rate, snd.volume)


def make_source(config: SatelliteConfig) -> Callable[[], AsyncGenerator[bytes, None]]:
    mic = config.mic
    if mic.source == "file":
        if mic.file is None:
            raise ValueError("mic.file is required with mic.source: file")
        path = mic.file
        return lambda: file_source(path, mic.chunk_ms, mic.realtime, mic.tail_silence_s)
    if mic.source == "stdin":
        return lambda: stdin_source(mic.chunk_ms)
    return lambda: command_source(mic.command, mic.chunk_ms)
