"""`voxhub understand` answers what the home grammar rejects, and translates speech on request.

Each case is a real `voxhub understand` process with a hub.yaml of its own: `answers.by: openai`
against the streaming chat test server (tests/plugins/chat_server.py), or the Voxtral backend
with the tiny random checkpoint (tests/plugins/voxtral.py), whose words are noise: those cases
check where the request goes and what the result says, not what a trained model would say.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.answers.sentences import SentenceSplitter
from tests.plugins.chat_server import ChatServer

ROOT = Path(__file__).resolve().parents[1]


def voxhub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxhub.cli", *args], cwd=ROOT,
                          capture_output=True, timeout=300)


def understood(*args: str) -> dict[str, Any]:
    done = voxhub("understand", "--json", *args)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def hub_yaml(tmp_path: Path, settings: dict[str, Any]) -> str:
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return str(path)


def spoken_answer(text: str) -> str:
    splitter = SentenceSplitter()
    return " ".join(splitter.feed(text) + splitter.flush())


@pytest.fixture
def openai_config(tmp_path: Path, chat_server: ChatServer) -> str:
    chat_server.reset(token_s=0.005)
    return hub_yaml(tmp_path, {"answers": {"by": "openai", "url": chat_server.url,
                                           "model": "llama3.2:3b"}})


def user_text(server: ChatServer) -> list[str]:
    return [stream.body["messages"][-1]["content"] for stream in server.streams]


def test_understand_prints_the_answer_to_speech_that_is_no_command(
        openai_config: str, chat_server: ChatServer, spoken_wav: Any) -> None:
    wav = spoken_wav("how far away is the moon")
    result = understood(str(wav), "--config", openai_config, "--area", "kitchen")
    assert result["intent"] is None and result["targets"] == []
    assert result["answered_by"] == "openai"
    assert result["reply"] == spoken_answer(chat_server.answer)
    assert result["conversation_id"] and result["timings_ms"]["answer_first_sentence"] > 0
    assert user_text(chat_server) == [result["text"]]
    assert "Kitchen" in chat_server.streams[0].body["messages"][0]["content"]


@pytest.mark.parametrize("request_text", ["how do you say good night in Spanish",
                                          "how do you say turn on the light in German"])
def test_a_translation_request_reaches_the_answerer_and_never_the_home(
        openai_config: str, chat_server: ChatServer, request_text: str) -> None:
    chat_server.answer = "In German, you say: Mach das Licht an."
    result = understood("--text", request_text, "--config", openai_config)
    assert user_text(chat_server) == [request_text]
    assert result["intent"] is None and result["targets"] == [] and result["action"] is None
    assert result["answered_by"] == "openai" and result["reply"] == chat_server.answer
    prompt = chat_server.streams[0].body["messages"][0]["content"]
    assert "in another language" in prompt and "English" in prompt


def test_a_home_command_is_understood_and_never_reaches_the_answerer(
        openai_config: str, chat_server: ChatServer) -> None:
    result = understood("--text", "turn on the kitchen lights", "--config", openai_config)
    assert result["intent"]["name"] == "HassTurnOn" and result["answered_by"] is None
    assert chat_server.streams == []


def test_an_answerer_that_fails_gives_the_apology_as_the_reply(
        openai_config: str, chat_server: ChatServer) -> None:
    chat_server.mode = "error"
    result = understood("--text", "how far away is the moon", "--config", openai_config)
    assert result["answered_by"] is None
    assert result["reply"] == "Sorry, I couldn't get an answer from the assistant."


@pytest.fixture
def voxtral_config(tmp_path: Path, tiny_voxtral_dir: Path) -> str:
    return hub_yaml(tmp_path, {"asr": {"backend": "voxtral", "voxtral": {
        "model": str(tiny_voxtral_dir), "max_new_tokens": 10, "device": "cpu"}}})


def test_with_voxtral_the_recognizer_answers_by_default(voxtral_config: str,
                                                       spoken_wav: Any) -> None:
    result = understood(str(spoken_wav("how far away is the moon")), "--config", voxtral_config)
    assert result["intent"] is None
    assert result["answered_by"] == "recognizer" and result["reply"]
    assert "answer_total" in result["timings_ms"]


def test_translate_gives_voxtrals_translation_in_the_target_language(
        voxtral_config: str, spoken_wav: Any) -> None:
    result = understood(str(spoken_wav("good night")), "--config", voxtral_config,
                        "--translate", "fr-FR")
    assert result["language"] == "fr" and result["intent"] is None
    assert result["answered_by"] is None and "translate" in result["timings_ms"]


def test_translate_is_refused_clearly_where_the_recognizer_cannot(spoken_wav: Any) -> None:
    wav = str(spoken_wav("good night"))
    english_only = voxhub("understand", wav, "--translate", "en")  # Whisper tiny.en
    assert english_only.returncode == 2
    assert b"English-only and cannot translate" in english_only.stderr
    text = voxhub("understand", "--text", "good night", "--translate", "es")
    assert text.returncode == 2 and b"needs a recording" in text.stderr
    bad_tag = voxhub("understand", wav, "--translate", "Spanish!")
    assert bad_tag.returncode == 2 and b"is not a language tag" in bad_tag.stderr
