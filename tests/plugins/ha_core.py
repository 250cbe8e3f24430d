"""Real Home Assistant Core (2025.4.4, from `make ha-core`) as a process for the end-to-end tests.

Not a stand-in: `hass -c DIR` runs from .ha-venv/ with a generated configuration on 127.0.0.1, is
onboarded through its own HTTP API as a browser would (user → auth code → token → remaining steps),
and gives a long-lived token over its websocket. The house it holds is small and real: a template
light "Kitchen Lights" in the area "Kitchen" and "Hallway Light" in "Hallway", each switching an
`input_boolean`, so a light's state is what Home Assistant itself did, never an assumption.
One process per test session; its log is kept in the session's tmp folder and its tail is printed
when it fails to come up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rehearsal.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
HA_VENV = ROOT / ".ha-venv"
HA_VERSION = "2025.4.4"
START_TIMEOUT_S = 240.0  # a cold first start (frontend and registries written) took ~60 s here
CLIENT_ID_PATH = "/"

KITCHEN_LIGHT = "light.kitchen_lights"
HALLWAY_LIGHT = "light.hallway_light"

_CONFIGURATION = """\
homeassistant:
  name: voxhub test home
  latitude: 52.3731
  longitude: 4.8922
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  country: NL
  currency: EUR
  language: en
  internal_url: "http://127.0.0.1:{port}"

http:
  server_host: 127.0.0.1
  server_port: {port}

logger:
  default: warning
  logs:
    homeassistant.components.wyoming: debug
    homeassistant.components.assist_pipeline: debug
    homeassistant.setup: info
    homeassistant.bootstrap: info
    homeassistant.util.package: info

api:
config:
onboarding:
websocket_api:
conversation:
assist_pipeline:
tts:
stt:
intent:
media_source:

input_boolean:
  kitchen_lights_power:
    name: Kitchen lights power
  hallway_light_power:
    name: Hallway light power

template:
  - light:
      - name: Kitchen Lights
        unique_id: voxhub_test_kitchen_lights
        state: "{{{{ is_state('input_boolean.kitchen_lights_power', 'on') }}}}"
        turn_on:
          - action: input_boolean.turn_on
            target:
              entity_id: input_boolean.kitchen_lights_power
        turn_off:
          - action: input_boolean.turn_off
            target:
              entity_id: input_boolean.kitchen_lights_power
      - name: Hallway Light
        unique_id: voxhub_test_hallway_light
        state: "{{{{ is_state('input_boolean.hallway_light_power', 'on') }}}}"
        turn_on:
          - action: input_boolean.turn_on
            target:
              entity_id: input_boolean.hallway_light_power
        turn_off:
          - action: input_boolean.turn_off
            target:
              entity_id: input_boolean.hallway_light_power
"""


class HomeAssistantError(RuntimeError):
    """Home Assistant answered a call with an error (the message says which call and what)."""


@dataclass
class WyomingEntry:
    """The Wyoming integration's config entry and the entities Home Assistant made from it."""

    entry_id: str
    title: str
    entities: dict[str, str]  # domain (stt, tts, conversation) → entity_id
    names: dict[str, str] = field(default_factory=dict)  # entity_id → friendly name

    def _entity(self, domain: str) -> str:
        if domain not in self.entities:
            raise HomeAssistantError(f"wyoming entry {self.title!r} has no {domain} entity "
                                     f"(it has {sorted(self.entities.values())})")
        return self.entities[domain]

    @property
    def stt(self) -> str:
        return self._entity("stt")

    @property
    def tts(self) -> str:
        return self._entity("tts")

    @property
    def conversation(self) -> str:
        return self._entity("conversation")


class HomeAssistantCore:
    """A running `hass` and a client of its REST and websocket APIs (authenticated by token)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config_dir = folder / "config"
        self.log_path = folder / "hass.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    # ---- the process ----------------------------------------------------------------------

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            _CONFIGURATION.format(port=self.port), encoding="utf-8")

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start hass, wait for its API, onboard it, build the house; bounded by `timeout`."""
        self.write_config()
        begin = time.monotonic()
        self._launch()
        try:
            self._wait_for_api(begin + timeout)
            self.timings["api_s"] = time.monotonic() - begin
            self._onboard()
            self._wait_running(begin + timeout)
            self.timings["running_s"] = time.monotonic() - begin
            self._build_house()
        except BaseException as err:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"Home Assistant did not come up: {err}\n--- {self.log_path} "
                               f"(tail) ---\n{tail}") from err

    def restart(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the stopped `hass` again on the same config (already onboarded, same token),
        as after an update or a power cut."""
        self.stop()
        begin = time.monotonic()
        self._launch()
        self._wait_for_api(begin + timeout)
        self._wait_running(begin + timeout)

    def _launch(self) -> None:
        """`hass` on this config, in a session of its own (so `stop` can end its children),
        its output appended to the log."""
        hass = HA_VENV / "bin" / "hass"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(hass), "-c", str(self.config_dir), "--log-file", str(self.folder / "ha.log")],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def _wait_for_api(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"hass exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/onboarding", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        raise TimeoutError("the HTTP API did not answer in time")

    def _wait_running(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if self.get("config").get("state") == "RUNNING":
                    return
            time.sleep(0.25)
        raise TimeoutError("Home Assistant did not reach RUNNING in time")

    def log_tail(self, lines: int = 60) -> str:
        texts = []
        for path in (self.log_path, self.folder / "ha.log"):
            if path.exists():
                texts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # ---- onboarding and the house ------------------------------------------------------------

    def _onboard(self) -> None:
        """What the onboarding pages do: a user, its auth code exchanged for a token, the
        analytics and integration steps, then a long-lived token for everything else.

        The `core_config` step is left out on purpose: finishing it starts google_translate,
        met, radio_browser and shopping_list, which Home Assistant would pip-install from PyPI
        into its venv and which then reach the internet; nothing Assist needs depends on it.
        """
        client_id = f"{self.url}{CLIENT_ID_PATH}"
        steps = httpx.get(f"{self.url}/api/onboarding", timeout=10).json()
        if not any(step["step"] == "user" and not step["done"] for step in steps):
            raise RuntimeError(f"this config dir is already onboarded: {steps}")
        created = httpx.post(f"{self.url}/api/onboarding/users", timeout=30, json={
            "client_id": client_id, "name": "Voxhub Tester", "username": "voxhub",
            "password": "voxhub-test-password", "language": "en"})
        created.raise_for_status()
        tokens = httpx.post(f"{self.url}/auth/token", timeout=30, data={
            "grant_type": "authorization_code", "code": created.json()["auth_code"],
            "client_id": client_id})
        tokens.raise_for_status()
        self.token = tokens.json()["access_token"]
        self.post("onboarding/analytics", {})
        self.post("onboarding/integration",
                  {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"})
        self.token = self.ws("auth/long_lived_access_token", client_name="voxhub tests",
                             lifespan=30)

    def _build_house(self) -> None:
        """Areas Kitchen and Hallway with one light each, both exposed to Assist; the
        input_booleans behind them are not (they would be a second "kitchen lights")."""
        areas = {area["name"]: area["area_id"] for area in self.ws("config/area_registry/list")}
        for name, entity_id in (("Kitchen", KITCHEN_LIGHT), ("Hallway", HALLWAY_LIGHT)):
            area_id = areas.get(name) or self.ws("config/area_registry/create",
                                                 name=name)["area_id"]
            self.ws("config/entity_registry/update", entity_id=entity_id, area_id=area_id)
        self.ws("homeassistant/expose_entity", assistants=["conversation"],
                entity_ids=[KITCHEN_LIGHT, HALLWAY_LIGHT], should_expose=True)
        self.ws("homeassistant/expose_entity", assistants=["conversation"],
                entity_ids=["input_boolean.kitchen_lights_power",
                            "input_boolean.hallway_light_power"], should_expose=False)

    # ---- the client ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, timeout: float = 10.0) -> Any:
        """GET /api/PATH with the token; the decoded JSON (raises on an HTTP error)."""
        response = httpx.get(f"{self.url}/api/{path}", headers=self._headers(), timeout=timeout)
        _raise_for(response)
        return response.json()

    def post(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
        """POST /api/PATH with the token; the decoded JSON (raises on an HTTP error)."""
        response = self.post_raw(path, body, timeout)
        _raise_for(response)
        return response.json() if response.content else None

    def post_raw(self, path: str, body: dict[str, Any] | bytes, timeout: float = 30.0,
                 headers: dict[str, str] | None = None) -> httpx.Response:
        """POST /api/PATH with the token, the response as it came (for error cases)."""
        url = f"{self.url}/api/{path}"
        merged = {**self._headers(), **(headers or {})}
        if isinstance(body, bytes):
            return httpx.post(url, content=body, headers=merged, timeout=timeout)
        return httpx.post(url, json=body, headers=merged, timeout=timeout)

    def fetch(self, url: str, timeout: float = 30.0) -> httpx.Response:
        """GET a URL Home Assistant handed out (a TTS proxy URL, absolute or relative)."""
        if url.startswith("/"):
            url = f"{self.url}{url}"
        return httpx.get(url, headers=self._headers(), timeout=timeout)

    @contextlib.contextmanager
    def websocket(self, timeout: float = 30.0) -> Iterator[Any]:
        """An authenticated websocket connection (websockets' sync client)."""
        from websockets.sync.client import connect

        ws_url = self.url.replace("http://", "ws://") + "/api/websocket"
        with connect(ws_url, open_timeout=timeout, close_timeout=5,
                     max_size=16 * 1024 * 1024) as conn:
            hello = json.loads(conn.recv(timeout))
            if hello.get("type") != "auth_required":
                raise HomeAssistantError(f"websocket greeting: {hello}")
            conn.send(json.dumps({"type": "auth", "access_token": self.token}))
            answer = json.loads(conn.recv(timeout))
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"websocket auth: {answer}")
            yield conn

    def ws(self, command: str, timeout: float = 30.0, **payload: Any) -> Any:
        """One websocket command on a fresh connection; its `result` (raises on an error)."""
        with self.websocket(timeout) as conn:
            conn.send(json.dumps({"id": 1, "type": command, **payload}))
            deadline = time.monotonic() + timeout
            while True:
                message = json.loads(conn.recv(max(0.1, deadline - time.monotonic())))
                if message.get("id") == 1 and message.get("type") == "result":
                    break
        if not message.get("success"):
            raise HomeAssistantError(f"{command}: {message.get('error')}")
        return message.get("result")

    def state(self, entity_id: str) -> str:
        """The entity's state as Home Assistant holds it now ("on", "off", …)."""
        return str(self.get(f"states/{entity_id}")["state"])

    def wait_state(self, entity_id: str, wanted: str, timeout: float = 5.0) -> str:
        """The entity's state once it is `wanted`, or whatever it is after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.state(entity_id)
            if current == wanted or time.monotonic() >= deadline:
                return current
            time.sleep(0.1)

    def set_light(self, entity_id: str, on: bool) -> None:
        self.post(f"services/light/turn_{'on' if on else 'off'}", {"entity_id": entity_id})
        if self.wait_state(entity_id, "on" if on else "off") != ("on" if on else "off"):
            raise HomeAssistantError(f"{entity_id} did not switch {'on' if on else 'off'}")

    def add_wyoming(self, host: str, port: int,
                    expect: tuple[str, ...] = ("stt", "tts", "conversation")) -> WyomingEntry:
        """The Wyoming integration added by config flow, as a user does in Settings; waits for
        the entities of the `expect`ed domains (raises naming those that never came)."""
        flow = self.post("config/config_entries/flow",
                         {"handler": "wyoming", "show_advanced_options": False})
        if flow.get("type") != "form":
            raise HomeAssistantError(f"wyoming flow did not ask for a host: {flow}")
        done = self.post(f"config/config_entries/flow/{flow['flow_id']}",
                         {"host": host, "port": port}, timeout=60)
        if done.get("type") != "create_entry":
            raise HomeAssistantError(f"wyoming flow did not create an entry: {done}")
        entry_id = done["result"]["entry_id"]
        entities = self._entry_entities(entry_id, set(expect))
        by_domain: dict[str, str] = {}
        for entity_id in entities:
            by_domain.setdefault(entity_id.split(".", 1)[0], entity_id)
        missing = set(expect) - set(by_domain)
        if missing:
            raise HomeAssistantError(f"wyoming entry {entry_id} has no {sorted(missing)} "
                                     f"entity (entities: {entities})")
        names = {entity_id: str(self.get(f"states/{entity_id}")["attributes"]
                                .get("friendly_name", ""))
                 for entity_id in entities}
        return WyomingEntry(entry_id, str(done["title"]), by_domain, names)

    def _entry_entities(self, entry_id: str, expect: set[str],
                        timeout: float = 30.0) -> list[str]:
        """The entry's entities once they have states (the platforms load after the flow)."""
        deadline = time.monotonic() + timeout
        while True:
            entities = [entry["entity_id"] for entry in self.ws("config/entity_registry/list")
                        if entry.get("config_entry_id") == entry_id]
            have = {entity_id.split(".", 1)[0] for entity_id in entities}
            if expect <= have or time.monotonic() >= deadline:
                return entities
            time.sleep(0.25)

    def remove_entry(self, entry_id: str) -> None:
        response = httpx.delete(f"{self.url}/api/config/config_entries/entry/{entry_id}",
                                headers=self._headers(), timeout=30)
        _raise_for(response)


def _raise_for(response: httpx.Response) -> None:
    if response.is_error:
        raise HomeAssistantError(f"{response.request.method} {response.request.url.path}: "
                                 f"HTTP {response.status_code} {response.text[:500]}")


@pytest.fixture(scope="session")
def home_assistant_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantCore]:
    """Real Home Assistant Core, onboarded, with its house; stopped at the end of the session."""
    if not (HA_VENV / "bin" / "hass").exists():
        pytest.fail(f"Home Assistant Core {HA_VERSION} is not installed in {HA_VENV}: run "
                    f"`make ha-core`", pytrace=False)
    ha = HomeAssistantCore(tmp_path_factory.mktemp("home-assistant"))
    ha.start()
    yield ha
    ha.stop()
