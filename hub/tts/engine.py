"""Text → streamed 24 kHz speech: normalise, split, phonemise, render piece by piece.

The first piece is kept short (cut where a speaker would pause) so the satellite starts speaking
while the rest is rendered; later pieces are whole sentences for natural prosody. Rendering runs
in worker threads, one piece ahead of the consumer, and stops when the consumer goes away; the
threads take the piece that is due soonest across all replies (`hub/tts/scheduler.py`), so a new
request's first piece is not queued behind pieces of other clients' long replies.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub import data as model_data
from hub.tts.backend import SAMPLE_RATE, KokoroBackend
from hub.tts.cache import AudioCache
from hub.tts.config import TtsConfig
from hub.tts.g2p import MAX_TOKENS, Phonemizer, load_lexicon, unavailable_reason
from hub.tts.scheduler import Pacer, RenderScheduler
from hub.tts.text import (
    MAX_PAUSE_S,
    Segment,
    grow_pieces,
    normalize,
    parse_ssml,
    segments_for,
    split_long,
)
from hub.tts.voices import UnknownVoiceError, VoiceInfo, VoiceLibrary
from voxhub.audio import float_to_pcm16

_LOGGER = logging.getLogger(__name__)

#: Silence kept around each piece after trimming, and added between pieces.
EDGE_SILENCE_S = 0.04
CLAUSE_PAUSE_S = 0.06
SENTENCE_PAUSE_S = 0.22


class TextTooLongError(ValueError):
    pass


@dataclass
class Request:
    text: str
    voice: str
    speed: float
    ssml: bool = False


class Synthesizer:
    """Kokoro behind one streaming interface, shared by the Wyoming server, the pipeline and
    `voxhub say`."""

    sample_rate = SAMPLE_RATE

    def __init__(self, config: TtsConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.backend: KokoroBackend | None = None
        folders = [p for p in (config.voices_dir, model_data.voices_dir(data_dir)) if p]
        self.voices = VoiceLibrary(folders)
        self.phonemizer = Phonemizer(load_lexicon(config.lexicon))
        self.cache = AudioCache(config.cache_mb * 1024 * 1024)
        self.scheduler = RenderScheduler(config.workers)
        self._streams = itertools.count(1)

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        """Load the model and warm it up (blocking), so the first reply is as fast as the rest."""
        if self.backend is not None:
            return
        if not self.voices.names:
            raise model_data.DataError(
                f"no Kokoro voices in {model_data.voices_dir(self.data_dir)}: run `voxhub prepare`")
        self.voices.parse(self.config.default_voice)
        if self.config.backend == "torch":
            from hub.tts.torch_backend import TorchBackend

            if not self.config.model:
                raise ValueError("tts.backend 'torch' needs tts.model: a Kokoro .pth file or a "
                                 "model-hub id such as hexgrad/Kokoro-82M")
            self.backend = TorchBackend(self.config.model, self.config.torch_config,
                                        self.config.device, self.config.threads)
        else:
            self.backend = self._load_onnx()
        # warm-up: the first reply as fast as later ones
        self.synthesize("Ready.", self.config.default_voice, 1.0)

    def _load_onnx(self) -> KokoroBackend:
        from hub.tts.fast_model import Rewrites
        from hub.tts.onnx import OnnxBackend

        config = self.config
        if config.model:
            model = model_data.resolve_model_file(config.model, "onnx/model_quantized.onnx")
            return OnnxBackend(model, config.device, config.threads)
        rewrites = Rewrites.for_config(config)
        if rewrites:
            try:
                return OnnxBackend(model_data.ensure_kokoro_onnx_fast(self.data_dir, rewrites),
                                   config.device, config.threads)
            except Exception as err:  # an optimisation is never a reason not to speak
                _LOGGER.warning("Running Kokoro as shipped: its rewrite for this CPU failed "
                                "(%s); tts.int8_matmul and tts.fast_snake: false silence this",
                                err)
        return OnnxBackend(model_data.ensure_kokoro_onnx(self.data_dir), config.device,
                           config.threads)

    def close(self) -> None:
        self.scheduler.close()

    # -- requests --------------------------------------------------------------------------

    def voice_infos(self) -> list[VoiceInfo]:
        """The voices that can speak on this install (their G2P imports), the default first:
        what the hub advertises, so that no client is offered a voice that can only fail."""
        speakable = [v for v in self.voices.infos() if unavailable_reason(v.g2p_language) is None]
        default = self.default_voice_info()
        return sorted(speakable, key=lambda v: (v.name != default.name,
                                                v.language != default.language))

    def hidden_voices(self) -> list[tuple[VoiceInfo, str]]:
        """The installed voices that cannot speak here, each with the reason."""
        return [(v, reason) for v in self.voices.infos()
                if (reason := unavailable_reason(v.g2p_language)) is not None]

    def default_voice_info(self) -> VoiceInfo:
        """The configured voice (of a blend: its heaviest voice)."""
        return self.voices.info_for(self.config.default_voice)

    def request(self, text: str, voice: str | None = None, speed: float | None = None,
                ssml: bool = False) -> Request:
        """Validate a request up front, so errors reach the client before any audio."""
        if len(text) > self.config.max_text_chars:
            raise TextTooLongError(f"text of {len(text)} characters exceeds the limit of "
                                   f"{self.config.max_text_chars} (tts.max_text_chars)")
        voice = (voice or self.config.default_voice).strip()
        self.voices.parse(voice)
        lang = self.voices.info_for(voice).g2p_language
        if lang not in self.phonemizer.available_languages():
            self.phonemizer.phonemes("", lang)  # raises with the list of languages that can run
        speed = self.config.speed if speed is None else float(speed)
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed {speed} out of range; allowed: 0.5 to 2.0")
        if ssml:
            parse_ssml(text)  # markup errors too, before any audio (cheap next to synthesis)
        return Request(text, voice, speed, ssml)

    def segments(self, request: Request) -> list[Segment]:
        lang = self.voices.info_for(request.voice).g2p_language
        parts = parse_ssml(request.text) if request.ssml else [Segment(request.text)]
        result: list[Segment] = []
        for part in parts:
            if part.text:
                pieces = segments_for(normalize(part.text, lang), max_chars=300,
                                      first_chars=0 if result else self.config.first_piece_chars,
                                      sentence_pause_s=SENTENCE_PAUSE_S)
                if pieces:
                    pieces[-1].pause_s = max(pieces[-1].pause_s, part.pause_s)
                result.extend(pieces)
            elif result:
                result[-1].pause_s = min(result[-1].pause_s + part.pause_s, MAX_PAUSE_S)
            else:
                result.append(Segment("", part.pause_s))
        return grow_pieces(result, 300, SENTENCE_PAUSE_S)

    def phonemes(self, text: str, voice: str | None = None, ssml: bool = False) -> list[str]:
        """What would be spoken, piece by piece (`voxhub say --phonemes`)."""
        request = self.request(text, voice, None, ssml)
        lang = self.voices.info_for(request.voice).g2p_language
        return [self.phonemizer.phonemes(s.text, lang) for s in self.segments(request) if s.text]

    async def stream(self, request: Request, client: str | None = None) -> AsyncIterator[bytes]:
        """PCM16 mono 24 kHz, one piece per segment, the first as soon as it is rendered.

        Takes a request made by `request()`, so that callers report bad input before they
        start an audio stream. `client` names who asked (the connection) in the render log.
        The next piece is rendered while the consumer handles the current one, never more:
        a consumer that stops taking audio stops its rendering, not everyone else's."""
        text = request.text
        key = self.cache.key(f"{'ssml:' if request.ssml else ''}{text}", request.voice,
                             request.speed)
        cached = self.cache.get(key) if len(text) <= self.config.cache_max_chars else None
        if cached is not None:
            for piece in cached:
                yield piece
            return
        client = client or f"stream{next(self._streams)}"
        loop = asyncio.get_running_loop()
        # Normalising 10000 characters is CPU work too: off the event loop, but not on the
        # synthesis threads, where it would wait behind other clients' audio.
        segments = await loop.run_in_executor(None, self.segments, request)
        pacer = Pacer(self.scheduler.clock)
        pieces: list[bytes] = []
        ahead: asyncio.Future | None = None
        try:
            for index in range(len(segments)):
                if ahead is None:
                    ahead = self._submit(segments[index], request, pacer.deadline(), client,
                                         index)
                pcm, render_s = await ahead
                pacer.rendered(len(pcm) / (2 * SAMPLE_RATE), render_s)
                ahead = None
                if index + 1 < len(segments):  # rendered while the consumer sends this one
                    ahead = self._submit(segments[index + 1], request, pacer.deadline(),
                                         client, index + 1)
                pieces.append(pcm)
                yield pcm
        finally:
            if ahead is not None:
                ahead.cancel()  # withdrawn unless already rendering (then left to finish)
        if len(text) <= self.config.cache_max_chars and self.config.cache_mb:
            self.cache.put(key, pieces)

    def _submit(self, segment: Segment, request: Request, deadline: float, client: str,
                piece: int) -> asyncio.Future:
        def render() -> tuple[bytes, float]:
            started = time.perf_counter()
            return self._render(segment, request), time.perf_counter() - started

        return asyncio.wrap_future(self.scheduler.submit(render, deadline, client, piece))

    def synthesize(self, text: str, voice: str | None = None, speed: float | None = None,
                   ssml: bool = False) -> bytes:
        """The whole utterance at once (blocking): `voxhub say` and warm-up."""
        request = self.request(text, voice, speed, ssml)
        return b"".join(self._render(s, request) for s in self.segments(request))

    # -- rendering -------------------------------------------------------------------------

    def _render(self, segment: Segment, request: Request) -> bytes:
        assert self.backend is not None, "Synthesizer.load() was not called"
        started = time.perf_counter()
        audio = np.zeros(0, dtype=np.float32)
        if segment.text:
            lang = self.voices.info_for(request.voice).g2p_language
            chunks = []
            for tokens in self._token_pieces(segment.text, lang):
                style = self.voices.style(request.voice, len(tokens))
                chunks.append(_trim(self.backend.infer(tokens, style, request.speed)))
            audio = np.concatenate(chunks) if chunks else audio
        pause = segment.pause_s or CLAUSE_PAUSE_S
        audio = np.concatenate([audio, np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32)])
        _LOGGER.debug("rendered %.2f s of audio in %.3f s: %r", len(audio) / SAMPLE_RATE,
                      time.perf_counter() - started, segment.text[:60])
        return float_to_pcm16(audio)

    def _token_pieces(self, text: str, lang: str) -> list[list[int]]:
        """Phoneme ids in pieces of at most 510 tokens, cut between words when needed."""
        tokens = self.phonemizer.tokens(self.phonemizer.phonemes(text, lang))
        if len(tokens) <= MAX_TOKENS:
            return [tokens] if tokens else []
        halves = split_long(text, max(1, len(text) // 2))
        if len(halves) < 2:  # one enormous "word": cut the ids themselves
            return [tokens[i:i + MAX_TOKENS] for i in range(0, len(tokens), MAX_TOKENS)]
        return [p for half in halves for p in self._token_pieces(half, lang)]


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut Kokoro's leading and trailing silence so pieces join without gaps."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return audio[:0]
    margin = int(EDGE_SILENCE_S * SAMPLE_RATE)
    return audio[max(0, loud[0] - margin): loud[-1] + margin]


__all__ = ["Synthesizer", "TextTooLongError", "UnknownVoiceError"]
