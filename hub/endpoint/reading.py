"""Reading from one client: its events within size limits, paused over its event budget, and
what it still sends after it was refused.

wyoming's `async_read_event` trusts the header it reads (a `payload_length` of gigabytes is read
whole) and answers a malformed one with None, the end of the stream; the hub reads the same wire
format itself, with size limits and clear errors (`ProtocolError`, which the client is told
before its connection is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
from typing import Any

from wyoming.event import Event

from hub.budget import EventBudget
from hub.endpoint.connection import Connection

_LOGGER = logging.getLogger(__name__)

#: Longest event header line (the JSON before data and payload). wyoming sends `data` after
#: the header; a line this long is an attack, and reading (and parsing) megabytes of it to the
#: event limit would take the reading loop's time from every other client.
MAX_HEADER_BYTES = 1024 * 1024

#: Deepest nesting of arrays and objects accepted in a header or its data. Wyoming's events
#: nest a few levels; Python's JSON parser recurses once per level, and letting it run into
#: the interpreter's recursion limit (a '[[[[…' that fits in the size limit) is not a safe way
#: to refuse: finalizers that run that deep fail too, in code that is not the client's.
MAX_NESTING = 64

#: A JSON string, or what is left of one at the end of the input (an unterminated string must
#: match too: a failed match would be retried from every later quote, quadratic time).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class ProtocolError(ValueError):
    """The client sent something that is not a Wyoming event; its connection is closed."""


async def read_sized_event(reader: asyncio.StreamReader, max_bytes: int,
                           header_bytes: int | None = None) -> tuple[Event, int] | None:
    """One event like wyoming's reader, but with size limits and clear errors, and the bytes
    it took on the wire (what it costs the budget); None at the end of the stream.
    `header_bytes`: the reader's line limit, when it is lower than `max_bytes`."""
    try:
        line = await reader.readline()
    except (asyncio.LimitOverrunError, ValueError) as err:
        raise ProtocolError(f"event header longer than {header_bytes or max_bytes} "
                            "bytes") from err
    if not line:
        return None
    header = _json(line, "event header")
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("event header must be a JSON object with a 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event 'data' must be a JSON object")
    data_length = _length(header, "data_length", max_bytes)
    payload_length = _length(header, "payload_length", max_bytes)
    if data_length + payload_length > max_bytes:
        raise ProtocolError(f"event larger than {max_bytes} bytes")
    if data_length:
        extra = _json(await reader.readexactly(data_length), "event data")
        if not isinstance(extra, dict):
            raise ProtocolError("event data must be a JSON object")
        data.update(extra)
    payload = await reader.readexactly(payload_length) if payload_length else None
    return (Event(type=header["type"], data=data, payload=payload),
            len(line) + data_length + payload_length)


def _json(raw: bytes, what: str) -> Any:
    if _too_deep(raw):
        raise ProtocolError(f"{what} nests deeper than {MAX_NESTING} levels")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(f"{what} is not JSON: {err}") from err


def _too_deep(raw: bytes, chunk: int = 4096) -> bool:
    """Whether the brackets outside strings go deeper than MAX_NESTING, found without
    recursion. Every real event has too few brackets to need counting; an attack's are
    counted a chunk at a time, so a '[[[[…' is refused after its first chunk."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_A_BRACKET)
    if len(brackets) <= MAX_NESTING:
        return False
    depth = 0
    for start in range(0, len(brackets), chunk):
        depths = list(itertools.accumulate(map(_STEP.__getitem__, brackets[start:start + chunk]),
                                           initial=depth))
        if max(depths) > MAX_NESTING:
            return True
        depth = depths[-1]
    return False


def _length(header: dict[str, Any], key: str, max_bytes: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"'{key}' must be a non-negative integer")
    if value > max_bytes:
        raise ProtocolError(f"'{key}' {value} exceeds the limit of {max_bytes} bytes")
    return value


async def pause_reading(conn: Connection, writer: asyncio.StreamWriter, budget: EventBudget,
                        seconds: float) -> None:
    """Read nothing from a client over its event budget for `seconds`: the socket's receive
    buffer fills and TCP stops the client's sending, at no CPU cost to the hub. The client's
    work already queued goes on, and its next events are read once the budget allows."""
    if budget.pauses == 1:
        _LOGGER.warning("%r: more than %g events a second (server.max_events_per_s): its "
                        "events are read at that rate", conn, budget.rate)
    transport = writer.transport  # a socket's transport reads as well as writes
    if not isinstance(transport, asyncio.ReadTransport):
        await asyncio.sleep(seconds)
        return
    # Already paused by the stream reader (its buffer full): that pause is the reader's to end.
    ours = transport.is_reading()
    if ours:
        transport.pause_reading()
    try:
        await asyncio.sleep(seconds)
    finally:
        if ours and not transport.is_closing():
            transport.resume_reading()


async def let_the_error_arrive(conn: Connection, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter, seconds: float = 1.0,
                               max_bytes: int = 256 * 1024) -> None:
    """Half-close, then discard what the client still sends for a moment (bounded in time
    and in bytes: a refused flooder's megabytes would otherwise be read, at full speed, with
    the reading loop's time).

    Closing a socket that has unread input makes the kernel reset the connection, and a reset
    can destroy the `error` the client has not read yet: the refused client would see only
    "connection reset", never why. The connection counts as closed from here: work still
    running for it stops at its next write."""
    conn.closed = True
    discarded = 0
    with contextlib.suppress(Exception):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(seconds):
            while discarded < max_bytes and (data := await reader.read(65536)):
                discarded += len(data)
