"""Partial transcripts while the user is still speaking: Voxtral Mini 4B Realtime.

The realtime model is a different architecture from the offline Voxtral (a causal encoder with
caches), so it is a separate model with its own processor. transformers ≥ 5.2 streams it by taking
the mel features as a *generator*: `generate()` pulls one ≈ 80 ms window per new token and a
`TextIteratorStreamer` hands text back as it is decoded. Audio chunks may arrive at any size and
pace; they are buffered and cut into the windows the processor asks for, and the buffer is trimmed
behind the read position so memory stays bounded however long the stream.

At the end of the audio the model still owes the words of its last few hundred milliseconds (it
transcribes with a delay), so the stream is padded with the silence the processor asks for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class RealtimeStreamer:
    """Loads the realtime checkpoint and turns audio chunks into growing partial transcripts."""

    def __init__(self, source: str, device: str, dtype: str) -> None:
        self.source = source
        self.device = device
        self.dtype = dtype
        self.model: Any = None
        self.processor: Any = None
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Load the model; False (with a warning) when this transformers has no realtime class."""
        import torch
        import transformers

        if not hasattr(transformers, "VoxtralRealtimeForConditionalGeneration"):
            log.warning("transformers %s has no Voxtral realtime model (needs ≥ 5.2): "
                        "partial transcripts are off", transformers.__version__)
            return False
        self.processor = transformers.AutoProcessor.from_pretrained(self.source)
        self.model = transformers.VoxtralRealtimeForConditionalGeneration.from_pretrained(
            self.source, dtype=getattr(torch, self.dtype), **placement(self.device))
        self.model = self.model.to(self.device).eval()
        return True

    def stream(self, chunks: Iterable[np.ndarray]) -> Iterator[str]:
        """Yield the transcript so far each time it grows; the last value is the full text."""
        from transformers import TextIteratorStreamer

        proc = self.processor
        source = iter(chunks)
        buffer = _AudioBuffer(source)
        first = buffer.read_until(proc.num_samples_first_audio_chunk)
        if first is None:  # the whole stream is shorter than the first window: pad it
            first = buffer.pad_to(proc.num_samples_first_audio_chunk)
        first_inputs = proc(first, is_streaming=True, is_first_audio_chunk=True,
                            return_tensors="pt").to(self.model.device, dtype=self.model.dtype)
        streamer = TextIteratorStreamer(proc.tokenizer, skip_special_tokens=True)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.model.generate(input_ids=first_inputs.input_ids,
                                    input_features=self._features(first_inputs, buffer),
                                    num_delay_tokens=first_inputs.num_delay_tokens,
                                    streamer=streamer)
            except BaseException as err:  # handed to the caller below
                failure.append(err)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=run, name="voxtral-realtime", daemon=True)
            worker.start()
            text = ""
            for piece in streamer:
                if piece:
                    text += piece
                    yield " ".join(text.split())
            worker.join()
        if failure:
            raise RuntimeError(f"realtime transcription failed: {failure[0]}") from failure[0]

    def _features(self, first_inputs: Any, buffer: _AudioBuffer) -> Iterator[Any]:
        """The processor's streaming windows: the first chunk's features, then one per token."""
        proc = self.processor
        hop = proc.feature_extractor.hop_length
        win = proc.feature_extractor.win_length
        right_pad = proc.num_right_pad_tokens * proc.raw_audio_length_per_tok
        yield first_inputs.input_features
        mel_frame = proc.num_mel_frames_first_audio_chunk
        while True:
            start = mel_frame * hop - win // 2
            window = buffer.window(start, proc.num_samples_per_audio_chunk, right_pad)
            if window is None:
                return
            inputs = proc(window, is_streaming=True, is_first_audio_chunk=False,
                          return_tensors="pt").to(self.model.device, dtype=self.model.dtype)
            yield inputs.input_features
            buffer.forget_before(start)
            mel_frame += proc.audio_length_per_tok


def placement(device: str) -> dict[str, Any]:
    """Load weights straight onto the device when accelerate is installed (no CPU copy of a
    55 GB model); without it they load on the CPU and are moved."""
    import importlib.util

    return {"device_map": device} if importlib.util.find_spec("accelerate") else {}


class _AudioBuffer:
    """Samples pulled from a chunk iterator on demand, addressed by absolute sample index."""

    def __init__(self, source: Iterator[np.ndarray]) -> None:
        self.source = source
        self.data = np.zeros(0, dtype=np.float32)
        self.offset = 0  # absolute index of data[0]
        self.ended = False
        self.padded = False

    def _pull(self) -> bool:
        try:
            chunk = next(self.source)
        except StopIteration:
            self.ended = True
            return False
        self.data = np.concatenate([self.data, np.asarray(chunk, dtype=np.float32).reshape(-1)])
        return True

    def read_until(self, end: int) -> np.ndarray | None:
        while self.offset + len(self.data) < end and self._pull():
            pass
        if self.offset + len(self.data) < end:
            return None
        return self.data[: end - self.offset].copy()

    def pad_to(self, end: int) -> np.ndarray:
        missing = end - self.offset - len(self.data)
        self.data = np.concatenate([self.data, np.zeros(max(missing, 0), np.float32)])
        return self.data[: end - self.offset].copy()

    def window(self, start: int, length: int, right_pad: int) -> np.ndarray | None:
        """Samples [start, start+length), pulling chunks as needed; after the stream ends, the
        right padding is appended once and windows continue until it is used up."""
        end = start + length
        if self.read_until(end) is None:
            if self.padded:
                return None
            self.padded = True
            self.data = np.concatenate([self.data, np.zeros(right_pad, np.float32)])
            if self.offset + len(self.data) < end:
                return None
        return self.data[start - self.offset: end - self.offset].copy()

    def forget_before(self, index: int) -> None:
        drop = index - self.offset
        if drop > 0:
            self.data = self.data[drop:]
            self.offset = index
