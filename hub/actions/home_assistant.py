"""Home Assistant's intent API as the hub's hands: `POST /api/intent/handle`.

Home Assistant then runs its own intent handler for the intent the hub recognized, on the entity
Home Assistant knows by that name, and answers with what it did. Its answer is read strictly,
because the hub must never claim an action that did not happen:

- an intent that targets entities counts as done only when the answer names them as `success`
  targets; Home Assistant 2025.4 answers a handler error (`IntentHandleError`) with HTTP 200 and the
  error as speech, and a failed match (`MatchFailedError`) with HTTP 500;
- `response_type: error` carries Home Assistant's error code;
- a refused token, a timeout or a refused connection is a failure with its reason.

One `httpx.AsyncClient` is kept, so a command costs one request on a kept-alive connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from voxhub.result import ActionStatus

_LOGGER = logging.getLogger(__name__)


@dataclass
class IntentAnswer:
    """Home Assistant's answer to one intent, classified."""

    status: ActionStatus
    speech: str = ""
    success: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None
    #: The request may have reached Home Assistant (it timed out), so it may still happen.
    uncertain: bool = False


class HomeAssistantIntents:
    """A client of one Home Assistant's `/api/intent/handle`."""

    def __init__(self, url: str, token: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self._token = token
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def handle(self, name: str, slots: dict[str, Any], *, targeted: bool) -> IntentAnswer:
        """Ask Home Assistant to carry out intent `name` with `slots` (plain values).

        `targeted`: the intent acts on entities, so success needs Home Assistant to name them."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, headers={"Authorization": f"Bearer {self._token}"})
        try:
            response = await self._client.post(self.url, json={"name": name, "data": slots})
        except httpx.TimeoutException:
            return IntentAnswer(ActionStatus.UNREACHABLE, uncertain=True,
                                error=f"Home Assistant did not answer within {self.timeout_s:g} s")
        except httpx.HTTPError as err:
            return IntentAnswer(ActionStatus.UNREACHABLE,
                                error=f"cannot reach Home Assistant: {type(err).__name__}: {err}")
        return classify(response.status_code, _json(response), targeted=targeted)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def classify(status_code: int, body: Any, *, targeted: bool) -> IntentAnswer:
    """Home Assistant's HTTP answer → what happened (see the module docstring)."""
    if status_code in (401, 403):
        return IntentAnswer(ActionStatus.FAILED, error="Home Assistant refused the token "
                            f"(HTTP {status_code}): check home_assistant.token")
    if status_code >= 500:
        return IntentAnswer(ActionStatus.FAILED, error=f"Home Assistant could not carry out the "
                            f"intent (HTTP {status_code}: no matching entity, or its handler "
                            "failed; Home Assistant's log says which)")
    if status_code != 200 or not isinstance(body, dict):
        detail = body.get("message") if isinstance(body, dict) else None
        return IntentAnswer(ActionStatus.FAILED,
                            error=f"Home Assistant refused the intent (HTTP {status_code}"
                            f"{': ' + str(detail) if detail else ''})")
    speech = _speech(body)
    data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
    if body.get("response_type") == "error":
        return IntentAnswer(ActionStatus.FAILED, speech,
                            error=f"{data.get('code', 'error')}: {speech}".rstrip(": "))
    success = _entity_ids(data.get("success"))
    failed = _entity_ids(data.get("failed"))
    if failed and not success:
        return IntentAnswer(ActionStatus.FAILED, speech, success, failed,
                            error=f"Home Assistant could not act on {', '.join(failed)}")
    if targeted and not success:
        # The handler error path: HTTP 200, no targets, the error text as speech.
        return IntentAnswer(ActionStatus.FAILED, speech, success, failed,
                            error=speech or "Home Assistant acted on no entity")
    return IntentAnswer(ActionStatus.DONE, speech, success, failed)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _speech(body: dict[str, Any]) -> str:
    speech = body.get("speech")
    if isinstance(speech, dict):
        plain = speech.get("plain")
        if isinstance(plain, dict) and isinstance(plain.get("speech"), str):
            return plain["speech"].strip()
    return ""


def _entity_ids(targets: Any) -> list[str]:
    if not isinstance(targets, list):
        return []
    return [str(t.get("id")) for t in targets
            if isinstance(t, dict) and t.get("type") == "entity" and t.get("id")]
