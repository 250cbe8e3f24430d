"""The voxtral backend runs the real transformers path: tokenizer, template, features, generate.

The checkpoint is a tiny random Voxtral (tests/plugins/voxtral.py), so its words are noise; the
tests check what the code does with the model — prompts as Voxtral expects them, tools reaching
the prompt, the [TOOL_CALLS] marker surviving decoding — not what a trained model would say.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hub.asr.base import RecognizeRequest, Transcription
from hub.asr.config import AsrConfig
from hub.asr.llm_tools import IntentSpec, build_tools
from hub.asr.voxtral import VoxtralRecognizer, resolve_model
from voxhub.configfile import from_mapping

TOOLS = build_tools([IntentSpec("HassTurnOn", ["name", "area"]),
                     IntentSpec("HassLightSet", ["name", "area", "brightness"])],
                    names=["Kitchen Light", "Garage Door"], areas=["Kitchen", "Garage"])


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Loud enough not to count as silence; what it 'says' does not matter to a random model."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(
        np.float32)


def make(model_dir: Path, tmp_path: Path, **voxtral) -> VoxtralRecognizer:
    config = from_mapping(AsrConfig, {"backend": "voxtral", "max_audio_s": 5,
                                      "voxtral": {"model": str(model_dir), "max_new_tokens": 10,
                                                  **voxtral}})
    return VoxtralRecognizer(config, tmp_path)


@pytest.fixture(scope="session")
def voxtral(tiny_voxtral_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> VoxtralRecognizer:
    recognizer = make(tiny_voxtral_dir, tmp_path_factory.mktemp("data"))
    recognizer.load()
    return recognizer


class ForceTokens:
    """A logits processor that makes one generate() call emit a fixed token sequence, then EOS.

    This is how the tests get a known answer through the real generate-and-decode path; later
    generate() calls (a fallback transcription pass) run unforced.
    """

    def __init__(self, tokens: list[int], eos: int) -> None:
        self.tokens, self.eos = tokens, eos
        self.prompt_length: int | None = None
        self.done = False

    def __call__(self, input_ids, scores):  # type: ignore[no-untyped-def]
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        step = input_ids.shape[1] - self.prompt_length
        if self.done or step < 0 or step > len(self.tokens):
            self.done = True
            return scores
        wanted = self.tokens[step] if step < len(self.tokens) else self.eos
        self.done = step == len(self.tokens)
        forced = scores.new_full(scores.shape, float("-inf"))
        forced[:, wanted] = 0.0
        return forced


def test_loads_with_the_processor_and_tokenizer_from_the_checkpoint(voxtral: VoxtralRecognizer):
    assert type(voxtral.processor).__name__ == "VoxtralProcessor"
    assert voxtral.device == "cpu" and str(voxtral.model.dtype) == "torch.float32"
    assert voxtral.supports_tools and voxtral.supports_answers and not voxtral.supports_streaming


def test_transcription_uses_voxtrals_transcription_mode(voxtral: VoxtralRecognizer):
    audio = speechlike(1.5)
    inputs = voxtral.processor.apply_transcription_request(
        audio=audio, model_id="x", language="en", sampling_rate=16000, format="wav")
    prompt = voxtral.processor.tokenizer.decode(inputs["input_ids"][0].tolist(),
                                                skip_special_tokens=False)
    assert prompt.startswith("<s>[INST][BEGIN_AUDIO][AUDIO]")
    assert prompt.endswith("[/INST]lang:en[TRANSCRIBE]")
    # 30 s of audio pad at 12.5 audio tokens per second.
    assert prompt.count("[AUDIO]") == 375

    result = voxtral.transcribe(RecognizeRequest(audio=audio, language="en"))
    assert isinstance(result, Transcription)
    assert result.language == "en" and result.text and result.tool_call is None
    assert 0.0 < result.confidence <= 1.0
    assert result.timings_ms["asr"] > 0


def test_tools_reach_the_prompt_only_through_processor_kwargs(voxtral: VoxtralRecognizer):
    """The trap: apply_chat_template(tools=...) drops them silently."""
    conversation = [{"role": "user", "content": [
        {"type": "audio", "base64": _b64(speechlike(1.0))},
        {"type": "text", "text": "What was said?"}]}]
    tok = voxtral.processor.tokenizer
    with_kwargs = voxtral.processor.apply_chat_template(
        conversation, processor_kwargs={"text_kwargs": {"tools": TOOLS}})
    dropped = voxtral.processor.apply_chat_template(conversation, tools=TOOLS)
    text = tok.decode(with_kwargs["input_ids"][0].tolist(), skip_special_tokens=False)
    assert "[AVAILABLE_TOOLS]" in text and '"HassLightSet"' in text and '"Kitchen Light"' in text
    assert "[AVAILABLE_TOOLS]" not in tok.decode(dropped["input_ids"][0].tolist(),
                                                 skip_special_tokens=False)


def test_understanding_decodes_the_tool_call_and_reply(voxtral: VoxtralRecognizer):
    tokens = says(voxtral, "Heard: turn on the kitchen light\nReply: Turning on the kitchen light.",
                  [{"name": "HassTurnOn", "arguments": {"name": "kitchen light"}}])
    result = _forced(voxtral, tokens, RecognizeRequest(audio=speechlike(1.2), tools=TOOLS))
    assert result.tool_call is not None
    assert result.tool_call.name == "HassTurnOn"
    assert result.tool_call.arguments == {"name": "Kitchen Light"}  # snapped to the home's name
    assert result.text == "turn on the kitchen light"
    assert result.reply == "Turning on the kitchen light."
    assert "understand" in result.timings_ms


def test_a_call_outside_the_tools_is_refused(voxtral: VoxtralRecognizer):
    tokens = says(voxtral, "Heard: unlock the front door",
                  [{"name": "HassTurnOn", "arguments": {"name": "Front Door Lock"}}])
    result = _forced(voxtral, tokens, RecognizeRequest(audio=speechlike(1.0), tools=TOOLS))
    assert result.tool_call is None and result.reply is None
    assert result.text == "unlock the front door"


def test_without_a_heard_line_the_transcript_comes_from_a_transcription_pass(
        voxtral: VoxtralRecognizer):
    tokens = says(voxtral, "", [{"name": "HassLightSet",
                                 "arguments": {"area": "Kitchen", "brightness": 50}}])
    result = _forced(voxtral, tokens, RecognizeRequest(audio=speechlike(1.0), tools=TOOLS))
    assert result.tool_call is not None
    assert result.tool_call.arguments == {"area": "Kitchen", "brightness": 50}
    assert "asr" in result.timings_ms and "understand" in result.timings_ms


def test_translation_and_answers_run_the_chat_path(voxtral: VoxtralRecognizer):
    audio = speechlike(1.0, seed=3)
    translated = voxtral.transcribe(RecognizeRequest(audio=audio, translate_to="fr"))
    assert translated.language == "fr" and translated.text
    assert "translate" in translated.timings_ms
    assert isinstance(voxtral.answer(RecognizeRequest(audio=audio)), str)
    answered = _forced(voxtral, says(voxtral, "It is sunny in Paris."), None, answer_audio=audio)
    assert answered == "It is sunny in Paris."


def test_silence_gives_an_empty_transcript_without_running_the_model(voxtral: VoxtralRecognizer):
    result = voxtral.transcribe(RecognizeRequest(audio=np.zeros(16000, np.float32), tools=TOOLS))
    assert result.text == "" and result.tool_call is None
    assert voxtral.answer(RecognizeRequest(audio=np.zeros(8000, np.float32))) == ""


def test_an_answer_streams_its_words_while_it_is_generated(voxtral: VoxtralRecognizer):
    text = " ".join(f"word{i}" for i in range(20)) + "."
    counter = CountSteps(pause_s=0.01)
    with forcing(voxtral, says(voxtral, text), counter):
        arrivals = [(piece, counter.steps) for piece in voxtral.answer_stream(
            RecognizeRequest(audio=speechlike(1.0, seed=7)), threading.Event())]
    pieces = [piece for piece, _ in arrivals]
    assert len(pieces) > 1 and " ".join("".join(pieces).split()) == text
    assert arrivals[0][1] < counter.steps  # the first words came before the end


def test_setting_the_stop_event_ends_the_generation_within_a_step(voxtral: VoxtralRecognizer):
    tokens = says(voxtral, " ".join(f"word{i}" for i in range(100)))
    counter = CountSteps(pause_s=0.01)
    stop = threading.Event()
    with forcing(voxtral, tokens, counter):
        stream = voxtral.answer_stream(RecognizeRequest(audio=speechlike(1.0, seed=8)), stop)
        assert "word0".startswith(next(stream))  # the first token's text
        at_stop = counter.steps
        stop.set()
        rest = list(stream)
    assert counter.steps <= at_stop + 2 < len(tokens)
    assert len(rest) <= 2
    assert not [t for t in threading.enumerate() if t.name == "voxtral-answer"]


def test_closing_the_answer_stream_stops_the_generation(voxtral: VoxtralRecognizer):
    tokens = says(voxtral, " ".join(f"word{i}" for i in range(100)))
    counter = CountSteps(pause_s=0.01)
    with forcing(voxtral, tokens, counter):
        stream = voxtral.answer_stream(RecognizeRequest(audio=speechlike(1.0, seed=9)),
                                       threading.Event())
        next(stream)
        stream.close()
        steps = counter.steps
        time.sleep(0.1)
    assert counter.steps == steps < len(tokens)  # nothing generated after the close returned


def test_long_audio_is_cut_to_the_limit(voxtral: VoxtralRecognizer, caplog):
    result = voxtral.transcribe(RecognizeRequest(audio=speechlike(7.0)))
    assert result.text
    assert any("cut to the 5.0 s limit" in r.getMessage() for r in caplog.records)


def test_transcribe_stream_without_a_realtime_model_yields_the_final_text(
        voxtral: VoxtralRecognizer):
    audio = speechlike(1.0, seed=5)
    assert list(voxtral.transcribe_stream(RecognizeRequest(audio=audio))) == [
        voxtral.transcribe(RecognizeRequest(audio=audio)).text]


def test_transcribe_mode_ignores_tools(tiny_voxtral_dir: Path, tmp_path: Path):
    recognizer = make(tiny_voxtral_dir, tmp_path, mode="transcribe")
    assert not recognizer.supports_tools
    result = recognizer.transcribe(RecognizeRequest(audio=speechlike(1.0), tools=TOOLS))
    assert result.tool_call is None and set(result.timings_ms) == {"asr"}


def test_a_missing_model_names_the_setting(tmp_path: Path):
    (tmp_path / "models" / "mine").mkdir(parents=True)
    assert resolve_model("mine", tmp_path) == str(tmp_path / "models" / "mine")
    recognizer = make(tmp_path / "nowhere" / "voxtral", tmp_path)
    with pytest.raises(RuntimeError, match=r"asr\.voxtral\.model"):
        recognizer.load()


class CountSteps:
    """A stopping criterion that never stops: it counts the decoding steps (one per generated
    token) and can slow each one, so that a test can act while the generation runs."""

    def __init__(self, pause_s: float = 0.0) -> None:
        self.steps, self.pause_s = 0, pause_s

    def __call__(self, input_ids, scores, **kwargs):  # type: ignore[no-untyped-def]
        import torch

        self.steps += 1
        time.sleep(self.pause_s)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


@contextlib.contextmanager
def forcing(voxtral: VoxtralRecognizer, tokens: list[int],
            counter: CountSteps) -> Iterator[None]:
    """The model made to say `tokens` (then EOS) with its steps counted, for the block."""
    from transformers import LogitsProcessorList

    eos = voxtral.processor.tokenizer.convert_tokens_to_ids("</s>")
    voxtral.generate_kwargs = {"logits_processor": LogitsProcessorList([ForceTokens(tokens,
                                                                                     eos)]),
                               "stopping_criteria": [counter]}
    max_new = voxtral.settings.max_new_tokens
    voxtral.settings.max_new_tokens = len(tokens) + 1
    try:
        yield
    finally:
        voxtral.generate_kwargs = {}
        voxtral.settings.max_new_tokens = max_new


def says(voxtral: VoxtralRecognizer, text: str, calls: list[dict] | None = None) -> list[int]:
    """The token ids of a model answer: text, then [TOOL_CALLS] and the calls as Voxtral writes
    them (the marker is one special token, which is why decoding must keep special tokens)."""
    tok = voxtral.processor.tokenizer
    ids = tok.encode(text, add_special_tokens=False) if text else []
    if calls:
        ids = [*ids, tok.convert_tokens_to_ids("[TOOL_CALLS]"),
               *tok.encode(json.dumps(calls), add_special_tokens=False)]
    return ids


def _forced(voxtral: VoxtralRecognizer, tokens: list[int], request: RecognizeRequest | None,
            answer_audio: np.ndarray | None = None):
    """Run a request while the model is made to answer `tokens` in its first generate()."""
    from transformers import LogitsProcessorList

    eos = voxtral.processor.tokenizer.convert_tokens_to_ids("</s>")
    forcing = ForceTokens(tokens, eos)
    voxtral.generate_kwargs = {"logits_processor": LogitsProcessorList([forcing])}
    max_new = voxtral.settings.max_new_tokens
    voxtral.settings.max_new_tokens = len(tokens) + 1
    try:
        if answer_audio is not None:
            return voxtral.answer(RecognizeRequest(audio=answer_audio))
        return voxtral.transcribe(request)
    finally:
        voxtral.generate_kwargs = {}
        voxtral.settings.max_new_tokens = max_new


def _b64(audio: np.ndarray) -> str:
    from hub.asr.llm_request import wav_base64

    return wav_base64(audio)
