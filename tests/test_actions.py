"""Carrying out intents: who acts (`intents.act`), and replies that never claim what did not happen.

Home Assistant's own answers are exercised against real Home Assistant Core in
tests/test_homeassistant_core.py; here the actors are driven through a real HTTP server that
answers as Home Assistant 2025.4.4's `/api/intent/handle` does (homeassistant/components/intent:
`IntentHandleView`: a handler error is HTTP 200 with the error as speech, a failed match an
HTTP 500), and through a port where nothing listens.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hub.actions.actor import (
    NOTHING_ACTS,
    HomeAssistantActor,
    MqttActor,
    NoActor,
    create_actor,
    resolve_act,
)
from hub.actions.home_assistant import HomeAssistantIntents, classify
from hub.config import HubConfig
from rehearsal.ports import free_port
from voxhub.configfile import ConfigError, override
from voxhub.result import ActionStatus, IntentResult, UnderstandingResult


def _answer(response_type: str = "action_done", speech: str = "", success: list[str] = (),
            failed: list[str] = (), code: str | None = None) -> dict[str, Any]:
    """The JSON of Home Assistant's `IntentResponse.as_dict()`."""
    data: dict[str, Any] = {"code": code} if response_type == "error" else {
        "targets": [],
        "success": [{"name": i, "type": "entity", "id": i} for i in success],
        "failed": [{"name": i, "type": "entity", "id": i} for i in failed]}
    return {"speech": {"plain": {"speech": speech, "extra_data": None}} if speech else {},
            "card": {}, "language": "en", "response_type": response_type, "data": data}


class _FakeIntentApi(BaseHTTPRequestHandler):
    """Answers POST /api/intent/handle with the next scripted (status, body)."""

    script: list[tuple[int, Any]] = []
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        request["authorization"] = self.headers.get("Authorization")
        type(self).received.append(request)
        status, body = type(self).script.pop(0)
        raw = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def intent_api() -> Iterator[type[_FakeIntentApi]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeIntentApi)
    _FakeIntentApi.script, _FakeIntentApi.received = [], []
    _FakeIntentApi.url = f"http://127.0.0.1:{server.server_port}/api/intent/handle"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _FakeIntentApi
    server.shutdown()
    server.server_close()


def _result(text: str, engine: Any, area: str | None = None) -> UnderstandingResult:
    decision = engine.decide([text], area)
    assert decision.match is not None, text
    return UnderstandingResult(text, "en", IntentResult(decision.match.intent,
                                                        dict(decision.match.slots)),
                               [e.id for e in decision.resolution.targets], decision.reply, 1.0,
                               understood=decision.match.text)


def test_a_targeted_intent_counts_as_done_only_when_home_assistant_names_its_targets() -> None:
    done = classify(200, _answer(success=["light.kitchen_lights"]), targeted=True)
    assert done.status is ActionStatus.DONE and done.success == ["light.kitchen_lights"]
    handler_error = classify(200, _answer(speech="Service handler cannot target all devices"),
                             targeted=True)
    assert handler_error.status is ActionStatus.FAILED
    assert "cannot target all devices" in (handler_error.error or "")
    untargeted = classify(200, _answer(speech="Added milk"), targeted=False)
    assert untargeted.status is ActionStatus.DONE and untargeted.speech == "Added milk"


@pytest.mark.parametrize(("status", "body", "reason"), [
    (500, "500 Internal Server Error", "HTTP 500"),
    (401, {"message": "401: Unauthorized"}, "refused the token"),
    (400, {"message": "Message format incorrect"}, "Message format incorrect"),
    (200, _answer("error", "No such timer", code="failed_to_handle"), "failed_to_handle"),
    (200, _answer(failed=["light.kitchen_lights"]), "light.kitchen_lights"),
    (200, "not json", "HTTP 200"),
])
def test_every_failure_of_home_assistant_is_a_failure_with_its_reason(
        status: int, body: Any, reason: str) -> None:
    answer = classify(status, body if not isinstance(body, str) else None, targeted=True)
    assert answer.status is ActionStatus.FAILED
    assert reason in (answer.error or "")


async def test_home_assistant_carries_out_the_intent_and_the_reply_says_so(
        intent_api: Any, text_understander: Any) -> None:
    engine = text_understander.engine
    intent_api.script.append((200, _answer(success=["light.kitchen_lights"])))
    actor = HomeAssistantActor(HomeAssistantIntents(intent_api.url, "secret", 5.0))
    try:
        result = await actor.carry_out(_result("turn on the kitchen lights", engine), engine,
                                       area="living_room")
    finally:
        await actor.close()
    sent = intent_api.received[0]
    assert sent["name"] == "HassTurnOn" and sent["data"]["name"] == "Kitchen Lights"
    assert sent["data"]["preferred_area_id"] == "living_room"  # the satellite's room
    assert sent["authorization"] == "Bearer secret"
    assert result.action is not None and result.action.carried_out
    assert result.action.by == "home_assistant"
    assert result.action.targets == ["light.kitchen_lights"]
    assert result.reply.startswith("Turned on")


async def test_home_assistant_refusing_gives_an_honest_reply_naming_the_device(
        intent_api: Any, text_understander: Any) -> None:
    engine = text_understander.engine
    intent_api.script.append((500, "500 Internal Server Error"))
    actor = HomeAssistantActor(HomeAssistantIntents(intent_api.url, "secret", 5.0))
    try:
        result = await actor.carry_out(_result("turn on the kitchen lights", engine), engine)
    finally:
        await actor.close()
    assert result.action is not None and not result.action.carried_out
    assert result.action.status is ActionStatus.FAILED and "HTTP 500" in result.action.error
    assert "Turned" not in result.reply
    assert "Kitchen Lights" in result.reply and result.reply.startswith("Sorry")


async def test_home_assistant_down_is_an_honest_failure_within_the_timeout(
        text_understander: Any) -> None:
    engine = text_understander.engine
    url = f"http://127.0.0.1:{free_port()}/api/intent/handle"
    actor = HomeAssistantActor(HomeAssistantIntents(url, "secret", 2.0))
    try:
        result = await asyncio.wait_for(
            actor.carry_out(_result("turn off the desk lamp", engine), engine), 10)
    finally:
        await actor.close()
    assert result.action is not None and result.action.status is ActionStatus.UNREACHABLE
    assert not result.action.carried_out
    assert "couldn't reach Home Assistant" in result.reply


async def test_without_home_assistant_mqtt_publishes_and_none_says_nothing_acts(
        text_understander: Any) -> None:
    engine = text_understander.engine
    command = _result("turn off the desk lamp", engine)
    published = await MqttActor().carry_out(command, engine)
    assert published.action is not None and published.action.status is ActionStatus.PUBLISHED
    assert published.action.by == "mqtt" and not published.action.carried_out
    assert published.action.targets == ["light.office_desk"]
    nobody = await NoActor().carry_out(command, engine)
    assert nobody.reply == NOTHING_ACTS and not nobody.action.carried_out
    question = await NoActor().carry_out(_result("is the front door locked", engine), engine)
    assert question.action.status is ActionStatus.ANSWERED and question.reply == "Yes"
    time = await NoActor().carry_out(_result("what time is it", engine), engine)
    assert time.action.by == "hub" and time.action.status is ActionStatus.ANSWERED


async def test_a_command_handed_to_automations_is_not_claimed_as_done_but_repeated_as_understood(
        text_understander: Any) -> None:
    """Nobody tells the hub whether an automation acted on the MQTT message: the reply says it
    was sent and what the hub took the words for (a repair shows), never "Turned off …"."""
    engine = text_understander.engine
    misheard = _result("turn off the desk lamb", engine)
    published = await MqttActor().carry_out(misheard, engine)
    assert published.reply == "Sent to your automations: turn off the desk lamp."
    assert "Turned" not in published.reply
    question = await MqttActor().carry_out(_result("is the front door locked", engine), engine)
    assert question.action is not None and question.action.status is ActionStatus.ANSWERED
    assert question.reply == "Yes"  # answered from the home model: true as said


async def test_a_timer_is_handed_on_honestly_even_when_home_assistant_acts(
        intent_api: Any, text_understander: Any) -> None:
    """Home Assistant runs timers only for devices registered with it, and no voxhub part runs
    them: "Timer set" would be a claim nobody made true."""
    engine = text_understander.engine
    actor = HomeAssistantActor(HomeAssistantIntents(intent_api.url, "secret", 5.0))
    try:
        result = await actor.carry_out(_result("set a timer for 5 minutes", engine), engine)
    finally:
        await actor.close()
    assert intent_api.received == []  # not sent to Home Assistant
    assert result.action is not None and result.action.status is ActionStatus.PUBLISHED
    assert not result.action.carried_out
    assert result.reply == "Sent to your automations: set a timer for 5 minutes."


def test_the_action_travels_in_the_published_result() -> None:
    result = UnderstandingResult("x", "en", IntentResult("HassTurnOn", {"name": "Lamp"}))
    from voxhub.result import ActionOutcome

    result.action = ActionOutcome("home_assistant", ActionStatus.FAILED, error="HTTP 500")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["action"] == {"by": "home_assistant", "status": "failed", "carried_out": False,
                              "targets": [], "failed": [], "error": "HTTP 500"}
    assert UnderstandingResult.from_dict(data).action == result.action


def test_intents_act_auto_means_home_assistant_only_when_it_is_known(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    assert resolve_act("auto", True) == "home_assistant"
    assert resolve_act("auto", False) == "mqtt"
    assert isinstance(create_actor(HubConfig()), MqttActor)
    config = override(HubConfig(), "intents.act", "home_assistant", "hub.yaml")
    with pytest.raises(ConfigError, match=r"intents\.act"):
        create_actor(config)
    config = override(config, "home_assistant.url", "http://ha.local:8123", "hub.yaml")
    config = override(config, "home_assistant.token", "t", "hub.yaml")
    actor = create_actor(config)
    assert isinstance(actor, HomeAssistantActor)
    assert actor.intents.url == "http://ha.local:8123/api/intent/handle"
