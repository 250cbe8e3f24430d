"""What of the audio before a wake word detection goes to the hub.

microWakeWord fires 0.15–0.3 s after the wake word ends. A user who goes straight on into the
command has already begun it by then, so the pre-roll must carry those syllables; a user who
waits for the chime has not, and then the pre-roll must not carry the wake word's tail, which the
hub's endpointing would take for the start of a command.
"""

from __future__ import annotations

from collections import deque

import numpy as np

RATE = 16000


def _frame_rms(pcm: bytes, frame_s: float = 0.01) -> np.ndarray:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    size = int(frame_s * RATE)
    usable = len(samples) - len(samples) % size
    if usable == 0:
        return np.zeros(0, dtype=np.float32)
    return np.sqrt(np.mean(samples[:usable].reshape(-1, size) ** 2, axis=1))


def preroll_audio(blocks: deque[bytes], threshold: float = 0.02) -> tuple[bytes, bool]:
    """(audio to send before the live stream, whether the user is still talking).

    The wake word ended 0.15–0.3 s before the detection. If the last 0.1 s before it is sound,
    the user went straight on into the command: all of the pre-roll goes (it holds the
    command's first syllables). Otherwise only the quiet part after the wake word goes, so the
    hub's endpointing never mistakes the wake word's tail for the start of a command.
    """
    pcm = b"".join(blocks)
    rms = _frame_rms(pcm)
    if len(rms) == 0:
        return pcm, False
    if float(np.mean(rms[-10:])) > threshold:
        return pcm, True
    loud = np.flatnonzero(rms > threshold)
    if len(loud) == 0:
        return pcm, False
    return pcm[(int(loud[-1]) + 1) * int(0.01 * RATE) * 2:], False
