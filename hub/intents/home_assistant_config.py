"""Settings of the Home Assistant connection that supplies the home model.

As an add-on the hub needs none of them: the Supervisor hands every add-on a token in
`SUPERVISOR_TOKEN` and proxies Home Assistant's websocket at `http://supervisor/core/websocket`.
A hub running elsewhere (a GPU machine) is given the URL of Home Assistant and a long-lived access
token, preferably through `token_file` so the secret stays out of the config file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from voxhub.configfile import ConfigError, read_secret, setting

SUPERVISOR_URL = "http://supervisor/core/websocket"


@dataclass
class HomeAssistantConfig:
    url: str | None = setting(
        None, "Home Assistant to read floors, areas, exposed entities and live states from "
        "(http://homeassistant.local:8123 or ws://…/api/websocket). Empty: the Supervisor's when "
        "running as an add-on, otherwise Home Assistant is not used.")
    token: str | None = setting(None, "Long-lived access token (Profile → Security in Home "
                                "Assistant). Empty: token_file, then $SUPERVISOR_TOKEN.")
    token_file: Path | None = setting(None, "File holding the access token.")
    retry_max_s: float = setting(60.0, "Longest wait between reconnection attempts while Home "
                                 "Assistant is unreachable.", minimum=1.0, maximum=3600.0)
    action_timeout_s: float = setting(5.0, "Longest wait for Home Assistant to carry out one "
                                      "intent; after it the reply says Home Assistant did not "
                                      "answer (the command may still happen).",
                                      minimum=0.5, maximum=60.0)

    @property
    def enabled(self) -> bool:
        return bool(self.url) or bool(os.environ.get("SUPERVISOR_TOKEN"))

    def websocket_url(self) -> str:
        """The websocket endpoint, whatever form of Home Assistant's address was given."""
        return websocket_url(self.url or SUPERVISOR_URL)

    def api_url(self, path: str) -> str:
        """A REST endpoint of the same Home Assistant (`intent/handle` → …/api/intent/handle)."""
        return api_url(self.url or SUPERVISOR_URL, path)

    def resolve_token(self) -> str:
        """The token to authenticate with; raises ConfigError naming what is missing."""
        if self.token:
            return self.token.strip()
        if self.token_file is not None:
            return read_secret(self.token_file, "home_assistant.token_file")
        if os.environ.get("SUPERVISOR_TOKEN"):
            return os.environ["SUPERVISOR_TOKEN"]
        raise ConfigError("home_assistant.token: a long-lived access token is required with "
                          "home_assistant.url (or token_file, or $SUPERVISOR_TOKEN in an add-on)")


def websocket_url(url: str) -> str:
    """http(s)://host:8123 → ws(s)://host:8123/api/websocket; ws URLs and the Supervisor's pass."""
    parsed = urlparse(url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parsed.scheme)
    if scheme is None or not parsed.netloc:
        raise ConfigError(f"home_assistant.url: '{url}' is not an http(s):// or ws(s):// URL")
    path = parsed.path.rstrip("/")
    if not path.endswith("/websocket"):
        path = f"{path}/api/websocket"
    return urlunparse((scheme, parsed.netloc, path, "", parsed.query, ""))


def api_url(url: str, path: str) -> str:
    """Home Assistant's REST API next to its websocket: http://h:8123 or ws://h:8123/api/websocket
    → http://h:8123/api/PATH; the Supervisor's proxy http://supervisor/core/websocket →
    http://supervisor/core/api/PATH."""
    parsed = urlparse(websocket_url(url))
    scheme = "https" if parsed.scheme == "wss" else "http"
    base = parsed.path.removesuffix("/websocket").removesuffix("/api")
    return urlunparse((scheme, parsed.netloc, f"{base}/api/{path.lstrip('/')}", "", "", ""))
