"""PCM conversion shared by the hub and the satellite (numpy only, no heavy imports).

Clients send audio in whatever format their microphone gives (8 kHz telephone audio, stereo,
32-bit); we convert rather than refuse.
"""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path

import numpy as np


def pcm_to_float(pcm: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM → mono float32 in [-1, 1]."""
    if width not in (1, 2, 3, 4):
        raise ValueError(f"unsupported sample width {width} (allowed: 1, 2, 3, 4 bytes)")
    if channels < 1:
        raise ValueError(f"invalid channel count {channels}")
    usable = len(pcm) - len(pcm) % (width * channels)
    pcm = pcm[:usable]
    if width == 1:
        samples = (np.frombuffer(pcm, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        raw = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / float(1 << 23)
    else:
        samples = np.frombuffer(pcm, dtype="<i4").astype(np.float32) / float(1 << 31)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples.astype(np.float32, copy=False)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited enough for speech: linear interpolation after a moving-average low-pass.

    The filter sees the edge samples repeated beyond the ends, so that a stream converted block
    by block (`PcmReassembler`) is not faded at every block's edges."""
    if rate == target or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    if target < rate:
        width = max(1, round(rate / target))
        if width > 1:
            kernel = np.ones(width, dtype=np.float32) / width
            padded = np.pad(samples, (width // 2, (width - 1) // 2), mode="edge")
            samples = np.convolve(padded, kernel, mode="valid")
    count = round(len(samples) * target / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / target)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def to_mono16k(pcm: bytes, rate: int, width: int, channels: int) -> np.ndarray:
    return resample(pcm_to_float(pcm, width, channels), rate, 16000)


class PcmReassembler:
    """Audio chunks of any byte length → 16 kHz mono, without ever shifting a sample.

    Wyoming puts no rule on a chunk's length: Home Assistant's `/api/stt` passes the HTTP body
    on in the pieces it arrived in, odd lengths included. Converting each chunk on its own would
    drop the bytes of a frame (width × channels bytes) cut in two, and every later sample would
    be read from the wrong byte. Here those bytes wait for the next chunk. Audio that needs
    resampling is converted in whole blocks of `rate / gcd(rate, 16000)` frames (3 at 48 kHz,
    441 at 44.1 kHz), for which the output length is exact, and at least `MIN_BLOCK_S` at a
    time, so that tiny chunks neither drift the stream's clock nor get a filter each.
    A chunk in another format starts afresh: the partial frame of the old format is noise.
    """

    TARGET_RATE = 16000
    MIN_BLOCK_S = 0.02

    def __init__(self) -> None:
        self._format: tuple[int, int, int] | None = None
        self._rest = b""

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting for the rest of their frame or resampling block."""
        return len(self._rest)

    def take(self, pcm: bytes, rate: int, width: int, channels: int) -> bytes:
        """The whole frames (resampling blocks) available once `pcm` is added; the rest waits."""
        if width not in (1, 2, 3, 4):
            raise ValueError(f"unsupported sample width {width} (allowed: 1, 2, 3, 4 bytes)")
        if channels < 1 or rate < 1:
            raise ValueError(f"invalid audio format: {rate} Hz, {channels} channels")
        fmt = (rate, width, channels)
        if fmt != self._format:
            self._format, self._rest = fmt, b""
        data = self._rest + pcm if self._rest else pcm
        frame = width * channels
        if rate == self.TARGET_RATE:
            unit = frame
        else:
            unit = frame * (rate // math.gcd(rate, self.TARGET_RATE))
            minimum = frame * int(rate * self.MIN_BLOCK_S)
            if len(data) < minimum:
                self._rest = bytes(data)
                return b""
        whole = len(data) - len(data) % unit
        self._rest = bytes(data[whole:])
        return bytes(data[:whole])

    def to_mono16k(self, pcm: bytes, rate: int, width: int, channels: int) -> np.ndarray:
        """Add one chunk; the 16 kHz mono float32 samples that are now complete."""
        return to_mono16k(self.take(pcm, rate, width, channels), rate, width, channels)

    def flush_mono16k(self) -> np.ndarray:
        """End of the stream: the whole frames still waiting for a full resampling block."""
        data, self._rest = self._rest, b""
        if self._format is None:
            return np.zeros(0, dtype=np.float32)
        rate, width, channels = self._format
        frame = width * channels
        return to_mono16k(data[:len(data) - len(data) % frame], rate, width, channels)


def write_wav(path: str | Path | io.BytesIO, pcm16: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(path if isinstance(path, io.BytesIO) else str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm16)


def read_wav(path: str | Path) -> tuple[bytes, int, int, int]:
    """(pcm, rate, width, channels) of a WAV file, with a clear error for anything else."""
    try:
        with wave.open(str(path), "rb") as wav:
            return (wav.readframes(wav.getnframes()), wav.getframerate(), wav.getsampwidth(),
                    wav.getnchannels())
    except (wave.Error, EOFError) as err:
        raise ValueError(f"{path}: not a PCM WAV file: {err}") from err
