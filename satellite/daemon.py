"""The satellite's main loop: microphone → wake word → hub → speaker, with MQTT beside it.

The states (idle, listening, follow-up, thinking, speaking, error) and which may follow which
are satellite/state.py's; this module decides when to change them. What it does that other
satellites do not:
- The command's start is never clipped: the last `wake.preroll_s` of audio before the detection
  goes to the hub first; the awake chime never reaches it (satellite/stream.py).
- Streaming stops as soon as the hub says the command ended, and a local VAD stops it anyway
  after a longer silence, so the microphone is never left open for ten seconds.
- The wake word during a reply stops the reply (barge-in) and starts a new command.
- A lost hub is announced once (sound and MQTT error) and the satellite recovers by itself.
- A command whose hub goes away before it answered is kept and sent again, once, to a hub back
  within `hub.replay_window_s` (satellite/replay.py); otherwise the error chime and an MQTT
  error (`command-lost`) say it was not carried out.
- A reply that asks something ("Did you mean …?", or a result marked continue_conversation) is
  followed by `conversation.follow_up_s` of listening without the wake word, with the result's
  conversation id in the run, so that a plain "yes" answers it; nothing said: back to idle,
  quietly (no done chime, no error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from functools import partial

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeVoice

from satellite import hub_events
from satellite.audio import RATE, FileSink, Sink, make_sink
from satellite.commands import obey
from satellite.config import SatelliteConfig
from satellite.hooks import Hooks
from satellite.hub_client import HubClient
from satellite.microphone import Microphone
from satellite.player import Player
from satellite.preroll import preroll_audio
from satellite.publisher import Publisher, make_publisher
from satellite.replay import CommandKeeper
from satellite.sounds import Sounds
from satellite.state import Exchange, HubLink, State, StateMachine, StateObserver
from satellite.stream import NO_ANSWER, CommandStream
from satellite.tasks import Tasks
from satellite.wake import Detection, WakeWordDetector
from voxhub.protocol import ErrorCode, EventType, WyomingType, run_error_of

_LOGGER = logging.getLogger(__name__)

#: Why the state is held where it is while a new command starts (no idle in between).
_BARGE_IN, _FOLLOW_UP_STARTING = "barge-in", "follow-up starting"


class Satellite:
    """One satellite. Others follow it through `on_state` and `hooks` (microphone blocks,
    wake words, hub events); `run_endpointing` is added to every run's endpointing."""

    def __init__(self, config: SatelliteConfig, sink: Sink | None = None) -> None:
        self.config = config
        self.sink = sink or make_sink(config)
        self.sounds = Sounds(config.sounds, self.sink.rate)
        self.wake = WakeWordDetector(config.wake)
        self.stream = CommandStream(config.conversation)
        self.hub = HubClient(config.hub, self._on_hub_event, self._on_hub_status)
        self.player = Player(self.sink, self._on_playing)
        self.tasks = Tasks()
        self.microphone = Microphone(config)
        self.states = StateMachine(State.IDLE)
        self.hooks = Hooks()
        self.mqtt: Publisher = make_publisher(config, partial(obey, self))  # MQTT commands
        self.states.on_state(self.mqtt.on_state)
        self.run_endpointing: dict[str, float | bool] = {}
        self.link = HubLink.UNKNOWN
        self.muted = config.muted
        self.audio_s = 0.0
        self.detections: list[Detection] = []
        self.keeper = CommandKeeper(config.hub, self.hub, self.tasks.spawn, self._replayed,
                                    self._command_lost)
        preroll_blocks = max(1, round(config.wake.preroll_s * 1000 / config.mic.chunk_ms))
        self._preroll: deque[bytes] = deque(maxlen=preroll_blocks)
        self._streaming = False
        self.exchange = Exchange()
        self._holds: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._hub_known = asyncio.Event()  # the first connection attempt has finished
        self._asked = hub_events.Asked()  # by the last run's reply: a follow-up is due

    @property
    def state(self) -> State:
        return self.states.state

    @property
    def state_history(self) -> list[State]:
        return self.states.history

    @property
    def hub_ok(self) -> bool | None:
        """None before the first attempt to reach the hub, then whether it is reachable."""
        return None if self.link is HubLink.UNKNOWN else self.link is HubLink.UP

    @property
    def mic_restarts(self) -> int:
        return self.microphone.restarts

    @property
    def replays(self) -> int:
        """Commands sent again to a hub that came back."""
        return self.keeper.replays

    def on_state(self, observer: StateObserver) -> None:
        """Call `observer(old, new)` on every state change (see StateMachine.on_state)."""
        self.states.on_state(observer)

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> int:
        """Until the audio source ends (a file) or forever (a microphone)."""
        self.player.start()
        self.tasks.add(asyncio.create_task(self.hub.run(), name="hub"),
                       asyncio.create_task(self._watchdog(), name="watchdog"),
                       *self.mqtt.start(self.muted, self.sink.volume))
        self.states.set(State.IDLE)
        try:
            # Listen once the first attempt to reach the hub has finished (bounded): a wake
            # word heard before would only be answered with "the hub is unreachable".
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._hub_known.wait(),
                                       self.config.hub.connect_timeout_s + 1.0)
            await self.microphone.feed(self._on_mic)
            if self.config.mic.source in ("file", "stdin") and self.config.mic.exit_at_end:
                await self._wait_until_done()
            return 0
        finally:
            await self.close()

    async def _wait_until_done(self) -> None:
        deadline = time.monotonic() + self.config.conversation.reply_timeout_s
        while time.monotonic() < deadline and self._busy():
            await asyncio.sleep(0.05)
        await self.mqtt.drain(5.0)

    def _busy(self) -> bool:
        return self._streaming or self.exchange.owed or self.player.busy

    async def close(self) -> None:
        await self.mqtt.close()
        await self.tasks.cancel_all()
        await self.player.close()
        if isinstance(self.sink, FileSink):
            self.sink.close()
        self.stream.close()

    # ------------------------------------------------------------------ microphone

    async def _on_mic(self, block: bytes) -> None:
        self.hooks.mic(block, self.audio_s)
        self.audio_s += len(block) / (2 * RATE)
        if self.muted:
            return
        # The wake word model runs on every block, even while a command streams: its context
        # stays continuous, so a wake word right after a command is not missed. It runs inline:
        # ~0.1 ms per 64 ms block, less than what a hop to a worker thread and back costs (the
        # CPU budget of a Pi Zero 2 is the point); Silero VAD, 20 times heavier, does hop.
        found = self.wake.process(block)
        if self._streaming:
            await self._stream_block(block)
            return
        self._preroll.append(block)
        if found:
            self.detections.extend(found)
            await self.start_conversation(found[0])
            self.hooks.wake(found[-1])

    @property
    def _following(self) -> bool:
        """The stream is a follow-up and no speech was heard yet."""
        return self._streaming and self.state is State.FOLLOW_UP

    async def _stream_block(self, block: bytes) -> None:
        pcm = self.stream.blanked(block)  # the awake chime is playing: the hub must not hear it
        self.keeper.heard(pcm)
        if not self.keeper.replaying:
            await self.hub.send(AudioChunk(RATE, 2, 1, pcm).event())
        await self.stream.hear(pcm)
        if self._following and self.stream.heard_speech:
            self.states.set(State.LISTENING)  # an answer to the question is on its way
        why = self.stream.ended(self._following)
        if why == NO_ANSWER:
            _LOGGER.info("%s", why)
            await self.stop()  # the hub's run is dropped; back to idle without a chime
        elif why is not None:
            await self._end_command(why)

    # ------------------------------------------------------------------ conversations

    async def start_conversation(self, wake: Detection | None = None,
                                 follow_up: bool = False) -> None:
        """Wake word (with pre-roll) or MQTT `listen` (without): stream a command to the hub.
        `follow_up`: listening again after a question, in the same conversation."""
        conversation_id = self._asked.conversation_id if follow_up else None
        self._asked = hub_events.Asked()
        try:
            await self._start_conversation(wake, follow_up, conversation_id)
        finally:
            self._holds.discard(_FOLLOW_UP_STARTING)
            if follow_up and not self._streaming:  # muted meanwhile, or no hub: settle
                self._settle()

    async def _start_conversation(self, wake: Detection | None, follow_up: bool,
                                  conversation_id: str | None) -> None:
        if self._streaming or self.muted:
            return
        if self.player.busy or self.exchange.owed:
            _LOGGER.info("barge-in: stopping the reply")  # the new command wins
            self._holds.add(_BARGE_IN)  # straight from speaking to listening, no idle between
            try:
                await self.player.stop()
            finally:
                self._holds.discard(_BARGE_IN)
            self.exchange.interrupt()
        if wake is not None:
            self.mqtt.wake(wake)
        if self.keeper.drop() is not None:  # a new command replaces one waiting for a hub
            self.mqtt.error("a newer command replaced one still waiting for a hub: it was not "
                            "carried out", ErrorCode.COMMAND_LOST, "satellite")
        # A hub that went away moments ago is probably restarting: the command is heard and
        # kept for it (replayed within hub.replay_window_s); one down for longer is reported
        # at once, not after the user has spoken and waited.
        if not self.hub.connected and not self.hub.lost_within(self.config.hub.replay_window_s):
            await self._hub_unavailable("the hub is unreachable")
            return
        run = hub_events.run_pipeline(
            self.config.satellite_name, self.config.area, self.sink.rate,
            wake.name if wake else None, conversation_id,
            self.config.conversation.follow_up_s if follow_up else None, self.run_endpointing)
        self.exchange.begin_run()
        self._idle.clear()
        command = self.keeper.keep(run)
        sent = (await self.hub.send(run) and
                await self.hub.send(AudioStart(RATE, 2, 1).event()))
        talking = False
        if wake is not None:
            preroll, talking = preroll_audio(self._preroll)
            command.audio.append(preroll)
            sent = sent and await self.hub.send(AudioChunk(RATE, 2, 1, preroll).event())
        self._preroll.clear()
        if not sent and not self._begin_replay("the hub connection broke"):
            self.exchange.done()
            self.keeper.drop()
            await self._hub_unavailable("the hub connection broke")
            return
        self._streaming = True
        # The chime would talk over a user who goes straight on into the command: skip it then.
        chime = self.sounds.follow_up if follow_up else self.sounds.awake
        if chime and not talking:
            self.stream.begin(self.sounds.seconds(chime) + 0.1)
            self.player.sound(chime)
        else:
            self.stream.begin(0.0)
        self.states.set(State.FOLLOW_UP if follow_up else State.LISTENING)

    async def _end_command(self, why: str) -> None:
        if not self._streaming:
            return
        _LOGGER.debug("command ended: %s", why)
        self._streaming = False
        self.keeper.ended()
        if not self.keeper.replaying:
            await self.hub.send(AudioStop().event())
        self.player.sound(self.sounds.done)
        if self.exchange.owed:
            self.states.set(State.THINKING)
        else:
            self._settle()

    async def stop(self) -> None:
        """MQTT `stop`: silence now, drop the rest of the current run."""
        waiting = self.keeper.replaying  # nothing was sent to the hub now connected:
        self.keeper.drop()  # no run to drop there
        self._asked = hub_events.Asked()
        if self._streaming:
            self._streaming = False
            if not waiting:
                await self.hub.send(AudioStop().event())
        self.exchange.abandon(run_was_sent=not waiting)
        await self.player.stop()
        self._settle()

    async def announce(self, text: str, voice: str | None = None) -> None:
        """Speak text from outside (MQTT say), after any conversation in progress."""
        await self._idle.wait()
        if not self.hub.connected:
            await self._hub_unavailable("cannot announce: the hub is unreachable")
            return
        synth = Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None)
        self.exchange.begin_announcement()
        self._idle.clear()
        if not await self.hub.send(synth.event()):
            self.exchange.done()
            await self._hub_unavailable("cannot announce: the hub connection broke")

    # ------------------------------------------------------------------ hub events

    async def _on_hub_event(self, event: Event) -> None:
        self.hooks.hub_event(event)
        kind = event.type
        if not (act := self.exchange.heard(kind)):
            if act is None:  # the run-end of a run the satellite stopped
                self._settle()
            return
        in_run = self.exchange.in_run
        if kind in (WyomingType.VOICE_STOPPED, WyomingType.TRANSCRIPT) and self._streaming:
            await self._end_command(f"hub: {kind}")
        if kind == WyomingType.TRANSCRIPT:
            text = hub_events.text_of(event)
            _LOGGER.info("transcript: %s", text)
            self.mqtt.transcript(text)
        elif kind == EventType.INTENT_RESULT:
            self.keeper.answered()
            self._asked = hub_events.asked_by(event)
            self.mqtt.intent(event.data or {})
        elif kind == WyomingType.SYNTHESIZE and in_run:
            text = hub_events.text_of(event)
            self._asked.question = hub_events.asks(text)  # the reply's last sentence decides
            self.mqtt.reply(text)
        elif kind == WyomingType.AUDIO_START:
            self.player.reply_start(*hub_events.reply_format(event, self.sink.rate))
        elif kind == WyomingType.AUDIO_CHUNK:
            self.player.reply_chunk(event.payload or b"")
        elif kind == WyomingType.AUDIO_STOP:
            self.player.reply_stop()
            if self.exchange.announcing:
                self.exchange.done()
        elif kind == EventType.RUN_END:
            await self._run_ended(event)
        elif kind == WyomingType.ERROR:
            await self._hub_error(event)

    async def _run_ended(self, event: Event) -> None:
        error = run_error_of(event)
        if error is not None:
            self._asked = hub_events.Asked()
            if not self.exchange.error_reported:
                self.mqtt.error(*error, "run")
        self.exchange.done()
        self.player.close_reply()
        if self._streaming:
            await self._end_command("run ended")
        self.keeper.drop()
        self._settle()

    async def _hub_error(self, event: Event) -> None:
        text, code = hub_events.error_of(event)
        if code == ErrorCode.AUTH_REQUIRED:  # the hub only serves satellites with a token
            _LOGGER.error("the hub requires authentication: set hub.token_file (or hub.token) "
                          "to the hub's server.token")
        else:
            _LOGGER.warning("hub error: %s", text)
        # its run-end repeats it: published once
        self.exchange.error_reported = self.exchange.in_run
        self.mqtt.error(text, code, "hub")
        if self.exchange.announcing:
            self.exchange.done()
            self._settle()

    async def _on_hub_status(self, connected: bool, reason: str) -> None:
        self._hub_known.set()
        if connected:
            if self.link is HubLink.DOWN:
                _LOGGER.info("hub is back: %s", reason)
            self.link = HubLink.UP
            if self.state is State.ERROR:
                self.states.set(State.IDLE)
            return
        self.player.close_reply()
        if self.keeper.replaying or self._begin_replay(reason):
            self.link = HubLink.DOWN  # a command waits for a hub: the replay tells the user
            return
        if self._streaming or self.exchange.owed:  # the run died with the connection
            self._streaming = False
            self.exchange.forget()
        self.keeper.drop()
        if self.link is not HubLink.DOWN:  # once per outage, not once per reconnection attempt
            self.link = HubLink.DOWN
            await self._hub_unavailable(reason)
        else:
            _LOGGER.debug("hub still unavailable: %s", reason)

    def _begin_replay(self, reason: str) -> bool:
        """Keep the run's command for a hub that comes back (True), if there is one to keep."""
        if not self.exchange.in_run or not self.keeper.begin_replay(reason):
            return False
        self.exchange.resume()
        return True

    def _replayed(self) -> None:
        self.exchange.last_event = time.monotonic()  # the watchdog's clock starts again

    async def _command_lost(self, why: str) -> None:
        self._streaming = False
        self.exchange.done()
        await self._hub_unavailable(why, code=ErrorCode.COMMAND_LOST)

    async def _hub_unavailable(self, reason: str,
                               code: ErrorCode = ErrorCode.HUB_UNAVAILABLE) -> None:
        _LOGGER.warning("hub unavailable: %s", reason)
        self.mqtt.error(reason, code, "satellite")
        self.player.sound(self.sounds.error)
        self.states.set(State.ERROR)
        self._idle.set()

    async def _watchdog(self) -> None:
        """A hub that goes silent mid-run must not leave the satellite thinking forever."""
        while True:
            await asyncio.sleep(0.5)
            if (not self._streaming and not self.keeper.replaying
                    and self.exchange.overdue(self.config.conversation.reply_timeout_s)):
                _LOGGER.warning("no answer from the hub: giving up on this run")
                self.mqtt.error("no answer from the hub", ErrorCode.TIMEOUT, "satellite")
                self.exchange.done()
                self._settle()

    # ------------------------------------------------------------------ state

    def _on_playing(self, speaking: bool) -> None:
        if speaking:
            self.states.set(State.SPEAKING)
        else:
            self._settle()

    def _settle(self) -> None:
        """Something finished (the stream, the reply, the run): the state that follows. While
        a new command is starting (`_holds`), the state stays as it is."""
        if self._streaming or self._holds:
            return
        if not self.exchange.owed and not self.player.busy:
            if self._listen_again():
                return
            if self.state is not State.ERROR or self.link is HubLink.UP:
                self.states.set(State.IDLE)
            self._idle.set()
        elif self.exchange.owed and self.state is State.SPEAKING and not self.player.busy:
            self.states.set(State.THINKING)

    def _listen_again(self) -> bool:
        """After a reply that asked something: a follow-up without the wake word (True), when
        follow-up listening is on and the satellite can listen and reach its hub."""
        due = self._asked.due
        self._asked.question = self._asked.continues = False
        if (not due or self.config.conversation.follow_up_s <= 0 or self.muted
                or not self.hub.connected):
            return False
        self._holds.add(_FOLLOW_UP_STARTING)
        self.tasks.spawn(self.start_conversation(None, follow_up=True))
        return True

    # ------------------------------------------------------------------ controls

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted and self._streaming:
            self.tasks.spawn(self.stop())
        self.mqtt.muted(muted)

    def set_volume(self, volume: int) -> None:
        self.sink.volume = max(0, min(100, volume))
        self.mqtt.volume(self.sink.volume)
