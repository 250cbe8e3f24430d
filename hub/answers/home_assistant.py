"""A Home Assistant conversation agent as the answerer: `POST /api/conversation/process`.

The user's own agent (Ollama, OpenAI, Google… set up in Home Assistant), chosen by `agent_id`;
it may act on what the user exposed to it, as in Home Assistant's "prefer handling commands
locally". The answer is not streamed: it arrives as one piece, with Home Assistant's
`conversation_id` and `continue_conversation`, which go into the result. As an add-on the hub
reaches Core through the Supervisor's proxy (HomeAssistantConfig.api_url).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from hub.answers.base import AnswerError, Question


class HomeAssistantAgentAnswerer:
    name = "home_assistant"
    takes_text = True

    def __init__(self, url: str, token: str, agent_id: str, timeout_s: float = 30.0) -> None:
        self.url = url
        self.agent_id = agent_id
        self._token = token
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def answer(self, question: Question) -> AsyncGenerator[str, None]:
        body: dict[str, Any] = {"text": question.text, "language": question.language,
                                "agent_id": self.agent_id}
        if question.conversation_id:
            body["conversation_id"] = question.conversation_id
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
                headers={"Authorization": f"Bearer {self._token}"})
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise AnswerError(f"Home Assistant's agent {self.agent_id} did not answer within "
                              f"{self.timeout_s:g} s") from None
        except httpx.HTTPError as err:
            raise AnswerError(f"cannot reach Home Assistant: {type(err).__name__}: {err}"
                              ) from None
        if response.status_code in (401, 403):
            raise AnswerError(f"Home Assistant refused the token (HTTP {response.status_code})")
        if response.status_code != 200:
            raise AnswerError(f"Home Assistant answered HTTP {response.status_code} for agent "
                              f"{self.agent_id}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            raise AnswerError("Home Assistant answered something other than JSON") from None
        speech = _speech(data)
        if isinstance(data, dict):
            question.followup.conversation_id = data.get("conversation_id") or None
            question.followup.continue_conversation = bool(data.get("continue_conversation"))
        if not speech:
            raise AnswerError(f"Home Assistant's agent {self.agent_id} answered without speech")
        yield speech

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _speech(data: Any) -> str:
    response = data.get("response") if isinstance(data, dict) else None
    speech = response.get("speech") if isinstance(response, dict) else None
    plain = speech.get("plain") if isinstance(speech, dict) else None
    text = plain.get("speech") if isinstance(plain, dict) else None
    return text.strip() if isinstance(text, str) else ""
