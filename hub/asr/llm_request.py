"""What both audio-LLM backends (voxtral, openai) do to a request before the model sees it.

An LLM, unlike Whisper, happily "hears" words in silence and is billed per audio second, so the
audio is cut to the configured limit and silence is answered locally with an empty transcript.
The audio then travels as a 16-bit WAV (base64 where the wire wants text), which is what both
mistral-common and OpenAI-compatible servers accept.
"""

from __future__ import annotations

import base64
import io
import logging

import numpy as np

from hub.asr.base import SAMPLE_RATE, RecognizeRequest
from voxhub.audio import float_to_pcm16, write_wav

log = logging.getLogger(__name__)

#: Peak level under which audio counts as silence (≈ -66 dBFS: below any microphone's speech).
SILENCE_PEAK = 5e-4


def prepared_audio(request: RecognizeRequest, max_audio_s: float) -> np.ndarray:
    """The request's audio as float32, cut to `max_audio_s` with a warning."""
    audio = np.asarray(request.audio, dtype=np.float32).reshape(-1)
    limit = int(max_audio_s * SAMPLE_RATE)
    if len(audio) > limit:
        log.warning("Audio of %.1f s cut to the %.1f s limit (asr.max_audio_s)",
                    len(audio) / SAMPLE_RATE, max_audio_s)
        audio = audio[:limit]
    return audio


def is_silent(audio: np.ndarray) -> bool:
    """True for empty or near-silent audio, which must give an empty transcript."""
    return len(audio) == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK


def wav_bytes(audio: np.ndarray) -> bytes:
    """16 kHz mono 16-bit WAV file bytes."""
    buffer = io.BytesIO()
    write_wav(buffer, float_to_pcm16(audio), SAMPLE_RATE)
    return buffer.getvalue()


def wav_base64(audio: np.ndarray) -> str:
    return base64.b64encode(wav_bytes(audio)).decode("ascii")
