"""The satellite's settings: one dataclass per concern, loaded from satellite.yaml.

`voxhub config-doc` lists these with their documentation; CLI flags (`--hub`, `--name`, …) are
applied on top with `voxhub.configfile.override`, so a flag and a YAML key are one setting.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from voxhub.configfile import load_file, read_secret, setting
from voxhub.wake_word_config import WakeWordConfig


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/voxhub-satellite (the outbox lives here; it must survive a reboot)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "voxhub-satellite"


@dataclass
class HubLinkConfig:
    uri: str | None = setting(None, "Hub endpoint (tcp://HOST:PORT). Empty: find it over "
                              "zeroconf (_wyoming._tcp.local.).")
    discovery_timeout_s: float = setting(5.0, "How long one zeroconf search waits.", minimum=0.5)
    reconnect_min_s: float = setting(0.5, "First delay before reconnecting.", minimum=0.05)
    reconnect_max_s: float = setting(10.0, "Longest delay between reconnection attempts "
                                     "(it doubles up to this, forever).", minimum=0.1)
    ping_interval_s: float = setting(10.0, "Keepalive ping period.", minimum=0.1)
    pong_timeout_s: float = setting(5.0, "A ping unanswered this long means reconnect.",
                                    minimum=0.1)
    connect_timeout_s: float = setting(5.0, "TCP connect timeout.", minimum=0.1)
    stable_s: float = setting(10.0, "A connection that ends sooner than this after it was made "
                              "does not reset the reconnection back-off (a hub that answers "
                              "the ping and closes at once is not retried twice a second).",
                              minimum=0.0)
    fallback_uri: list[str] = setting(factory=list, doc="Other hubs, tried in order when "
                                      "hub.uri does not answer; a command in flight when its "
                                      "hub went away is replayed to whichever answers first.")
    replay_window_s: float = setting(10.0, "A command whose hub went away before answering "
                                     "(no intent-result yet) is sent again, once, to the hub "
                                     "or a fallback that answers within this long; otherwise "
                                     "the error chime and an MQTT error (code command-lost). "
                                     "0: never replay.", minimum=0.0)
    token: str | None = setting(None, "Shared token, sent in an `auth` event first on every "
                                "connection (empty: hub.token_file, then $VOXHUB_HUB_TOKEN; "
                                "none of them: no authentication). Never logged; masked by "
                                "--print-config. Prefer token_file.")
    token_file: Path | None = setting(None, "File holding the shared token (one line).")
    tls_ca: Path | None = setting(None, "CA certificate (PEM) that signed the hub's "
                                  "certificate, for tcps:// (empty: the system CAs).")
    tls_verify: bool = setting(True, "Check the tcps:// hub's certificate and host name "
                               "(false: encrypt only, which a man in the middle can read).")

    def __post_init__(self) -> None:
        # Checked here, not at the first connection: a URI the client cannot use would otherwise
        # end the hub link silently and leave the satellite answering every wake word with
        # "the hub is unreachable".
        if isinstance(self.fallback_uri, str):  # one fallback written as a plain string
            self.fallback_uri = [self.fallback_uri]
        for key, uri in [("uri", self.uri)] + [("fallback_uri", u) for u in self.fallback_uri]:
            if uri:
                check_hub_uri(key, uri)
        if self.token_file is not None and not self.token:
            try:
                self.resolve_token()
            except OSError as err:
                raise ValueError(f"token_file: cannot read {self.token_file}: "
                                 f"{err.strerror or err}") from err

    @property
    def uris(self) -> list[str]:
        """The configured hubs in the order tried (empty: zeroconf)."""
        return [u for u in [self.uri, *self.fallback_uri] if u]

    def resolve_token(self) -> str | None:
        """The shared token (None: no authentication); read when needed, never stored in
        anything that is printed or logged."""
        if self.token:
            return self.token.strip()
        if self.token_file is not None:
            return Path(self.token_file).read_text(encoding="utf-8").strip() or None
        return os.environ.get("VOXHUB_HUB_TOKEN", "").strip() or None


def check_hub_uri(key: str, uri: str) -> None:
    """A URI the hub client can use, or a ValueError naming the key."""
    parsed = urlparse(uri)
    try:
        usable = ((parsed.scheme == "unix" and bool(parsed.path)) or
                  (parsed.scheme in ("tcp", "tcps") and bool(parsed.hostname) and
                   parsed.port is not None))
    except ValueError:  # a port that is no number
        usable = False
    if not usable:
        raise ValueError(f"{key}: '{uri}' is not a hub endpoint; expected "
                         "tcp://HOST:PORT, tcps://HOST:PORT (TLS) or unix://PATH")


@dataclass
class MicConfig:
    source: str = setting("command", "Where audio comes from.",
                          choices=("command", "file", "stdin"))
    command: str = setting("arecord -r 16000 -c 1 -f S16_LE -t raw", "Command printing raw "
                           "16 kHz 16-bit mono PCM on stdout (source: command).")
    file: Path | None = setting(None, "WAV file to listen to (source: file); any rate, "
                                "converted to 16 kHz mono.")
    realtime: bool = setting(True, "Feed the file at the speed of speech (false: as fast as "
                             "the satellite can take it).")
    tail_silence_s: float = setting(2.0, "Silence appended after the file, so the last "
                                    "command can end.", minimum=0.0)
    exit_at_end: bool = setting(True, "With a file or stdin: exit at its end, once every "
                                "conversation has finished.")
    stall_timeout_s: float = setting(5.0, "A microphone command that is running but has "
                                     "sent no audio this long is restarted (with the same "
                                     "back-off as one that exits), and it is said once.",
                                     minimum=0.5)
    chunk_ms: int = setting(64, "Audio block size (64 ms = 1024 samples, as wyoming-satellite; "
                            "smaller blocks cost CPU in wake-ups, not accuracy).",
                            minimum=10, maximum=200)


@dataclass
class SndConfig:
    sink: str = setting("command", "Where audio goes.", choices=("command", "file", "none"))
    command: str = setting("aplay -r {rate} -c 1 -f S16_LE -t raw", "Command reading raw "
                           "16-bit mono PCM on stdin; {rate} is replaced by the rate.")
    file: Path | None = setting(None, "WAV file receiving everything played (sink: file).")
    rate: int = setting(24000, "Rate asked of the hub for replies.", choices=(16000, 22050,
                                                                               24000, 48000))
    volume: int = setting(100, "Playback volume in percent.", minimum=0, maximum=100)


@dataclass
class WakeConfig:
    words: list[WakeWordConfig] = setting(factory=lambda: [WakeWordConfig()],
                                          doc="Wake words listened for at once.")
    refractory_s: float = setting(2.0, "After a detection, the same word is ignored this long.",
                                  minimum=0.0)
    preroll_s: float = setting(0.5, "Audio kept from before the detection: microWakeWord fires "
                               "0.15–0.3 s after the word ends, so a command spoken without "
                               "pause has already begun; it is sent first, never clipped.",
                               minimum=0.0, maximum=3.0)


@dataclass
class SoundsConfig:
    awake: Path | None = setting(None, "WAV played on wake (empty: a short built-in chime).")
    done: Path | None = setting(None, "WAV played when the command was heard.")
    error: Path | None = setting(None, "WAV played when the hub is unreachable.")
    follow_up: Path | None = setting(None, "WAV played when the satellite listens again "
                                     "without the wake word (empty: a short built-in chime).")
    enabled: bool = setting(True, "Play the awake/done/error sounds at all.")


@dataclass
class ConversationConfig:
    no_speech_timeout_s: float = setting(5.0, "Give up when nothing is said this long after "
                                         "waking.", minimum=0.5)
    max_command_s: float = setting(15.0, "Stop streaming a command after this long even if "
                                   "the hub did not say it ended.", minimum=1.0)
    local_silence_s: float = setting(1.5, "Local safety net: stop streaming after this much "
                                     "silence (the hub normally ends the command sooner).",
                                     minimum=0.2)
    local_vad_stride: int = setting(2, "The local safety net asks Silero about one 32 ms frame "
                                    "in this many (the hub endpoints precisely; the net only "
                                    "needs to notice a second of silence): 2 halves its CPU "
                                    "on a Pi Zero.", minimum=1, maximum=4)
    reply_timeout_s: float = setting(30.0, "Give up waiting for the hub's answer.", minimum=1.0)
    follow_up_s: float = setting(5.0, "After a reply that asks something (it ends with a "
                                 "question mark, or the hub marks it continue_conversation: "
                                 "\"Did you mean …?\", an answer that wants more), listen "
                                 "again without the wake word this long for speech to start, "
                                 "carrying the conversation id; nothing said: back to idle. "
                                 "0: off.", minimum=0.0, maximum=30.0)


@dataclass
class SatMqttConfig:
    url: str | None = setting(None, "Broker URL (mqtt://user@host:1883, mqtts:// for TLS; "
                              "a password in it is accepted here, refused in --mqtt). Empty: "
                              "no MQTT.")
    ca_file: Path | None = setting(None, "CA certificate for mqtts:// (empty: system CAs).")
    username: str | None = setting(None, "Username (overrides the URL's).")
    password: str | None = setting(None, "Password (overrides the URL's). Empty: "
                                   "password_file, then $VOXHUB_MQTT_PASSWORD, then the URL's. "
                                   "Masked by --print-config. Prefer password_file.")
    password_file: Path | None = setting(None, "File holding the broker password (one line, "
                                         "readable by the satellite's user only).")
    topic_prefix: str = setting("voxhub", "Topics are <prefix>/<satellite>/….")
    discovery: bool = setting(True, "Announce the satellite to Home Assistant (MQTT discovery); "
                              "false removes the announcement.")
    discovery_prefix: str = setting("homeassistant", "Home Assistant's discovery prefix.")
    outbox_max: int = setting(1000, "Messages kept on disk while the broker is unreachable "
                              "(the oldest go first beyond this).", minimum=1)
    keepalive_s: int = setting(30, "MQTT keepalive.", minimum=5)

    def __post_init__(self) -> None:
        if self.password_file is not None and not self.password:
            self.resolve_password()  # a file that cannot be read stops start-up, named

    def resolve_password(self) -> str | None:
        """The broker password from the config, password_file or $VOXHUB_MQTT_PASSWORD (None:
        the URL's, if any); read when needed, never stored in anything printed or logged."""
        if self.password:
            return self.password
        if self.password_file is not None:
            return read_secret(Path(self.password_file), "mqtt.password_file")
        return os.environ.get("VOXHUB_MQTT_PASSWORD") or None


@dataclass
class SatelliteConfig:
    name: str | None = setting(None, "Satellite name (MQTT topics, the hub's logs, the Home "
                               "Assistant device). Empty: the host name.")
    area: str | None = setting(None, "Area (room) of the satellite: the default area of its "
                               "commands.")
    log_level: str = setting("info", "Logging level.",
                             choices=("debug", "info", "warning", "error"))
    state_dir: Path | None = setting(None, "Where the MQTT outbox is kept "
                                     "(default $XDG_STATE_HOME/voxhub-satellite).")
    hub: HubLinkConfig = setting(HubLinkConfig, "The connection to the hub.")
    mic: MicConfig = setting(MicConfig, "Audio in.")
    snd: SndConfig = setting(SndConfig, "Audio out.")
    wake: WakeConfig = setting(WakeConfig, "Wake words.")
    sounds: SoundsConfig = setting(SoundsConfig, "Feedback sounds.")
    conversation: ConversationConfig = setting(ConversationConfig, "Timeouts of a conversation.")
    mqtt: SatMqttConfig = setting(SatMqttConfig, "MQTT.")
    muted: bool = setting(False, "Start muted (no wake word, no listening).")

    @property
    def state_path(self) -> Path:
        return self.state_dir or default_state_dir()

    @property
    def satellite_name(self) -> str:
        return self.name or socket.gethostname()

    @property
    def slug(self) -> str:
        """The name as used in MQTT topics and HA ids (lower case, [a-z0-9_-])."""
        return "".join(c if c.isalnum() or c in "-_" else "_"
                       for c in self.satellite_name.lower())


def load_satellite_config(path: str | Path | None) -> SatelliteConfig:
    return load_file(SatelliteConfig, path)
