"""Plays sounds and reply streams one after the other, and stops them instantly on barge-in.

Why a queue of its own: reply audio arrives from the hub faster than it is played. Handing it
to a player task keeps the hub connection's reader free (pings keep flowing during a long
reply), keeps chimes and replies in order, and lets `stop()` drop everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from satellite.audio import Sink, convert_for_sink

_LOGGER = logging.getLogger(__name__)


@dataclass
class _Item:
    kind: str  # sound | start | chunk | stop
    pcm: bytes = b""
    rate: int = 0
    width: int = 2
    channels: int = 1


class Player:
    """`on_change(speaking)` is called when a reply starts and when the player falls silent."""

    def __init__(self, sink: Sink, on_change: Callable[[bool], None]) -> None:
        self.sink = sink
        self._on_change = on_change
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._busy = False
        #: Between a reply's start and stop: chunks may still be on their way from the hub.
        self._in_reply = False
        self._reply_open = False  # a start was queued and its stop not yet
        self._format = (sink.rate, 2, 1)
        self.replies_played = 0

    @property
    def busy(self) -> bool:
        return self._busy or self._in_reply or not self._queue.empty()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="player")

    def sound(self, pcm: bytes) -> None:
        if pcm:
            self._queue.put_nowait(_Item("sound", pcm))

    def reply_start(self, rate: int, width: int, channels: int) -> None:
        self._reply_open = True
        self._queue.put_nowait(_Item("start", rate=rate, width=width, channels=channels))

    def reply_chunk(self, pcm: bytes) -> None:
        self._queue.put_nowait(_Item("chunk", pcm))

    def reply_stop(self) -> None:
        self._reply_open = False
        self._queue.put_nowait(_Item("stop"))

    def close_reply(self) -> None:
        """The run ended (or the hub went away) without the reply's audio-stop: play what came
        and finish, so the satellite does not wait for chunks that will never arrive."""
        if self._reply_open:
            self.reply_stop()

    async def stop(self) -> None:
        """Silence now: drop what is queued and cut what is playing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue = asyncio.Queue()
        await self.sink.abort()
        was_busy, self._busy = self.busy, False
        self._in_reply = self._reply_open = False
        self.start()
        if was_busy:
            self._on_change(False)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.sink.abort()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._play(item)
            except Exception as err:  # the player task must outlive one broken playback:
                # dead, it would leave the satellite "speaking" (busy) for ever
                _LOGGER.warning("playback failed (%s): %r", item.kind, err)
                if item.kind == "stop":
                    self._in_reply = False
                with contextlib.suppress(Exception):
                    await self.sink.abort()
            if self._queue.empty() and not self._in_reply:
                self._busy = False
                self._on_change(False)

    async def _play(self, item: _Item) -> None:
        if item.kind == "sound":
            self._busy = True
            await self.sink.play(item.pcm)
        elif item.kind == "start":
            self._busy = True
            self._in_reply = True
            self._format = (item.rate, item.width, item.channels)
            await self.sink.start()
            self._on_change(True)
        elif item.kind == "chunk":
            rate, width, channels = self._format
            await self.sink.write(convert_for_sink(item.pcm, rate, width, channels,
                                                   self.sink.rate))
        elif item.kind == "stop":
            await self.sink.finish()
            self._in_reply = False
            self.replies_played += 1
