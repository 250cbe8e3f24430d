"""The "Did you mean …?" round trip: an unsafe action heard uncertainly waits for a yes.

The real Understander over the example home, and the hub's handle program over a real Wyoming
connection for Home Assistant's path. "open the garbage door" is the uncertain hearing of
"open the garage door" (an entry to the house): it must be asked about, and only a yes from the
same asker, in the same conversation and in time, opens it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncClient
from wyoming.handle import Handled, NotHandled
from wyoming.intent import Intent

from hub.intents import yes_no
from hub.intents.conversation import Conversations, Turn
from hub.pipeline.config import PipelineConfig
from hub.pipeline.request import RunRequest

UNCERTAIN = "open the garbage door"
GARAGE = "cover.garage_door"
KITCHEN = Turn("satellite:kitchen-sat")


@pytest.mark.parametrize(("heard", "language", "meant"), [
    ("Yes.", "en", True), ("Yeah, do it.", "en", True), ("yes please", "en-US", True),
    ("Go ahead.", "en", True), ("No.", "en", False), ("No, thank you.", "en", False),
    ("Don't.", "en", False), ("Sí.", "es", True), ("si", "es", True), ("No.", "es", False),
    ("Oui, vas-y !", "fr", True), ("Non merci.", "fr", False), ("Sì, certo.", "it", True),
    ("Sim.", "pt", True), ("Não.", "pt_BR", False), ("Ja, bitte.", "de", True),
    ("Yes, turn off the kitchen lights.", "en", None), ("yes no", "en", None),
    ("please", "en", None), ("", "en", None), ("Open the garage door.", "en", None),
])
def test_only_a_whole_yes_or_a_whole_no_is_an_answer(heard: str, language: str,
                                                     meant: bool | None) -> None:
    assert yes_no.read(heard, language) is meant


def test_every_language_with_words_has_its_own_refusal() -> None:
    refusals = {yes_no.declined(language) for language in yes_no.WORDS}
    assert len(refusals) == len(yes_no.WORDS)
    assert yes_no.declined("es-ES") == yes_no.declined("es")
    assert yes_no.declined("xx") == yes_no.declined("en")  # no entry: English


def asked(understander: Any, turn: Turn | None = KITCHEN, text: str = UNCERTAIN) -> Any:
    result = asyncio.run(understander.understand_text(text, "office", turn=turn))
    assert result.intent is None and result.continue_conversation, result
    assert result.reply.startswith("Did you mean") and result.reply.endswith("?")
    return result


def answered(understander: Any, text: str, turn: Turn) -> Any:
    return asyncio.run(understander.understand_text(text, "office", turn=turn))


def test_a_yes_in_the_same_conversation_carries_out_the_proposed_action(
        text_understander: Any) -> None:
    question = asked(text_understander)
    assert question.conversation_id
    done = answered(text_understander, "Yes.",
                    Turn(KITCHEN.owner, question.conversation_id))
    assert done.intent is not None and done.intent.name == "HassTurnOn"
    assert done.targets == [GARAGE] and done.confidence == 1.0
    assert done.conversation_id == question.conversation_id
    # Answered once: the same yes again is just a word.
    again = answered(text_understander, "Yes.", Turn(KITCHEN.owner, question.conversation_id))
    assert again.intent is None


def test_a_no_does_nothing_and_says_so(text_understander: Any) -> None:
    question = asked(text_understander)
    refused = answered(text_understander, "No, thanks.",
                       Turn(KITCHEN.owner, question.conversation_id))
    assert refused.intent is not None and refused.intent.name == "HassNevermind"
    assert refused.targets == [] and refused.reply == "OK, I won't."
    late_yes = answered(text_understander, "yes", Turn(KITCHEN.owner, question.conversation_id))
    assert late_yes.intent is None


def test_a_yes_from_another_satellite_or_conversation_confirms_nothing(
        text_understander: Any) -> None:
    question = asked(text_understander)
    stranger = answered(text_understander, "Yes.",
                        Turn("satellite:hallway-sat", question.conversation_id))
    assert stranger.intent is None
    elsewhere = answered(text_understander, "Yes.", Turn(KITCHEN.owner, "another-conversation"))
    assert elsewhere.intent is None
    forgotten = answered(text_understander, "Yes.", Turn(KITCHEN.owner, None))
    assert forgotten.intent is None
    # The question was the kitchen's own, and is still open for it.
    done = answered(text_understander, "yes", Turn(KITCHEN.owner, question.conversation_id))
    assert done.intent is not None and done.targets == [GARAGE]


def test_anything_but_yes_or_no_is_a_new_command_and_drops_the_question(
        text_understander: Any) -> None:
    question = asked(text_understander)
    turn = Turn(KITCHEN.owner, question.conversation_id)
    other = answered(text_understander, "turn on the kitchen lights", turn)
    assert other.intent is not None and other.intent.name == "HassTurnOn"
    assert GARAGE not in other.targets
    assert answered(text_understander, "yes", turn).intent is None


def test_a_request_that_cannot_come_back_is_asked_but_nothing_is_kept(
        text_understander: Any) -> None:
    before = len(text_understander.conversations)
    result = asked(text_understander, turn=None)
    assert result.conversation_id is None
    assert len(text_understander.conversations) == before


@pytest.fixture
def short_memory(text_understander: Any) -> Iterator[Conversations]:
    """The shared Understander with a question store that forgets after 0.3 s."""
    kept = text_understander.conversations
    text_understander.conversations = Conversations(timeout_s=0.3)
    try:
        yield text_understander.conversations
    finally:
        text_understander.conversations = kept


def test_a_yes_after_the_question_expired_confirms_nothing(text_understander: Any,
                                                            short_memory: Any) -> None:
    question = asked(text_understander)
    time.sleep(0.4)
    late = answered(text_understander, "Yes.", Turn(KITCHEN.owner, question.conversation_id))
    assert late.intent is None and not late.targets
    assert len(short_memory) == 0


def test_the_store_is_bounded_and_keeps_one_question_per_asker(text_understander: Any) -> None:
    now = [0.0]
    store = Conversations(timeout_s=15.0, max_pending=3, clock=lambda: now[0])
    decision = text_understander.engine.decide([UNCERTAIN], "office")
    assert decision.confirm
    first = store.ask(Turn("satellite:a"), decision, "office")
    second = store.ask(Turn("satellite:a"), decision, "office")
    assert first != second and len(store) == 1  # a's newer question replaced its older one
    for name in "bcd":
        store.ask(Turn(f"satellite:{name}"), decision, None)
    assert len(store) == 3  # the oldest (a's) went first
    assert store.take(Turn("satellite:a", second)) is None
    now[0] = 16.0
    assert len(store) == 0
    with pytest.raises(ValueError):
        store.ask(Turn("satellite:a"), text_understander.engine.decide(["turn on the kitchen "
                                                                       "lights"]), None)


def test_run_pipeline_carries_the_conversation_id_and_refuses_a_bad_one() -> None:
    from wyoming.pipeline import PipelineStage, RunPipeline

    def request(value: Any) -> RunRequest:
        event = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
        event.data["conversation_id"] = value
        return RunRequest.from_event(event, PipelineConfig())

    assert request("01J5ABCDEF").conversation_id == "01J5ABCDEF"
    assert request(None).conversation_id is None
    for bad in (42, "x" * 101, "line\nbreak", ["a"]):
        with pytest.raises(ValueError, match="conversation_id"):
            request(bad)


# --- Home Assistant's path: `transcript` with its conversation_id ---------------------------


@pytest.fixture(scope="module")
def handle_hub(text_understander: Any) -> Iterator[Any]:
    from hub.intents.program import HandleProgram
    from tests.plugins.hub import ThreadedHub

    hub = ThreadedHub([HandleProgram(text_understander)])
    yield hub
    hub.close()


async def converse(uri: str, text: str, context: dict[str, Any]) -> Any:
    async with AsyncClient.from_uri(uri) as client:
        await client.write_event(Transcript(text=text, context=context).event())
        while True:
            event = await asyncio.wait_for(client.read_event(), 30)
            assert event is not None, "connection closed"
            if event.type in ("intent", "handled", "not-handled", "error"):
                return event


async def test_home_assistants_conversation_is_asked_and_its_yes_gives_the_intent(
        handle_hub: Any) -> None:
    context = {"conversation_id": "01JHA0000000000000000000AA", "area": "office"}
    event = await converse(handle_hub.uri, UNCERTAIN, context)
    assert event.type == "handled"  # a question, not a failure: nothing was done
    question = Handled.from_event(event)
    assert question.text.startswith("Did you mean") and question.text.endswith("?")
    assert question.context["continue_conversation"] is True
    assert question.context["conversation_id"] == context["conversation_id"]

    # Another conversation's yes is only a word.
    other = await converse(handle_hub.uri, "yes", {**context, "conversation_id": "01JHA-other"})
    assert other.type == "not-handled"
    event = await converse(handle_hub.uri, "Yes.", context)
    assert event.type == "intent"  # Home Assistant carries it out with its own handler
    intent = Intent.from_event(event)
    assert intent.name == "HassTurnOn"
    assert {e.name: e.value for e in intent.entities}["name"] == "Garage Door"
    assert intent.context["conversation_id"] == context["conversation_id"]


async def test_home_assistants_no_is_answered_and_nothing_is_asked_of_it(
        handle_hub: Any) -> None:
    context = {"conversation_id": "01JHA0000000000000000000BB", "area": "office"}
    assert (await converse(handle_hub.uri, UNCERTAIN, context)).type == "handled"
    event = await converse(handle_hub.uri, "No.", context)
    assert event.type == "handled" and Handled.from_event(event).text == "OK, I won't."
    again = await converse(handle_hub.uri, "Yes.", context)
    assert again.type == "not-handled" and NotHandled.from_event(again).text.startswith("Sorry")


@pytest.mark.parametrize(("heard", "outcome"), [
    (["Yes.", "Yes, please."], "HassTurnOn"),
    (["Number.", "No."], "HassNevermind"),  # a short "no" heard as a word: still a no
    (["Yes.", "No."], "HassNevermind"),     # the hypotheses disagree: nothing is done
    (["Number.", "Yes."], None),            # a yes must be what was heard best
])
def test_a_yes_must_be_heard_best_while_any_close_hypothesis_may_say_no(
        text_understander: Any, heard: list[str], outcome: str | None) -> None:
    from hub.intents.conversation import answer

    store = Conversations()
    decision = text_understander.engine.decide([UNCERTAIN], "office")
    turn = Turn(KITCHEN.owner, store.ask(KITCHEN, decision, "office"))
    found = answer(store, text_understander.engine, turn, heard, "en")
    assert (found.match.intent if found is not None else None) == outcome
    assert len(store) == 0  # answered or not, the question is gone
