"""The command being streamed to the hub: the chime's window blanked, and when it has ended.

Why the satellite decides too: the hub says when a command ended (voice-stopped, transcript),
but a hub that misses the end must not leave the microphone open: a local VAD stops the stream
after a longer silence, nothing said stops it after `no_speech_timeout_s`, and no command runs
past `max_command_s`. The awake chime is heard by the microphone on a real device: audio
captured while it plays is replaced by silence of the same length, so the hub's timing is
unchanged. Silero VAD runs in a worker thread (20 times the wake word model's cost).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from satellite.audio import RATE
from satellite.config import ConversationConfig
from satellite.vad import SpeechTracker

#: `ended`'s reason for a follow-up nobody answered: dropped quietly, not sent as a command.
NO_ANSWER = "follow-up: nothing was said"


class CommandStream:
    def __init__(self, config: ConversationConfig) -> None:
        self.config = config
        self.vad = SpeechTracker(stride=config.local_vad_stride)
        self.seconds = 0.0
        self._blank_samples = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="satellite-dsp")

    def begin(self, blank_s: float) -> None:
        """A new command; the first `blank_s` seconds are sent as silence."""
        self.vad.reset()
        self.seconds = 0.0
        self._blank_samples = int(blank_s * RATE)

    def blanked(self, block: bytes) -> bytes:
        if self._blank_samples <= 0:
            return block
        n = min(self._blank_samples, len(block) // 2)
        self._blank_samples -= n
        return bytes(n * 2) + block[n * 2:]

    async def hear(self, pcm: bytes) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self.vad.process, pcm)
        self.seconds += len(pcm) / (2 * RATE)

    @property
    def heard_speech(self) -> bool:
        return self.vad.heard_speech

    def ended(self, follow_up: bool) -> str | None:
        """Why the command has ended, or None; `follow_up`: listening after a question, where
        nothing said for `follow_up_s` means no answer (NO_ANSWER)."""
        conv = self.config
        if self.vad.heard_speech and self.vad.silence_s >= conv.local_silence_s:
            return "local VAD: silence"
        if follow_up and self.seconds >= conv.follow_up_s:
            return NO_ANSWER
        if not self.vad.heard_speech and self.seconds >= conv.no_speech_timeout_s:
            return "nothing was said"
        if self.seconds >= conv.max_command_s:
            return "command too long"
        return None

    def close(self) -> None:
        self._executor.shutdown(wait=False)
