"""PCM conversion shared by the hub and the satellite (numpy only, no heavy imports).

Clients send audio in whatever format their microphone gives (8 kHz telephone audio, stereo,
32-bit); we convert rather than refuse.
"""

from __future__ import annotations

import io
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
    """Band-limited enough for speech: linear interpolation after a moving-average low-pass."""
    if rate == target or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    if target < rate:
        width = max(1, round(rate / target))
        if width > 1:
            kernel = np.ones(width, dtype=np.float32) / width
            samples = np.convolve(samples, kernel, mode="same")
    count = round(len(samples) * target / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / target)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def to_mono16k(pcm: bytes, rate: int, width: int, channels: int) -> np.ndarray:
    return resample(pcm_to_float(pcm, width, channels), rate, 16000)


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
