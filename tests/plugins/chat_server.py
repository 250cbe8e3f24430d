"""A streaming OpenAI-format chat server over real HTTP, for the answers stage.

No model server runs here (no PyPI package carries a small chat model with a licence for it and
a runtime that fits this CPU), so this server speaks the wire format of the real ones:
`POST /v1/chat/completions` with `stream: true` is answered with `text/event-stream`, chunked,
one `data: {"object": "chat.completion.chunk", …}` event per token with
`choices[0].delta.content`, a last event with `finish_reason: "stop"` and `data: [DONE]`.
`flavour` picks whose details: Ollama's (`system_fingerprint: fp_ollama`, the role in every
delta), vLLM's (a first delta with the role and empty content, an empty last delta) or
llama.cpp's (a first delta with `content: null`). It scripts failures on purpose:

- `mode`: `normal`; `hang` (headers, then nothing); `hang_after` (`hang_after` tokens, then
  nothing); `error` (HTTP 500 with an OpenAI error body); `malformed` (`malformed_after`
  tokens, then a line that is not JSON);
- `token_s`: seconds between tokens (0.05 = 20 tokens/s).

It runs on its own event loop in a thread and watches each connection, so a test can tell
that the client went away mid-answer (`disconnects`), and when the last token went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

ANSWER = ("The Moon is about 384,400 kilometres from Earth, on average. Light crosses that "
          "distance in about 1.3 seconds. The Apollo astronauts needed three days to get there.")


def tokens_of(text: str) -> list[str]:
    """Word-sized pieces with their leading space, as a tokenizer streams them; numbers and
    punctuation come apart ("384", ",", "400")."""
    return re.findall(r"\s*(?:\d+|[^\W\d]+|[^\w\s])", text)


@dataclass
class Stream:
    """One streamed answer, as the server saw it."""

    body: dict[str, Any]
    tokens_sent: int = 0
    started: float = 0.0
    #: When the last token was sent (monotonic), None until then.
    finished: float | None = None
    #: The client closed the connection before the answer was complete.
    disconnected: bool = False
    disconnected_at: float | None = None


@dataclass
class ChatServer:
    url: str = ""
    answer: str = ANSWER
    mode: str = "normal"
    flavour: str = "ollama"
    token_s: float = 0.05
    hang_after: int = 3
    malformed_after: int = 12
    streams: list[Stream] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def reset(self, **settings: Any) -> ChatServer:
        self.answer, self.mode, self.flavour, self.token_s = ANSWER, "normal", "ollama", 0.05
        self.hang_after, self.malformed_after = 3, 12
        for key, value in settings.items():
            setattr(self, key, value)
        self.streams = []
        return self

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Wait (from a test's thread or loop executor) until `predicate()` holds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # --- HTTP ------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if method != "POST" or not path.endswith("/chat/completions"):
            await _respond(writer, 404, {"error": {"message": f"no route {method} {path}"}})
            return True
        request = json.loads(body)
        stream = Stream(request, started=time.monotonic())
        self.streams.append(stream)
        self._notify()
        if self.mode == "error":
            await _respond(writer, 500, {"error": {"message": "model runner crashed",
                                                   "type": "server_error"}})
            return True
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        watcher = asyncio.create_task(reader.read(1))  # b"": the client went away
        try:
            await self._stream(writer, stream, watcher)
        finally:
            watcher.cancel()
        return False

    async def _stream(self, writer: asyncio.StreamWriter, stream: Stream,
                      watcher: asyncio.Task) -> None:
        model = stream.body.get("model", "test")
        first = {"ollama": {"role": "assistant", "content": ""},
                 "vllm": {"role": "assistant", "content": ""},
                 "llamacpp": {"role": "assistant", "content": None}}[self.flavour]
        if self.flavour != "ollama":
            await _event(writer, _chunk(model, first, None, self.flavour))
        tokens = tokens_of(self.answer)
        for index, token in enumerate(tokens):
            if self.mode == "hang" or (self.mode == "hang_after" and index == self.hang_after):
                await self._until_gone(stream, watcher, None)
                return
            if self.mode == "malformed" and index == self.malformed_after:
                await _event(writer, '{"id": "chatcmpl-1", "choices": [{"delta": {"content"')
                await _end(writer)
                return
            if await self._until_gone(stream, watcher, self.token_s):
                return
            delta = {"role": "assistant", "content": token} if self.flavour == "ollama" \
                else {"content": token}
            await _event(writer, _chunk(model, delta, None, self.flavour))
            stream.tokens_sent += 1
        stream.finished = time.monotonic()
        self._notify()
        last = {"role": "assistant", "content": ""} if self.flavour == "ollama" else {}
        await _event(writer, _chunk(model, last, "stop", self.flavour))
        await _event(writer, "[DONE]")
        await _end(writer)

    async def _until_gone(self, stream: Stream, watcher: asyncio.Task,
                          wait_s: float | None) -> bool:
        """Wait `wait_s` (None: for ever); True when the client went away meanwhile."""
        done, _ = await asyncio.wait({watcher}, timeout=wait_s)
        if not done:
            return False
        stream.disconnected, stream.disconnected_at = True, time.monotonic()
        self._notify()
        return True


def _chunk(model: str, delta: dict[str, Any], finish: str | None, flavour: str) -> str:
    event: dict[str, Any] = {"id": "chatcmpl-7", "object": "chat.completion.chunk",
                             "created": int(time.time()), "model": model,
                             "choices": [{"index": 0, "delta": delta,
                                          "finish_reason": finish}]}
    if flavour == "ollama":
        event["system_fingerprint"] = "fp_ollama"
    elif flavour == "vllm":
        event["choices"][0]["logprobs"] = None
    return json.dumps(event)


async def _event(writer: asyncio.StreamWriter, data: str) -> None:
    payload = f"data: {data}\n\n".encode()
    writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
    await writer.drain()


async def _end(writer: asyncio.StreamWriter) -> None:
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _respond(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    reason = {404: "Not Found", 500: "Internal Server Error"}.get(status, "OK")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    await writer.drain()


@contextlib.contextmanager
def running_chat_server() -> Iterator[ChatServer]:
    """The server on 127.0.0.1 (a free port), on its own loop in a thread."""
    server = ChatServer()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        tcp = loop.run_until_complete(asyncio.start_server(server.handle, "127.0.0.1", 0))
        holder["tcp"] = tcp
        server.url = f"http://127.0.0.1:{tcp.sockets[0].getsockname()[1]}/v1"
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="chat-server", daemon=True)
    thread.start()
    ready.wait(10)
    server.loop = loop
    try:
        yield server
    finally:
        holder["tcp"].close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture(scope="session")
def chat_server_session() -> Iterator[ChatServer]:
    with running_chat_server() as server:
        yield server


@pytest.fixture
def chat_server(chat_server_session: ChatServer) -> ChatServer:
    """The session's chat server, reset to a normal Ollama-style answer at 20 tokens/s."""
    return chat_server_session.reset()
