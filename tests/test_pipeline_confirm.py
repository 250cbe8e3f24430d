"""The "Did you mean …?" round trip through the hub's pipeline, with Home Assistant acting.

The real pipeline program (Silero endpointing, Whisper, the intents over the example home,
Kokoro replies) over Wyoming, spoken to by a satellite-like client exactly as the satellite
daemon speaks (`run-pipeline` carrying the previous result's `conversation_id`); Home
Assistant's intent API is a local HTTP server recording what it is asked to do. Home Assistant
must be asked to open the garage only after a yes from the satellite that was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from rehearsal.speech import espeak, silence
from tests.plugins.pipeline import run_command
from voxhub.result import UnderstandingResult

GARAGE = "cover.garage_door"


class IntentApi(BaseHTTPRequestHandler):
    """POST /api/intent/handle: records the request, answers that the targets were acted on."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        type(self).received.append(request)
        body = json.dumps({
            "speech": {"plain": {"speech": "Opened the garage door", "extra_data": None}},
            "card": {}, "language": "en", "response_type": "action_done",
            "data": {"targets": [], "failed": [],
                     "success": [{"name": "Garage Door", "type": "entity", "id": GARAGE}]},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def intent_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), IntentApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/intent/handle", IntentApi.received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def acting_hub(pipeline_understander: Any, synthesizer: Any,
               intent_api: tuple[str, list[dict[str, Any]]]) -> Iterator[Any]:
    from hub.actions.actor import HomeAssistantActor
    from hub.actions.home_assistant import HomeAssistantIntents
    from hub.intents.conversation import Conversations
    from hub.pipeline.config import PipelineConfig
    from hub.pipeline.program import PipelineProgram
    from tests.plugins.hub import ThreadedHub

    actor = HomeAssistantActor(HomeAssistantIntents(intent_api[0], "token", 5.0))
    hub = ThreadedHub([PipelineProgram(PipelineConfig(), pipeline_understander, synthesizer,
                                       actor=actor)])
    # Each run here waits for its whole spoken reply, and a stranger's run comes in between:
    # the question must outlive that (its expiry is tested on its own).
    kept = pipeline_understander.conversations
    pipeline_understander.conversations = Conversations(timeout_s=120.0)
    yield hub
    pipeline_understander.conversations = kept
    hub.close()


def utterance(text: str) -> np.ndarray:
    return np.concatenate([silence(0.4), espeak(text), silence(1.5)])


async def said(hub: Any, text: str, name: str,
               conversation_id: str | None = None) -> UnderstandingResult:
    extra = {"conversation_id": conversation_id} if conversation_id else None
    log = await run_command(hub.uri, utterance(text), name=name, area="Office",
                            extra=extra)
    assert "intent-result" in log.types(), log.types()
    return UnderstandingResult.from_dict(log.first("intent-result").data)


async def test_home_assistant_opens_the_garage_only_after_the_asked_satellites_yes(
        acting_hub: Any, intent_api: Any) -> None:
    received = intent_api[1]
    received.clear()
    question = await said(acting_hub, "open the garbage door", "office-sat")
    assert question.intent is None and question.continue_conversation
    assert question.reply.startswith("Did you mean") and question.conversation_id
    assert question.action is not None and not question.action.carried_out
    assert received == []  # asked, not done

    # Another satellite carrying the same id is not the one that was asked.
    stranger = await said(acting_hub, "yes please", "hallway-sat",
                          question.conversation_id)
    assert stranger.intent is None and received == []

    done = await said(acting_hub, "yes please", "office-sat",
                      question.conversation_id)
    assert done.intent is not None and done.intent.name == "HassTurnOn"
    assert done.action is not None and done.action.by == "home_assistant"
    assert done.action.carried_out and done.action.targets == [GARAGE]
    assert [r["name"] for r in received] == ["HassTurnOn"]
    assert received[0]["data"]["name"] == "Garage Door"


async def test_a_no_asks_home_assistant_for_nothing(acting_hub: Any, intent_api: Any) -> None:
    received = intent_api[1]
    received.clear()
    question = await said(acting_hub, "open the garbage door", "office-sat")
    assert question.continue_conversation
    refused = await said(acting_hub, "no thanks", "office-sat",
                         question.conversation_id)
    assert refused.intent is not None and refused.intent.name == "HassNevermind"
    assert refused.reply == "OK, I won't."
    assert received == []
