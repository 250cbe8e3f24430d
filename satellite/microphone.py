"""The microphone's blocks, for as long as the satellite runs: a recorder that dies or goes
mute is restarted.

Why: a microphone command (arecord, parec) can end (microphone unplugged, device busy) or stay
alive sending nothing (a stuck ALSA device, a recorder waiting on a lock); either way the
satellite would be deaf for good. An ended command is restarted with a doubling delay (one that
ran a while, at once); one silent for `mic.stall_timeout_s` is restarted too, said once per
stall however many restarts it takes. A file or stdin source just ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from satellite.audio import make_source
from satellite.config import SatelliteConfig

_LOGGER = logging.getLogger(__name__)

#: The longest wait before restarting a failing microphone command.
MIC_RETRY_MAX_S = 30.0


class MicStalled(Exception):
    """The microphone command runs but sends nothing."""


class Microphone:
    def __init__(self, config: SatelliteConfig) -> None:
        self.config = config
        self.restarts = 0

    async def feed(self, on_block: Callable[[bytes], Awaitable[None]]) -> None:
        """Hand every block to `on_block` until the source ends (never, for a command)."""
        make = make_source(self.config)
        delay = 1.0
        stalled_said = False
        while True:
            started = time.monotonic()
            stalled = False
            # aclosing: a cancelled satellite stops its microphone process now, not whenever
            # the generator happens to be collected.
            async with contextlib.aclosing(make()) as blocks:
                try:
                    async for block in self._watched(blocks):
                        stalled_said = False
                        await on_block(block)
                except MicStalled:
                    stalled = True
            if self.config.mic.source != "command":
                return
            self.restarts += 1
            if time.monotonic() - started > MIC_RETRY_MAX_S:
                delay = 1.0
            if not stalled:
                _LOGGER.warning("microphone command ended; restarting it in %.0f s", delay)
            elif not stalled_said:
                stalled_said = True
                _LOGGER.warning("microphone command sent no audio for %.0f s: restarting it "
                                "(retrying with a growing delay until it sends audio)",
                                self.config.mic.stall_timeout_s)
            else:
                _LOGGER.debug("microphone still silent; restarting it in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MIC_RETRY_MAX_S)

    async def _watched(self, blocks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The blocks of a microphone command; MicStalled when it is alive but mute: it would
        never end by itself."""
        if self.config.mic.source != "command":
            async for block in blocks:
                yield block
            return
        limit = self.config.mic.stall_timeout_s
        while True:
            try:
                async with asyncio.timeout(limit):
                    block = await anext(blocks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise MicStalled from None
            yield block
