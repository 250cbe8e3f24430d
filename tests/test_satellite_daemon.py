"""The satellite daemon against a hub stand-in speaking the pipeline protocol: wake word → hub →
reply on the speaker, pre-roll, silent chimes, barge-in, hub outages."""

from __future__ import annotations

import asyncio
import wave

import numpy as np
import pytest
from wyoming.event import Event, async_read_event, async_write_event

from rehearsal.speech import silence
from satellite.daemon import Satellite
from tests.plugins.satellite import HubStandIn, satellite_config, save
from voxhub.audio import float_to_pcm16


def played_seconds(path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


async def test_wake_word_streams_the_command_with_its_preroll_and_plays_the_reply(
        tmp_path, sat_speech, hub_standin):
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.8),
               sat_speech["command"], silence(1.5))
    config = satellite_config(tmp_path, hub_standin.uri, mic)
    satellite = Satellite(config)
    assert await asyncio.wait_for(satellite.run(), 60) == 0

    assert [d.name for d in satellite.detections] == ["okay_nabu"]
    assert len(hub_standin.runs) == 1
    run = hub_standin.runs[0]
    assert run.data["start_stage"] == "asr" and run.data["end_stage"] == "tts"
    assert run.data["wake_word_name"] == "okay_nabu"
    assert run.data["satellite"] == {"name": "kitchen-sat", "area": "Kitchen"}
    assert run.data["snd_format"] == {"rate": 24000, "width": 2, "channels": 1}
    assert {k: run.audio_format[k] for k in ("rate", "width", "channels")} == \
        {"rate": 16000, "width": 2, "channels": 1}
    assert run.stopped and run.completed
    # The wake word's tail is not sent (the pre-roll starts after it), the chime window is
    # silence, and the command arrives sample for sample.
    audio = np.frombuffer(bytes(run.audio), dtype="<i2").astype(np.float32) / 32768
    command = float_to_pcm16(sat_speech["command"])
    start = bytes(run.audio).find(command)
    assert start > 0
    assert np.abs(audio[:start // 2]).max() < 0.03
    # The speaker got the awake chime, the done chime and the 1 s reply.
    assert played_seconds(config.snd.file) >= hub_standin.reply_s
    assert satellite.state_history[-4:] == ["listening", "thinking", "speaking", "idle"]


async def test_command_spoken_without_pause_keeps_its_first_word(tmp_path, sat_speech,
                                                                  hub_standin):
    """A user who goes straight on from the wake word to the command: the pre-roll carries the
    command's start (spoken before the detection fired), no chime talks over it, and the hub
    receives every sample of the command unchanged."""
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.05),
               sat_speech["command"], silence(1.5))
    config = satellite_config(tmp_path, hub_standin.uri, mic)
    satellite = Satellite(config)
    assert await asyncio.wait_for(satellite.run(), 60) == 0
    run = hub_standin.runs[0]
    command = float_to_pcm16(sat_speech["command"])
    start = bytes(run.audio).find(command[:3200])
    assert start >= 0, "the command's first 0.1 s never reached the hub"
    assert bytes(run.audio)[start:start + len(command)] == command


async def test_the_awake_chime_heard_by_the_microphone_never_reaches_the_hub(
        tmp_path, sat_speech, hub_standin):
    """On a real device the microphone hears the speaker. Here the recording carries a loud tone
    right after the wake word, where the chime's echo would be: the hub receives silence there,
    then the command intact."""
    # okay_nabu fires ~0.2 s after the word ends; the echo comes 0.1 s after that and lasts as
    # long as the chime.
    t = np.arange(int(0.2 * 16000)) / 16000
    echo = (0.5 * np.sin(2 * np.pi * 880 * t)).astype(np.float32)
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.3), echo,
               silence(0.6), sat_speech["command"], silence(1.5))
    satellite = Satellite(satellite_config(tmp_path, hub_standin.uri, mic))
    assert await asyncio.wait_for(satellite.run(), 60) == 0
    run = hub_standin.runs[0]
    audio = np.frombuffer(bytes(run.audio), dtype="<i2").astype(np.float32) / 32768
    command = float_to_pcm16(sat_speech["command"])
    start = bytes(run.audio).find(command) // 2
    assert start > 0
    assert np.abs(audio[:start]).max() < 0.03  # no tone, no wake word tail


async def test_wake_word_during_the_reply_stops_it_and_starts_a_new_command(tmp_path, sat_speech):
    hub = HubStandIn(reply_s=4.0)
    await hub.start()
    try:
        command = [sat_speech["wake"], silence(0.8), sat_speech["command"]]
        # The first reply starts ~0.8 s after the first command; the second wake word is
        # detected about 1.4 s into it.
        mic = save(tmp_path / "mic.wav", silence(1.0), *command, silence(1.0), *command,
                   silence(1.5))
        config = satellite_config(tmp_path, hub.uri, mic, realtime=True)
        satellite = Satellite(config)
        assert await asyncio.wait_for(satellite.run(), 60) == 0
    finally:
        await hub.stop()
    assert [d.name for d in satellite.detections] == ["okay_nabu", "okay_nabu"]
    assert len(hub.runs) == 2
    assert hub.runs[1].completed  # (the hub had sent all of the first reply before the barge-in)
    history = satellite.state_history
    barge = history.index("speaking")
    assert history[barge + 1] == "listening"  # straight from the reply to the new command
    # Only the second reply was played in full: the first was cut (unbroken, the speaker would
    # have played two replies and four chimes: 8.9 s).
    chimes = 4 * satellite.sounds.seconds(satellite.sounds.awake)
    assert played_seconds(config.snd.file) < chimes + 2 * hub.reply_s - 1.0


async def test_hub_down_then_up_then_restarted_is_survived(tmp_path, sat_speech):
    from rehearsal.ports import free_port

    port = free_port()
    conversation = [sat_speech["wake"], silence(0.8), sat_speech["command"]]
    mic = save(tmp_path / "mic.wav", silence(2.5), *conversation, silence(4.5), *conversation,
               silence(1.5))
    config = satellite_config(tmp_path, f"tcp://127.0.0.1:{port}", mic, realtime=True)
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    await asyncio.sleep(1.0)
    assert satellite.state == "error" and satellite.hub_ok is False
    first = HubStandIn(port=port)
    await first.start()
    try:
        for _ in range(100):  # the first conversation completes
            if first.runs and first.runs[0].completed and satellite.state == "idle":
                break
            await asyncio.sleep(0.1)
    finally:
        await first.stop()
    await asyncio.sleep(0.5)
    assert satellite.hub_ok is False  # noticed the restart
    second = HubStandIn(port=port)
    await second.start()
    try:
        assert await asyncio.wait_for(task, 60) == 0
    finally:
        await second.stop()
    assert first.runs[0].completed
    assert len(second.runs) == 1 and second.runs[0].completed
    assert satellite.state_history.count("error") >= 2


class NotAHub:
    """A port that accepts connections but is no hub: `close` hangs up at once (Docker's port
    forwarder while the hub's container is down), `silent` never answers (another service)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None
        self._silent: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"tcp://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "close":
            writer.close()
        else:
            self._silent.append(writer)

    async def stop(self) -> None:
        assert self._server is not None
        for writer in self._silent:
            writer.close()
        self._server.close()


@pytest.mark.parametrize("mode", ["close", "silent"])
async def test_a_port_that_accepts_but_is_no_hub_is_one_outage_not_a_flapping_link(
        tmp_path, mode):
    """Only a hub that answers a ping counts as connected: the satellite announces the outage
    once and retries with its back-off, instead of chiming "back" and "lost" twice a second."""
    peer = NotAHub(mode)
    uri = await peer.start()
    mic = save(tmp_path / "mic.wav", silence(3.0))
    config = satellite_config(tmp_path, uri, mic, realtime=True, mic__tail_silence_s=0.0,
                              hub__pong_timeout_s=0.3)
    satellite = Satellite(config)
    try:
        assert await asyncio.wait_for(satellite.run(), 30) == 0
    finally:
        await peer.stop()
    assert peer.connections >= 3  # it kept trying…
    assert satellite.hub.connections == 0  # …but never took the port for a hub
    assert satellite.hub_ok is False
    assert satellite.state_history == ["idle", "error"]


async def test_a_malformed_event_from_the_hub_is_skipped_and_the_link_stays_up(tmp_path):
    """A reply whose audio-start has no usable rate: the satellite logs it, finishes the run
    and keeps the same connection (a handler error used to end the hub link for good)."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (event := await async_read_event(reader)) is not None:
            if event.type == "ping":
                await async_write_event(Event("pong"), writer)
            elif event.type == "run-pipeline":
                await async_write_event(Event("audio-start", {"rate": None}), writer)
                await async_write_event(Event("run-end", {}), writer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    uri = f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    mic = save(tmp_path / "mic.wav", silence(4.0))
    satellite = Satellite(satellite_config(tmp_path, uri, mic, realtime=True,
                                           mic__tail_silence_s=0.0))
    task = asyncio.create_task(satellite.run())
    try:
        for _ in range(50):
            if satellite.hub.connected:
                break
            await asyncio.sleep(0.05)
        for _ in range(2):  # the second run proves the link survived the first
            await satellite.start_conversation()
            for _ in range(50):
                if satellite.state == "idle":
                    break
                await asyncio.sleep(0.05)
            assert satellite.state == "idle"
        assert await asyncio.wait_for(task, 30) == 0
    finally:
        server.close()
    assert satellite.hub.connections == 1
    assert "error" not in satellite.state_history
