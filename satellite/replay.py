"""A command kept for a hub that comes back, and sending it again.

Why: a hub restarting mid-command (an update, a crash) would otherwise lose what the user just
said. The command's run and audio are kept (a command is at most `max_command_s`, ~0.5 MB)
until its intent-result arrives, and sent again, once, to the first hub back within
`hub.replay_window_s`; a command the hub had answered is never sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event

from satellite.audio import RATE
from satellite.config import HubLinkConfig
from satellite.hub_client import HubClient

_LOGGER = logging.getLogger(__name__)

Send = Callable[[Event], Awaitable[bool]]


@dataclass
class KeptCommand:
    """The command in flight, as the hub would need it again."""

    run: Event
    audio: list[bytes] = field(default_factory=list)
    ended: bool = False  # audio-stop was due (the command's end was heard)
    answered: bool = False  # intent-result arrived: never send it again
    replayed: bool = False

    @property
    def seconds(self) -> float:
        return sum(len(block) for block in self.audio) / (2 * RATE)


async def resend(send: Send, command: KeptCommand) -> bool:
    """Send the whole command again; the audio may grow meanwhile (the user still talking),
    and what was added is sent too. False as soon as a send fails."""
    sent = await send(command.run) and await send(AudioStart(RATE, 2, 1).event())
    index = 0
    while sent and index < len(command.audio):
        sent = await send(AudioChunk(RATE, 2, 1, command.audio[index]).event())
        index += 1
    if sent and command.ended:
        sent = await send(AudioStop().event())
    return sent


class CommandKeeper:
    """The command in flight, from its run-pipeline until the hub answered it or it is lost.

    `replaying`: the hub went away and the command waits for one that comes back; the live
    stream is then kept here, not sent, until the replay has caught up. `on_replayed` is told
    when a replay went out, `on_lost(why)` when no hub took it within the window.
    """

    def __init__(self, config: HubLinkConfig, hub: HubClient,
                 spawn: Callable[[Coroutine[Any, Any, None]], None],
                 on_replayed: Callable[[], None],
                 on_lost: Callable[[str], Awaitable[None]]) -> None:
        self.config = config
        self.hub = hub
        self._spawn = spawn
        self._on_replayed = on_replayed
        self._on_lost = on_lost
        self.command: KeptCommand | None = None
        self.replaying = False
        self.replays = 0

    def keep(self, run: Event) -> KeptCommand:
        self.command = KeptCommand(run)
        return self.command

    def drop(self) -> KeptCommand | None:
        """Forget the command; the one returned was waiting for a hub and is not carried out."""
        pending = self.command if self.replaying else None
        self.command, self.replaying = None, False
        return pending if pending is not None and not pending.answered else None

    def heard(self, pcm: bytes) -> None:
        if self.command is not None and not self.command.answered:
            self.command.audio.append(pcm)

    def ended(self) -> None:
        if self.command is not None:
            self.command.ended = True

    def answered(self) -> None:
        if self.command is not None:
            self.command.answered = True
            self.command.audio.clear()

    def begin_replay(self, reason: str) -> bool:
        """Keep the command for a hub that comes back; False if there is none to keep
        (answered already, replayed once already, replay off, or stopped)."""
        command = self.command
        if (command is None or command.answered or command.replayed
                or self.config.replay_window_s <= 0):
            return False
        command.replayed = True
        self.replaying = True
        _LOGGER.warning("no hub for this command (%s): keeping it for a hub that answers "
                        "within %.0f s", reason, self.config.replay_window_s)
        self._spawn(self._replay(command))
        return True

    async def _replay(self, command: KeptCommand) -> None:
        """Send the kept command to the first hub back; the live stream, if the user is still
        talking, goes on from where the replay caught up."""
        window = self.config.replay_window_s
        back = await self.hub.wait_connected(window)
        if self.command is not command:  # stopped, or replaced by a new command meanwhile
            return
        if back and await resend(self.hub.send, command) and self.command is command:
            self.replaying = False
            self.replays += 1
            self._on_replayed()
            _LOGGER.info("replayed the command (%.1f s of audio) to hub %s", command.seconds,
                         self.hub.uri)
            return
        if self.command is not command:
            return
        self.command, self.replaying = None, False
        await self._on_lost(f"the hub went away mid-command and none answered within "
                            f"{window:.0f} s: the command was not carried out")
