"""A local stand-in for vLLM's OpenAI-compatible API, speaking its wire format over real HTTP.

No vLLM and no GPU here, so this server checks requests the way vLLM does (a model name it
serves, a real WAV file in the multipart form or in `input_audio`, tools in the function format)
and answers with bodies shaped like vLLM's, with what each test scripts. It can also fail on
purpose: answer 503 a number of times, or stall past the client's timeout.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SERVED_MODEL = "mistralai/Voxtral-Mini-3B-2507"


@dataclass
class FakeOpenAIServer:
    """Scripted behaviour and the requests received, shared with the handler threads."""

    url: str = ""
    transcript: str = ""
    #: The assistant message of the next chat completions (content and/or tool_calls).
    message: dict[str, Any] = field(default_factory=lambda: {"role": "assistant",
                                                              "content": ""})
    logprobs: list[float] | None = None
    fail_times: int = 0  # answer this many requests with 503 first
    delay_s: float = 0.0  # stall each answer this long
    #: Answer `stream: true` with one JSON document, as a server without streaming would.
    ignore_stream: bool = False
    #: The pause before each event of a streamed answer (a word of the content per event).
    event_delay_s: float = 0.0
    #: How the last streamed answer ended: "complete", or "broken" when the client hung up.
    stream_outcome: str | None = None
    events_sent: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.transcript, self.logprobs = "", None
        self.message = {"role": "assistant", "content": ""}
        self.fail_times, self.delay_s = 0, 0.0
        self.ignore_stream, self.event_delay_s = False, 0.0
        self.stream_outcome, self.events_sent = None, 0
        self.requests.clear()


def _read_wav(data: bytes) -> tuple[int, int, int]:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getnframes()


def _handler(state: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"object": "error", "message": message, "type": "BadRequestError",
                                "param": None, "code": status,
                                "error": {"message": message, "type": "BadRequestError",
                                          "code": status}})

        def _gate(self) -> bool:
            """Stall or fail as scripted; False when the request was answered with an error."""
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.fail_times > 0:
                state.fail_times -= 1
                self._error(503, "The server is overloaded")
                return False
            return True

        def do_GET(self) -> None:
            if self.path != "/v1/models":
                return self._error(404, f"no route {self.path}")
            state.requests.append({"path": self.path, "headers": dict(self.headers)})
            if self._gate():
                self._send(200, {"object": "list", "data": [
                    {"id": SERVED_MODEL, "object": "model", "owned_by": "vllm"}]})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            record = {"path": self.path, "headers": dict(self.headers)}
            state.requests.append(record)
            if self.path == "/v1/audio/transcriptions":
                return self._transcriptions(body, record)
            if self.path == "/v1/chat/completions":
                return self._chat(body, record)
            self._error(404, f"no route {self.path}")

        def _transcriptions(self, body: bytes, record: dict[str, Any]) -> None:
            header = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            form = BytesParser(policy=HTTP).parsebytes(header + body)
            fields = {}
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                fields[name] = part.get_payload(decode=True)
            record["form"] = {k: v.decode() for k, v in fields.items() if k != "file"}
            if "file" not in fields:
                return self._error(400, "file is required")
            record["wav"] = _read_wav(fields["file"])
            if record["form"].get("model") != SERVED_MODEL:
                return self._error(404, f"The model `{record['form'].get('model')}` does "
                                        "not exist.")
            if self._gate():
                self._send(200, {"text": state.transcript, "usage": {
                    "type": "duration", "seconds": round(record["wav"][2] / 16000)}})

        def _chat(self, body: bytes, record: dict[str, Any]) -> None:
            request = json.loads(body)
            record["json"] = request
            if request.get("model") != SERVED_MODEL:
                return self._error(404, f"The model `{request.get('model')}` does not exist.")
            for part in request["messages"][-1]["content"]:
                if part["type"] == "input_audio":
                    assert part["input_audio"]["format"] == "wav"
                    record["wav"] = _read_wav(base64.b64decode(part["input_audio"]["data"]))
            for tool in request.get("tools") or []:
                if tool.get("type") != "function" or "name" not in tool.get("function", {}):
                    return self._error(400, "tools must be functions with a name")
            if not self._gate():
                return
            message = dict(state.message)
            if request.get("stream") and not state.ignore_stream:
                return self._stream(message.get("content") or "")
            choice: dict[str, Any] = {
                "index": 0, "message": {"role": "assistant", "reasoning_content": None,
                                        "content": None, "tool_calls": [], **message},
                "logprobs": None,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                "stop_reason": None}
            if request.get("logprobs") and state.logprobs is not None:
                choice["logprobs"] = {"content": [
                    {"token": f"t{i}", "logprob": lp, "bytes": None, "top_logprobs": []}
                    for i, lp in enumerate(state.logprobs)]}
            self._send(200, {"id": "chatcmpl-8d2e", "object": "chat.completion",
                             "created": int(time.time()), "model": SERVED_MODEL,
                             "choices": [choice],
                             "usage": {"prompt_tokens": 420, "completion_tokens": 20,
                                       "total_tokens": 440}})

        def _stream(self, content: str) -> None:
            """vLLM's server-sent events: a role delta, a word per delta, a finish, [DONE]."""
            words = re.findall(r"\S+\s*", content)
            chunk = {"id": "chatcmpl-8d2e", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": SERVED_MODEL}
            deltas = [{"role": "assistant", "content": ""}, *({"content": w} for w in words)]
            events = [json.dumps({**chunk, "choices": [{"index": 0, "delta": d,
                                                        "finish_reason": None}]})
                      for d in deltas]
            events += [json.dumps({**chunk, "choices": [{"index": 0, "delta": {},
                                                         "finish_reason": "stop"}]}), "[DONE]"]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for event in events:
                    time.sleep(state.event_delay_s)
                    self.wfile.write(f"data: {event}\n\n".encode())
                    self.wfile.flush()
                    state.events_sent += 1
            except (BrokenPipeError, ConnectionResetError):
                state.stream_outcome = "broken"
                return
            state.stream_outcome = "complete"

    return Handler


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAIServer]:
    """One server for the session on a free port; `reset()` it at the start of a test."""
    state = FakeOpenAIServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_openai(openai_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The session's server, with its script and request log cleared for this test."""
    openai_server.reset()
    return openai_server
