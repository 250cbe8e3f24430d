"""The hub's own event reader (hub/endpoint/reading.py): limits that refuse before parsing."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.endpoint.reading import MAX_NESTING, ProtocolError, read_sized_event


async def _read(wire: bytes, max_bytes: int = 1 << 20):
    reader = asyncio.StreamReader(limit=max_bytes)
    reader.feed_data(wire)
    reader.feed_eof()
    return await read_sized_event(reader, max_bytes)


@pytest.mark.parametrize("wire", [
    b'{"type": "describe", "data": ' + b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1)
    + b"}\n",
    b'{"type": "describe", "data": ' + b"[{" * 100_000 + b"\n",  # unbalanced, 200 kB
])
async def test_a_header_nesting_deeper_than_the_limit_is_refused_before_it_is_parsed(wire):
    with pytest.raises(ProtocolError, match=f"nests deeper than {MAX_NESTING} levels"):
        await _read(wire)


async def test_event_data_nesting_deeper_than_the_limit_is_refused_too():
    data = b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    wire = json.dumps({"type": "describe", "data_length": len(data)}).encode() + b"\n" + data
    with pytest.raises(ProtocolError, match="event data nests deeper"):
        await _read(wire)


async def test_brackets_and_escaped_quotes_inside_strings_are_text_not_nesting():
    text = 'say "[[[[" ' * 100 + "{" * 500 + '\\"]'
    data = {"text": text, "deep": [[[[["fine"]]]]]}
    wire = json.dumps({"type": "synthesize", "data": data}).encode() + b"\n"
    event, size = await _read(wire)
    assert event.type == "synthesize" and event.data == data and size == len(wire)


async def test_an_unterminated_string_of_escaped_quotes_is_refused_without_stalling():
    # Every quote in it starts a string that never ends: a matcher that retried from each
    # one would take minutes on this line.
    wire = b'{"type": "x", "t": "' + b'\\"' * 400_000 + b"\n"
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ProtocolError, match="not JSON"):
        await _read(wire)
    assert loop.time() - started < 5  # a hang bound, not a speed target
