"""Fair rendering: a client's first audio is not queued behind other clients' replies.

The render threads take new requests' first pieces first, later pieces by urgency, and never
starve a long reply (hub/tts/scheduler.py). The order is asserted from the scheduler's record of
what it started, with its thread held by gates, never by how long something took.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

import pytest

from hub.tts.engine import Synthesizer
from hub.tts.scheduler import MAX_SKIPS, RenderScheduler

LONG_SENTENCES = ("The kitchen lights are on and the oven is preheating to two hundred degrees. "
                  "The living room blinds are half open and the television is switched off. "
                  "The front door is locked, the garage door is closed and the alarm is set. "
                  "Tomorrow will be sunny in the morning with some rain in the late evening.")


def _gated(scheduler: RenderScheduler) -> threading.Event:
    """Occupy the scheduler's only thread until the returned event is set."""
    gate, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        gate.wait(30)

    scheduler.submit(hold, deadline=float("-inf"), client="gate")
    assert holding.wait(30)
    return gate


def _order(scheduler: RenderScheduler) -> list[tuple[str, int]]:
    return [(r.client, r.piece) for r in scheduler.recent if r.client != "gate"]


def test_a_new_requests_first_piece_renders_before_pieces_of_replies_still_playing() -> None:
    scheduler = RenderScheduler(workers=1)
    try:
        now = scheduler.clock()
        gate = _gated(scheduler)
        backlog = [scheduler.submit(lambda: None, now + 5 + i, client=f"busy{i % 3}", piece=i)
                   for i in range(1, 7)]
        first = scheduler.submit(lambda: None, now, client="quiet", piece=0)
        gate.set()
        for future in [*backlog, first]:
            future.result(30)
        assert _order(scheduler)[0] == ("quiet", 0)
        assert _order(scheduler)[1:] == [(f"busy{i % 3}", i) for i in range(1, 7)]
    finally:
        scheduler.close()


def test_a_later_piece_waits_behind_at_most_two_new_requests_first_pieces() -> None:
    """No long reply starves while new requests keep coming, however late everything is."""
    scheduler = RenderScheduler(workers=1)
    try:
        now = scheduler.clock()
        gate = _gated(scheduler)
        later = scheduler.submit(lambda: None, now - 30, client="long", piece=4)
        firsts = [scheduler.submit(lambda: None, now, client=f"new{i}", piece=0)
                  for i in range(5)]
        gate.set()
        for future in [later, *firsts]:
            future.result(30)
        assert MAX_SKIPS == 2
        assert _order(scheduler) == [("new0", 0), ("new1", 0), ("long", 4), ("new2", 0),
                                     ("new3", 0), ("new4", 0)]
    finally:
        scheduler.close()


def test_clients_whose_pieces_are_due_together_are_served_in_turn() -> None:
    scheduler = RenderScheduler(workers=1)
    try:
        now = scheduler.clock()
        gate = _gated(scheduler)
        futures = [scheduler.submit(lambda: None, now, client=f"c{i}", piece=0) for i in range(5)]
        gate.set()
        for future in futures:
            future.result(30)
        assert _order(scheduler) == [(f"c{i}", 0) for i in range(5)]
    finally:
        scheduler.close()


def test_a_withdrawn_piece_is_never_rendered_and_closing_withdraws_what_waits() -> None:
    scheduler = RenderScheduler(workers=1)
    ran: list[str] = []
    now = scheduler.clock()
    gate = _gated(scheduler)
    withdrawn = scheduler.submit(lambda: ran.append("withdrawn"), now, client="gone")
    kept = scheduler.submit(lambda: ran.append("kept"), now + 1, client="here")
    assert withdrawn.cancel()
    gate.set()
    kept.result(30)
    assert ran == ["kept"]
    gate = _gated(scheduler)
    waiting = scheduler.submit(lambda: ran.append("late"), now, client="late")
    scheduler.close()
    gate.set()
    assert waiting.cancelled()
    with pytest.raises(RuntimeError, match="closed"):
        scheduler.submit(lambda: None, now)
    assert ran == ["kept"]


def test_a_failed_render_reaches_the_stream_that_asked_for_it() -> None:
    scheduler = RenderScheduler(workers=1)
    try:
        def broken() -> None:
            raise ValueError("no phonemes for this")

        with pytest.raises(ValueError, match="no phonemes"):
            scheduler.submit(broken, scheduler.clock()).result(30)
        assert scheduler.submit(lambda: "still serving", scheduler.clock()).result(30) == \
            "still serving"
    finally:
        scheduler.close()


@pytest.fixture
def sentence_synth(synthesizer) -> Synthesizer:
    """The loaded Kokoro with whole sentences as pieces and one render thread, so each piece
    has seconds of audio and the order of renders is the scheduler's alone."""
    config = replace(synthesizer.config, first_piece_chars=0, workers=1, cache_mb=0)
    synth = Synthesizer(config, synthesizer.data_dir)
    synth.backend = synthesizer.backend
    yield synth
    synth.close()


def test_a_reply_renders_at_most_one_piece_ahead_of_what_its_client_has_taken(
        sentence_synth) -> None:
    synth = sentence_synth
    request = synth.request(LONG_SENTENCES)
    pieces_in_reply = len(synth.segments(request))
    assert pieces_in_reply >= 3

    async def scenario() -> list[bytes]:
        stream = synth.stream(request, "slow-reader")
        taken = [await anext(stream)]
        async with asyncio.timeout(60):
            while ("slow-reader", 1) not in _order(synth.scheduler):
                await asyncio.sleep(0.01)
        # A piece due after everything: it starts once piece 1 is rendered, and the stream
        # would have asked for piece 2 by the time it ends, had it rendered further ahead.
        await asyncio.wrap_future(synth.scheduler.submit(lambda: None, float("inf"), "probe"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert synth.scheduler.pending() == 0
        assert [p for c, p in _order(synth.scheduler) if c == "slow-reader"] == [0, 1]
        taken += [piece async for piece in stream]
        return taken

    pieces = asyncio.run(scenario())
    assert len(pieces) == pieces_in_reply and all(pieces)
    assert [p for c, p in _order(synth.scheduler) if c == "slow-reader"] == \
        list(range(pieces_in_reply))


def test_a_clients_first_audio_is_not_queued_behind_other_clients_long_replies(
        sentence_synth) -> None:
    synth = sentence_synth
    long_request = synth.request(LONG_SENTENCES)

    async def scenario() -> dict[str, list[bytes]]:
        first = synth.stream(long_request, "long-a")
        second = synth.stream(synth.request(LONG_SENTENCES.replace("kitchen", "hall")),
                              "long-b")
        heard = dict(zip(("long-a", "long-b"), ([piece] for piece in await asyncio.gather(
            anext(first), anext(second))), strict=True))
        # Both long replies now have seconds of audio to play and their next pieces asked for:
        # one renders, the other waits.
        quiet = synth.stream(synth.request("The porch light is on."), "quiet")
        heard["quiet"] = [piece async for piece in quiet]
        heard["long-a"] += [piece async for piece in first]
        heard["long-b"] += [piece async for piece in second]
        return heard

    heard = asyncio.run(scenario())
    order = _order(synth.scheduler)
    started_before_quiet = order[:order.index(("quiet", 0))]
    # The first pieces, and at most the one second piece that was rendering when it came.
    assert {("long-a", 0), ("long-b", 0)} <= set(started_before_quiet)
    assert len(started_before_quiet) <= 3
    pieces_in_reply = len(synth.segments(long_request))
    assert len(heard["long-a"]) == len(heard["long-b"]) == pieces_in_reply
    assert heard["quiet"] and all(heard["quiet"])
