"""The hub's settings: one dataclass per stage, composed here and loaded from hub.yaml.

`voxhub config-doc` prints every option with its documentation from these dataclasses, so they
are the one place options are documented.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from hub.answers.config import AnswersConfig
from hub.asr.config import AsrConfig
from hub.intents.config import IntentsConfig
from hub.intents.home_assistant_config import HomeAssistantConfig
from hub.mqtt.config import MqttConfig
from hub.pipeline.config import PipelineConfig
from hub.tts.config import TtsConfig
from hub.wake.config import WakeConfig
from voxhub.configfile import ConfigError, Derived, load_file, read_secret, setting


def default_data_dir() -> Path:
    """$VOXHUB_DATA, else ~/.local/share/voxhub (XDG_DATA_HOME respected)."""
    if os.environ.get("VOXHUB_DATA"):
        return Path(os.environ["VOXHUB_DATA"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxhub"


@dataclass
class ServerConfig:
    uri: str = setting("tcp://0.0.0.0:10200", "Where the Wyoming endpoint listens "
                       "(tcp://HOST:PORT, tcps://HOST:PORT with tls_cert and "
                       "tls_key, or unix://PATH).")
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
    max_connections: int = setting(64, "Clients connected at once; one more is answered with "
                                   "an error (code too-many-connections) and closed. Home "
                                   "Assistant keeps a few, each satellite one.", minimum=1,
                                   maximum=10000)
    max_queued_requests: int = setting(32, "Requests one client may have waiting for an "
                                       "answer (synthesize, recognize, transcribe…); more "
                                       "closes it with an error (code too-many-requests).",
                                       minimum=1, maximum=10000)
    max_buffered_bytes: int = setting(32 * 1024 * 1024, "Bytes of requests one client may "
                                      "have waiting for an answer; more closes it with an "
                                      "error (code buffer-full).", minimum=1024)
    max_events_per_s: float = setting(200.0, "Events a second one client is read at once "
                                      "it has spent event_burst: the hub then stops reading "
                                      "its socket for a while (TCP slows the sender; nothing "
                                      "is refused), so a flood cannot take the hub's time "
                                      "from other clients. Every 8 kB of an event counts as "
                                      "one more event. Satellites send 16–100 a second.",
                                      minimum=10.0, maximum=100000.0)
    event_burst: int = setting(1000, "Events one client may send at once before "
                               "max_events_per_s applies (a command's whole audio replayed "
                               "after a reconnection fits).", minimum=10, maximum=1000000)
    max_connections_per_s: float = setting(10.0, "New connections a second one host (IP "
                                           "address) may open once it has opened "
                                           "connection_burst: one more is answered with an "
                                           "error (code too-many-connections) and closed "
                                           "before anything it sent is read, so a client that "
                                           "reconnects to flood cannot take the hub's time "
                                           "from others. Home Assistant opens one a request.",
                                           minimum=0.1, maximum=100000.0)
    connection_burst: int = setting(100, "Connections one host may open at once before "
                                    "max_connections_per_s applies.", minimum=1,
                                    maximum=1000000)
    token: str | None = setting(None, "Shared token that clients present in a first `auth` "
                                "event (see docs/satellite.md). Empty: token_file, then "
                                "$VOXHUB_TOKEN; none of them: no authentication, as Home "
                                "Assistant's Wyoming integration expects. Never logged; "
                                "masked by --print-config. Prefer token_file.")
    token_file: Path | None = setting(None, "File holding the shared token (one line, "
                                      "readable by the hub's user only).")
    require_auth: bool = setting(False, "With a token: clients that did not authenticate "
                                 "get only describe, ping and auth (Home Assistant cannot "
                                 "authenticate: leave off when it uses this hub).")
    allow_unsafe_unauthenticated: bool = setting(False, "With a token: let clients that did "
                                                 "not authenticate (Home Assistant) control "
                                                 "and ask about locks, garage doors, gates "
                                                 "and alarm panels.")
    tls_cert: Path | None = setting(None, "Certificate chain (PEM) for a tcps://HOST:PORT uri.")
    tls_key: Path | None = setting(None, "Private key (PEM) of tls_cert.")

    def resolve_token(self) -> str | None:
        """The shared token, or None when authentication is off; raises ConfigError naming
        the setting when the file cannot be used. The value is never formatted."""
        if self.token and self.token.strip():
            return self.token.strip()
        if self.token_file is not None:
            return read_secret(self.token_file, "server.token_file")
        return os.environ.get("VOXHUB_TOKEN", "").strip() or None

    def tls_context(self) -> ssl.SSLContext | None:
        """The server's TLS context for tcps://, or None for tcp:// and unix://."""
        if not self.uri.startswith("tcps://"):
            return None
        if self.tls_cert is None or self.tls_key is None:
            raise ConfigError("server.uri: tcps:// needs server.tls_cert and server.tls_key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"server.tls_cert / server.tls_key: cannot load "
                              f"{self.tls_cert}: {err}") from err
        return context


@dataclass
class HubConfig:
    language: str = setting(Derived("en"), "The home's language (en, es, fr, it, pt, pt-BR, "
                            "en-GB…): it chooses the recognizer model (asr.model), the "
                            "language the recognizer hears (asr.language), Home Assistant's "
                            "intents and replies (intents.language) and the default voice "
                            "(tts.voice); each can still be written. Left out: English, or "
                            "intents.language when that is written. README: Languages.")
    data_dir: Path | None = setting(None, "Model data directory (default $VOXHUB_DATA or "
                                    "~/.local/share/voxhub).")
    log_level: str = setting("info", "Logging level.",
                             choices=("debug", "info", "warning", "error"))
    server: ServerConfig = setting(ServerConfig, "The Wyoming endpoint.")
    tts: TtsConfig = setting(TtsConfig, "Text to speech.")
    asr: AsrConfig = setting(AsrConfig, "Speech recognition.")
    intents: IntentsConfig = setting(IntentsConfig, "Intents, the home model and replies.")
    answers: AnswersConfig = setting(AnswersConfig, "Spoken answers to what is not a command "
                                     "for this home (a language model or Home Assistant's "
                                     "agent).")
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
        from hub import languages

        languages.apply(self)

    @property
    def data_path(self) -> Path:
        return self.data_dir or default_data_dir()


def load_hub_config(path: str | Path | None) -> HubConfig:
    return load_file(HubConfig, path)
