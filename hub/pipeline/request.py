"""What a satellite asks for in `run-pipeline`, validated into one dataclass.

wyoming's `RunPipeline` carries only the stages, the wake word and announcement text. Our satellites
(`voxhub/protocol`'s `SatelliteRunPipeline`, which reads the fields' shapes) add who they are
(`satellite: {name, area}`), the format their speaker wants (`snd_format`), and
optionally their own endpointing preferences (Home Assistant's per-satellite "finished speaking
detection"), and, when they listen again without the wake word, the `conversation_id` of the
result they follow up (so that a yes answers the hub's "Did you mean …?"), all in the same
event's data so that a stock wyoming client still works.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event
from wyoming.pipeline import PipelineStage

from hub.intents.conversation import check_id
from hub.pipeline.config import PipelineConfig
from voxhub import language
from voxhub.protocol import SatelliteRunPipeline, SndFormat, json_number


@dataclass(frozen=True)
class RunRequest:
    start_stage: PipelineStage
    end_stage: PipelineStage
    satellite: str
    area: str | None
    snd_format: SndFormat
    config: PipelineConfig
    language: str | None = None
    announce_text: str | None = None
    voice: str | None = None
    wake_word: str | None = None
    #: The conversation this run continues (the previous result's `conversation_id`).
    conversation_id: str | None = None

    @classmethod
    def from_event(cls, event: Event, config: PipelineConfig) -> RunRequest:
        """Parse and validate; raises ValueError naming the bad field."""
        run = SatelliteRunPipeline.from_event(event)
        if run.start_stage in (PipelineStage.WAKE, PipelineStage.INTENT, PipelineStage.HANDLE):
            raise ValueError(f"start_stage '{run.start_stage.value}' is not supported here: "
                             "detect the wake word on the satellite and start at 'asr' "
                             "(or 'tts' with announce_text)")
        if run.start_stage == PipelineStage.TTS and not (run.announce_text or "").strip():
            raise ValueError("start_stage 'tts' needs announce_text")
        assert run.satellite is not None and run.snd_format is not None  # from_event sets both
        return cls(
            start_stage=run.start_stage,
            end_stage=run.end_stage,
            satellite=run.satellite.name,
            area=run.satellite.area,
            snd_format=run.snd_format,
            config=_endpointing(config, run.endpointing),
            # The recognizer and the intents take the bare language: en-US, en_us → en.
            language=language.base(run.language) if run.language else None,
            announce_text=run.announce_text,
            voice=run.voice,
            wake_word=run.wake_word_name,
            conversation_id=check_id(run.conversation_id),
        )


def _endpointing(config: PipelineConfig, overrides: dict[str, Any]) -> PipelineConfig:
    """The hub's settings with a run's overrides, each within the range of its setting (the
    protocol has already refused names that may not be set per run)."""
    if not overrides:
        return config
    changes: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(PipelineConfig)}
    for key, value in overrides.items():
        meta = fields[key].metadata
        if isinstance(getattr(config, key), bool):
            if not isinstance(value, bool):
                raise ValueError(f"endpointing.{key} must be true or false")
        else:
            value = json_number(f"endpointing.{key}", value, float)
            low, high = meta.get("minimum"), meta.get("maximum")
            if (not math.isfinite(value) or (low is not None and value < low)
                    or (high is not None and value > high)):  # NaN passes every comparison
                raise ValueError(f"endpointing.{key}={value} outside {low}..{high}")
        changes[key] = value
    return dataclasses.replace(config, **changes)
