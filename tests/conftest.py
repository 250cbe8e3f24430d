"""Shared test set-up: the fixture plugins in tests/plugins/, each named with the fixtures it
holds and the test modules that use them, so that a fixture's home is read here, not searched for.

`PLUGINS` is checked against the plugins and the tests by tests/test_fixture_homes.py: a fixture
added, moved or newly used elsewhere fails that test until this table says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: tests/plugins/<module>: (its fixtures, the test modules using them, without "test_").
PLUGINS: dict[str, tuple[list[str], list[str]]] = {
    "chat_server": (
        ["chat_server_session", "chat_server"],
        ["answers_cli", "answers_pipeline", "answers_stream"]),
    "ha_core": (
        ["home_assistant_core"],
        ["answers_home_assistant", "homeassistant_core", "homeassistant_fake_matches_real",
         "homeassistant_satellite"]),
    "homeassistant": (
        ["home_assistant"],
        ["homeassistant_config", "homeassistant_home", "homeassistant_understanding"]),
    "hub": (
        ["data_dir", "synthesizer", "whisper_tiny"],
        ["answers_pipeline", "e2e_satellite", "homeassistant_satellite", "hub_fuzz", "hub_limits",
         "pipeline_bargein", "pipeline_confirm", "tts_cli", "tts_engine", "tts_fairness",
         "tts_int8_convs", "tts_snake", "tts_torch", "tts_wyoming", "understanding_whisper"]),
    "languages": (
        ["multilingual_recognizer", "language_hubs", "say"],
        ["languages_e2e"]),
    "mqtt": (
        ["mosquitto", "own_mosquitto", "embedded_broker"],
        ["e2e_conversation", "e2e_satellite", "e2e_satellite_replay", "homeassistant_satellite",
         "hub_mqtt_results", "mqtt_discovery", "mqtt_embedded", "mqtt_link", "mqtt_outbox",
         "mqtt_satellite",
         "satellite_faults"]),
    "openai_server": (
        ["openai_server", "fake_openai"],
        ["asr_openai_server", "understanding_backends"]),
    "pipeline": (
        ["kitchen_command", "pipeline_understander", "pipeline_hub", "e2e_hub", "e2e_speech"],
        ["answers_pipeline", "e2e_conversation", "e2e_satellite", "e2e_satellite_replay",
         "hub_auth", "hub_fuzz", "hub_limits", "pipeline_bargein", "pipeline_confirm",
         "pipeline_endpointing", "pipeline_program", "understanding_chunk_sizes"]),
    "satellite": (
        ["sat_speech", "hub_standin"],
        ["mqtt_satellite", "satellite_audio", "satellite_daemon", "satellite_faults",
         "satellite_follow_up", "satellite_state", "satellite_wake"]),
    "tiny_kokoro": (
        ["tiny_kokoro"],
        ["tts_torch"]),
    "understanding": (
        ["example_home", "spoken", "spoken_wav", "understander", "text_understander",
         "understanding_hub"],
        ["actions", "answers_cli", "answers_home_assistant", "answers_pipeline",
         "answers_recognizer", "asr_translate", "conversation_confirm",
         "homeassistant_understanding", "hub_auth", "hub_mqtt_results", "languages_config",
         "tts_text", "understanding_backends", "understanding_chunk_sizes", "understanding_cli",
         "understanding_colloquial", "understanding_described", "understanding_heard",
         "understanding_home",
         "understanding_intents",
         "understanding_recovered", "understanding_rejection", "understanding_second_opinion",
         "understanding_slots",
         "understanding_whisper", "understanding_wyoming", "wake_wyoming"]),
    "voxtral": (
        ["tiny_voxtral_dir", "tiny_voxtral_realtime_dir"],
        ["answers_cli", "answers_recognizer", "asr_translate", "asr_voxtral_model",
         "asr_voxtral_stream", "understanding_streaming"]),
}

pytest_plugins = [f"tests.plugins.{name}" for name in PLUGINS]
