"""Audio in and out through real subprocesses (arecord/aplay stand-ins: cat, sox) and files."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import wave

import numpy as np
import pytest

from rehearsal.speech import silence
from satellite.audio import CommandSink, FileSink, command_source, load_wav_16k
from satellite.daemon import Satellite
from tests.plugins.satellite import satellite_config, save
from voxhub.audio import float_to_pcm16, write_wav
from voxhub.configfile import ConfigError


async def test_a_microphone_command_is_read_in_blocks(tmp_path):
    pcm = float_to_pcm16(np.linspace(-0.5, 0.5, 16000, dtype=np.float32))
    raw = tmp_path / "mic.raw"
    raw.write_bytes(pcm)
    blocks = [b async for b in command_source(f"cat {raw}", chunk_ms=30)]
    assert b"".join(blocks) == pcm
    assert {len(b) for b in blocks[:-1]} == {960}


async def test_a_microphone_command_that_complains_a_lot_keeps_recording():
    """arecord prints a line per overrun on stderr: 1 MB of it must not fill the pipe and
    freeze the recorder (which silenced the microphone for good)."""
    command = "sh -c 'yes overrun!!! | head -c 1000000 >&2; head -c 64000 /dev/zero'"
    pcm = await asyncio.wait_for(_read_all(command), 10)
    assert len(pcm) == 64000


async def _read_all(command: str) -> bytes:
    return b"".join([b async for b in command_source(command)])


async def test_a_microphone_command_that_cannot_start_is_a_configuration_error():
    with pytest.raises(ConfigError, match=r"mic.command 'voxhub-no-such-recorder -r 16000' "
                                          r"cannot start"):
        await _read_all("voxhub-no-such-recorder -r 16000")


async def test_a_failing_microphone_command_is_restarted_with_a_growing_delay(tmp_path, caplog,
                                                                          hub_standin):
    """A recorder that exits at once (microphone unplugged) is retried after 1, 2, 4… s, not
    every second for ever, and its complaint is in the log."""
    config = satellite_config(tmp_path, hub_standin.uri, None, mic__source="command",
                              mic__command="sh -c 'echo no such device >&2; exit 1'")
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    await asyncio.sleep(4.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    restarts = [r.getMessage() for r in caplog.records if "microphone command ended" in
                r.getMessage()]
    assert restarts[:3] == [f"microphone command ended; restarting it in {s} s"
                            for s in (1, 2, 4)][:len(restarts)]
    assert len(restarts) == 3  # (every second: 5)
    assert any("exited with 1: no such device" in r.getMessage() for r in caplog.records)


async def test_sox_converts_any_recording_into_what_the_satellite_hears(tmp_path):
    """44.1 kHz stereo in, 16 kHz mono 16-bit out, as `arecord -r 16000 -c 1 -f S16_LE` gives."""
    t = np.arange(44100) / 44100
    tone = (0.4 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    write_wav(tmp_path / "cd.wav", float_to_pcm16(stereo), 44100, channels=2)
    command = f"sox {tmp_path / 'cd.wav'} -t raw -r 16000 -e signed -b 16 -c 1 -"
    pcm = b"".join([b async for b in command_source(command)])
    assert abs(len(pcm) // 2 - 16000) < 50
    samples = np.frombuffer(pcm, dtype="<i2") / 32768
    assert 0.3 < np.abs(samples).max() < 0.45


async def test_a_playback_command_receives_the_reply_at_the_volume_set(tmp_path):
    out = tmp_path / "speaker.wav"
    sink = CommandSink(f"sox -t raw -r {{rate}} -e signed -b 16 -c 1 - {out}", rate=24000,
                       volume=50)
    pcm = float_to_pcm16(np.full(24000, 0.5, dtype=np.float32))
    await sink.play(pcm)
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 24000 and wav.getnframes() == 24000
        played = np.frombuffer(wav.readframes(24000), dtype="<i2") / 32768
    assert abs(float(np.median(played)) - 0.25) < 0.01


async def test_aborting_a_playback_command_cuts_it(tmp_path):
    sink = CommandSink("sleep 30", rate=24000)
    await sink.start()
    await sink.write(b"\0" * 4800)
    await asyncio.wait_for(sink.abort(), 5)  # killed, not waited for


async def test_a_file_sink_is_a_valid_wav_at_every_moment(tmp_path):
    sink = FileSink(tmp_path / "out.wav", rate=16000, realtime=False)
    await sink.start()
    await sink.write(float_to_pcm16(np.full(8000, 0.2, dtype=np.float32)))
    with wave.open(str(tmp_path / "out.wav")) as wav:  # readable before finish/close
        assert wav.getnframes() == 8000
    await sink.finish()
    sink.close()


def test_recordings_in_other_formats_are_converted(tmp_path):
    write_wav(tmp_path / "8k.wav", float_to_pcm16(np.zeros(8000, dtype=np.float32)), 8000)
    assert len(load_wav_16k(tmp_path / "8k.wav")) == 16000 * 2


async def test_the_daemon_listens_through_a_real_microphone_command(tmp_path, sat_speech,
                                                                  hub_standin):
    mic = save(tmp_path / "mic.wav", silence(1.0), sat_speech["wake"], silence(0.8),
               sat_speech["command"], silence(1.5))
    # Like arecord: the audio, then the process stays open (sleep replaces the shell, so the
    # satellite's kill reaches it).
    config = satellite_config(tmp_path, hub_standin.uri, None, mic__source="command",
                              mic__command=f"sh -c 'sox {mic} -t raw - && exec sleep 60'")
    satellite = Satellite(config)
    task = asyncio.create_task(satellite.run())
    try:
        for _ in range(400):
            if hub_standin.runs and hub_standin.runs[0].completed and satellite.state == "idle":
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [d.name for d in satellite.detections] == ["okay_nabu"]
    assert len(hub_standin.runs) == 1 and hub_standin.runs[0].completed


async def test_a_satellite_process_reads_stdin_and_writes_the_reply_wav(tmp_path, sat_speech,
                                                                       hub_standin):
    pcm = float_to_pcm16(np.concatenate([silence(1.0), sat_speech["wake"], silence(0.8),
                                         sat_speech["command"], silence(2.0)]))
    out = tmp_path / "reply.wav"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voxhub.cli", "satellite", "--name", "pipe", "--hub",
        hub_standin.uri, "--mic-stdin", "--snd-file", str(out), "--no-sounds",
        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(pcm), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert hub_standin.runs[0].data["satellite"]["name"] == "pipe"
    with wave.open(str(out)) as wav:  # only the reply: sounds are off
        assert abs(wav.getnframes() / wav.getframerate() - hub_standin.reply_s) < 0.05
