"""The `voxtral` recognizer: Mistral's Voxtral through transformers, in this process (GPU).

Voxtral hears the audio itself, so besides plain transcription it can decide in one pass: the
audio, an instruction and the home's intents as tools go in, a tool call and a short reply come
out (`asr.voxtral.mode: understand`). The same model translates speech (`translate_to`: a Wyoming
`transcribe`'s `translate` field, `voxhub understand --translate`) and answers
free-form questions (`answer_stream`, used when no intent matched: pieces as they are decoded, and
a stop event that ends the generation within a step). With `asr.voxtral.realtime_model` set,
Voxtral Mini 4B Realtime gives partial transcripts while the audio is still arriving
(`transcribe_stream`, `stream_audio`).

Traps this code steps around (transformers 5.x, mistral-common 1.13): Voxtral takes no system
prompt together with audio, so the instruction is a user text part; tools given to
`apply_chat_template(tools=...)` are silently dropped and must go through
`processor_kwargs={"text_kwargs": {"tools": ...}}`; and decoding with `skip_special_tokens=True`
strips the `[TOOL_CALLS]` marker, so understanding output is decoded with special tokens kept.

torch and transformers are imported in `load()` only: importing this module stays light.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hub.asr.base import Recognizer, RecognizeRequest, Transcription
from hub.asr.config import AsrConfig
from hub.asr.llm_request import is_silent, prepared_audio, wav_base64
from hub.asr.llm_tools import (
    LANGUAGE_NAMES,
    first_valid_call,
    language_name,
    parse_tool_calls,
    split_heard_reply,
)
from hub.asr.voxtral_stream import RealtimeStreamer, placement

log = logging.getLogger(__name__)

#: How long closing an answer's stream waits for generate() to notice the stop (one step is
#: milliseconds on a GPU; this only bounds the wait and names an overrun in the log).
STOP_JOIN_S = 2.0

#: Languages Voxtral is documented to handle well.
VOXTRAL_LANGUAGES = list(LANGUAGE_NAMES)


class VoxtralRecognizer(Recognizer):
    """Voxtral Mini 3B / Small 24B; one model serves transcription, understanding and answers."""

    name = "voxtral"
    languages = VOXTRAL_LANGUAGES
    supports_answers = True
    translation_targets = VOXTRAL_LANGUAGES

    def __init__(self, config: AsrConfig, data_dir: Path) -> None:
        self.config = config
        self.settings = config.voxtral
        self.data_dir = Path(data_dir)
        self.supports_tools = self.settings.mode == "understand"
        self.supports_streaming = bool(self.settings.realtime_model)
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self.realtime: RealtimeStreamer | None = None
        # One generate() at a time: a model is not safe to share between executor threads.
        self._lock = threading.Lock()
        #: Extra keyword arguments for every generate() call (logits processors, sampling...).
        self.generate_kwargs: dict[str, Any] = {}

    # --- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        import torch
        from transformers import AutoProcessor, VoxtralForConditionalGeneration

        self.device = resolve_device(self.settings.device)
        dtype = resolve_dtype(self.settings.dtype, self.device)
        source = resolve_model(self.settings.model, self.data_dir)
        started = time.perf_counter()
        try:
            self.processor = AutoProcessor.from_pretrained(source)
            self.model = VoxtralForConditionalGeneration.from_pretrained(
                source, dtype=getattr(torch, dtype), attn_implementation=self.settings
                .attn_implementation, **placement(self.device))
            self.model = self.model.to(self.device).eval()
        except OSError as err:
            raise RuntimeError(
                f"Cannot load the Voxtral model {self.settings.model!r} (asr.voxtral.model): not "
                f"a checkpoint folder (looked in {source}) and not downloadable as a hub id: "
                f"{err}") from err
        log.info("Voxtral %s loaded on %s (%s) in %.1f s", self.settings.model, self.device, dtype,
                 time.perf_counter() - started)
        if self.settings.realtime_model:
            self.realtime = RealtimeStreamer(
                resolve_model(self.settings.realtime_model, self.data_dir), self.device, dtype)
            if not self.realtime.load():
                self.realtime = None
                self.supports_streaming = False

    def _require_model(self) -> None:
        if self.model is None:
            self.load()

    # --- the Recognizer contract ---------------------------------------------------------------

    def transcribe(self, request: RecognizeRequest) -> Transcription:
        """Transcript, translation or one-pass understanding, depending on settings and request.

        * `request.translate_to` set: `text` is the translation, `language` the target language.
        * mode `understand` with `request.tools`: `tool_call` is the first call that passes the
          tools' schemas (None when the model called none or only invalid ones), `reply` the
          model's short spoken confirmation, `text` what it heard.
        * otherwise Voxtral's dedicated transcription mode.
        """
        self._require_model()
        audio = prepared_audio(request, self.config.max_audio_s)
        language = request.language or self.config.language or ""
        if is_silent(audio):
            return Transcription(text="", language=language, confidence=0.0,
                                 timings_ms={"asr": 0.0})
        if request.translate_to:
            return self._translate(audio, request.translate_to)
        if self.settings.mode == "understand" and request.tools:
            return self._understand(audio, request, language)
        return self._transcribe(audio, language)

    def answer_stream(self, request: RecognizeRequest,
                      stop: threading.Event) -> Generator[str, None, None]:
        """A short spoken answer to a free-form question in the audio (no tools), in pieces.

        Called when nothing matched (`supports_answers`). generate() runs in a worker thread and
        feeds transformers' TextIteratorStreamer, so each piece (whole words) is yielded as soon
        as it is decoded; a stopping criterion checks `stop` at every step, and closing this
        iterator sets it, so a barge-in ends the generation within one decoding step. Nothing is
        yielded for silence, so the caller falls back to its own not-understood reply.
        """
        self._require_model()
        audio = prepared_audio(request, self.config.max_audio_s)
        if is_silent(audio):
            return
        inputs = self._chat_inputs(audio, self.settings.answer_instruction, tools=None)
        yield from self._generate_stream(inputs, stop)

    def transcribe_stream(self, request: RecognizeRequest) -> Iterator[str]:
        """Partial transcripts (each the whole text so far) from the realtime model.

        Without a realtime model this yields the one final transcript.
        """
        if self.realtime is None:
            yield self.transcribe(request).text
            return
        audio = prepared_audio(request, self.config.max_audio_s)
        step = 1280 * 4  # 320 ms: the pace a microphone would deliver it
        yield from self.stream_audio(audio[i:i + step] for i in range(0, len(audio), step))

    def stream_audio(self, chunks: Iterable[np.ndarray]) -> Iterator[str]:
        """Partial transcripts while audio chunks (16 kHz float32) are still arriving.

        `chunks` may block between chunks (a queue fed by the Wyoming connection): the model
        consumes them as they come, which is what keeps the first words early.
        """
        if self.realtime is None:
            raise RuntimeError("streaming needs asr.voxtral.realtime_model")
        yield from self.realtime.stream(chunks)

    # --- the passes ----------------------------------------------------------------------------

    def _transcribe(self, audio: np.ndarray, language: str) -> Transcription:
        started = time.perf_counter()
        inputs = self.processor.apply_transcription_request(
            audio=audio, model_id=self.settings.model, language=language or None,
            sampling_rate=16000, format="wav")
        ids, confidence = self._generate(inputs)
        text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
        return Transcription(text=" ".join(text.split()), language=language,
                             confidence=confidence, hypotheses=[" ".join(text.split())],
                             timings_ms={"asr": _ms(started)})

    def _translate(self, audio: np.ndarray, target: str) -> Transcription:
        started = time.perf_counter()
        instruction = self.settings.translate_instruction.format(language=language_name(target))
        text, confidence, _ = self._chat(audio, instruction, tools=None)
        text = " ".join(text.split())
        return Transcription(text=text, language=target, confidence=confidence, hypotheses=[text],
                             timings_ms={"translate": _ms(started)})

    def _understand(self, audio: np.ndarray, request: RecognizeRequest,
                    language: str) -> Transcription:
        started = time.perf_counter()
        raw, confidence, _ = self._chat(audio, self.settings.instruction, tools=request.tools,
                                        keep_special=True)
        output = parse_tool_calls(raw)
        heard, reply = split_heard_reply(output.content)
        call = first_valid_call(output.calls, request.tools or [])
        timings = {"understand": _ms(started)}
        if heard is None:  # the model skipped the 'Heard:' line: get the words the proper way
            plain = self._transcribe(audio, language)
            heard, timings["asr"] = plain.text, plain.timings_ms["asr"]
        return Transcription(text=heard, language=language, confidence=confidence,
                             hypotheses=[heard], timings_ms=timings, tool_call=call,
                             reply=reply if call is not None else None)

    def _chat(self, audio: np.ndarray, instruction: str, tools: list[dict] | None,
              keep_special: bool = False) -> tuple[str, float, int]:
        """One user turn: the audio, then the instruction (no system prompt: Voxtral refuses
        one next to audio). Returns the decoded answer, its confidence and its token count."""
        inputs = self._chat_inputs(audio, instruction, tools)
        ids, confidence = self._generate(inputs)
        text = self.processor.tokenizer.decode(ids, skip_special_tokens=not keep_special)
        return text, confidence, len(ids)

    def _chat_inputs(self, audio: np.ndarray, instruction: str, tools: list[dict] | None) -> Any:
        conversation = [{"role": "user", "content": [
            {"type": "audio", "base64": wav_base64(audio)},
            {"type": "text", "text": instruction},
        ]}]
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["processor_kwargs"] = {"text_kwargs": {"tools": tools}}
        return self.processor.apply_chat_template(conversation, **kwargs)

    def _generate_stream(self, inputs: Any, stop: threading.Event) -> Iterator[str]:
        """Greedy generation in a worker thread, its text yielded as the streamer decodes it.

        The thread is joined (bounded by STOP_JOIN_S) when the iterator ends or is closed; one
        that overruns is logged, and it still ends at max_new_tokens.
        """
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        inputs = self._on_device(inputs)
        streamer = TextIteratorStreamer(self.processor.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True)
        kwargs = dict(self.generate_kwargs)
        criteria = StoppingCriteriaList([StopWhenSet(stop)])
        criteria.extend(kwargs.pop("stopping_criteria", None) or [])
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with self._lock, torch.inference_mode():
                    self.model.generate(**inputs, max_new_tokens=self.settings.max_new_tokens,
                                        do_sample=False, streamer=streamer,
                                        stopping_criteria=criteria, **kwargs)
            except BaseException as err:  # raised again in the consuming thread
                failure.append(err)
            finally:
                streamer.end()  # the iterator ends even when generate() failed early

        worker = threading.Thread(target=generate, name="voxtral-answer", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
                if stop.is_set():
                    break
        finally:
            stop.set()
            if worker is not threading.current_thread():  # closed by GC in the worker itself
                worker.join(STOP_JOIN_S)
            if worker.is_alive():
                log.warning("Voxtral's answer did not stop within %.1f s of being told to; it "
                            "ends at asr.voxtral.max_new_tokens (%d)", STOP_JOIN_S,
                            self.settings.max_new_tokens)
        if failure:
            raise failure[0]

    def _on_device(self, inputs: Any) -> Any:
        inputs = inputs.to(self.model.device)
        if "input_features" in inputs:
            inputs["input_features"] = inputs["input_features"].to(self.model.dtype)
        return inputs

    def _generate(self, inputs: Any) -> tuple[list[int], float]:
        """Greedy generation; confidence = exp(mean log-probability of the chosen tokens)."""
        import torch

        inputs = self._on_device(inputs)
        prompt = inputs["input_ids"].shape[1]
        with self._lock, torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.settings.max_new_tokens,
                                      do_sample=False, return_dict_in_generate=True,
                                      output_scores=True, **self.generate_kwargs)
            scores = self.model.compute_transition_scores(out.sequences, out.scores,
                                                          normalize_logits=True)
        ids = out.sequences[0, prompt:].tolist()
        finite = scores[0][torch.isfinite(scores[0])]
        confidence = math.exp(float(finite.mean())) if finite.numel() else 0.0
        return ids, round(confidence, 4)


class StopWhenSet:
    """A stopping criterion (transformers calls it after every decoding step): stop once the
    event is set, which is how a barge-in reaches a generate() running in another thread."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.stop.is_set(), dtype=torch.bool,
                          device=input_ids.device)


def resolve_device(setting: str) -> str:
    """'auto' → 'cuda' when a GPU is visible, else 'cpu'; anything else as configured."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"asr.voxtral.device is {setting!r} but no CUDA GPU is visible")
    return setting


def resolve_dtype(setting: str, device: str) -> str:
    """bfloat16 on a GPU (Voxtral's native precision), float32 on a CPU (bf16 is slow there)."""
    if setting != "auto":
        return setting
    return "bfloat16" if device.startswith("cuda") else "float32"


def resolve_model(name: str, data_dir: Path) -> str:
    """A folder (absolute, or under the data directory's models/) or else a hub id as given."""
    candidates = [Path(name).expanduser(), data_dir / "models" / name]
    for folder in candidates:
        if folder.is_dir():
            return str(folder)
    return name


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)
