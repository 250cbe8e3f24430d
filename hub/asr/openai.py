"""The `openai` recognizer: an OpenAI-compatible server such as vLLM serving Voxtral, for scale.

One GPU box can serve many hubs. The hub sends each utterance over HTTP:

* plain transcription: ``POST {url}/audio/transcriptions`` (multipart: the WAV file, model,
  language, temperature 0), answer ``{"text": ...}``;
* one-pass understanding, translation and free-form answers: ``POST {url}/chat/completions`` with
  the audio as an ``input_audio`` content part (base64 WAV) next to the instruction text, and the
  home's intents as ``tools``; the answer's ``message.tool_calls`` (or the raw ``[TOOL_CALLS]``
  text of a server without a tool parser) give the call. Answers ask for ``stream: true`` and
  read the server-sent events as they come (the chat answerer's parser: one wire format, one
  reader).

A network is not a function call: every request has a timeout, failures that may pass (refused
connection, timeout, HTTP 429 and 5xx) are retried with exponential backoff, and when the server
stays away the error names the URL and what happened, so the log says what to fix.
Calls are blocking (httpx's sync client), like every recognizer: the caller runs them in an
executor.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from hub.answers.openai_chat import DONE, parse_event_line
from hub.asr.base import Recognizer, RecognizeRequest, Transcription
from hub.asr.config import AsrConfig
from hub.asr.llm_request import is_silent, prepared_audio, wav_base64, wav_bytes
from hub.asr.llm_tools import (
    LANGUAGE_NAMES,
    calls_from_openai,
    first_valid_call,
    language_name,
    split_heard_reply,
)

log = logging.getLogger(__name__)

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class ServerUnavailable(RuntimeError):
    """The server could not be reached, or kept failing, after all retries."""


class ServerRefused(RuntimeError):
    """The server answered with a client error (bad model name, bad request): not retried."""


class OpenAIRecognizer(Recognizer):
    """Recognition by a remote OpenAI-compatible server; nothing heavy runs in the hub."""

    name = "openai"
    languages = list(LANGUAGE_NAMES)
    supports_answers = True
    translation_targets = list(LANGUAGE_NAMES)

    def __init__(self, config: AsrConfig, data_dir: Path) -> None:
        self.config = config
        self.settings = config.openai
        self.url = self.settings.url.rstrip("/")
        self.supports_tools = self.settings.mode == "understand"
        key = self.settings.api_key or os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(timeout=self.settings.timeout_s, headers=headers)

    def load(self) -> None:
        """Check that the server answers and serves the model; a warning, not a failure, when
        it does not (the server may come up after the hub)."""
        try:
            data = self._request("GET", "/models", attempts=1).json()
        except (ServerUnavailable, ServerRefused, ValueError) as err:
            log.warning("Recognition server not ready yet: %s", err)
            return
        served = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]
        if served and self.settings.model not in served:
            log.warning("%s serves %s, not %r (asr.openai.model)", self.url, ", ".join(served),
                        self.settings.model)

    def close(self) -> None:
        self.client.close()

    # --- the Recognizer contract ---------------------------------------------------------------

    def transcribe(self, request: RecognizeRequest) -> Transcription:
        """Like VoxtralRecognizer.transcribe: translation, understanding or transcription."""
        audio = prepared_audio(request, self.config.max_audio_s)
        language = request.language or self.config.language or ""
        if is_silent(audio):
            return Transcription(text="", language=language, timings_ms={"asr": 0.0})
        if request.translate_to:
            started = time.perf_counter()
            instruction = self.settings.translate_instruction.format(
                language=language_name(request.translate_to))
            message, confidence = self._chat(audio, instruction, tools=None)
            text = " ".join((message.get("content") or "").split())
            return Transcription(text=text, language=request.translate_to, confidence=confidence,
                                 hypotheses=[text], timings_ms={"translate": _ms(started)})
        if self.settings.mode == "understand" and request.tools:
            return self._understand(audio, request, language)
        return self._transcribe(audio, language)

    def answer_stream(self, request: RecognizeRequest,
                      stop: threading.Event) -> Generator[str, None, None]:
        """A short spoken answer to a free-form question in the audio, streamed (`stream: true`:
        vLLM's server-sent events, each delta yielded as it arrives); nothing for silence. A
        server that answers one JSON document gives one piece. `stop`, checked at every event,
        or closing this iterator closes the HTTP request, which makes vLLM abort the
        generation."""
        audio = prepared_audio(request, self.config.max_audio_s)
        if is_silent(audio):
            return
        body = self._chat_body(audio, self.settings.answer_instruction, tools=None)
        body["stream"] = True
        del body["logprobs"]
        response = self._request("POST", "/chat/completions", stream=True, json=body)
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                response.read()
                yield self._message(_json(response))[0].get("content") or ""
                return
            for line in response.iter_lines():
                if stop.is_set():
                    return
                piece = parse_event_line(line)
                if piece is DONE:
                    return
                if isinstance(piece, str) and piece:
                    yield piece
        except httpx.TimeoutException:
            raise ServerUnavailable(f"{self.url}/chat/completions sent nothing for "
                                    f"{self.settings.timeout_s:g} s (asr.openai.timeout_s)"
                                    ) from None
        except httpx.TransportError as err:
            raise ServerUnavailable(f"{self.url}/chat/completions broke off: "
                                    f"{type(err).__name__}: {err}") from None
        finally:
            response.close()

    # --- the two endpoints ---------------------------------------------------------------------

    def _transcribe(self, audio: Any, language: str) -> Transcription:
        started = time.perf_counter()
        form = {"model": self.settings.model, "temperature": "0", "response_format": "json"}
        if language:
            form["language"] = language
        response = self._request("POST", "/audio/transcriptions", data=form,
                                 files={"file": ("audio.wav", wav_bytes(audio), "audio/wav")})
        text = " ".join(str(_json(response).get("text", "")).split())
        return Transcription(text=text, language=language, hypotheses=[text],
                             timings_ms={"asr": _ms(started)})

    def _understand(self, audio: Any, request: RecognizeRequest,
                    language: str) -> Transcription:
        started = time.perf_counter()
        message, confidence = self._chat(audio, self.settings.instruction, tools=request.tools)
        output = calls_from_openai(message)
        heard, reply = split_heard_reply(output.content)
        call = first_valid_call(output.calls, request.tools or [])
        timings = {"understand": _ms(started)}
        if heard is None:
            plain = self._transcribe(audio, language)
            heard, timings["asr"] = plain.text, plain.timings_ms["asr"]
        return Transcription(text=heard, language=language, confidence=confidence,
                             hypotheses=[heard], timings_ms=timings, tool_call=call,
                             reply=reply if call is not None else None)

    def _chat(self, audio: Any, instruction: str,
              tools: list[dict] | None) -> tuple[dict[str, Any], float]:
        """One user turn (audio, then instruction; no system prompt, which Voxtral refuses
        next to audio). Returns the assistant message and exp(mean token log-probability), or
        0.0 when the server reports no log-probabilities."""
        data = _json(self._request("POST", "/chat/completions",
                                   json=self._chat_body(audio, instruction, tools)))
        return self._message(data)

    def _chat_body(self, audio: Any, instruction: str,
                   tools: list[dict] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [{"role": "user", "content": [
                {"type": "input_audio", "input_audio": {"data": wav_base64(audio),
                                                        "format": "wav"}},
                {"type": "text", "text": instruction},
            ]}],
            "temperature": 0.0,
            "max_tokens": self.settings.max_tokens,
            "logprobs": True,
        }
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        return body

    def _message(self, data: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """The assistant message of a chat completion and its confidence."""
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise ServerRefused(f"{self.url}/chat/completions answered without a message: "
                                f"{str(data)[:200]}") from None
        return message, _confidence(choice.get("logprobs"))

    def _request(self, method: str, path: str, attempts: int | None = None,
                 stream: bool = False, **kwargs: Any) -> httpx.Response:
        """One HTTP request with retries; raises ServerUnavailable / ServerRefused. With
        `stream` the body is left unread (the caller reads and closes it)."""
        url = f"{self.url}{path}"
        attempts = attempts or self.settings.retries + 1
        delay = self.settings.backoff_s
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self.client.send(self.client.build_request(method, url, **kwargs),
                                            stream=stream)
            except httpx.TimeoutException:
                problem = f"no answer within {self.settings.timeout_s:g} s (asr.openai.timeout_s)"
            except httpx.TransportError as err:
                problem = f"cannot connect ({type(err).__name__}: {err or 'no detail'})"
            else:
                if response.status_code < 400:
                    return response
                if stream:
                    response.read()
                    response.close()
                detail = _error_detail(response)
                if response.status_code not in _RETRY_STATUS:
                    raise ServerRefused(f"{url} refused the request: HTTP "
                                        f"{response.status_code} {detail}")
                problem = f"HTTP {response.status_code} {detail}"
            if attempt < attempts:
                log.warning("%s %s failed (%s); retry %d of %d in %.1f s", method, url, problem,
                            attempt, attempts - 1, delay)
                time.sleep(delay)
                delay *= 2
        raise ServerUnavailable(f"Recognition server {url} is unavailable after {attempts} "
                                f"attempt{'s' if attempts > 1 else ''}: {problem}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise ServerRefused(f"{response.request.url} answered with something other than JSON: "
                            f"{response.text[:200]!r}") from None
    if not isinstance(data, dict):
        raise ServerRefused(f"{response.request.url} answered with unexpected JSON: "
                            f"{str(data)[:200]}")
    return data


def _error_detail(response: httpx.Response) -> str:
    """The message of an OpenAI-style error body, else the start of the text."""
    try:
        body = response.json()
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
        if body.get("message"):  # vLLM's older {"object": "error", "message": ...}
            return str(body["message"])[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300]


def _confidence(logprobs: Any) -> float:
    if not isinstance(logprobs, dict) or not logprobs.get("content"):
        return 0.0
    found = [t.get("logprob") for t in logprobs["content"] if isinstance(t, dict)]
    values = [float(v) for v in found if isinstance(v, (int, float)) and math.isfinite(v)]
    return round(math.exp(sum(values) / len(values)), 4) if values else 0.0


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 1)
