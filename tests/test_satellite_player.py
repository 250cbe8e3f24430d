"""The reply player: the satellite stays 'speaking' for the whole reply, however chunks arrive."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from satellite.audio import CommandSink, FileSink
from satellite.player import Player


def replying_player(wav: Path) -> tuple[Player, FileSink, list[bool]]:
    """A started player into a WAV file, a 24 kHz reply begun; `changes` logs speaking on/off."""
    changes: list[bool] = []
    sink = FileSink(wav, 24000, realtime=False)
    player = Player(sink, changes.append)
    player.start()
    player.reply_start(24000, 2, 1)
    return player, sink, changes


async def test_a_reply_whose_chunks_arrive_slowly_is_one_speaking_period(tmp_path: Path) -> None:
    player, sink, changes = replying_player(tmp_path / "reply.wav")
    await asyncio.sleep(0.1)  # the hub is still rendering: nothing queued behind the start
    assert player.busy and changes == [True]
    for _ in range(3):
        player.reply_chunk(bytes(4800))
        await asyncio.sleep(0.05)
    assert changes == [True]
    player.reply_stop()
    await asyncio.sleep(0.1)
    assert changes == [True, False] and not player.busy
    await player.close()
    sink.close()
    with wave.open(str(tmp_path / "reply.wav")) as wav:
        assert wav.getnframes() == 3 * 2400


async def test_a_run_that_ends_without_audio_stop_still_finishes_the_reply(tmp_path: Path) -> None:
    player, sink, changes = replying_player(tmp_path / "cut.wav")
    player.reply_chunk(bytes(4800))
    player.close_reply()  # run-end arrived, the reply's audio-stop never will
    await asyncio.sleep(0.1)
    assert changes == [True, False] and not player.busy
    await player.close()
    sink.close()


async def test_a_playback_command_that_is_not_installed_leaves_the_satellite_silent_not_stuck(
        ) -> None:
    changes: list[bool] = []
    player = Player(CommandSink("voxhub-no-such-player -r {rate}", 24000), changes.append)
    player.start()
    player.sound(bytes(4800))
    player.reply_start(24000, 2, 1)
    player.reply_chunk(bytes(4800))
    player.reply_stop()
    await asyncio.sleep(0.2)
    assert changes[-1] is False and not player.busy


async def test_the_player_outlives_a_sink_that_fails(tmp_path: Path) -> None:
    """One broken playback is logged and skipped; the next one plays (a dead player task left
    the satellite busy for ever)."""
    class FlakySink(FileSink):
        failures = 1

        async def write(self, pcm: bytes) -> None:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("sound card gone")
            await super().write(pcm)

    changes: list[bool] = []
    sink = FlakySink(tmp_path / "out.wav", 24000, realtime=False)
    player = Player(sink, changes.append)
    player.start()
    for _ in range(2):
        player.reply_start(24000, 2, 1)
        player.reply_chunk(bytes(4800))
        player.reply_stop()
    await asyncio.sleep(0.2)
    assert not player.busy and player.replies_played >= 1
    await player.close()
    sink.close()
    with wave.open(str(tmp_path / "out.wav")) as wav:
        assert wav.getnframes() == 2400  # the second reply
