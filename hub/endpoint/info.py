"""The answer to `describe`: every program's entries in one `info`, cached per connection.

Home Assistant builds its STT, TTS, conversation and wake word entities from one endpoint's
`info`, so every program adds its entries to the same one. Building it walks every voice and
language (milliseconds of the reading loop): a client flooding `describe` would otherwise take
that time from every other client, so one connection's `describe`s are answered from the `info`
built for it at most `INFO_TTL_S` ago, while a new connection sees a changed configuration at
once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from wyoming.event import Event
from wyoming.info import Info

from hub.endpoint.connection import Connection
from hub.endpoint.program import Program

#: How long one built `info` answers one connection's `describe`s.
INFO_TTL_S = 2.0


def build_info(programs: Sequence[Program[Any]]) -> Info:
    info = Info()
    for program in programs:
        program.describe(info)
    return info


def info_event(programs: Sequence[Program[Any]], conn: Connection) -> Event:
    """The `info` for `conn`'s `describe`, built at most once per `INFO_TTL_S` for it."""
    now = asyncio.get_running_loop().time()
    built = conn.described
    if built is None or now - built[0] > INFO_TTL_S:
        built = conn.described = (now, build_info(programs).event())
    return built[1]
