"""The satellite's main loop: microphone → wake word → hub → speaker, with MQTT beside it.

States: idle (listening for the wake word only), listening (streaming the command to the hub),
thinking (the hub is working), speaking (playing the reply), error (the hub is unreachable).

What the anchors got wrong and this loop does instead:
- The command's start is never clipped: the last `wake.preroll_s` of audio before the detection
  goes to the hub first.
- The awake chime never reaches the hub: microphone audio captured while it plays is replaced by
  silence (the same length, so the hub's timing is unchanged).
- Streaming stops as soon as the hub says the command ended, and a local VAD stops it anyway
  after a longer silence, so the microphone is never left open for ten seconds.
- The wake word during a reply stops the reply (barge-in) and starts a new command.
- A lost hub is announced once (sound and MQTT error) and the satellite recovers by itself.
- A command whose hub goes away before it answered (no `intent-result` yet) is not lost: its
  audio is kept (a command is at most `max_command_s`, ~0.5 MB), and sent again, once, to the hub
  or a fallback that answers within `hub.replay_window_s`; the user keeps talking meanwhile.
  Otherwise the error chime and an MQTT error (`command-lost`) say it was not carried out. A
  command the hub had answered is never sent twice.
- A microphone command that runs but sends nothing for `mic.stall_timeout_s` is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.tts import Synthesize, SynthesizeVoice

from satellite.audio import RATE, FileSink, Sink, make_sink, make_source
from satellite.config import SatelliteConfig
from satellite.hub_client import HubClient
from satellite.player import Player
from satellite.preroll import preroll_audio
from satellite.sounds import Sounds
from satellite.vad import SpeechTracker
from satellite.wake import Detection, WakeWordDetector

_LOGGER = logging.getLogger(__name__)

IDLE, LISTENING, THINKING, SPEAKING, ERROR = "idle", "listening", "thinking", "speaking", "error"
#: Events of a reply that may still be in flight after the satellite interrupted it.
_REPLY_TAIL = {"audio-start", "audio-chunk", "audio-stop", "synthesize", "run-end"}
#: MQTT switch payloads (Home Assistant sends ON/OFF).
_SWITCH = {"ON": True, "TRUE": True, "1": True, "MUTE": True,
           "OFF": False, "FALSE": False, "0": False, "UNMUTE": False}
#: The longest wait before restarting a failing microphone command.
_MIC_RETRY_MAX_S = 30.0


class MicStalled(Exception):
    """The microphone command runs but sends nothing."""


@dataclass
class Command:
    """What the satellite holds of the command in flight, to replay it to a hub that is back."""

    run: Event
    audio: list[bytes] = field(default_factory=list)
    ended: bool = False  # audio-stop was due (the command's end was heard)
    answered: bool = False  # intent-result arrived: never send it again
    replayed: bool = False


class Satellite:
    def __init__(self, config: SatelliteConfig, sink: Sink | None = None) -> None:
        self.config = config
        self.sink = sink or make_sink(config)
        self.sounds = Sounds(config.sounds, self.sink.rate)
        self.wake = WakeWordDetector(config.wake)
        self.vad = SpeechTracker(stride=config.conversation.local_vad_stride)
        self.hub = HubClient(config.hub, self._on_hub_event, self._on_hub_status)
        self.player = Player(self.sink, self._on_playing)
        self.mqtt: Any = None
        if config.mqtt.url:
            from satellite.mqtt import SatelliteMqtt
            self.mqtt = SatelliteMqtt(config.mqtt, config.satellite_name, config.slug, config.area,
                                      config.state_path / "outbox" / config.slug,
                                      self._on_command)
        self.state = IDLE
        self.state_history: list[str] = [IDLE]
        self.muted = config.muted
        self.hub_ok: bool | None = None
        self.audio_s = 0.0
        self.detections: list[Detection] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="satellite-dsp")
        preroll_blocks = max(1, round(config.wake.preroll_s * 1000 / config.mic.chunk_ms))
        self._preroll: deque[bytes] = deque(maxlen=preroll_blocks)
        self._streaming = False
        self._stream_s = 0.0
        self._blank_samples = 0
        self._expect: str | None = None  # "run" or "announce": what the hub still owes us
        self._last_hub_event = 0.0
        self._drop_tail = False  # barge-in: the hub cancelled the old run, drop its tail
        self._abandon = False  # stop: ignore the current run until its run-end
        self._idle = asyncio.Event()
        self._idle.set()
        self._hub_known = asyncio.Event()  # the first connection attempt has finished
        self._tasks: list[asyncio.Task] = []
        self._barging = False
        self._error_reported = False
        self._command: Command | None = None
        self._replaying = False  # audio is kept, not sent, until the replay has caught up
        self.replays = 0
        self.mic_restarts = 0

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> int:
        """Until the audio source ends (a file) or forever (a microphone)."""
        self.player.start()
        self._tasks = [asyncio.create_task(self.hub.run(), name="hub"),
                       asyncio.create_task(self._watchdog(), name="watchdog")]
        if self.mqtt is not None:
            self._tasks.append(asyncio.create_task(self.mqtt.run(), name="mqtt"))
            self.mqtt.set_retained("mute/state", "ON" if self.muted else "OFF")
            self.mqtt.set_retained("volume/state", str(self.sink.volume))
        self._set_state(IDLE)
        try:
            await self._listen_forever()
            if self.config.mic.source in ("file", "stdin") and self.config.mic.exit_at_end:
                await self._wait_until_done()
            return 0
        finally:
            await self.close()

    async def _wait_until_done(self) -> None:
        deadline = time.monotonic() + self.config.conversation.reply_timeout_s
        while time.monotonic() < deadline and self._busy():
            await asyncio.sleep(0.05)
        if self.mqtt is not None:  # let the outbox drain (bounded: the broker may be down)
            end = time.monotonic() + 5.0
            while (self.mqtt.connected.is_set() and len(self.mqtt.outbox)
                   and time.monotonic() < end):
                await asyncio.sleep(0.05)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a command's work beside the listener; a finished task is forgotten at once, so
        a satellite that speaks MQTT `say` all year does not keep every one of them."""
        task = asyncio.create_task(work)
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    def _busy(self) -> bool:
        return self._streaming or self._expect is not None or self.player.busy

    async def close(self) -> None:
        if self.mqtt is not None:
            await self.mqtt.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            # Python 3.11's wait_for (used inside aiomqtt) can swallow a cancellation that
            # lands as its inner future completes: ask again until the task has ended, or
            # a stop by systemd would hang here.
            while not task.done():
                await asyncio.wait({task}, timeout=1.0)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        await self.player.close()
        if isinstance(self.sink, FileSink):
            self.sink.close()
        self._executor.shutdown(wait=False)

    async def _listen_forever(self) -> None:
        make = make_source(self.config)
        # Start listening once the first attempt to reach the hub has finished (bounded): a
        # wake word heard before would only be answered with "the hub is unreachable".
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._hub_known.wait(),
                                   self.config.hub.connect_timeout_s + 1.0)
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
                        await self._on_mic(block)
                except MicStalled:
                    stalled = True
            if self.config.mic.source != "command":
                return
            self.mic_restarts += 1
            # A recorder that fails at once (microphone unplugged, device busy) is retried
            # with a doubling delay, not every second for ever; one that ran a while, at once.
            if time.monotonic() - started > _MIC_RETRY_MAX_S:
                delay = 1.0
            if not stalled:
                _LOGGER.warning("microphone command ended; restarting it in %.0f s", delay)
            elif not stalled_said:  # once per stall, however many restarts it takes
                stalled_said = True
                _LOGGER.warning("microphone command sent no audio for %.0f s: restarting it "
                                "(retrying with a growing delay until it sends audio)",
                                self.config.mic.stall_timeout_s)
            else:
                _LOGGER.debug("microphone still silent; restarting it in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MIC_RETRY_MAX_S)

    async def _watched(self, blocks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The blocks of a microphone command; MicStalled when it is alive but mute (a stuck
        ALSA device, a recorder waiting on a lock): it would never end by itself."""
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

    # ------------------------------------------------------------------ microphone

    async def _on_mic(self, block: bytes) -> None:
        self.audio_s += len(block) / (2 * RATE)
        if self.muted:
            return
        # The wake word model runs on every block, even while a command streams: its context
        # stays continuous, so a wake word right after a command is not missed. It runs inline:
        # ~0.1 ms per 64 ms block, less than what a hop to a worker thread and back costs (the
        # CPU budget of a Pi Zero 2 is the point); Silero VAD, 20 times heavier, does hop.
        found = self.wake.process(block)
        if self._streaming:
            await self._stream(block)
            return
        self._preroll.append(block)
        if found:
            self.detections.extend(found)
            await self.start_conversation(found[0])

    async def _stream(self, block: bytes) -> None:
        pcm = block
        if self._blank_samples > 0:  # the awake chime is playing: the hub must not hear it
            n = min(self._blank_samples, len(block) // 2)
            pcm = bytes(n * 2) + block[n * 2:]
            self._blank_samples -= n
        command = self._command
        if command is not None and not command.answered:
            command.audio.append(pcm)
        if not self._replaying:
            await self.hub.send(AudioChunk(RATE, 2, 1, pcm).event())
        await asyncio.get_running_loop().run_in_executor(self._executor, self.vad.process, pcm)
        self._stream_s += len(block) / (2 * RATE)
        conv = self.config.conversation
        if self.vad.heard_speech and self.vad.silence_s >= conv.local_silence_s:
            await self._end_command("local VAD: silence")
        elif not self.vad.heard_speech and self._stream_s >= conv.no_speech_timeout_s:
            await self._end_command("nothing was said")
        elif self._stream_s >= conv.max_command_s:
            await self._end_command("command too long")

    # ------------------------------------------------------------------ conversations

    async def start_conversation(self, wake: Detection | None = None) -> None:
        """Wake word (with pre-roll) or MQTT `listen` (without): stream a command to the hub."""
        if self._streaming or self.muted:
            return
        if self.player.busy or self._expect is not None:  # barge-in: the new command wins
            _LOGGER.info("barge-in: stopping the reply")
            self._barging = True  # straight from speaking to listening, no idle in between
            try:
                await self.player.stop()
            finally:
                self._barging = False
            if self._expect == "run":
                self._drop_tail = True  # the hub cancels the old run on our new run-pipeline
            self._expect = None
        if wake is not None and self.mqtt is not None:
            self.mqtt.publish("wake", {"name": wake.name, "phrase": wake.phrase,
                                       "probability": round(wake.probability, 3)})
        pending = self._command if self._replaying else None
        self._command, self._replaying = None, False  # a new command replaces a pending one
        if pending is not None and not pending.answered and self.mqtt is not None:
            self.mqtt.publish("error", {"message": "a newer command replaced one still waiting "
                                        "for a hub: it was not carried out",
                                        "code": "command-lost", "source": "satellite"})
        # A hub that went away moments ago is probably restarting: the command is heard and
        # kept for it (replayed within hub.replay_window_s); one down for longer is reported
        # at once, not after the user has spoken and waited.
        if not self.hub.connected and not self.hub.lost_within(self.config.hub.replay_window_s):
            await self._hub_unavailable("the hub is unreachable")
            return
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS,
                          wake_word_name=wake.name if wake else None).event()
        run.data["satellite"] = {"name": self.config.satellite_name, "area": self.config.area}
        run.data["snd_format"] = {"rate": self.sink.rate, "width": 2, "channels": 1}
        self._expect = "run"
        self._error_reported = False
        self._last_hub_event = time.monotonic()
        self._idle.clear()
        command = self._command = Command(run)
        sent = (await self.hub.send(run) and
                await self.hub.send(AudioStart(RATE, 2, 1).event()))
        talking = False
        if wake is not None:
            preroll, talking = preroll_audio(self._preroll)
            command.audio.append(preroll)
            sent = sent and await self.hub.send(AudioChunk(RATE, 2, 1, preroll).event())
        self._preroll.clear()
        if not sent and not self._begin_replay("the hub connection broke"):
            self._expect = None
            self._command = None
            await self._hub_unavailable("the hub connection broke")
            return
        self.vad.reset()
        self._stream_s = 0.0
        self._streaming = True
        # The chime would talk over a user who goes straight on into the command: skip it then.
        if self.sounds.awake and not talking:
            self._blank_samples = int((self.sounds.seconds(self.sounds.awake) + 0.1) * RATE)
            self.player.sound(self.sounds.awake)
        else:
            self._blank_samples = 0
        self._set_state(LISTENING)

    async def _end_command(self, why: str) -> None:
        if not self._streaming:
            return
        _LOGGER.debug("command ended: %s", why)
        self._streaming = False
        if self._command is not None:
            self._command.ended = True
        if not self._replaying:
            await self.hub.send(AudioStop().event())
        self.player.sound(self.sounds.done)
        if self._expect is not None:
            self._set_state(THINKING)
        else:
            self._check_idle()

    async def stop(self) -> None:
        """MQTT `stop`: silence now, drop the rest of the current run."""
        waiting = self._replaying  # nothing was sent to the hub now connected: no run to drop
        self._command, self._replaying = None, False
        if self._streaming:
            self._streaming = False
            if not waiting:
                await self.hub.send(AudioStop().event())
        if self._expect == "run" and not waiting:
            self._abandon = True
        self._expect = None
        await self.player.stop()
        self._check_idle()

    async def announce(self, text: str, voice: str | None = None) -> None:
        """Speak text from outside (MQTT say), after any conversation in progress."""
        await self._idle.wait()
        if not self.hub.connected:
            await self._hub_unavailable("cannot announce: the hub is unreachable")
            return
        synth = Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None)
        self._expect = "announce"
        self._last_hub_event = time.monotonic()
        self._idle.clear()
        if not await self.hub.send(synth.event()):
            self._expect = None
            await self._hub_unavailable("cannot announce: the hub connection broke")

    # ------------------------------------------------------------------ hub events

    async def _on_hub_event(self, event: Event) -> None:
        self._last_hub_event = time.monotonic()
        kind, data = event.type, event.data or {}
        if self._abandon:
            if kind == "run-end":
                self._abandon = False
                self._check_idle()
            return
        if self._drop_tail:
            if kind in _REPLY_TAIL:
                return
            self._drop_tail = False
        if kind in ("voice-stopped", "transcript") and self._streaming:
            await self._end_command(f"hub: {kind}")
        if kind == "transcript":
            text = str(data.get("text", ""))
            _LOGGER.info("transcript: %s", text)
            if self.mqtt is not None:
                self.mqtt.publish("transcript", text)
        elif kind == "intent-result":
            if self._command is not None:
                self._command.answered = True
                self._command.audio.clear()
            if self.mqtt is not None:
                self.mqtt.publish("intent", data, qos=1)
        elif kind == "synthesize":
            if self.mqtt is not None and self._expect == "run":
                self.mqtt.publish("reply", str(data.get("text", "")))
        elif kind == "audio-start":
            self.player.reply_start(int(data.get("rate", self.sink.rate)),
                                    int(data.get("width", 2)), int(data.get("channels", 1)))
        elif kind == "audio-chunk":
            self.player.reply_chunk(event.payload or b"")
        elif kind == "audio-stop":
            self.player.reply_stop()
            if self._expect == "announce":
                self._expect = None
        elif kind == "run-end":
            error = data.get("error")
            if error and self.mqtt is not None and not self._error_reported:
                self.mqtt.publish("error", {"message": str(error.get("text", error))
                                            if isinstance(error, dict) else str(error),
                                            "code": error.get("code") if isinstance(error, dict)
                                            else None, "source": "run"})
            self._expect = None
            self.player.close_reply()
            if self._streaming:
                await self._end_command("run ended")
            self._command = None
            self._check_idle()
        elif kind == "error":
            if data.get("code") == "auth-required":  # the hub only serves satellites with a token
                _LOGGER.error("the hub requires authentication: set hub.token_file (or "
                              "hub.token) to the hub's server.token")
            else:
                _LOGGER.warning("hub error: %s", data.get("text"))
            self._error_reported = self._expect == "run"  # its run-end repeats it: publish once
            if self.mqtt is not None:
                self.mqtt.publish("error", {"message": data.get("text"), "code": data.get("code"),
                                            "source": "hub"})
            if self._expect == "announce":
                self._expect = None
                self._check_idle()

    async def _on_hub_status(self, connected: bool, reason: str) -> None:
        self._hub_known.set()
        if connected:
            if self.hub_ok is False:
                _LOGGER.info("hub is back: %s", reason)
            self.hub_ok = True
            if self.state == ERROR:
                self._set_state(IDLE)
            return
        self.player.close_reply()
        if self._replaying:  # a command waits for a hub: the replay tells the user, or not
            self.hub_ok = False
            return
        if self._begin_replay(reason):
            self.hub_ok = False
            return
        if self._streaming or self._expect is not None:  # the run died with the connection
            self._streaming = False
            self._expect = None
            self._drop_tail = self._abandon = False
        self._command = None
        if self.hub_ok is not False:  # once per outage, not once per reconnection attempt
            self.hub_ok = False
            await self._hub_unavailable(reason)
        else:
            _LOGGER.debug("hub still unavailable: %s", reason)

    def _begin_replay(self, reason: str) -> bool:
        """Keep the command in flight for a hub that comes back; False if there is none to
        keep (answered already, replayed once already, replay off, or stopped)."""
        command = self._command
        if (command is None or command.answered or command.replayed or self._expect != "run"
                or self.config.hub.replay_window_s <= 0):
            return False
        command.replayed = True
        self._replaying = True
        self._drop_tail = self._abandon = False
        _LOGGER.warning("no hub for this command (%s): keeping it for a hub that answers "
                        "within %.0f s", reason, self.config.hub.replay_window_s)
        self._spawn(self._replay(command))
        return True

    async def _replay(self, command: Command) -> None:
        """Send the kept command to the first hub back; the live stream, if the user is still
        talking, goes on from where the replay caught up."""
        window = self.config.hub.replay_window_s
        back = await self.hub.wait_connected(window)
        if self._command is not command:  # stopped, or replaced by a new command meanwhile
            return
        if back:
            self._last_hub_event = time.monotonic()
            sent = (await self.hub.send(command.run) and
                    await self.hub.send(AudioStart(RATE, 2, 1).event()))
            index = 0
            while sent and index < len(command.audio):  # the stream may add blocks meanwhile
                sent = await self.hub.send(AudioChunk(RATE, 2, 1, command.audio[index]).event())
                index += 1
            if sent and command.ended:
                sent = await self.hub.send(AudioStop().event())
            if sent and self._command is command:
                self._replaying = False
                self.replays += 1
                _LOGGER.info("replayed the command (%.1f s of audio) to hub %s",
                             sum(len(b) for b in command.audio) / (2 * RATE), self.hub.uri)
                return
        if self._command is not command:
            return
        self._replaying = False
        self._command = None
        self._streaming = False
        self._expect = None
        await self._hub_unavailable(
            f"the hub went away mid-command and none answered within {window:.0f} s: the "
            "command was not carried out", code="command-lost")

    async def _hub_unavailable(self, reason: str, code: str = "hub-unavailable") -> None:
        _LOGGER.warning("hub unavailable: %s", reason)
        if self.mqtt is not None:
            self.mqtt.publish("error", {"message": reason, "code": code,
                                        "source": "satellite"})
        self.player.sound(self.sounds.error)
        self._set_state(ERROR)
        self._idle.set()

    async def _watchdog(self) -> None:
        """A hub that goes silent mid-run must not leave the satellite thinking forever."""
        while True:
            await asyncio.sleep(0.5)
            if (self._expect is not None and not self._streaming and not self._replaying and
                    time.monotonic() - self._last_hub_event >
                    self.config.conversation.reply_timeout_s):
                _LOGGER.warning("no answer from the hub: giving up on this run")
                if self.mqtt is not None:
                    self.mqtt.publish("error", {"message": "no answer from the hub",
                                                "code": "timeout", "source": "satellite"})
                self._expect = None
                self._check_idle()

    # ------------------------------------------------------------------ state

    def _on_playing(self, speaking: bool) -> None:
        if speaking:
            self._set_state(SPEAKING)
        else:
            self._check_idle()

    def _check_idle(self) -> None:
        if self._streaming or self._barging:
            return
        if self._expect is None and not self.player.busy:
            if self.state != ERROR or self.hub_ok:
                self._set_state(IDLE)
            self._idle.set()
        elif self._expect is not None and self.state == SPEAKING and not self.player.busy:
            self._set_state(THINKING)

    def _set_state(self, state: str) -> None:
        if state == self.state and self.state_history:
            if self.mqtt is not None:
                self.mqtt.set_retained("state", state)
            return
        _LOGGER.info("state: %s", state)
        self.state = state
        self.state_history.append(state)
        if self.mqtt is not None:
            self.mqtt.set_retained("state", state)

    # ------------------------------------------------------------------ MQTT commands

    async def _on_command(self, command: str, payload: bytes) -> None:
        """One MQTT command; a payload of the wrong shape is refused with a warning (a
        `{"text": null}` used to be spoken as "None", an unknown mute value unmuted)."""
        text = payload.decode("utf-8", errors="replace").strip()
        if command == "say":
            voice = None
            if text.startswith("{"):
                try:
                    data = json.loads(text)
                except ValueError:
                    _LOGGER.warning("say: invalid JSON, speaking it as text")
                else:
                    text, voice = data.get("text"), data.get("voice")
                    if not isinstance(text, str) or not isinstance(voice, str | None):
                        _LOGGER.warning("say: expected {\"text\": TEXT, \"voice\": NAME}, "
                                        "got %.200s", text)
                        return
            if text:
                self._spawn(self.announce(text, voice))
        elif command == "listen":
            await self.start_conversation(None)
        elif command == "stop":
            await self.stop()
        elif command == "mute":
            value = _SWITCH.get(text.upper())
            if value is None:
                _LOGGER.warning("mute: expected ON or OFF, got %.50r", text)
            else:
                self.set_muted(value)
        elif command == "volume":
            try:
                self.set_volume(round(float(text)))
            except (ValueError, OverflowError):  # (OverflowError: inf)
                _LOGGER.warning("volume: %.50r is not a number 0–100", text)

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted and self._streaming:
            self._spawn(self.stop())
        if self.mqtt is not None:
            self.mqtt.set_retained("mute/state", "ON" if muted else "OFF")

    def set_volume(self, volume: int) -> None:
        self.sink.volume = max(0, min(100, volume))
        if self.mqtt is not None:
            self.mqtt.set_retained("volume/state", str(self.sink.volume))
