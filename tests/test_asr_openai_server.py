"""The openai backend against a local server speaking vLLM's OpenAI-compatible wire format.

What is checked is what crosses the wire (a real WAV in a multipart form or as base64
input_audio, the tools, the model name, the key) and what the hub makes of the answers,
including the server being slow, down, overloaded or refusing.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hub.asr.base import RecognizeRequest, ToolCall
from hub.asr.config import AsrConfig
from hub.asr.llm_tools import IntentSpec, build_tools
from hub.asr.openai import OpenAIRecognizer, ServerRefused, ServerUnavailable
from rehearsal.ports import free_port
from tests.plugins.openai_server import SERVED_MODEL, FakeOpenAIServer
from voxhub.configfile import from_mapping

TOOLS = build_tools([IntentSpec("HassTurnOn", ["name", "area"]),
                     IntentSpec("HassLightSet", ["name", "area", "brightness"])],
                    names=["Kitchen Light", "Garage Door"], areas=["Kitchen", "Garage"])


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


def recognizer(url: str, tmp_path: Path, **openai) -> OpenAIRecognizer:
    settings = {"url": url, "model": SERVED_MODEL, "timeout_s": 2.0, "retries": 2,
                "backoff_s": 0.01, **openai}
    config = from_mapping(AsrConfig, {"backend": "openai", "max_audio_s": 4,
                                      "openai": settings})
    return OpenAIRecognizer(config, tmp_path)


def test_transcription_posts_a_wav_form(fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.transcript = " Turn on the kitchen lights. "
    rec = recognizer(fake_openai.url, tmp_path, mode="transcribe", api_key="sk-local")
    result = rec.transcribe(RecognizeRequest(audio=tone(1.5), language="en", tools=TOOLS))
    assert result.text == "Turn on the kitchen lights." and result.language == "en"
    assert result.tool_call is None and result.timings_ms["asr"] > 0
    [sent] = fake_openai.requests
    assert sent["path"] == "/v1/audio/transcriptions"
    assert sent["form"] == {"model": SERVED_MODEL, "temperature": "0",
                            "response_format": "json", "language": "en"}
    assert sent["wav"] == (16000, 1, 24000)
    assert sent["headers"]["Authorization"] == "Bearer sk-local"


def test_understanding_sends_input_audio_and_tools_and_reads_the_tool_call(
        fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.message = {
        "content": "Heard: turn on the kitchen light\nReply: Turning on the kitchen light.",
        "tool_calls": [{"id": "chatcmpl-tool-61a0", "type": "function", "function": {
            "name": "HassTurnOn", "arguments": '{"name": "kitchen light"}'}}]}
    fake_openai.logprobs = [-0.01, -0.2, -0.05]
    rec = recognizer(fake_openai.url, tmp_path)
    result = rec.transcribe(RecognizeRequest(audio=tone(1.0), tools=TOOLS))
    assert result.tool_call == ToolCall("HassTurnOn", {"name": "Kitchen Light"})
    assert result.text == "turn on the kitchen light"
    assert result.reply == "Turning on the kitchen light."
    assert result.confidence == pytest.approx(np.exp(np.mean([-0.01, -0.2, -0.05])), abs=1e-3)
    [sent] = fake_openai.requests
    body = sent["json"]
    assert sent["path"] == "/v1/chat/completions" and sent["wav"] == (16000, 1, 16000)
    assert body["tools"] == TOOLS and body["tool_choice"] == "auto"
    assert body["temperature"] == 0.0 and body["model"] == SERVED_MODEL
    assert [m["role"] for m in body["messages"]] == ["user"]  # no system prompt with audio
    assert [p["type"] for p in body["messages"][0]["content"]] == ["input_audio", "text"]


def test_raw_mistral_output_from_a_server_without_a_tool_parser(
        fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.message = {"content": 'Heard: dim the kitchen to 30 percent[TOOL_CALLS][{"name": '
                                      '"HassLightSet", "arguments": {"area": "Kitchen", '
                                      '"brightness": 30}}]'}
    result = recognizer(fake_openai.url, tmp_path).transcribe(
        RecognizeRequest(audio=tone(1.0), tools=TOOLS))
    assert result.tool_call == ToolCall("HassLightSet", {"area": "Kitchen", "brightness": 30})
    assert result.text == "dim the kitchen to 30 percent"
    assert result.confidence == 0.0  # the server reported no log-probabilities


def test_an_invalid_call_is_refused_and_the_transcript_fetched(fake_openai: FakeOpenAIServer,
                                                              tmp_path: Path):
    fake_openai.message = {"content": None, "tool_calls": [{"id": "x", "type": "function",
                           "function": {"name": "HassUnlock", "arguments": "{}"}}]}
    fake_openai.transcript = "unlock the front door"
    result = recognizer(fake_openai.url, tmp_path).transcribe(
        RecognizeRequest(audio=tone(1.0), tools=TOOLS))
    assert result.tool_call is None and result.reply is None
    assert result.text == "unlock the front door"
    assert [r["path"] for r in fake_openai.requests] == ["/v1/chat/completions",
                                                          "/v1/audio/transcriptions"]


def test_translation_and_free_form_answers(fake_openai: FakeOpenAIServer, tmp_path: Path):
    rec = recognizer(fake_openai.url, tmp_path)
    fake_openai.message = {"content": "Allume la lumière de la cuisine."}
    translated = rec.transcribe(RecognizeRequest(audio=tone(1.0), translate_to="fr"))
    assert translated.text == "Allume la lumière de la cuisine." and translated.language == "fr"
    assert "into French" in fake_openai.requests[-1]["json"]["messages"][0]["content"][1]["text"]
    assert "tools" not in fake_openai.requests[-1]["json"]
    fake_openai.message = {"content": "Paris is the capital of France."}
    assert rec.answer(RecognizeRequest(audio=tone(1.0))) == "Paris is the capital of France."


def test_silence_and_long_audio_are_handled_before_the_network(fake_openai: FakeOpenAIServer,
                                                               tmp_path: Path, caplog):
    rec = recognizer(fake_openai.url, tmp_path, mode="transcribe")
    assert rec.transcribe(RecognizeRequest(audio=np.zeros(16000, np.float32))).text == ""
    assert rec.answer(RecognizeRequest(audio=np.zeros(16000, np.float32))) == ""
    assert fake_openai.requests == []
    fake_openai.transcript = "long"
    with caplog.at_level(logging.WARNING):
        rec.transcribe(RecognizeRequest(audio=tone(9.0)))
    assert fake_openai.requests[0]["wav"][2] == 4 * 16000
    assert "cut to the 4.0 s limit" in caplog.text


def test_overload_is_retried_with_backoff(fake_openai: FakeOpenAIServer, tmp_path: Path, caplog):
    fake_openai.fail_times = 2
    fake_openai.transcript = "open the garage door"
    rec = recognizer(fake_openai.url, tmp_path, mode="transcribe", backoff_s=0.05)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        result = rec.transcribe(RecognizeRequest(audio=tone(1.0)))
    assert result.text == "open the garage door"
    assert len(fake_openai.requests) == 3
    assert time.perf_counter() - started >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s
    assert "HTTP 503 The server is overloaded" in caplog.text


def test_still_failing_after_the_retries_names_the_url(fake_openai: FakeOpenAIServer,
                                                       tmp_path: Path):
    fake_openai.fail_times = 5
    rec = recognizer(fake_openai.url, tmp_path, mode="transcribe", retries=1)
    with pytest.raises(ServerUnavailable, match=r"/v1/audio/transcriptions is unavailable after "
                                                r"2 attempts: HTTP 503"):
        rec.transcribe(RecognizeRequest(audio=tone(1.0)))
    assert len(fake_openai.requests) == 2


def test_a_client_error_is_not_retried(fake_openai: FakeOpenAIServer, tmp_path: Path):
    rec = recognizer(fake_openai.url, tmp_path, model="voxtral-large-9000")
    with pytest.raises(ServerRefused, match=r"HTTP 404 The model `voxtral-large-9000` does not"):
        rec.transcribe(RecognizeRequest(audio=tone(1.0), tools=TOOLS))
    assert len(fake_openai.requests) == 1


def test_a_stalled_server_times_out(fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.delay_s = 0.6
    rec = recognizer(fake_openai.url, tmp_path, mode="transcribe", timeout_s=0.2, retries=1)
    started = time.perf_counter()
    with pytest.raises(ServerUnavailable, match=r"no answer within 0\.2 s \(asr\.openai\."
                                                r"timeout_s\)"):
        rec.transcribe(RecognizeRequest(audio=tone(1.0)))
    assert time.perf_counter() - started < 2.0


def test_an_unreachable_server_names_the_url(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    rec = recognizer(url, tmp_path, mode="transcribe", retries=2)
    with pytest.raises(ServerUnavailable) as failure:
        rec.transcribe(RecognizeRequest(audio=tone(1.0)))
    message = str(failure.value)
    assert f"{url}/audio/transcriptions is unavailable after 3 attempts" in message
    assert "cannot connect (ConnectError" in message


def test_load_checks_the_served_model_without_failing(fake_openai: FakeOpenAIServer,
                                                      tmp_path: Path, caplog):
    with caplog.at_level(logging.WARNING):
        recognizer(fake_openai.url, tmp_path).load()
        assert caplog.text == ""
        recognizer(fake_openai.url, tmp_path, model="other").load()
        assert f"serves {SERVED_MODEL}, not 'other'" in caplog.text
        recognizer(f"http://127.0.0.1:{free_port()}/v1", tmp_path).load()
        assert "Recognition server not ready yet" in caplog.text


def test_the_key_comes_from_the_environment_when_not_configured(
        fake_openai: FakeOpenAIServer, tmp_path: Path, monkeypatch):
    fake_openai.transcript = "hello"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    recognizer(fake_openai.url, tmp_path, mode="transcribe").transcribe(
        RecognizeRequest(audio=tone(0.5)))
    monkeypatch.delenv("OPENAI_API_KEY")
    recognizer(fake_openai.url, tmp_path, mode="transcribe").transcribe(
        RecognizeRequest(audio=tone(0.5)))
    first, second = fake_openai.requests
    assert first["headers"]["Authorization"] == "Bearer sk-env"
    assert "Authorization" not in second["headers"]


def test_an_answer_streams_the_servers_events_as_they_arrive(fake_openai: FakeOpenAIServer,
                                                             tmp_path: Path):
    fake_openai.message = {"content": "The Moon is about 384,000 kilometres away from Earth."}
    fake_openai.event_delay_s = 0.05
    rec = recognizer(fake_openai.url, tmp_path)
    stream = rec.answer_stream(RecognizeRequest(audio=tone(1.0)), threading.Event())
    first = next(stream)
    assert first == "The " and fake_openai.stream_outcome is None  # the rest is still to come
    pieces = [first, *stream]
    assert "".join(pieces) == fake_openai.message["content"] and len(pieces) == 9
    assert fake_openai.requests[-1]["json"]["stream"] is True
    assert fake_openai.stream_outcome == "complete"


def test_a_server_that_does_not_stream_gives_its_answer_in_one_piece(
        fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.message = {"content": "Paris is the capital of France."}
    fake_openai.ignore_stream = True
    rec = recognizer(fake_openai.url, tmp_path)
    assert list(rec.answer_stream(RecognizeRequest(audio=tone(1.0)), threading.Event())) == [
        "Paris is the capital of France."]


def test_stopping_an_answer_closes_the_request(fake_openai: FakeOpenAIServer, tmp_path: Path):
    fake_openai.message = {"content": " ".join(f"word{i}" for i in range(40))}
    fake_openai.event_delay_s = 0.05
    rec = recognizer(fake_openai.url, tmp_path)
    stop = threading.Event()
    stream = rec.answer_stream(RecognizeRequest(audio=tone(1.0)), stop)
    assert next(stream) == "word0 "
    stop.set()
    assert list(stream) == []  # ends at the next event
    deadline = time.monotonic() + 5.0
    while fake_openai.stream_outcome is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_openai.stream_outcome == "broken"
    assert fake_openai.events_sent < 40
