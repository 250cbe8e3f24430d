"""The hub's settings: one dataclass per stage, composed here and loaded from hub.yaml.

`voxhub config-doc` prints every option with its documentation from these dataclasses, so they
are the one place options are documented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hub.asr.config import AsrConfig
from hub.home_assistant_config import HomeAssistantConfig
from hub.intents.config import IntentsConfig
from hub.mqtt_config import MqttConfig
from hub.pipeline_config import PipelineConfig
from hub.tts.config import TtsConfig
from hub.wake.config import WakeConfig
from voxhub.configfile import load_file, setting


def default_data_dir() -> Path:
    """$VOXHUB_DATA, else ~/.local/share/voxhub (XDG_DATA_HOME respected)."""
    if os.environ.get("VOXHUB_DATA"):
        return Path(os.environ["VOXHUB_DATA"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxhub"


@dataclass
class ServerConfig:
    uri: str = setting("tcp://0.0.0.0:10200", "Where the Wyoming endpoint listens "
                       "(tcp://HOST:PORT or unix://PATH).")
    zeroconf: bool = setting(False, "Advertise the endpoint as _wyoming._tcp.local.")
    zeroconf_name: str = setting("voxhub", "Service name advertised over zeroconf.")
    programs: list[str] = setting(["tts", "asr", "intent", "handle", "pipeline", "wake"],
                                  "Programs served on the endpoint (a TTS-only hub loads no "
                                  "recognizer). Any of: tts, asr, intent, handle, pipeline, "
                                  "wake.")
    max_event_bytes: int = setting(8 * 1024 * 1024, "Largest single event (header, data and "
                                   "payload) a client may send.", minimum=1024)
    write_timeout_s: float = setting(60.0, "A client that reads nothing for this long while "
                                     "the hub has audio for it is disconnected, so stalled "
                                     "clients cannot hold rendered audio for ever.",
                                     minimum=1.0, maximum=3600.0)


@dataclass
class HubConfig:
    data_dir: Path | None = setting(None, "Model data directory (default $VOXHUB_DATA or "
                                    "~/.local/share/voxhub).")
    log_level: str = setting("info", "Logging level.",
                             choices=("debug", "info", "warning", "error"))
    server: ServerConfig = setting(ServerConfig, "The Wyoming endpoint.")
    tts: TtsConfig = setting(TtsConfig, "Text to speech.")
    asr: AsrConfig = setting(AsrConfig, "Speech recognition.")
    intents: IntentsConfig = setting(IntentsConfig, "Intents, the home model and replies.")
    pipeline: PipelineConfig = setting(PipelineConfig, "The satellite pipeline.")
    wake: WakeConfig = setting(WakeConfig, "Wake words offered to Home Assistant's own "
                               "satellites and pipelines (the `wake` program).")
    mqtt: MqttConfig = setting(MqttConfig, "MQTT broker.")
    home_assistant: HomeAssistantConfig = setting(HomeAssistantConfig, "Home Assistant as the "
                                                  "home model (instead of intents.home).")

    def __post_init__(self) -> None:
        known = {"tts", "asr", "intent", "handle", "pipeline", "wake"}
        unknown = [p for p in self.server.programs if p not in known]
        if unknown:
            raise ValueError(f"server.programs: unknown program '{unknown[0]}'; allowed: "
                             f"{', '.join(sorted(known))}")

    @property
    def data_path(self) -> Path:
        return self.data_dir or default_data_dir()


def load_hub_config(path: str | Path | None) -> HubConfig:
    return load_file(HubConfig, path)
