"""What a satellite asks for in `run-pipeline`, validated into one dataclass.

wyoming's `RunPipeline` carries only the stages, the wake word and announcement text. Our satellites
add who they are (`satellite: {name, area}`), the format their speaker wants (`snd_format`), and
optionally their own endpointing preferences (Home Assistant's per-satellite "finished speaking
detection"), all in the same event's data so that a stock wyoming client still works.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event
from wyoming.pipeline import PipelineStage, RunPipeline

from hub.endpoint import AUDIO_BOUNDS
from hub.pipeline_config import PipelineConfig
from voxhub import language

#: Endpointing settings a satellite may choose for its own runs, within the hub's allowed ranges.
_OVERRIDABLE = ("silence_s", "min_speech_s", "max_speech_s", "no_speech_s", "vad_threshold",
                "early_answer", "early_pause_s")


@dataclass(frozen=True)
class AudioFormat:
    rate: int = 24000
    width: int = 2
    channels: int = 1

    @classmethod
    def from_data(cls, data: Any, default: AudioFormat) -> AudioFormat:
        if data is None:
            return default
        if not isinstance(data, dict):
            raise ValueError("snd_format must be an object with rate, width and channels")
        fmt = cls(*(_number(f"snd_format.{key}", data.get(key, getattr(default, key)), int)
                    for key in ("rate", "width", "channels")))
        for name in ("rate", "channels"):  # the bounds of the audio the hub takes in
            low, high = AUDIO_BOUNDS[name]
            if not low <= getattr(fmt, name) <= high:
                raise ValueError(f"snd_format {name} {getattr(fmt, name)} outside {low}..{high}")
        if fmt.width not in (1, 2, 4):  # what the reply can be encoded in
            raise ValueError(f"snd_format width {fmt.width} not one of 1, 2, 4")
        return fmt


@dataclass(frozen=True)
class RunRequest:
    start_stage: PipelineStage
    end_stage: PipelineStage
    satellite: str
    area: str | None
    snd_format: AudioFormat
    config: PipelineConfig
    language: str | None = None
    announce_text: str | None = None
    voice: str | None = None
    wake_word: str | None = None

    @classmethod
    def from_event(cls, event: Event, config: PipelineConfig) -> RunRequest:
        """Parse and validate; raises ValueError naming the bad field."""
        run = RunPipeline.from_event(event)
        if run.start_stage in (PipelineStage.WAKE, PipelineStage.INTENT, PipelineStage.HANDLE):
            raise ValueError(f"start_stage '{run.start_stage.value}' is not supported here: "
                             "detect the wake word on the satellite and start at 'asr' "
                             "(or 'tts' with announce_text)")
        if run.start_stage == PipelineStage.TTS and not (run.announce_text or "").strip():
            raise ValueError("start_stage 'tts' needs announce_text")
        data = event.data or {}
        satellite = data.get("satellite") or {}
        if not isinstance(satellite, dict):
            raise ValueError("'satellite' must be an object with name and area")
        name = str(satellite.get("name") or data.get("name") or "satellite")
        area = satellite.get("area")
        return cls(
            start_stage=run.start_stage,
            end_stage=run.end_stage,
            satellite=name,
            area=str(area) if area else None,
            snd_format=AudioFormat.from_data(data.get("snd_format"), AudioFormat()),
            config=_endpointing(config, data.get("endpointing")),
            # The recognizer and the intents take the bare language: en-US, en_us → en.
            language=language.base(str(data["language"])) if data.get("language") else None,
            announce_text=run.announce_text,
            voice=(data.get("voice") or {}).get("name") if isinstance(data.get("voice"), dict)
            else data.get("voice"),
            wake_word=run.wake_word_name,
        )


def _endpointing(config: PipelineConfig, overrides: Any) -> PipelineConfig:
    if not overrides:
        return config
    if not isinstance(overrides, dict):
        raise ValueError("'endpointing' must be an object")
    changes: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(PipelineConfig)}
    for key, value in overrides.items():
        if key not in _OVERRIDABLE:
            raise ValueError(f"endpointing.{key} cannot be set per run "
                             f"(allowed: {', '.join(_OVERRIDABLE)})")
        meta = fields[key].metadata
        if isinstance(getattr(config, key), bool):
            if not isinstance(value, bool):
                raise ValueError(f"endpointing.{key} must be true or false")
        else:
            value = _number(f"endpointing.{key}", value, float)
            low, high = meta.get("minimum"), meta.get("maximum")
            if (not math.isfinite(value) or (low is not None and value < low)
                    or (high is not None and value > high)):  # NaN passes every comparison
                raise ValueError(f"endpointing.{key}={value} outside {low}..{high}")
        changes[key] = value
    return dataclasses.replace(config, **changes)


def _number(name: str, value: Any, kind: type[int] | type[float]) -> Any:
    """A JSON number for `name`, or a ValueError naming it (not Python's "invalid literal")."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (kind is int and not (math.isfinite(value) and value == int(value))):
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, "
                         f"not {value!r:.40}")
    return kind(value)
