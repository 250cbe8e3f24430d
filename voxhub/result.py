"""The result of understanding one spoken command.

One dataclass shared by `voxhub understand --json`, the hub's pipeline and the satellite's MQTT
`intent` topic, so that all three always publish the same shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IntentResult:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnderstandingResult:
    text: str
    language: str
    intent: IntentResult | None = None
    targets: list[str] = field(default_factory=list)
    reply: str = ""
    confidence: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnderstandingResult:
        intent = data.get("intent")
        return cls(
            text=str(data.get("text", "")),
            language=str(data.get("language", "")),
            intent=(IntentResult(intent["name"], dict(intent.get("slots") or {}))
                    if intent else None),
            targets=list(data.get("targets") or []),
            reply=str(data.get("reply", "")),
            confidence=float(data.get("confidence", 0.0)),
            timings_ms={k: float(v) for k, v in (data.get("timings_ms") or {}).items()},
        )
