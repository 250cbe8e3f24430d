"""Any OpenAI-compatible chat server as the answerer: `POST {url}/chat/completions`, streamed.

Ollama, llama.cpp's server, vLLM and LocalAI all answer `stream: true` with server-sent events:
`data: {json}` lines whose `choices[0].delta.content` carries the next piece of text (the first
delta may carry only the role, or `content: null`; the last has `finish_reason` and an empty
delta), blank lines between events, and `data: [DONE]` at the end. An `error` object in an
event (vLLM, llama.cpp) is an error. A server that ignores `stream` and answers one JSON
document is read too. Anything else on a line is refused as malformed rather than guessed at.

Each conversation keeps its last turns (by `conversation_id`), so a follow-up is understood.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from hub.answers.base import AnswerError, Question
from hub.answers.prompt import system_prompt

_LOGGER = logging.getLogger(__name__)

#: Sentinel for `data: [DONE]`.
DONE = object()
#: Turns (question and answer) kept per conversation, and conversations kept.
HISTORY_TURNS = 4
HISTORY_CONVERSATIONS = 64


def parse_event_line(line: str) -> object | str | None:
    """One line of the event stream → the text it carries ("" for none), DONE, or None for a
    line without data (blank, a comment, `event:`/`id:`/`retry:`); AnswerError if malformed."""
    line = line.rstrip("\r")
    if not line or line.startswith(":"):
        return None
    field, _, value = line.partition(":")
    value = value[1:] if value.startswith(" ") else value
    if field in ("event", "id", "retry"):
        return None
    if field != "data":
        raise AnswerError(f"malformed event line from the chat server: {line[:80]!r}")
    if value.strip() == "[DONE]":
        return DONE
    try:
        event = json.loads(value)
    except ValueError:
        raise AnswerError(f"malformed event data from the chat server: {value[:80]!r}") from None
    return _content(event, "delta")


def _content(event: Any, key: str) -> str:
    if not isinstance(event, dict):
        raise AnswerError(f"unexpected event from the chat server: {str(event)[:80]!r}")
    if event.get("error"):
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise AnswerError(f"the chat server failed: {str(message)[:200]}")
    choices = event.get("choices") or []  # a usage-only event has none
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    part = choices[0].get(key) or {}
    content = part.get("content") if isinstance(part, dict) else None
    return content if isinstance(content, str) else ""


class OpenAIChatAnswerer:
    name = "openai"
    takes_text = True

    def __init__(self, url: str, model: str, *, api_key: str | None = None,
                 prompt: str, max_tokens: int = 200, read_timeout_s: float = 8.0) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        self.model = model
        self.prompt = prompt
        self.max_tokens = max_tokens
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(read_timeout_s, connect=min(5.0, read_timeout_s))
        self._client: httpx.AsyncClient | None = None
        self._history: OrderedDict[str, list[dict[str, str]]] = OrderedDict()

    async def answer(self, question: Question) -> AsyncGenerator[str, None]:
        conversation = question.conversation_id or uuid.uuid4().hex
        question.followup.conversation_id = conversation
        history = self._history.get(conversation, [])
        messages = [{"role": "system", "content": system_prompt(self.prompt, question)},
                    *history, {"role": "user", "content": question.text}]
        body = {"model": self.model, "messages": messages, "stream": True,
                "max_tokens": self.max_tokens}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, headers=self._headers)
        said: list[str] = []
        try:
            async with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code != 200:
                    detail = (await response.aread())[:200].decode("utf-8", "replace")
                    raise AnswerError(f"{self.url} answered HTTP {response.status_code}: "
                                      f"{detail.strip()}")
                if response.headers.get("content-type", "").startswith("application/json"):
                    text = _content(_json(await response.aread()), "message")
                    said.append(text)
                    yield text
                    return
                async for line in response.aiter_lines():
                    piece = parse_event_line(line)
                    if piece is DONE:
                        return
                    if isinstance(piece, str) and piece:
                        said.append(piece)
                        yield piece
        except httpx.TimeoutException:
            raise AnswerError(f"{self.url} sent nothing for {self._timeout.read:g} s") from None
        except httpx.HTTPError as err:
            raise AnswerError(f"cannot reach {self.url}: {type(err).__name__}: {err}") from None
        finally:  # also when the listener barged in: the turn is what was generated
            if said:
                self._remember(conversation, question.text, "".join(said))

    def _remember(self, conversation: str, text: str, answer: str) -> None:
        turns = [*self._history.pop(conversation, []), {"role": "user", "content": text},
                 {"role": "assistant", "content": answer}]
        self._history[conversation] = turns[-2 * HISTORY_TURNS:]
        while len(self._history) > HISTORY_CONVERSATIONS:
            self._history.popitem(last=False)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise AnswerError(f"malformed JSON from the chat server: {data[:80]!r}") from None
