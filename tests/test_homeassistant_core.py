"""voxhub inside real Home Assistant Core, through Home Assistant's own APIs (issue 11).

One `hass` (tests/plugins/ha_core.py) and one real `voxhub hub` process per session. The hub is
told Home Assistant's URL and token, as a user's config does, so it reads Home Assistant's areas
and exposed entities; Home Assistant is given the hub by the Wyoming integration's config flow.
Every check reads what Home Assistant itself did: a light's state, the MP3 it serves, the transcript
and the events of its Assist pipeline. Speech is made at test time by the hub's Kokoro in a voice
other than the reply voice.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.plugins.ha_core import HALLWAY_LIGHT, KITCHEN_LIGHT, HomeAssistantCore, WyomingEntry
from tests.plugins.hub import normalize_words
from voxhub.audio import float_to_pcm16, write_wav

pytestmark = pytest.mark.slow

COMMAND = "turn on the kitchen lights"
RATE = 16000
FAST_FAILURE_S = 10.0  # "fails fast": well under any client's patience, far from a hang


@pytest.fixture(scope="module")
def ha(home_assistant_core: HomeAssistantCore) -> HomeAssistantCore:
    return home_assistant_core


@pytest.fixture(scope="module")
def ha_hub(ha: HomeAssistantCore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`voxhub hub` with `home_assistant.url` and `.token_file` set: Home Assistant is its house
    (the token in a file: the hub refuses it on the command line)."""
    from rehearsal.hub_process import HubProcess
    from rehearsal.ports import free_port

    folder = tmp_path_factory.mktemp("ha-hub")
    token = folder / "token"
    token.write_text(ha.token)
    token.chmod(0o600)
    hub = HubProcess(folder / "hub.log", mqtt_port=free_port(), extra_args=[
        "--set", f"home_assistant.url={ha.url}", "--set", f"home_assistant.token_file={token}",
        "--set", "log_level=debug"])
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def wyoming(ha: HomeAssistantCore, ha_hub: Any) -> Iterator[WyomingEntry]:
    """The Wyoming integration pointed at the hub, added as a user adds it."""
    entry = ha.add_wyoming("127.0.0.1", ha_hub.port)
    yield entry
    ha.remove_entry(entry.entry_id)


@pytest.fixture(scope="module")
def command_pcm(ha_hub: Any) -> bytes:
    """"Turn on the kitchen lights." as 16 kHz PCM16, spoken by am_michael, padded with silence
    so Home Assistant's own voice activity detection hears the command end."""
    from rehearsal.speech import speak

    speech = asyncio.run(speak(ha_hub.uri, "Turn on the kitchen lights.", "am_michael"))
    pad = np.zeros(int(0.4 * RATE), dtype=np.float32)
    return float_to_pcm16(np.concatenate([pad, speech, pad, pad, pad]))


@pytest.fixture(scope="module")
def command_wav(command_pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    write_wav(buffer, command_pcm, RATE)
    return buffer.getvalue()


@pytest.fixture()
def lights_off(ha: HomeAssistantCore) -> None:
    for light in (KITCHEN_LIGHT, HALLWAY_LIGHT):
        ha.set_light(light, False)


def decoded_seconds(mp3: bytes, tmp_path: Path) -> tuple[float, float]:
    """(duration, RMS) of an MP3 as ffmpeg decodes it: a real file with sound in it."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "Debian's ffmpeg is needed (make system)"
    path = tmp_path / "speech.mp3"
    path.write_bytes(mp3)
    pcm = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
                          "-ar", str(RATE), "-"], check=True, capture_output=True).stdout
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    rms = float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
    return len(samples) / RATE, rms


def tts_mp3(ha: HomeAssistantCore, entry: WyomingEntry, message: str, language: str,
            options: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"engine_id": entry.tts, "message": message, "language": language}
    if options:
        body["options"] = options
    url = ha.post("tts_get_url", body, timeout=60)["url"]
    response = ha.fetch(url, timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response.content


def process(ha: HomeAssistantCore, entry: WyomingEntry, text: str) -> dict[str, Any]:
    return ha.post("conversation/process", {"text": text, "agent_id": entry.conversation,
                                            "language": "en"}, timeout=30)["response"]


# ---- the integration ------------------------------------------------------------------------

def test_the_wyoming_integration_is_created_by_config_flow_with_readable_names(
        ha: HomeAssistantCore, wyoming: WyomingEntry) -> None:
    import re

    entries = {e["entry_id"]: e for e in ha.get("config/config_entries/entry")}
    assert entries[wyoming.entry_id]["domain"] == "wyoming"
    assert entries[wyoming.entry_id]["state"] == "loaded"
    assert wyoming.title == "voxhub"
    assert {entity.split(".")[0] for entity in wyoming.names} >= {"stt", "tts", "conversation"}
    for entity_id, name in wyoming.names.items():
        assert name.startswith("voxhub"), (entity_id, name)
        assert not re.search(r"[a-z0-9][-_][a-z0-9]", name), f"slug-like name {name!r}"


# ---- text to speech -------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "en-US"])
def test_tts_get_url_gives_spoken_mp3_for_language_codes_as_home_assistant_writes_them(
        ha: HomeAssistantCore, wyoming: WyomingEntry, language: str, tmp_path: Path) -> None:
    mp3 = tts_mp3(ha, wyoming, f"The kitchen lights are on, language {language}.", language)
    seconds, rms = decoded_seconds(mp3, tmp_path)
    assert seconds > 1.0 and rms > 0.01, (seconds, rms)


def test_tts_get_url_speaks_with_a_non_default_voice(
        ha: HomeAssistantCore, wyoming: WyomingEntry, tmp_path: Path) -> None:
    text = "Good evening, the hallway light is off."
    default = tts_mp3(ha, wyoming, text, "en")
    emma = tts_mp3(ha, wyoming, text, "en", {"voice": "bf_emma"})
    seconds, rms = decoded_seconds(emma, tmp_path)
    assert seconds > 1.0 and rms > 0.01, (seconds, rms)
    assert emma != default, "bf_emma spoke exactly as the default voice"


def test_tts_with_an_unknown_voice_fails_fast_instead_of_hanging(
        ha: HomeAssistantCore, wyoming: WyomingEntry) -> None:
    message = "Nobody can say this."
    assert tts_mp3(ha, wyoming, message, "en"), "the same request with the default voice fails"
    begin = time.monotonic()
    body = {"engine_id": wyoming.tts, "message": message, "language": "en",
            "options": {"voice": "xx_no_such_voice"}}
    try:
        response = ha.post_raw("tts_get_url", body, timeout=FAST_FAILURE_S)
        if response.status_code == 200:
            response = ha.fetch(response.json()["url"], timeout=FAST_FAILURE_S)
    except httpx.TimeoutException:
        pytest.fail(f"Home Assistant still waited for the hub after {FAST_FAILURE_S} s")
    elapsed = time.monotonic() - begin
    assert response.status_code >= 400, f"an unknown voice gave audio ({len(response.content)} B)"
    assert elapsed < FAST_FAILURE_S


# ---- speech to text -------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "en-US"])
def test_stt_api_transcribes_a_wav_sent_in_odd_sized_pieces(
        ha: HomeAssistantCore, wyoming: WyomingEntry, command_wav: bytes, language: str) -> None:
    header = (f"format=wav; codec=pcm; sample_rate={RATE}; bit_rate=16; channel=1; "
              f"language={language}")
    pieces = (command_wav[i:i + 8191] for i in range(0, len(command_wav), 8191))
    response = httpx.post(f"{ha.url}/api/stt/{wyoming.stt}", content=pieces, timeout=60,
                          headers={"Authorization": f"Bearer {ha.token}",
                                   "X-Speech-Content": header})
    assert response.status_code == 200, (response.status_code, response.text[:300])
    result = response.json()
    assert result["result"] == "success", result
    assert "turn on the kitchen light" in normalize_words(result["text"]), result


# ---- the conversation agent -----------------------------------------------------------------

def test_conversation_agent_turns_home_assistants_kitchen_light_on(
        ha: HomeAssistantCore, wyoming: WyomingEntry, lights_off: None) -> None:
    response = process(ha, wyoming, COMMAND)
    assert ha.wait_state(KITCHEN_LIGHT, "on") == "on", response
    assert ha.state(HALLWAY_LIGHT) == "off"
    assert response["response_type"] == "action_done", response
    assert response["speech"]["plain"]["speech"], response


def test_conversation_agent_says_so_when_the_garage_lights_do_not_exist(
        ha: HomeAssistantCore, wyoming: WyomingEntry, lights_off: None) -> None:
    ha.set_light(HALLWAY_LIGHT, True)
    response = process(ha, wyoming, "turn off the garage lights")
    time.sleep(1.0)  # give a wrong action time to show
    assert (ha.state(KITCHEN_LIGHT), ha.state(HALLWAY_LIGHT)) == ("off", "on")
    speech = response["speech"].get("plain", {}).get("speech", "")
    assert response["response_type"] == "error", response
    assert not speech.lower().startswith("turned"), response


# ---- a whole Assist run ---------------------------------------------------------------------

def test_assist_pipeline_run_from_audio_turns_the_light_on_and_speaks(
        ha: HomeAssistantCore, wyoming: WyomingEntry, command_pcm: bytes,
        lights_off: None, tmp_path: Path) -> None:
    pipeline = ha.ws("assist_pipeline/pipeline/create", name="voxhub", language="en",
                     conversation_engine=wyoming.conversation, conversation_language="en",
                     stt_engine=wyoming.stt, stt_language="en", tts_engine=wyoming.tts,
                     tts_language="en", tts_voice=None, wake_word_entity=None,
                     wake_word_id=None)
    try:
        events = run_pipeline(ha, pipeline["id"], command_pcm)
    finally:
        ha.ws("assist_pipeline/pipeline/delete", pipeline_id=pipeline["id"])
    by_type = {event["type"]: event.get("data") or {} for event in events}
    assert "error" not in by_type, by_type.get("error")
    transcript = by_type["stt-end"]["stt_output"]["text"]
    assert "turn on the kitchen light" in normalize_words(transcript), transcript
    assert ha.wait_state(KITCHEN_LIGHT, "on") == "on", by_type.get("intent-end")
    url = by_type["tts-end"]["tts_output"]["url"]
    response = ha.fetch(url, timeout=60)
    assert response.status_code == 200
    seconds, rms = decoded_seconds(response.content, tmp_path)
    assert seconds > 0.5 and rms > 0.01, (seconds, rms)


def run_pipeline(ha: HomeAssistantCore, pipeline_id: str, pcm: bytes,
                 timeout: float = 60.0) -> list[dict[str, Any]]:
    """`assist_pipeline/run` from stt to tts: audio as binary messages behind the handler id
    Home Assistant hands out in run-start, an empty one to end; every event until run-end."""
    with ha.websocket() as conn:
        conn.send(json.dumps({"id": 1, "type": "assist_pipeline/run", "start_stage": "stt",
                              "end_stage": "tts", "input": {"sample_rate": RATE},
                              "pipeline": pipeline_id, "timeout": timeout}))
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        sent = False
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no run-end within {timeout} s: {events}"
            message = json.loads(conn.recv(remaining))
            if message.get("type") == "result":
                assert message.get("success"), message
                continue
            event = message["event"]
            events.append(event)
            if event["type"] == "run-start" and not sent:
                handler = bytes([event["data"]["runner_data"]["stt_binary_handler_id"]])
                for i in range(0, len(pcm), 2048):
                    conn.send(handler + pcm[i:i + 2048])
                conn.send(handler)
                sent = True
            if event["type"] in ("run-end", "error"):
                return events
